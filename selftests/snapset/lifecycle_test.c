// SPDX-License-Identifier: GPL-2.0
/*
 * How a set's file is held and released, and what the shutdown record
 * says about it: close, owner exit and SIGKILL, dup, fork, exec, a file in
 * flight over SCM_RIGHTS, abort, an administrator's terminate, and a set
 * that ends before arm (no record). Every armed set must produce exactly
 * one record, after its devices were released.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "util.h"

FIXTURE(held)
{
	struct loopdev loop;
	int agent;
};

FIXTURE_SETUP(held)
{
	int err = loop_attach(&self->loop, 4 << 20);

	if (err)
		SKIP(return, "no loop device: %s", strerror(err));
	self->agent = subscribe(SNAPSET_SUBSCRIBE_AGENT);
	ASSERT_LE(0, self->agent);
}

FIXTURE_TEARDOWN(held)
{
	close(self->agent);
	loop_detach(&self->loop);
	discard_all_pending();
}

/* The agent's record of set @id, acknowledged; false if none came. */
static bool take_record(int agent, const __u8 id[SNAPSET_ID_LEN],
			union event_buf *rec)
{
	if (!wait_event_for(agent, SNAPSET_EVENT_SHUTDOWN, id, rec))
		return false;
	return ack(agent, id) == 0;
}

/* Nothing is pending for @id, and nothing arrives for a while. */
static bool no_record(int agent, const __u8 id[SNAPSET_ID_LEN])
{
	union event_buf rec;
	struct pollfd pfd = { .fd = agent, .events = POLLIN };

	while (poll(&pfd, 1, 300) == 1) {
		if (read(agent, &rec, sizeof(rec)) <= 0)
			return false;
		if (!memcmp(rec.ev.set.id, id, SNAPSET_ID_LEN))
			return false;
	}
	return pending_count(id) == 0;
}

static __u64 sysfs_diskseq(const struct loopdev *loop)
{
	char path[64];
	unsigned long long seq = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/block/loop%d/diskseq", loop->index);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &seq) != 1)
		seq = 0;
	fclose(f);
	return seq;
}

TEST_F(held, close_records_shutdown_with_identity)
{
	const struct snapset_set_info *set;
	const struct snapset_device_info *dev;
	union event_buf rec;
	__u8 id[SNAPSET_ID_LEN];
	struct stat st;
	int fd;

	ASSERT_EQ(0, stat(self->loop.path, &st));
	fd = armed_set(&self->loop, "nightly-root", id);
	long closed = sysfs_counter("terminated_close");

	ASSERT_LE(0, fd);
	EXPECT_EQ(0, pending_count(id));
	close(fd);
	ASSERT_TRUE(take_record(self->agent, id, &rec));
	EXPECT_EQ(closed + 1, sysfs_counter("terminated_close"));

	set = &rec.ev.set;
	EXPECT_STREQ("nightly-root", set->name);
	EXPECT_EQ(SNAPSET_REASON_CLOSE, set->reason);
	EXPECT_EQ(SNAPSET_SET_ARMED | SNAPSET_SET_TERMINATED, set->flags);
	EXPECT_EQ(getpid(), set->owner_tgid);
	EXPECT_EQ(getpid(), set->closer_tgid);
	EXPECT_STREQ("lifecycle_test", set->owner_comm);
	EXPECT_NE(0, set->owner_start_time);
	EXPECT_NE(0, set->create_realtime);
	EXPECT_LE(set->create_boottime, set->arm_boottime);
	EXPECT_LE(set->arm_boottime, set->end_boottime);
	EXPECT_EQ(0, set->complete_boottime);
	ASSERT_EQ(1, set->ndevices);
	ASSERT_EQ(sizeof(rec.ev) + sizeof(*dev), rec.ev.size);

	dev = snapset_event_device(&rec.ev, 0);
	EXPECT_EQ(major(st.st_rdev), dev->major);
	EXPECT_EQ(minor(st.st_rdev), dev->minor);
	EXPECT_EQ(sysfs_diskseq(&self->loop), dev->diskseq);
	EXPECT_EQ((4 << 20) / 512, dev->sectors);
	EXPECT_EQ(SNAPSET_DEVICE_RELEASED, dev->flags);
	EXPECT_STREQ("", dev->dm_uuid);
	EXPECT_EQ(0, pending_count(id));
}

TEST_F(held, complete_is_in_the_record)
{
	union event_buf rec;
	__u8 id[SNAPSET_ID_LEN];
	int fd = armed_set(&self->loop, NULL, id);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl_err(fd, SNAPSET_IOC_COMPLETE, NULL));
	close(fd);
	ASSERT_TRUE(take_record(self->agent, id, &rec));
	EXPECT_TRUE(rec.ev.set.flags & SNAPSET_SET_COMPLETED);
	EXPECT_LE(rec.ev.set.arm_boottime, rec.ev.set.complete_boottime);
}

static void exit_3(int set)
{
	exit(3);
}

TEST_F(held, owner_exit_status_is_recorded)
{
	union event_buf rec;
	__u8 id[SNAPSET_ID_LEN];
	pid_t pid = owner_child(&self->loop, id, exit_3);
	int status;

	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(take_record(self->agent, id, &rec));
	EXPECT_EQ(SNAPSET_REASON_EXIT, rec.ev.set.reason);
	EXPECT_TRUE(rec.ev.set.flags & SNAPSET_SET_EXIT_STATUS);
	EXPECT_EQ(3, rec.ev.set.exit_status);
	EXPECT_EQ(pid, rec.ev.set.owner_tgid);
	EXPECT_EQ(pid, rec.ev.set.closer_tgid);
}

TEST_F(held, owner_sigkill_is_recorded)
{
	union event_buf rec;
	__u8 id[SNAPSET_ID_LEN];
	pid_t pid = owner_child(&self->loop, id, wait_forever);

	ASSERT_LT(0, pid);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	ASSERT_TRUE(take_record(self->agent, id, &rec));
	EXPECT_EQ(SNAPSET_REASON_EXIT, rec.ev.set.reason);
	EXPECT_TRUE(rec.ev.set.flags & SNAPSET_SET_SIGNAL);
	EXPECT_EQ(SIGKILL, rec.ev.set.signal);
	EXPECT_FALSE(rec.ev.set.flags & SNAPSET_SET_COMPLETED);
}

TEST_F(held, dup_holds_the_set_until_the_last_close)
{
	union event_buf rec;
	__u8 id[SNAPSET_ID_LEN];
	int fd = armed_set(&self->loop, NULL, id), fd2;

	ASSERT_LE(0, fd);
	fd2 = dup(fd);
	ASSERT_LE(0, fd2);
	close(fd);
	EXPECT_TRUE(no_record(self->agent, id));
	close(fd2);
	ASSERT_TRUE(take_record(self->agent, id, &rec));
	EXPECT_EQ(SNAPSET_REASON_CLOSE, rec.ev.set.reason);
}

TEST_F(held, forked_child_is_the_last_closer)
{
	int ready[2], go[2], fd, status;
	union event_buf rec;
	__u8 id[SNAPSET_ID_LEN];
	pid_t pid;
	char c;

	fd = armed_set(&self->loop, NULL, id);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Holds the inherited fd until told to exit. */
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(100);
		exit(5);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	close(fd);
	EXPECT_TRUE(no_record(self->agent, id));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(take_record(self->agent, id, &rec));
	EXPECT_EQ(SNAPSET_REASON_EXIT, rec.ev.set.reason);
	EXPECT_EQ(5, rec.ev.set.exit_status);
	EXPECT_EQ(getpid(), rec.ev.set.owner_tgid);
	EXPECT_EQ(pid, rec.ev.set.closer_tgid);
}

/*
 * Children of the owner that hold its set after it: each says it is
 * there, waits for its go, then closes the set and reports (or, the last
 * of them when asked, exits with the set open).
 */
struct heirs {
	int go[2][2];
	int ready[2];
	int done[2];
	unsigned int count;
	bool last_exits;
} heirs;

static void heir(unsigned int i, int set)
{
	char c;

	/* The test gone, every go reads end of file: no heir is left. */
	for (unsigned int j = 0; j < heirs.count; j++)
		close(heirs.go[j][1]);
	if (write(heirs.ready[1], "r", 1) != 1 ||
	    read(heirs.go[i][0], &c, 1) != 1)
		_exit(100);
	if (heirs.last_exits && i == heirs.count - 1)
		_exit(4);
	close(set);
	_exit(write(heirs.done[1], "d", 1) == 1 ? 0 : 100);
}

static void fork_heirs_then_wait(int set)
{
	for (unsigned int i = 0; i < heirs.count; i++)
		if (fork() == 0)
			heir(i, set);
	wait_forever(set);
}

static void owner_killed_before_its_heirs(struct __test_metadata *_metadata,
					  FIXTURE_DATA(held) * self)
{
	const struct snapset_set_info *set;
	union event_buf rec;
	__u8 id[SNAPSET_ID_LEN];
	pid_t pid;
	char c;

	for (unsigned int i = 0; i < heirs.count; i++)
		ASSERT_EQ(0, pipe(heirs.go[i]));
	ASSERT_EQ(0, pipe(heirs.ready));
	ASSERT_EQ(0, pipe(heirs.done));
	pid = owner_child(&self->loop, id, fork_heirs_then_wait);
	ASSERT_LT(0, pid);
	for (unsigned int i = 0; i < heirs.count; i++)
		ASSERT_EQ(1, read(heirs.ready[0], &c, 1));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	for (unsigned int i = 0; i < heirs.count; i++) {
		EXPECT_TRUE(no_record(self->agent, id));
		ASSERT_EQ(1, write(heirs.go[i][1], "g", 1));
		if (i < heirs.count - 1 || !heirs.last_exits)
			ASSERT_EQ(1, read(heirs.done[0], &c, 1));
	}
	ASSERT_TRUE(take_record(self->agent, id, &rec));
	set = &rec.ev.set;
	EXPECT_EQ(SNAPSET_REASON_EXIT, set->reason);
	EXPECT_TRUE(set->flags & SNAPSET_SET_SIGNAL);
	EXPECT_EQ(SIGKILL, set->signal);
	EXPECT_TRUE(set->flags & SNAPSET_SET_CLOSER_SHARED);
	EXPECT_EQ(pid, set->closer_tgid);
	for (unsigned int i = 0; i < heirs.count; i++) {
		close(heirs.go[i][0]);
		close(heirs.go[i][1]);
	}
	close(heirs.ready[0]);
	close(heirs.ready[1]);
	close(heirs.done[0]);
	close(heirs.done[1]);
}

/* The heir's close is the last: still, the owner's SIGKILL is the end. */
TEST_F(held, owner_sigkill_stands_after_a_child_closes_last)
{
	heirs.count = 1;
	heirs.last_exits = false;
	owner_killed_before_its_heirs(_metadata, self);
}

/*
 * Nor does a close that is not the last clear it, nor a child's exit:
 * the owner's was abnormal.
 */
TEST_F(held, owner_sigkill_stands_after_children_close_and_exit)
{
	heirs.count = 2;
	heirs.last_exits = true;
	owner_killed_before_its_heirs(_metadata, self);
}

static int heir_pid_out;

/* The owner hands its set to a child and exits cleanly. */
static void hand_over_then_exit(int set)
{
	pid_t pid = fork();

	if (pid == 0)
		wait_forever(set);
	if (pid < 0 || write(heir_pid_out, &pid, sizeof(pid)) != sizeof(pid))
		_exit(100);
}

/* A holder killed after an owner that exited cleanly says it was killed. */
TEST_F(held, heir_sigkill_after_a_clean_owner_exit_is_recorded)
{
	const struct snapset_set_info *set;
	union event_buf rec;
	__u8 id[SNAPSET_ID_LEN];
	int heir_pid[2], status;
	pid_t pid, heir;

	ASSERT_EQ(0, pipe(heir_pid));
	heir_pid_out = heir_pid[1];
	pid = owner_child(&self->loop, id, hand_over_then_exit);
	ASSERT_LT(0, pid);
	ASSERT_EQ(sizeof(heir), read(heir_pid[0], &heir, sizeof(heir)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	EXPECT_TRUE(no_record(self->agent, id));
	ASSERT_EQ(0, kill(heir, SIGKILL));
	ASSERT_TRUE(take_record(self->agent, id, &rec));
	set = &rec.ev.set;
	EXPECT_EQ(SNAPSET_REASON_EXIT, set->reason);
	EXPECT_TRUE(set->flags & SNAPSET_SET_SIGNAL);
	EXPECT_EQ(SIGKILL, set->signal);
	EXPECT_EQ(pid, set->owner_tgid);
	EXPECT_EQ(heir, set->closer_tgid);
	close(heir_pid[0]);
	close(heir_pid[1]);
}

static void exec_sh_exit_7(int set)
{
	/* Without FD_CLOEXEC the set survives exec and ends at exit. */
	fcntl(set, F_SETFD, 0);
	execl("/bin/sh", "sh", "-c", "exit 7", NULL);
	_exit(101);
}

static void exec_true(int set)
{
	execl("/bin/true", "true", NULL);
	_exit(101);
}

TEST_F(held, exec_without_cloexec_keeps_the_set)
{
	union event_buf rec;
	__u8 id[SNAPSET_ID_LEN];
	pid_t pid = owner_child(&self->loop, id, exec_sh_exit_7);

	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	ASSERT_TRUE(take_record(self->agent, id, &rec));
	EXPECT_EQ(SNAPSET_REASON_EXIT, rec.ev.set.reason);
	EXPECT_EQ(7, rec.ev.set.exit_status);
}

TEST_F(held, exec_with_cloexec_closes_the_set)
{
	union event_buf rec;
	__u8 id[SNAPSET_ID_LEN];
	pid_t pid = owner_child(&self->loop, id, exec_true);

	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	ASSERT_TRUE(take_record(self->agent, id, &rec));
	EXPECT_EQ(SNAPSET_REASON_CLOSE, rec.ev.set.reason);
}

static int sock_for_child;

static void send_then_exit(int set)
{
	_exit(send_fd(sock_for_child, set) ? 100 : 0);
}

TEST_F(held, fd_in_flight_outlives_its_owner_whose_exit_is_recorded)
{
	union event_buf rec;
	__u8 id[SNAPSET_ID_LEN];
	int sv[2];
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
	sock_for_child = sv[0];
	pid = owner_child(&self->loop, id, send_then_exit);
	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	/* The owner is gone; its set lives in the queued message. */
	EXPECT_TRUE(no_record(self->agent, id));
	/* Dropping the message frees the file without any close. */
	close(sv[1]);
	close(sv[0]);
	ASSERT_TRUE(take_record(self->agent, id, &rec));
	/*
	 * Still, the owner's exit closed its own descriptor: that is how it
	 * ended, shared with the message in flight at the time.
	 */
	EXPECT_EQ(SNAPSET_REASON_EXIT, rec.ev.set.reason);
	EXPECT_TRUE(rec.ev.set.flags & SNAPSET_SET_EXIT_STATUS);
	EXPECT_FALSE(rec.ev.set.flags & SNAPSET_SET_SIGNAL);
	EXPECT_EQ(0, rec.ev.set.exit_status);
	EXPECT_TRUE(rec.ev.set.flags & SNAPSET_SET_CLOSER_SHARED);
	EXPECT_EQ(pid, rec.ev.set.owner_tgid);
	EXPECT_EQ(pid, rec.ev.set.closer_tgid);
}

/*
 * Reads /proc/PID/fdinfo/N of another process's set in a loop. Each read
 * holds a reference to the set's file for a moment (get_file() in the
 * fdinfo's seq_show()), so a close in that process can find the file
 * still referenced: the close is then not the last, and the reference is
 * dropped by this thread, which is not exiting.
 */
struct fdinfo_reader {
	pthread_t thread;
	char path[64];
	int started; /* written once: 's' after a read, 'e' on error */
	int stop;
};

static void *read_fdinfo(void *arg)
{
	struct fdinfo_reader *r = arg;
	char buf[256], c = 'e';
	int fd = open(r->path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && pread(fd, buf, sizeof(buf), 0) > 0)
		c = 's';
	if (write(r->started, &c, 1) != 1 || c != 's')
		goto out;
	/* A read at offset 0 shows the file again; fails once it is gone. */
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED))
		if (pread(fd, buf, sizeof(buf), 0) < 0 && errno != ENOENT)
			break;
out:
	if (fd >= 0)
		close(fd);
	return NULL;
}

#define PROC_READER_ROUNDS 100

/*
 * The owner is SIGKILLed while another thread reads its set's fdinfo: a
 * transient reference at the owner's death must not turn its exit into a
 * reference "released" without a close. It is a race, so many rounds; each
 * must record the exit and the signal, whoever drops the last reference.
 */
TEST_F_TIMEOUT(held, owner_sigkill_survives_a_proc_reader, 300)
{
	int failed = 0, shared = 0, ready[2];

	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	for (int round = 0; round < PROC_READER_ROUNDS; round++) {
		struct fdinfo_reader reader = { .started = ready[1] };
		const struct snapset_set_info *set;
		union event_buf rec;
		__u8 id[SNAPSET_ID_LEN];
		int setfd;
		pid_t pid;
		char c;

		pid = owner_child_fd(&self->loop, id, &setfd, wait_forever);
		ASSERT_LT(0, pid);
		snprintf(reader.path, sizeof(reader.path), "/proc/%d/fdinfo/%d",
			 pid, setfd);
		ASSERT_EQ(0, pthread_create(&reader.thread, NULL, read_fdinfo,
					    &reader));
		/* Kill only once the reader is at it. */
		ASSERT_EQ(1, read(ready[0], &c, 1));
		ASSERT_EQ('s', c);
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(pid, waitpid(pid, NULL, 0));
		__atomic_store_n(&reader.stop, 1, __ATOMIC_RELAXED);
		ASSERT_EQ(0, pthread_join(reader.thread, NULL));

		ASSERT_TRUE(take_record(self->agent, id, &rec));
		set = &rec.ev.set;
		if (set->flags & SNAPSET_SET_CLOSER_SHARED)
			shared++;
		if (set->reason != SNAPSET_REASON_EXIT ||
		    !(set->flags & SNAPSET_SET_SIGNAL) ||
		    set->signal != SIGKILL || set->closer_tgid != pid) {
			if (!failed)
				TH_LOG(
				    "round %d: reason %u flags %#x signal %u "
				    "closer %u (owner %d)",
				    round, set->reason, set->flags, set->signal,
				    set->closer_tgid, pid);
			failed++;
		}
	}
	/* How often the reader held the file at the close, for the log. */
	TH_LOG("%d of %d rounds wrong; the reader shared the close in %d",
	       failed, PROC_READER_ROUNDS, shared);
	EXPECT_EQ(0, failed);
	close(ready[0]);
	close(ready[1]);
}

static void *exit_group_4_later(void *arg)
{
	usleep(100000);
	syscall(SYS_exit_group, 4);
	return NULL;
}

static void last_thread_is_not_main(int set)
{
	pthread_t thread;

	if (pthread_create(&thread, NULL, exit_group_4_later, NULL))
		_exit(100);
	pthread_exit(NULL);
}

TEST_F(held, last_thread_out_is_not_the_main_thread)
{
	union event_buf rec;
	__u8 id[SNAPSET_ID_LEN];
	pid_t pid = owner_child(&self->loop, id, last_thread_is_not_main);

	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	ASSERT_TRUE(take_record(self->agent, id, &rec));
	EXPECT_EQ(SNAPSET_REASON_EXIT, rec.ev.set.reason);
	EXPECT_EQ(4, rec.ev.set.exit_status);
}

TEST_F(held, ended_before_arm_leaves_no_record)
{
	long dissolved = sysfs_counter("sets_dissolved");
	union event_buf ev;
	__u8 id[SNAPSET_ID_LEN];
	int watcher = subscribe(0);
	int fd = set_new("unarmed", id);

	ASSERT_LE(0, watcher);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_add_path(fd, self->loop.path, O_RDONLY, 0));
	close(fd);
	EXPECT_TRUE(no_record(self->agent, id));
	EXPECT_EQ(dissolved + 1, sysfs_counter("sets_dissolved"));
	/* Watchers hear that it ended, unarmed. */
	ASSERT_TRUE(wait_event_for(watcher, SNAPSET_EVENT_SHUTDOWN, id, &ev));
	EXPECT_FALSE(ev.ev.set.flags & SNAPSET_SET_ARMED);
	close(watcher);
}

TEST_F(held, held_loop_detach_sets_autoclear_and_goes_at_termination)
{
	union event_buf rec;
	__u8 id[SNAPSET_ID_LEN];
	int fd = armed_set(&self->loop, NULL, id);

	ASSERT_LE(0, fd);
	/* losetup -d on a held device succeeds but only sets autoclear. */
	ASSERT_EQ(0, loop_detach(&self->loop));
	usleep(200000);
	EXPECT_TRUE(loop_bound(&self->loop));
	close(fd);
	ASSERT_TRUE(take_record(self->agent, id, &rec));
	/* Our reference was the last: the device detaches on its own. */
	EXPECT_TRUE(wait_until_unbound(&self->loop));
}

TEST_F(held, abort_records_the_command_status)
{
	struct snapset_abort abort = { .size = sizeof(abort),
				       .flags = SNAPSET_ABORT_EXIT_STATUS,
				       .exit_status = 2 };
	union event_buf rec, ev;
	__u8 id[SNAPSET_ID_LEN];
	int watcher = subscribe(0);
	int fd = armed_set(&self->loop, NULL, id);

	ASSERT_LE(0, watcher);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl_err(fd, SNAPSET_IOC_ABORT, &abort));
	ASSERT_TRUE(take_record(self->agent, id, &rec));
	EXPECT_EQ(SNAPSET_REASON_ABORT, rec.ev.set.reason);
	EXPECT_EQ(2, rec.ev.set.exit_status);
	EXPECT_TRUE(rec.ev.set.flags & SNAPSET_SET_EXIT_STATUS);
	ASSERT_TRUE(wait_event_for(watcher, SNAPSET_EVENT_ABORT, id, &ev));
	EXPECT_EQ(2, ev.ev.set.exit_status);
	/* Closing the aborted set's file makes no second record. */
	close(fd);
	EXPECT_TRUE(no_record(self->agent, id));
	close(watcher);
}

TEST_F(held, admin_terminate_ends_the_set_once)
{
	struct snapset_target target = { .size = sizeof(target) };
	struct pollfd pfd = { .events = POLLIN };
	union event_buf rec;
	int admin = snapset_open();

	ASSERT_LE(0, admin);
	pfd.fd = armed_set(&self->loop, NULL, target.id);
	ASSERT_LE(0, pfd.fd);
	ASSERT_EQ(0, ioctl_err(admin, SNAPSET_IOC_TERMINATE, &target));
	EXPECT_EQ(ENOENT, ioctl_err(admin, SNAPSET_IOC_TERMINATE, &target));
	ASSERT_EQ(1, poll(&pfd, 1, EVENT_TIMEOUT_MS));
	EXPECT_TRUE(pfd.revents & POLLHUP);
	EXPECT_EQ(ESHUTDOWN, ioctl_err(pfd.fd, SNAPSET_IOC_COMPLETE, NULL));
	ASSERT_TRUE(take_record(self->agent, target.id, &rec));
	EXPECT_EQ(SNAPSET_REASON_ADMIN, rec.ev.set.reason);
	EXPECT_EQ(getpid(), rec.ev.set.closer_tgid);
	close(pfd.fd);
	EXPECT_TRUE(no_record(self->agent, target.id));
	close(admin);
}

TEST_F(held, delete_releases_now_and_the_set_goes_on)
{
	struct snapset_delete del = { .size = sizeof(del),
				      .flags = SNAPSET_DELETE_ALL };
	union event_buf rec;
	__u8 id[SNAPSET_ID_LEN];
	int fd = armed_set(&self->loop, NULL, id);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, loop_detach(&self->loop));
	ASSERT_EQ(0, ioctl_err(fd, SNAPSET_IOC_DELETE, &del));
	EXPECT_TRUE(wait_until_unbound(&self->loop));
	EXPECT_EQ(0, ioctl_err(fd, SNAPSET_IOC_COMPLETE, NULL));
	close(fd);
	ASSERT_TRUE(take_record(self->agent, id, &rec));
	EXPECT_EQ(0, rec.ev.set.ndevices);
	EXPECT_TRUE(rec.ev.set.flags & SNAPSET_SET_COMPLETED);
}

TEST_HARNESS_MAIN
