// SPDX-License-Identifier: GPL-2.0
/*
 * Device-mapper and LVM devices in a set: their identity (dm uuid, LVM LV
 * uuid), what an administrator can and cannot do to them while held, and a
 * suspended device whose termination must not stall anyone else.
 *
 * A put that blocks: 6.1's blkdev_put() syncs the device when its closer
 * is the last opener, so a set's put of a device with dirty pages that is
 * suspended without lockfs waits for the resume (dm_suspend_dirty()).
 * While it waits, the set has not ended for its owner (no POLLHUP, no
 * ESHUTDOWN yet, its last close waits), and when its ->release runs in a
 * kworker, the system's other deferred file closes go on.
 *
 * No udev runs in the guest: dmsetup deletes /dev/mapper nodes at once, so
 * devices are addressed as /dev/dm-N.
 */
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "program.h"
#include "dm_util.h"

FIXTURE(dm)
{
	struct loopdev loop;
	char name[32];
	char path[32];
};

FIXTURE_SETUP(dm)
{
	int err;

	setenv("DM_DISABLE_UDEV", "1", 1);
	sh("modprobe -q dm-mod 2>/dev/null; modprobe -q dm-snapshot "
	   "2>/dev/null");
	if (access("/dev/mapper/control", F_OK))
		SKIP(return, "no device-mapper in this kernel");
	err = loop_attach(&self->loop, 8 << 20);
	if (err)
		SKIP(return, "no loop device: %s", strerror(err));
	snprintf(self->name, sizeof(self->name), "snapset-test-%d", getpid());
	ASSERT_EQ(0, sh("dmsetup create %s --uuid SNAPSET-TEST-%s "
			"--table '0 16384 linear %s 0'",
			self->name, self->name, self->loop.path));
	ASSERT_EQ(0, dm_path(self->name, self->path, sizeof(self->path)));
}

FIXTURE_TEARDOWN(dm)
{
	if (dm_exists(self->name))
		sh("dmsetup remove --force %s", self->name);
	loop_detach(&self->loop);
	discard_all_pending();
}

TEST_F_TIMEOUT(dm, dm_uuid_is_part_of_the_identity, 300)
{
	union event_buf ev;
	__u8 id[SNAPSET_ID_LEN];
	char uuid[64];
	int watcher = subscribe(0), fd = set_new(NULL, id);

	ASSERT_LE(0, watcher);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_add_path(fd, self->path, O_RDONLY, 0));
	ASSERT_TRUE(
	    wait_event_for(watcher, SNAPSET_EVENT_DEVICE_ADDED, id, &ev));
	snprintf(uuid, sizeof(uuid), "SNAPSET-TEST-%s", self->name);
	EXPECT_STREQ(uuid, snapset_event_device(&ev.ev, 0)->dm_uuid);
	close(fd);
	close(watcher);
}

TEST_F_TIMEOUT(dm, held_device_cannot_be_removed_but_deferred_remove_waits, 300)
{
	int fd = set_new(NULL, NULL);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_add_path(fd, self->path, O_RDONLY, 0));
	ASSERT_EQ(0, ioctl_err(fd, SNAPSET_IOC_ARM, NULL));
	EXPECT_NE(0, sh("dmsetup remove %s 2>/dev/null", self->name));
	EXPECT_TRUE(dm_exists(self->name));
	ASSERT_EQ(0, sh("dmsetup remove --deferred %s", self->name));
	usleep(200000);
	EXPECT_TRUE(dm_exists(self->name));
	close(fd);
	/* dm queues the removal: poll for it. */
	EXPECT_TRUE(wait_dm_gone(self->name));
}

TEST_F_TIMEOUT(dm, device_already_marked_for_deferred_remove_is_accepted, 300)
{
	int mine, fd = set_new(NULL, NULL);

	/* dm does not export the flag: the module cannot see it. */
	ASSERT_LE(0, fd);
	mine = open(self->path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, mine);
	ASSERT_EQ(0, sh("dmsetup remove --deferred %s", self->name));
	EXPECT_EQ(0, set_add_path(fd, self->path, O_RDONLY, 0));
	close(mine);
	usleep(200000);
	EXPECT_TRUE(dm_exists(self->name));
	close(fd);
	EXPECT_TRUE(wait_dm_gone(self->name));
}

/* Closes a set whose device is suspended, in its own thread. */
static void *close_set(void *arg)
{
	close(*(int *)arg);
	return NULL;
}

TEST_F_TIMEOUT(dm, suspended_device_stalls_no_other_set, 300)
{
	struct timespec start, end;
	pthread_t thread;
	int fd = set_new(NULL, NULL), other;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_add_path(fd, self->path, O_RDONLY, 0));
	ASSERT_EQ(0, ioctl_err(fd, SNAPSET_IOC_ARM, NULL));
	ASSERT_EQ(0, dm_resume_at_exit(self->name));
	ASSERT_EQ(0, sh("dmsetup suspend %s", self->name));
	ASSERT_EQ(0, pthread_create(&thread, NULL, close_set, &fd));

	/* Whatever that termination waits for, others go on. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	other = set_new("other", NULL);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, ioctl_err(other, SNAPSET_IOC_ARM, NULL));
	close(other);
	clock_gettime(CLOCK_MONOTONIC, &end);
	EXPECT_GT(5, end.tv_sec - start.tv_sec);

	ASSERT_EQ(0, sh("dmsetup resume %s", self->name));
	ASSERT_EQ(0, pthread_join(thread, NULL));
}

/* A call on a set, made in its own thread to see whether it blocks. */
struct blocking_op {
	pthread_t thread;
	bool joined;
	int fd;
	__u8 id[SNAPSET_ID_LEN];
	int err;
};

static void *terminate_op(void *arg)
{
	struct blocking_op *op = arg;

	op->err = terminate(op->fd, op->id);
	return NULL;
}

static void *complete_op(void *arg)
{
	struct blocking_op *op = arg;

	op->err = ioctl_err(op->fd, SNAPSET_IOC_COMPLETE, NULL);
	return NULL;
}

static void *close_op(void *arg)
{
	struct blocking_op *op = arg;

	op->err = close(op->fd) ? errno : 0;
	return NULL;
}

static int op_start(struct blocking_op *op, void *(*fn)(void *))
{
	op->joined = false;
	return pthread_create(&op->thread, NULL, fn, op);
}

/* Whether @op returned within @timeout_ms (it is joined then). */
static bool op_done_within(struct blocking_op *op, int timeout_ms)
{
	struct timespec ts;

	if (op->joined)
		return true;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	op->joined = !pthread_timedjoin_np(op->thread, NULL, &ts);
	return op->joined;
}

/* Long enough to tell a blocked call from a slow one under TCG. */
#define STILL_BLOCKED_MS 300

static bool set_hung_up(int set, int timeout_ms)
{
	struct pollfd pfd = { .fd = set, .events = POLLIN };

	return poll(&pfd, 1, timeout_ms) == 1 && (pfd.revents & POLLHUP);
}

/*
 * Arms a set (its fd in *@set, its id in @term) holding dm device @name at
 * @path as its only opener, leaves the device dirty and suspended, and
 * starts an administrator's terminate of the set in @term's thread, on
 * @admin. True when that terminate's device put is blocked; false
 * (resumed, joined) when it is not, and the test cannot show anything.
 */
static bool terminate_blocked(struct __test_metadata *_metadata,
			      const char *name, const char *path, int admin,
			      int *set, struct blocking_op *term)
{
	*set = set_new("blocked", term->id);
	ASSERT_LE(0, *set);
	ASSERT_EQ(0, set_add_path(*set, path, O_RDONLY, 0));
	ASSERT_EQ(0, ioctl_err(*set, SNAPSET_IOC_ARM, NULL));
	/* The set's is the only open: its put is the last. */
	ASSERT_EQ(1, dm_open_count(name));
	ASSERT_EQ(0, dm_resume_at_exit(name));
	ASSERT_EQ(0, dm_suspend_dirty(name, path));

	term->fd = admin;
	ASSERT_EQ(0, op_start(term, terminate_op));
	if (wait_task_in_bdev_put(EVENT_TIMEOUT_MS) &&
	    !op_done_within(term, STILL_BLOCKED_MS))
		return true;
	EXPECT_EQ(0, sh("dmsetup resume %s", name));
	EXPECT_TRUE(op_done_within(term, EVENT_TIMEOUT_MS));
	return false;
}

TEST_F_TIMEOUT(dm, set_ends_for_its_owner_only_after_the_put, 300)
{
	struct blocking_op term = {}, complete = {};
	union event_buf rec;
	int agent = subscribe(SNAPSET_SUBSCRIBE_AGENT), admin = snapset_open();
	int set;

	ASSERT_LE(0, agent);
	ASSERT_LE(0, admin);
	if (!terminate_blocked(_metadata, self->name, self->path, admin, &set,
			       &term))
		SKIP(return, "the put did not block: no dirty page to sync?");

	/* Terminating, not ended: the owner must not see the end yet. */
	EXPECT_FALSE(set_hung_up(set, 0));
	complete.fd = set;
	ASSERT_EQ(0, op_start(&complete, complete_op));
	if (op_done_within(&complete, STILL_BLOCKED_MS)) {
		TH_LOG("COMPLETE returned (%s) while the put was blocked",
		       strerror(complete.err));
		EXPECT_TRUE(false);
	}
	EXPECT_FALSE(set_hung_up(set, 0));

	ASSERT_EQ(0, sh("dmsetup resume %s", self->name));
	ASSERT_TRUE(op_done_within(&term, EVENT_TIMEOUT_MS));
	EXPECT_EQ(0, term.err);
	ASSERT_TRUE(op_done_within(&complete, EVENT_TIMEOUT_MS));
	EXPECT_EQ(ESHUTDOWN, complete.err);
	EXPECT_TRUE(set_hung_up(set, EVENT_TIMEOUT_MS));
	EXPECT_EQ(0, dm_open_count(self->name));
	ASSERT_TRUE(
	    wait_event_for(agent, SNAPSET_EVENT_SHUTDOWN, term.id, &rec));
	EXPECT_EQ(SNAPSET_REASON_ADMIN, rec.ev.set.reason);
	EXPECT_EQ(0, ack(agent, term.id));
	close(set);
	close(admin);
	close(agent);
}

/*
 * The owner's close, the last reference, waits for the termination that
 * an administrator started. (Not together with the COMPLETE above: a call
 * in flight holds the file, and the close would not be the last.)
 */
TEST_F_TIMEOUT(dm, last_close_returns_only_after_the_put, 300)
{
	struct blocking_op term = {}, closing = {};
	union event_buf rec;
	int agent = subscribe(SNAPSET_SUBSCRIBE_AGENT), admin = snapset_open();
	int set;

	ASSERT_LE(0, agent);
	ASSERT_LE(0, admin);
	if (!terminate_blocked(_metadata, self->name, self->path, admin, &set,
			       &term))
		SKIP(return, "the put did not block: no dirty page to sync?");

	EXPECT_FALSE(set_hung_up(set, 0));
	closing.fd = set;
	ASSERT_EQ(0, op_start(&closing, close_op));
	if (op_done_within(&closing, STILL_BLOCKED_MS)) {
		TH_LOG("close() returned while the put was blocked");
		EXPECT_TRUE(false);
	}

	ASSERT_EQ(0, sh("dmsetup resume %s", self->name));
	ASSERT_TRUE(op_done_within(&closing, EVENT_TIMEOUT_MS));
	EXPECT_EQ(0, closing.err);
	/* Returned: the device is no longer held. */
	EXPECT_EQ(0, dm_open_count(self->name));
	ASSERT_TRUE(op_done_within(&term, EVENT_TIMEOUT_MS));
	EXPECT_EQ(0, term.err);
	ASSERT_TRUE(
	    wait_event_for(agent, SNAPSET_EVENT_SHUTDOWN, term.id, &rec));
	EXPECT_EQ(SNAPSET_REASON_ADMIN, rec.ev.set.reason);
	EXPECT_EQ(0, ack(agent, term.id));
	close(admin);
	close(agent);
}

/*
 * An owner that holds an armed set over @path only as an io_uring fixed
 * file; reports the set's id on @ready and waits to be killed.
 */
static void fixed_file_owner(const char *path, int ready)
{
	__u8 id[SNAPSET_ID_LEN];
	struct io_uring ring;
	int set = set_new("fixed", id);

	if (set < 0 || set_add_path(set, path, O_RDONLY, 0) ||
	    ioctl(set, SNAPSET_IOC_ARM, NULL))
		_exit(1);
	if (io_uring_queue_init(8, &ring, 0) ||
	    io_uring_register_files(&ring, &set, 1))
		_exit(2);
	/* Only the ring holds the set now. */
	close(set);
	if (write(ready, id, sizeof(id)) != sizeof(id))
		_exit(3);
	for (;;)
		pause();
}

static pid_t start_fixed_file_owner(const char *path, __u8 id[SNAPSET_ID_LEN])
{
	int ready[2];
	pid_t pid;

	if (pipe(ready))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		fixed_file_owner(path, ready[1]);
	}
	close(ready[1]);
	if (pid > 0 && read(ready[0], id, SNAPSET_ID_LEN) != SNAPSET_ID_LEN) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(ready[0]);
	return pid;
}

static bool kill_owner(pid_t pid)
{
	return kill(pid, SIGKILL) == 0 && waitpid(pid, NULL, 0) == pid;
}

/*
 * A ring torn down in a kworker drops its fixed files with fput(), which
 * defers ->release to the system's one delayed_fput work: a put blocked
 * there must not hold up every other deferred close in the system.
 */
TEST_F_TIMEOUT(dm, release_in_a_kworker_stalls_no_other_deferred_close, 300)
{
	__u8 held[SNAPSET_ID_LEN], other[SNAPSET_ID_LEN];
	struct loopdev loop;
	union event_buf rec;
	pid_t owner1, owner2;
	bool blocked, got;
	int agent, err;

	agent = subscribe(SNAPSET_SUBSCRIBE_AGENT);
	ASSERT_LE(0, agent);
	err = loop_attach(&loop, 1 << 20);
	if (err)
		SKIP(return, "no second loop device: %s", strerror(err));
	owner1 = start_fixed_file_owner(self->path, held);
	ASSERT_LT(0, owner1);
	owner2 = start_fixed_file_owner(loop.path, other);
	if (owner2 < 0)
		kill_owner(owner1);
	ASSERT_LT(0, owner2);
	/* After the forks: an owner must not keep the guard's pipe open. */
	if (dm_resume_at_exit(self->name) ||
	    dm_suspend_dirty(self->name, self->path)) {
		kill_owner(owner1);
		kill_owner(owner2);
		TH_LOG("could not suspend %s", self->name);
		ASSERT_TRUE(false);
	}

	EXPECT_TRUE(kill_owner(owner1));
	blocked = wait_task_in_bdev_put(EVENT_TIMEOUT_MS);
	/* Its put is blocked: no record yet. */
	if (blocked) {
		EXPECT_FALSE(wait_event_within(agent, SNAPSET_EVENT_SHUTDOWN,
					       held, &rec, STILL_BLOCKED_MS));
	}
	EXPECT_TRUE(kill_owner(owner2));
	if (!blocked) {
		sh("dmsetup resume %s", self->name);
		loop_detach(&loop);
		SKIP(return, "the put did not block: no dirty page to sync?");
	}

	/* Short of the 30 s hung task timeout: something is blocked. */
	got = wait_event_for(agent, SNAPSET_EVENT_SHUTDOWN, other, &rec);
	if (got) {
		EXPECT_EQ(SNAPSET_REASON_RELEASED, rec.ev.set.reason);
	} else {
		TH_LOG("no record of the loop device's set while the dm device "
		       "was suspended");
		EXPECT_TRUE(false);
	}

	ASSERT_EQ(0, sh("dmsetup resume %s", self->name));
	ASSERT_TRUE(wait_event_for(agent, SNAPSET_EVENT_SHUTDOWN, held, &rec));
	EXPECT_EQ(SNAPSET_REASON_RELEASED, rec.ev.set.reason);
	EXPECT_EQ(0, ack(agent, held));
	if (got) {
		EXPECT_EQ(0, ack(agent, other));
	}
	close(agent);
	loop_detach(&loop);
}

/* LVM on a loop device, with its state in tmpfs. */
FIXTURE(lvm)
{
	struct loopdev loop;
	char vg[32];
};

FIXTURE_SETUP(lvm)
{
	int err;

	if (lvm_prepare())
		SKIP(return, "no device-mapper or no lvm");
	err = loop_attach(&self->loop, 64 << 20);
	if (err)
		SKIP(return, "no loop device: %s", strerror(err));
	snprintf(self->vg, sizeof(self->vg), "snapsetvg%d", getpid());
	ASSERT_EQ(0, sh("lvm vgcreate -q %s %s >/dev/null 2>&1", self->vg,
			self->loop.path));
	ASSERT_EQ(0, sh("lvm lvcreate -q -n origin -L 16m %s >/dev/null 2>&1",
			self->vg));
	ASSERT_EQ(
	    0, sh("lvm lvcreate -q -s -n snap -L 8m %s/origin >/dev/null 2>&1",
		  self->vg));
}

FIXTURE_TEARDOWN(lvm)
{
	sh("lvm vgremove -q -f %s >/dev/null 2>&1", self->vg);
	loop_detach(&self->loop);
	discard_all_pending();
}

/* LVM commands take long under TCG and KASAN. */
TEST_F_TIMEOUT(lvm, snapshot_lv_is_recorded_with_its_lv_uuid, 300)
{
	char cmd[256], lv_uuid[64], vg_uuid[64], path[32], want[140];
	union event_buf rec;
	__u8 id[SNAPSET_ID_LEN];
	int agent = subscribe(SNAPSET_SUBSCRIBE_AGENT), fd;

	ASSERT_LE(0, agent);
	snprintf(cmd, sizeof(cmd),
		 "lvm lvs --noheadings -o lv_uuid %s/snap | tr -d ' -'",
		 self->vg);
	ASSERT_EQ(0, sh_line(lv_uuid, sizeof(lv_uuid), cmd));
	snprintf(cmd, sizeof(cmd),
		 "lvm vgs --noheadings -o vg_uuid %s | tr -d ' -'", self->vg);
	ASSERT_EQ(0, sh_line(vg_uuid, sizeof(vg_uuid), cmd));
	snprintf(cmd, sizeof(cmd), "%s-snap", self->vg);
	ASSERT_EQ(0, dm_path(cmd, path, sizeof(path)));

	fd = set_new("lvm", id);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_add_path(fd, path, O_RDONLY, 0));
	ASSERT_EQ(0, ioctl_err(fd, SNAPSET_IOC_ARM, NULL));
	/* snapset list names the VG and LV of the device, and its origin. */
	if (!access(snapset_bin(), X_OK)) {
		char *argv[] = { "snapset", "list", path, NULL };
		struct run_result res;

		ASSERT_EQ(0, run_capture(snapset_bin(), argv, &res));
		snprintf(want, sizeof(want), " lvm=%s/snap origin=%s/origin",
			 self->vg, self->vg);
		EXPECT_NE(NULL, strstr(res.out, want));
	}
	/* Held: LVM refuses to remove the snapshot. */
	EXPECT_NE(0,
		  sh("lvm lvremove -q -f %s/snap >/dev/null 2>&1", self->vg));
	close(fd);
	ASSERT_TRUE(wait_event_for(agent, SNAPSET_EVENT_SHUTDOWN, id, &rec));
	ASSERT_EQ(1, rec.ev.set.ndevices);
	snprintf(want, sizeof(want), "LVM-%s%s", vg_uuid, lv_uuid);
	EXPECT_STREQ(want, snapset_event_device(&rec.ev, 0)->dm_uuid);
	/* Released: now it can go. */
	EXPECT_EQ(0,
		  sh("lvm lvremove -q -f %s/snap >/dev/null 2>&1", self->vg));
	EXPECT_EQ(0, ack(agent, id));
	close(agent);
}

TEST_HARNESS_MAIN
