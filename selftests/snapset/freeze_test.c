// SPDX-License-Identifier: GPL-2.0
/*
 * The freeze guard: SNAPSET_IOC_FREEZE and SNAPSET_IOC_THAW on ext4 and
 * xfs over loop devices. A write is seen blocked by the task's kernel
 * stack (waiting on the superblock's s_writers), never guessed from time;
 * bounded waits are only failure guards.
 */
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "dm_util.h"
#include "util.h"

#ifndef FIFREEZE
#define FIFREEZE _IOWR('X', 119, int)
#define FITHAW _IOWR('X', 120, int)
#endif

/* A filesystem on a loop device (or a dm-linear device over one). */
struct fs {
	struct loopdev loop;
	char dm[48];
	char dev[32];
	char dir[64];
	int dirfd;
};

/*
 * Makes and mounts @type, with mount options @opts (or NULL), on a new
 * loop device of @size; 0 or -1.
 */
static int fs_make_opts(struct fs *fs, const char *type, off_t size, bool on_dm,
			const char *opts)
{
	char guard[256];

	memset(fs, 0, sizeof(*fs));
	fs->dirfd = -1;
	if (loop_attach(&fs->loop, size))
		return -1;
	snprintf(fs->dev, sizeof(fs->dev), "%s", fs->loop.path);
	if (on_dm) {
		snprintf(fs->dm, sizeof(fs->dm), "snapset-freeze-%d-%d",
			 getpid(), fs->loop.index);
		if (sh("dmsetup create %s --table '0 %lld linear %s 0'", fs->dm,
		       (long long)size / 512, fs->loop.path) ||
		    dm_path(fs->dm, fs->dev, sizeof(fs->dev)))
			return -1;
	}
	if (sh("mkfs.%s -q %s %s >/dev/null 2>&1", type,
	       strcmp(type, "xfs") ? "-F" : "-f", fs->dev))
		return -1;
	strcpy(fs->dir, "/tmp/snapset-freeze-XXXXXX");
	if (!mkdtemp(fs->dir) || mount(fs->dev, fs->dir, type, 0, opts))
		return -1;
	/* However the test ends: nothing left frozen, mounted or mapped. */
	if (fs->dm[0])
		snprintf(
		    guard, sizeof(guard),
		    "{ dmsetup resume %s; fsfreeze -u \"$0\"; umount \"$0\" "
		    "&& rmdir \"$0\"; dmsetup remove %s",
		    fs->dm, fs->dm);
	else
		snprintf(guard, sizeof(guard),
			 "{ fsfreeze -u \"$0\"; umount \"$0\" && rmdir \"$0\"");
	strcat(guard, "; } >/dev/null 2>&1; exit 0");
	if (sh_at_exit(guard, fs->dir))
		return -1;
	/* Held by the mount: detached at the umount. */
	loop_detach(&fs->loop);
	fs->dirfd = open(fs->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fs->dirfd < 0 ? -1 : 0;
}

static int fs_make(struct fs *fs, const char *type, off_t size, bool on_dm)
{
	return fs_make_opts(fs, type, size, on_dm, NULL);
}

static void fs_remove(struct fs *fs)
{
	if (fs->dirfd >= 0)
		close(fs->dirfd);
	if (fs->dir[0] && !umount(fs->dir))
		rmdir(fs->dir);
	if (fs->dm[0])
		sh("dmsetup remove %s 2>/dev/null", fs->dm);
}

static int do_freeze(int set, const int *fds, __u32 n, __u32 timeout_ms)
{
	struct snapset_freeze arg = {
		.size = sizeof(arg),
		.fds = (unsigned long)fds,
		.nr_fds = n,
		.timeout_ms = timeout_ms,
	};

	return ioctl_err(set, SNAPSET_IOC_FREEZE, &arg);
}

static int do_thaw(int set, struct snapset_thaw *out)
{
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	return ioctl_err(set, SNAPSET_IOC_THAW, out);
}

/* A child writing a file on a filesystem, and its pidfd. */
struct writer {
	pid_t pid;
	int pidfd;
};

/* Starts a child that writes and fsyncs @dir/@name; 0 or -1. */
static int writer_start(struct writer *w, const char *dir, const char *name)
{
	static char buf[4096];
	char path[128], byte;
	int go[2];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (pipe2(go, O_CLOEXEC))
		return -1;
	w->pid = fork();
	if (w->pid == 0) {
		int fd;

		/* Told before: the open itself may wait for the thaw. */
		if (write(go[1], "x", 1) != 1)
			_exit(2);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, buf, sizeof(buf)) != sizeof(buf) ||
		    fsync(fd))
			_exit(3);
		_exit(0);
	}
	close(go[1]);
	if (w->pid < 0 || read(go[0], &byte, 1) != 1) {
		close(go[0]);
		return -1;
	}
	close(go[0]);
	w->pidfd = syscall(SYS_pidfd_open, w->pid, 0);
	return w->pidfd < 0 ? -1 : 0;
}

/*
 * Whether the writer sleeps on a frozen superblock, by its stack: in
 * sb_start_write()'s percpu_down_read() of s_writers.
 */
static bool writer_blocked(const struct writer *w)
{
	char path[64], line[256];
	struct pollfd pfd = { .fd = w->pidfd, .events = POLLIN };

	snprintf(path, sizeof(path), "/proc/%d/stack", w->pid);
	/* A failure guard: a frozen writer is seen at once. */
	for (int i = 0; i < 1000; i++) {
		FILE *f = fopen(path, "r");
		bool found = false;

		if (!f || poll(&pfd, 1, 0))
			return f ? (fclose(f), false) : false;
		while (!found && fgets(line, sizeof(line), f))
			found = strstr(line, "percpu_rwsem_wait") ||
				strstr(line, "percpu_down_read");
		fclose(f);
		if (found)
			return true;
		usleep(10000);
	}
	return false;
}

/* Whether the writer finished its write within @timeout_ms. */
static bool writer_done(struct writer *w, int timeout_ms)
{
	struct pollfd pfd = { .fd = w->pidfd, .events = POLLIN };
	int status = -1;

	if (poll(&pfd, 1, timeout_ms) != 1) {
		kill(w->pid, SIGKILL);
		waitpid(w->pid, NULL, 0);
		close(w->pidfd);
		return false;
	}
	waitpid(w->pid, &status, 0);
	close(w->pidfd);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The live set @id as a list shows it; false when it is not listed. */
static bool live_info(const __u8 id[SNAPSET_ID_LEN],
		      struct snapset_set_info *info)
{
	int fd = snapset_open(), n;

	if (fd < 0)
		return false;
	n = list_live(fd, id, info);
	close(fd);
	return n == 1;
}

/* The harness runs a test whose fixture's setup skipped: it returns. */
#define RETURN_IF_SKIPPED()          \
	do {                         \
		if (_metadata->skip) \
			return;      \
	} while (0)

FIXTURE(freeze)
{
	struct fs fs;
	int set;
	__u8 id[SNAPSET_ID_LEN];
};

FIXTURE_VARIANT(freeze)
{
	const char *type;
	off_t size;
};

/* mkfs.xfs wants 300 MiB; the files are sparse, in the guest's tmpfs. */
FIXTURE_VARIANT_ADD(freeze, ext4){
	.type = "ext4",
	.size = 32 << 20,
};

FIXTURE_VARIANT_ADD(freeze, xfs){
	.type = "xfs",
	.size = 320 << 20,
};

FIXTURE_SETUP(freeze)
{
	self->set = -1;
	self->fs.dirfd = -1;
	sh("modprobe -q %s 2>/dev/null", variant->type);
	if (sh("grep -qw %s /proc/filesystems", variant->type))
		SKIP(return, "%s: not in this kernel", variant->type);
	if (sh("command -v mkfs.%s >/dev/null", variant->type))
		SKIP(return, "mkfs.%s: not installed", variant->type);
	ASSERT_EQ(0, fs_make(&self->fs, variant->type, variant->size, false));
	self->set = set_new("freeze", self->id);
	ASSERT_LE(0, self->set);
}

FIXTURE_TEARDOWN(freeze)
{
	if (self->set >= 0)
		close(self->set);
	fs_remove(&self->fs);
	discard_all_pending();
}

/*
 * Writes wait while frozen and go on at the thaw, which says how long
 * they were held; a list says it too. No arm while frozen, one freeze
 * per set, and an arm after the thaw.
 */
TEST_F_TIMEOUT(freeze, freeze_holds_writes_until_thaw, 120)
{
	struct snapset_set_info info;
	struct snapset_thaw thaw;
	struct writer w;

	RETURN_IF_SKIPPED();

	ASSERT_EQ(0, do_freeze(self->set, &self->fs.dirfd, 1, 60000));
	ASSERT_TRUE(live_info(self->id, &info));
	EXPECT_EQ(1, info.freeze_count);
	EXPECT_EQ(SNAPSET_FREEZE_END_NONE, info.freeze_end);
	EXPECT_NE(0, info.freeze_realtime);
	EXPECT_EQ(0, info.freeze_hold_ns);

	ASSERT_EQ(0, writer_start(&w, self->fs.dir, "held"));
	EXPECT_TRUE(writer_blocked(&w));
	EXPECT_EQ(EBUSY, ioctl_err(self->set, SNAPSET_IOC_ARM, NULL));
	EXPECT_EQ(EBUSY, do_freeze(self->set, &self->fs.dirfd, 1, 0));

	ASSERT_EQ(0, do_thaw(self->set, &thaw));
	EXPECT_EQ(1, thaw.freeze_count);
	EXPECT_EQ(SNAPSET_FREEZE_END_THAWED, thaw.freeze_end);
	EXPECT_LT(0, thaw.freeze_hold_ns);
	EXPECT_TRUE(writer_done(&w, EVENT_TIMEOUT_MS));

	ASSERT_TRUE(live_info(self->id, &info));
	EXPECT_EQ(SNAPSET_FREEZE_END_THAWED, info.freeze_end);
	EXPECT_EQ(thaw.freeze_hold_ns, info.freeze_hold_ns);
	EXPECT_EQ(0, info.flags & SNAPSET_SET_FREEZE_FOREIGN);
	EXPECT_EQ(EALREADY, do_thaw(self->set, &thaw));
	EXPECT_EQ(EBUSY, do_freeze(self->set, &self->fs.dirfd, 1, 0));
	EXPECT_EQ(0, ioctl_err(self->set, SNAPSET_IOC_ARM, NULL));
}

static void freeze_and_wait(int set, int dirfd, int report)
{
	char result = do_freeze(set, &dirfd, 1, 60000);

	if (write(report, &result, 1) != 1 || result)
		_exit(1);
	for (;;)
		pause();
}

/* The owner SIGKILLed while frozen: the kernel thaws, the end says so. */
TEST_F_TIMEOUT(freeze, owner_killed_while_frozen_thaws, 120)
{
	int watcher = subscribe(0), report[2];
	union event_buf ev;
	__u8 id[SNAPSET_ID_LEN];
	struct writer w;
	char result = -1;
	pid_t owner;
	int set;

	RETURN_IF_SKIPPED();

	ASSERT_LE(0, watcher);
	ASSERT_EQ(0, pipe2(report, O_CLOEXEC));
	owner = fork();
	ASSERT_LE(0, owner);
	if (owner == 0) {
		set = set_new("killed", id);
		if (set < 0 || write(report[1], id, sizeof(id)) != sizeof(id))
			_exit(1);
		freeze_and_wait(set, self->fs.dirfd, report[1]);
	}
	close(report[1]);
	ASSERT_EQ(sizeof(id), read(report[0], id, sizeof(id)));
	ASSERT_EQ(1, read(report[0], &result, 1));
	ASSERT_EQ(0, result);
	ASSERT_EQ(0, writer_start(&w, self->fs.dir, "killed"));
	EXPECT_TRUE(writer_blocked(&w));

	ASSERT_EQ(0, kill(owner, SIGKILL));
	EXPECT_TRUE(writer_done(&w, EVENT_TIMEOUT_MS));
	ASSERT_EQ(owner, waitpid(owner, NULL, 0));
	ASSERT_TRUE(wait_event_for(watcher, SNAPSET_EVENT_SHUTDOWN, id, &ev));
	EXPECT_EQ(SNAPSET_REASON_EXIT, ev.ev.set.reason);
	EXPECT_EQ(SIGKILL, ev.ev.set.signal);
	EXPECT_EQ(1, ev.ev.set.freeze_count);
	EXPECT_EQ(SNAPSET_FREEZE_END_TERMINATED, ev.ev.set.freeze_end);
	EXPECT_LT(0, ev.ev.set.freeze_hold_ns);
	close(report[0]);
	close(watcher);
}

/* An administrator's terminate thaws too, before the set is gone. */
TEST_F_TIMEOUT(freeze, terminate_while_frozen_thaws, 120)
{
	int watcher = subscribe(0), admin = snapset_open();
	union event_buf ev;
	struct writer w;

	RETURN_IF_SKIPPED();

	ASSERT_LE(0, watcher);
	ASSERT_LE(0, admin);
	ASSERT_EQ(0, do_freeze(self->set, &self->fs.dirfd, 1, 60000));
	ASSERT_EQ(0, writer_start(&w, self->fs.dir, "terminated"));
	EXPECT_TRUE(writer_blocked(&w));
	ASSERT_EQ(0, terminate(admin, self->id));
	EXPECT_TRUE(writer_done(&w, EVENT_TIMEOUT_MS));
	ASSERT_TRUE(
	    wait_event_for(watcher, SNAPSET_EVENT_SHUTDOWN, self->id, &ev));
	EXPECT_EQ(SNAPSET_REASON_ADMIN, ev.ev.set.reason);
	EXPECT_EQ(SNAPSET_FREEZE_END_TERMINATED, ev.ev.set.freeze_end);
	close(admin);
	close(watcher);
}

/*
 * An abort thaws before its event goes out: a writer told of the abort
 * finds its filesystem writable, and the event says how the freeze ended.
 */
TEST_F_TIMEOUT(freeze, abort_while_frozen_thaws_first, 120)
{
	struct snapset_abort abort = { .size = sizeof(abort) };
	int watcher = subscribe(0);
	union event_buf ev;
	struct writer w;

	RETURN_IF_SKIPPED();

	ASSERT_LE(0, watcher);
	ASSERT_EQ(0, do_freeze(self->set, &self->fs.dirfd, 1, 60000));
	ASSERT_EQ(0, writer_start(&w, self->fs.dir, "aborted"));
	EXPECT_TRUE(writer_blocked(&w));
	ASSERT_EQ(0, ioctl_err(self->set, SNAPSET_IOC_ABORT, &abort));
	ASSERT_TRUE(
	    wait_event_for(watcher, SNAPSET_EVENT_ABORT, self->id, &ev));
	EXPECT_EQ(SNAPSET_FREEZE_END_TERMINATED, ev.ev.set.freeze_end);
	EXPECT_LT(0, ev.ev.set.freeze_hold_ns);
	EXPECT_TRUE(writer_done(&w, EVENT_TIMEOUT_MS));
	close(watcher);
}

/*
 * An umount of a frozen filesystem only detaches it: the set's reference
 * keeps the superblock, frozen, until the thaw, which lets it go (its
 * loop device, set to autoclear, detaches then).
 */
TEST_F_TIMEOUT(freeze, umount_while_frozen, 120)
{
	struct snapset_thaw thaw;

	RETURN_IF_SKIPPED();

	ASSERT_EQ(0, do_freeze(self->set, &self->fs.dirfd, 1, 60000));
	close(self->fs.dirfd);
	self->fs.dirfd = -1;
	ASSERT_EQ(0, umount(self->fs.dir));
	EXPECT_TRUE(loop_bound(&self->fs.loop));
	EXPECT_EQ(0, do_thaw(self->set, &thaw));
	EXPECT_TRUE(wait_until_unbound(&self->fs.loop));
	rmdir(self->fs.dir);
	self->fs.dir[0] = '\0';
}

/*
 * The deadline thaws and tells subscribers; the set is expired: its thaw
 * says so, and it cannot be armed. A write is seen held before the
 * deadline, and going on after it.
 */
TEST_F_TIMEOUT(freeze, deadline_thaws_and_expires, 120)
{
	int watcher = subscribe(0);
	struct snapset_thaw thaw;
	union event_buf ev;
	struct writer w;

	RETURN_IF_SKIPPED();

	ASSERT_LE(0, watcher);
	/* Long enough for the writer to be seen waiting in a slow guest. */
	ASSERT_EQ(0, do_freeze(self->set, &self->fs.dirfd, 1, 2000));
	ASSERT_EQ(0, writer_start(&w, self->fs.dir, "expired"));
	EXPECT_TRUE(writer_blocked(&w));
	ASSERT_TRUE(wait_event_for(watcher, SNAPSET_EVENT_FREEZE_EXPIRED,
				   self->id, &ev));
	EXPECT_EQ(SNAPSET_FREEZE_END_EXPIRED, ev.ev.set.freeze_end);
	EXPECT_LE(2000000000ULL, ev.ev.set.freeze_hold_ns);
	EXPECT_TRUE(writer_done(&w, EVENT_TIMEOUT_MS));

	EXPECT_EQ(ETIMEDOUT, do_thaw(self->set, &thaw));
	EXPECT_EQ(SNAPSET_FREEZE_END_EXPIRED, thaw.freeze_end);
	EXPECT_EQ(ev.ev.set.freeze_hold_ns, thaw.freeze_hold_ns);
	EXPECT_EQ(ETIMEDOUT, ioctl_err(self->set, SNAPSET_IOC_ARM, NULL));
	close(watcher);
}

/* Two filesystems in one call (and one named twice), one thaw for both. */
TEST_F_TIMEOUT(freeze, two_filesystems_one_thaw, 180)
{
	struct snapset_thaw thaw;
	struct writer w[2];
	struct fs other;
	int fds[3];

	RETURN_IF_SKIPPED();

	ASSERT_EQ(0, fs_make(&other, variant->type, variant->size, false));
	fds[0] = other.dirfd;
	fds[1] = self->fs.dirfd;
	fds[2] = other.dirfd;
	ASSERT_EQ(0, do_freeze(self->set, fds, 3, 60000));
	ASSERT_EQ(0, writer_start(&w[0], self->fs.dir, "one"));
	ASSERT_EQ(0, writer_start(&w[1], other.dir, "two"));
	EXPECT_TRUE(writer_blocked(&w[0]));
	EXPECT_TRUE(writer_blocked(&w[1]));
	ASSERT_EQ(0, do_thaw(self->set, &thaw));
	EXPECT_EQ(2, thaw.freeze_count);
	EXPECT_TRUE(writer_done(&w[0], EVENT_TIMEOUT_MS));
	EXPECT_TRUE(writer_done(&w[1], EVENT_TIMEOUT_MS));
	fs_remove(&other);
}

/*
 * A filesystem frozen by someone else is refused, and stays frozen: the
 * module thaws neither it nor, all or nothing, the other one it froze
 * first; that one is writable again.
 */
TEST_F_TIMEOUT(freeze, frozen_by_someone_else_is_refused, 180)
{
	struct writer w, mine;
	struct fs other;
	int fds[2];

	RETURN_IF_SKIPPED();

	ASSERT_EQ(0, fs_make(&other, variant->type, variant->size, false));
	ASSERT_EQ(0, ioctl(other.dirfd, FIFREEZE, 0));
	fds[0] = self->fs.dirfd;
	fds[1] = other.dirfd;
	EXPECT_EQ(EBUSY, do_freeze(self->set, fds, 2, 60000));
	EXPECT_EQ(EBUSY, do_freeze(self->set, &other.dirfd, 1, 60000));

	ASSERT_EQ(0, writer_start(&mine, self->fs.dir, "mine"));
	EXPECT_TRUE(writer_done(&mine, EVENT_TIMEOUT_MS));
	ASSERT_EQ(0, writer_start(&w, other.dir, "theirs"));
	EXPECT_TRUE(writer_blocked(&w));
	EXPECT_EQ(0, ioctl(other.dirfd, FITHAW, 0));
	EXPECT_TRUE(writer_done(&w, EVENT_TIMEOUT_MS));
	/* The failed freezes left nothing: the set freezes still. */
	EXPECT_EQ(0, do_freeze(self->set, &self->fs.dirfd, 1, 60000));
	fs_remove(&other);
}

/*
 * Whether a new set's freeze of @dir holds a write until its thaw, and
 * fsfreeze's does too: the block device's freeze count is not left
 * raised, nor the filesystem frozen.
 */
static bool freezes_again(int dirfd, const char *dir)
{
	struct snapset_thaw thaw;
	struct writer w;
	bool held;
	int set;

	set = set_new("again", NULL);
	if (set < 0)
		return false;
	if (do_freeze(set, &dirfd, 1, 60000) ||
	    writer_start(&w, dir, "again")) {
		close(set);
		return false;
	}
	held = writer_blocked(&w);
	held =
	    !do_thaw(set, &thaw) && writer_done(&w, EVENT_TIMEOUT_MS) && held;
	close(set);
	if (!held || ioctl(dirfd, FIFREEZE, 0) ||
	    writer_start(&w, dir, "fsfreeze"))
		return false;
	held = writer_blocked(&w);
	return !ioctl(dirfd, FITHAW, 0) && writer_done(&w, EVENT_TIMEOUT_MS) &&
	       held;
}

/*
 * Someone else thaws under the set's freeze (FITHAW): the set's thaw
 * reports it, the set cannot be armed, and the block device's freeze
 * count is not left raised: a new freeze really holds writes again.
 */
TEST_F_TIMEOUT(freeze, thawed_by_someone_else_is_reported, 120)
{
	struct snapset_set_info info;
	struct snapset_thaw thaw;
	struct writer w;

	RETURN_IF_SKIPPED();

	ASSERT_EQ(0, do_freeze(self->set, &self->fs.dirfd, 1, 60000));
	ASSERT_EQ(0, ioctl(self->fs.dirfd, FITHAW, 0));
	ASSERT_EQ(0, writer_start(&w, self->fs.dir, "foreign"));
	EXPECT_TRUE(writer_done(&w, EVENT_TIMEOUT_MS));

	EXPECT_EQ(ESTALE, do_thaw(self->set, &thaw));
	EXPECT_EQ(SNAPSET_FREEZE_END_THAWED, thaw.freeze_end);
	ASSERT_TRUE(live_info(self->id, &info));
	EXPECT_TRUE(info.flags & SNAPSET_SET_FREEZE_FOREIGN);
	EXPECT_EQ(ESTALE, ioctl_err(self->set, SNAPSET_IOC_ARM, NULL));
	EXPECT_TRUE(freezes_again(self->fs.dirfd, self->fs.dir));
}

/*
 * An emergency thaw (sysrq j) thaws the block device's freeze to the end,
 * its count to 0: the set's thaw reports it and freezes nothing again
 * (that freeze could never be thawed), so writes go on, and a new freeze
 * holds them.
 */
TEST_F_TIMEOUT(freeze, emergency_thaw_is_reported, 120)
{
	struct snapset_thaw thaw;
	struct writer w;

	RETURN_IF_SKIPPED();

	if (access("/proc/sysrq-trigger", W_OK))
		SKIP(return, "no /proc/sysrq-trigger");
	ASSERT_EQ(0, do_freeze(self->set, &self->fs.dirfd, 1, 60000));
	ASSERT_EQ(0, writer_start(&w, self->fs.dir, "held"));
	EXPECT_TRUE(writer_blocked(&w));
	ASSERT_EQ(0, sh("echo j >/proc/sysrq-trigger"));
	/* The kernel thaws in a work: the writer going on shows it. */
	EXPECT_TRUE(writer_done(&w, EVENT_TIMEOUT_MS));

	EXPECT_EQ(ESTALE, do_thaw(self->set, &thaw));
	EXPECT_EQ(SNAPSET_FREEZE_END_THAWED, thaw.freeze_end);
	ASSERT_EQ(0, writer_start(&w, self->fs.dir, "after"));
	EXPECT_TRUE(writer_done(&w, EVENT_TIMEOUT_MS));
	EXPECT_TRUE(freezes_again(self->fs.dirfd, self->fs.dir));
}

/* Whether device-mapper can be used, without udev. */
static bool dm_ready(void)
{
	setenv("DM_DISABLE_UDEV", "1", 1);
	sh("modprobe -q dm-mod 2>/dev/null");
	return !access("/dev/mapper/control", F_OK);
}

/*
 * device-mapper's suspend (what lvcreate --snapshot does to the origin)
 * nests inside the set's freeze: it succeeds, and its resume leaves the
 * filesystem frozen until the set thaws it.
 */
TEST_F_TIMEOUT(freeze, dm_suspend_nests_inside, 180)
{
	struct snapset_thaw thaw;
	struct writer w;
	struct fs dm;

	RETURN_IF_SKIPPED();

	if (!dm_ready())
		SKIP(return, "no device-mapper in this kernel");
	ASSERT_EQ(0, fs_make(&dm, variant->type, variant->size, true));
	ASSERT_EQ(0, do_freeze(self->set, &dm.dirfd, 1, 60000));
	EXPECT_EQ(0, sh("dmsetup suspend %s", dm.dm));
	EXPECT_EQ(0, sh("dmsetup resume %s", dm.dm));
	ASSERT_EQ(0, writer_start(&w, dm.dir, "nested"));
	EXPECT_TRUE(writer_blocked(&w));
	EXPECT_EQ(0, do_thaw(self->set, &thaw));
	EXPECT_TRUE(writer_done(&w, EVENT_TIMEOUT_MS));
	/* The device's count is back to 0: its next suspend freezes. */
	EXPECT_EQ(0,
		  sh("dmsetup suspend %s && dmsetup resume %s", dm.dm, dm.dm));
	fs_remove(&dm);
}

/*
 * A block device whose freeze count is raised (here by another set's
 * freeze) while its filesystem was thawed under it (FITHAW): its freeze
 * would only count, holding nothing. Refused with EALREADY, and the set
 * froze nothing. (Not with a device-mapper suspend: ext4's FITHAW then
 * writes its superblock to the suspended device and waits for good.)
 */
TEST_F_TIMEOUT(freeze, bdev_freeze_that_does_not_freeze_is_refused, 120)
{
	struct snapset_set_info info;
	struct snapset_thaw thaw;
	struct writer w;
	int other;

	RETURN_IF_SKIPPED();

	other = set_new("other", NULL);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, do_freeze(other, &self->fs.dirfd, 1, 60000));
	ASSERT_EQ(0, ioctl(self->fs.dirfd, FITHAW, 0));
	EXPECT_EQ(EALREADY, do_freeze(self->set, &self->fs.dirfd, 1, 60000));
	EXPECT_EQ(ENOENT, do_thaw(self->set, &thaw));
	ASSERT_TRUE(live_info(self->id, &info));
	EXPECT_EQ(0, info.freeze_count);
	ASSERT_EQ(0, writer_start(&w, self->fs.dir, "unheld"));
	EXPECT_TRUE(writer_done(&w, EVENT_TIMEOUT_MS));
	EXPECT_EQ(ESTALE, do_thaw(other, &thaw));
	close(other);
	EXPECT_TRUE(freezes_again(self->fs.dirfd, self->fs.dir));
}

/*
 * What the requester does: an LVM snapshot of a frozen origin. lvcreate
 * suspends the origin, and its freeze nests inside the set's: the
 * snapshot is made, and the origin stays frozen until the set's thaw.
 */
TEST_F_TIMEOUT(freeze, lvm_snapshot_of_frozen_origin, 300)
{
	char vg[32], dev[64], guard[160];
	struct snapset_thaw thaw;
	struct loopdev pv;
	struct writer w;
	struct fs lv = { .dirfd = -1 };

	RETURN_IF_SKIPPED();

	if (lvm_prepare())
		SKIP(return, "no device-mapper or no lvm");
	ASSERT_EQ(0, loop_attach(&pv, variant->size + (64 << 20)));
	snprintf(vg, sizeof(vg), "snapsetfreeze%d", getpid());
	snprintf(guard, sizeof(guard),
		 "{ lvm vgremove -f \"$0\"; losetup -d %s; } >/dev/null 2>&1",
		 pv.path);
	ASSERT_EQ(0, sh_at_exit(guard, vg));
	ASSERT_EQ(0, sh("lvm vgcreate -q %s %s >/dev/null 2>&1 && "
			"lvm lvcreate -q -n origin -L %lldm %s >/dev/null 2>&1",
			vg, pv.path, (long long)(variant->size >> 20), vg));
	snprintf(dev, sizeof(dev), "/dev/%s/origin", vg);
	ASSERT_EQ(0, sh("mkfs.%s -q %s %s >/dev/null 2>&1", variant->type,
			strcmp(variant->type, "xfs") ? "-F" : "-f", dev));
	strcpy(lv.dir, "/tmp/snapset-freeze-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(lv.dir));
	ASSERT_EQ(0, sh_at_exit("{ fsfreeze -u \"$0\"; umount \"$0\"; } "
				">/dev/null 2>&1",
				lv.dir));
	ASSERT_EQ(0, mount(dev, lv.dir, variant->type, 0, NULL));
	lv.dirfd = open(lv.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, lv.dirfd);

	ASSERT_EQ(0, do_freeze(self->set, &lv.dirfd, 1, 60000));
	EXPECT_EQ(0, sh("lvm lvcreate -q -s -n snap -L 16m %s/origin "
			">/dev/null 2>&1",
			vg));
	ASSERT_EQ(0, writer_start(&w, lv.dir, "origin"));
	EXPECT_TRUE(writer_blocked(&w));
	EXPECT_EQ(0, do_thaw(self->set, &thaw));
	EXPECT_EQ(SNAPSET_FREEZE_END_THAWED, thaw.freeze_end);
	EXPECT_TRUE(writer_done(&w, EVENT_TIMEOUT_MS));
	fs_remove(&lv);
	EXPECT_EQ(0, sh("lvm vgremove -f %s >/dev/null 2>&1", vg));
	loop_detach(&pv);
}

/*
 * Gives dm device @fs->dm the table "0 @size @target", without freezing
 * its filesystem (--nolockfs): its block device's freeze count stays.
 */
static int dm_retarget(const struct fs *fs, off_t size, const char *target)
{
	return sh("dmsetup suspend --nolockfs %s && "
		  "dmsetup load %s --table '0 %lld %s' && dmsetup resume %s",
		  fs->dm, fs->dm, (long long)size / 512, target, fs->dm);
}

static int dm_restore(const struct fs *fs, off_t size)
{
	char linear[64];

	snprintf(linear, sizeof(linear), "linear %s 0", fs->loop.path);
	return dm_retarget(fs, size, linear);
}

/* Whether @stack names @frame, or one of its alternatives "a|b". */
static bool stack_has(const char *stack, const char *frame)
{
	const char *bar = strchr(frame, '|');
	char first[64];

	if (!bar)
		return strstr(stack, frame);
	snprintf(first, sizeof(first), "%.*s", (int)(bar - frame), frame);
	return strstr(stack, first) || stack_has(stack, bar + 1);
}

/*
 * Waits (a failure guard) until task @pid sleeps in the kernel with each
 * of @frames on its stack.
 */
static bool stack_shows(pid_t pid, const char *const *frames, int n)
{
	char path[64], stack[8192];
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stack", pid);
	for (int waited = 0; waited < EVENT_TIMEOUT_MS; waited += 10) {
		if (read_text(path, stack, sizeof(stack)))
			return false;
		for (i = 0; i < n && stack_has(stack, frames[i]); i++)
			;
		if (i == n)
			return true;
		usleep(10000);
	}
	fprintf(stderr, "# %d's last stack:\n%s", pid, stack);
	return false;
}

/* A child that exits with what @set's freeze of @fds returned. */
static pid_t freeze_child(int set, const int *fds, __u32 n)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(do_freeze(set, fds, n, 60000));
	return pid;
}

/* A child that syncs the filesystem of @dirfd (holding its s_umount). */
static pid_t syncfs_child(int dirfd)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(syncfs(dirfd) ? 1 : 0);
	return pid;
}

static int child_status(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * The failed freeze's thaw back fails for real: two ext4 on dm-linear,
 * @first frozen first (lower s_dev). The freeze of @second waits for its
 * s_umount, held by a syncfs that waits on @second's suspended device;
 * meanwhile someone else thaws @first (FITHAW) and @first's disk starts
 * failing writes (an error target). @second's device resumes failing
 * too: its freeze fails (EIO), and the thaw back of @first, which must
 * freeze it again to bring its block device's count down (see
 * module/freeze.c), fails to write its superblock. ENOTRECOVERABLE; the
 * count of @first's device is left raised, which the kernel log says.
 */
static int freeze_thaw_back_fails(struct __test_metadata *_metadata, int set,
				  struct fs *first, struct fs *second,
				  off_t size)
{
	static const char *const sync_frames[] = { "sync_filesystem" };
	/* Waiting for s_umount in the block device's freeze (6.1, 6.8+). */
	static const char *const lock_frames[] = {
		"grab_super|super_lock|get_bdev_super",
		"freeze_bdev|bdev_freeze"
	};
	int fds[2] = { first->dirfd, second->dirfd }, ret;
	pid_t freezer, syncer;

	/* A change for the syncfs to commit, and no commit before it. */
	ret = openat(second->dirfd, "touched", O_CREAT | O_WRONLY | O_CLOEXEC,
		     0600);
	EXPECT_LE(0, ret);
	close(ret);
	EXPECT_EQ(0, sh("dmsetup suspend --nolockfs %s", second->dm));
	syncer = syncfs_child(second->dirfd);
	EXPECT_TRUE(stack_shows(syncer, sync_frames, 1));
	freezer = freeze_child(set, fds, 2);
	EXPECT_TRUE(stack_shows(freezer, lock_frames, 2));
	/* @first is frozen: the set is past it, waiting for @second. */
	EXPECT_EQ(0, ioctl(first->dirfd, FITHAW, 0));
	EXPECT_EQ(0, dm_retarget(first, size, "error"));
	EXPECT_EQ(0, sh("dmsetup load %s --table '0 %lld error' && "
			"dmsetup resume %s",
			second->dm, (long long)size / 512, second->dm));
	ret = child_status(freezer);
	child_status(syncer);
	return ret;
}

/*
 * A freeze whose thaw back failed (ENOTRECOVERABLE) leaves the set
 * marked SNAPSET_SET_THAW_FAILED, and such a set neither freezes again
 * (not even another, healthy filesystem) nor arms; its thaw has nothing
 * to thaw and says why.
 */
TEST_F_TIMEOUT(freeze, failed_thaw_back_is_not_recoverable, 180)
{
	/* No background writes: no lazy init, no commit but the syncfs's. */
	static const char opts[] = "commit=600,noinit_itable,"
				   "no_prefetch_block_bitmaps,errors=continue";
	const off_t size = 32 << 20;
	struct snapset_set_info info;
	struct snapset_thaw thaw;
	struct fs first, second;
	struct stat a, b;
	struct writer w;

	RETURN_IF_SKIPPED();

	if (strcmp(variant->type, "ext4"))
		SKIP(return, "the failing superblock write is ext4's");
	if (!dm_ready())
		SKIP(return, "no device-mapper in this kernel");
	ASSERT_EQ(0, fs_make_opts(&first, "ext4", size, true, opts));
	ASSERT_EQ(0, fs_make_opts(&second, "ext4", size, true, opts));
	ASSERT_EQ(0, fstat(first.dirfd, &a));
	ASSERT_EQ(0, fstat(second.dirfd, &b));
	ASSERT_LT(a.st_dev, b.st_dev);

	EXPECT_EQ(ENOTRECOVERABLE,
		  freeze_thaw_back_fails(_metadata, self->set, &first, &second,
					 size));
	EXPECT_EQ(0, sh("dmesg | grep -q '%s: thaw failed'",
			strrchr(first.dev, '/') + 1));
	ASSERT_TRUE(live_info(self->id, &info));
	EXPECT_TRUE(info.flags & SNAPSET_SET_THAW_FAILED);
	EXPECT_EQ(0, info.freeze_count);

	EXPECT_EQ(ENOTRECOVERABLE,
		  do_freeze(self->set, &self->fs.dirfd, 1, 60000));
	ASSERT_EQ(0, writer_start(&w, self->fs.dir, "unheld"));
	EXPECT_TRUE(writer_done(&w, EVENT_TIMEOUT_MS));
	EXPECT_EQ(ENOTRECOVERABLE, ioctl_err(self->set, SNAPSET_IOC_ARM, NULL));
	EXPECT_EQ(ENOTRECOVERABLE, do_thaw(self->set, &thaw));
	EXPECT_EQ(0, thaw.freeze_count);
	EXPECT_EQ(SNAPSET_FREEZE_END_NONE, thaw.freeze_end);
	ASSERT_TRUE(live_info(self->id, &info));
	EXPECT_EQ(0, info.flags & SNAPSET_SET_ARMED);

	EXPECT_EQ(0, dm_restore(&first, size));
	EXPECT_EQ(0, dm_restore(&second, size));
	fs_remove(&first);
	fs_remove(&second);
}

static int drop_to_userns_root(void)
{
	/* Root in a new user namespace has no CAP_SYS_ADMIN here. */
	return unshare(CLONE_NEWUSER);
}

/* Refusals: privilege, filesystems, arguments, and the set's state. */
TEST_F(freeze, refusals)
{
	struct snapset_freeze arg = { .size = sizeof(arg), .nr_fds = 1 };
	char tmpfs[] = "/tmp/snapset-tmpfs-XXXXXX";
	int many[SNAPSET_MAX_FREEZE + 1], tmp, status, fd;
	struct snapset_thaw thaw;
	pid_t pid;

	RETURN_IF_SKIPPED();

	arg.fds = (unsigned long)&self->fs.dirfd;
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(drop_to_userns_root() ? 2
		      : do_freeze(self->set, &self->fs.dirfd, 1, 0) == EPERM
			  ? 0
			  : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));

	/* A tmpfs of its own: the guest's /tmp need not be one. */
	ASSERT_NE(NULL, mkdtemp(tmpfs));
	ASSERT_EQ(0, mount("tmpfs", tmpfs, "tmpfs", 0, "size=64k"));
	tmp = open(tmpfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	umount2(tmpfs, MNT_DETACH);
	rmdir(tmpfs);
	ASSERT_LE(0, tmp);
	EXPECT_EQ(EOPNOTSUPP, do_freeze(self->set, &tmp, 1, 0));
	close(tmp);
	fd = -1;
	EXPECT_EQ(EBADF, do_freeze(self->set, &fd, 1, 0));

	arg.size = SNAPSET_FREEZE_SIZE_VER0 - 8;
	EXPECT_EQ(EINVAL, ioctl_err(self->set, SNAPSET_IOC_FREEZE, &arg));
	arg.size = sizeof(arg);
	arg.flags = 1;
	EXPECT_EQ(EINVAL, ioctl_err(self->set, SNAPSET_IOC_FREEZE, &arg));
	arg.flags = 0;
	arg.nr_fds = 0;
	EXPECT_EQ(EINVAL, ioctl_err(self->set, SNAPSET_IOC_FREEZE, &arg));
	for (int i = 0; i <= SNAPSET_MAX_FREEZE; i++)
		many[i] = self->fs.dirfd;
	EXPECT_EQ(EINVAL,
		  do_freeze(self->set, many, SNAPSET_MAX_FREEZE + 1, 0));
	EXPECT_EQ(EINVAL, do_freeze(self->set, &self->fs.dirfd, 1,
				    SNAPSET_FREEZE_TIMEOUT_MAX_MS + 1));
	EXPECT_EQ(ENOENT, do_thaw(self->set, &thaw));
	thaw.flags = 1;
	EXPECT_EQ(EINVAL, ioctl_err(self->set, SNAPSET_IOC_THAW, &thaw));

	/* Only a set's file freezes, and only before arm. */
	fd = snapset_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(EBADFD, do_freeze(fd, &self->fs.dirfd, 1, 0));
	close(fd);
	ASSERT_EQ(0, ioctl_err(self->set, SNAPSET_IOC_ARM, NULL));
	EXPECT_EQ(EBUSY, do_freeze(self->set, &self->fs.dirfd, 1, 0));
	/* Nothing was frozen by any of them. */
	EXPECT_EQ(ENOENT, do_thaw(self->set, &thaw));
}

/* The handshake lists both ioctls. */
TEST(api_lists_freeze_and_thaw)
{
	struct snapset_api api = { .size = sizeof(api), .api = SNAPSET_API };
	int fd = snapset_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl_err(fd, SNAPSET_IOC_API, &api));
	EXPECT_TRUE(api.ioctls & (1ULL << _IOC_NR(SNAPSET_IOC_FREEZE)));
	EXPECT_TRUE(api.ioctls & (1ULL << _IOC_NR(SNAPSET_IOC_THAW)));
	close(fd);
}

TEST_HARNESS_MAIN
