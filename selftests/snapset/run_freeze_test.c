// SPDX-License-Identifier: GPL-2.0
/*
 * snapset run --freeze, on real LVM with ext4 origins: two filesystems
 * snapshotted at one instant; run SIGKILLed while writes are held, and
 * the freeze's deadline passing while lvcreate waits, each leaving the
 * filesystem writable; filesystems that cannot be frozen, or that are
 * stored on a frozen one (as an origin may be), refused before any LV is
 * made.
 */
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "requester.h"
#include "shared_vg.h"

/* How long a write waits for the freeze to end: a failure guard. */
#define THAW_WAIT_S 60

/* The program's VG, two ext4 origins mounted (writable) for each test. */
FIXTURE(freeze)
{
	struct shared_vg shared;
	char vg[32];
	char mnt[2][64];  /* the origins, mounted */
	char snap[2][64]; /* where COMMAND mounts their snapshots */
	int lock;	  /* the VG's LVM lock, held to stall lvcreate */
};

FIXTURE_SETUP(freeze)
{
	const char *reason;
	int ret;

	self->lock = -1;
	reason = run_on_lvm_unavailable();
	if (reason)
		SKIP(return, "%s", reason);
	ret = shared_vg_get(_metadata, &self->shared, "snapsetfrz", 96 << 20,
			    "for lv in data data2; do lvm lvcreate -q -n $lv "
			    "-L 16m $VG >/dev/null 2>&1 && mkfs.ext4 -q "
			    "/dev/$VG/$lv || exit 1; done");
	if (ret == ENODEV)
		SKIP(return, "no loop device");
	ASSERT_EQ(0, ret);
	strcpy(self->vg, self->shared.name);
	for (int i = 0; i < 2; i++) {
		snprintf(self->mnt[i], sizeof(self->mnt[i]),
			 "/tmp/snapset-frz-%d-%d", getpid(), i);
		snprintf(self->snap[i], sizeof(self->snap[i]),
			 "/tmp/snapset-frz-snap-%d-%d", getpid(), i);
		ASSERT_EQ(0, mkdir(self->mnt[i], 0700));
		ASSERT_EQ(0, mkdir(self->snap[i], 0700));
		ASSERT_EQ(0, sh("mount -t ext4 /dev/%s/%s %s", self->vg,
				i ? "data2" : "data", self->mnt[i]));
	}
}

FIXTURE_TEARDOWN(freeze)
{
	if (self->lock >= 0)
		close(self->lock);
	for (int i = 0; i < 2 && self->vg[0]; i++) {
		/* A test that failed half way: never leave it frozen. */
		sh("fsfreeze -u %s 2>/dev/null; umount %s", self->mnt[i],
		   self->mnt[i]);
		rmdir(self->mnt[i]);
		rmdir(self->snap[i]);
	}
	if (self->vg[0])
		shared_vg_check(_metadata, &self->shared);
	discard_all_pending();
}

/*
 * The "freeze" of set @id as `snapset list --json` shows it, or NULL;
 * *@list holds it (json_object_put() it).
 */
static struct json_object *listed_freeze(const char *id,
					 struct json_object **list)
{
	char *argv[] = { (char *)snapset_bin(), "list", "--json", NULL };
	static struct run_result res;
	struct json_object *set, *freeze;

	*list = NULL;
	if (run_capture(argv[0], argv, &res) || res.status)
		return NULL;
	*list = json_tokener_parse(res.out);
	for (size_t i = 0; i < json_object_array_length(*list); i++) {
		set = json_object_array_get_idx(*list, i);
		if (!strcmp(jstr(set, "id"), id) &&
		    json_object_object_get_ex(set, "freeze", &freeze))
			return freeze;
	}
	return NULL;
}

/* Boolean @key of @obj, which must have it (jbool() reads none as false). */
static bool jflag(struct __test_metadata *_metadata, struct json_object *obj,
		  const char *key)
{
	EXPECT_TRUE(json_object_object_get_ex(obj, key, NULL))
	TH_LOG("no \"%s\" in %s", key, json_object_to_json_string(obj));
	return jbool(obj, key);
}

/* What a pipe holds once its writer has exited, as a string; closes it. */
static void pipe_drain(int fd, char *buf, size_t size)
{
	ssize_t n = read(fd, buf, size - 1);

	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/*
 * A process writing one byte to a file in @dir, then exiting. (Not the
 * test's own: an unlink would wait for the thaw itself.) It closes what
 * it inherited first: a held write that kept the test's VG lock open
 * would hold lvcreate back until the deadline.
 */
static pid_t write_once(const char *dir)
{
	char path[128];
	pid_t pid;
	int fd;

	snprintf(path, sizeof(path), "%s/written", dir);
	pid = fork();
	if (pid == 0) {
		close_range(3, ~0U, 0);
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		_exit(fd >= 0 && write(fd, "x", 1) == 1 ? 0 : 1);
	}
	return pid;
}

/* Whether @pid sleeps uninterruptibly (a write held by the freeze). */
static bool waits_in_d(pid_t pid)
{
	char path[64], stat[256];
	const char *state;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_text(path, stat, sizeof(stat)))
		return false;
	state = strrchr(stat, ')');
	return state && state[1] == ' ' && state[2] == 'D';
}

/* Waits, up to PROCESS_WAIT_S, for @pid to be held in a write. */
static bool wait_held(pid_t pid)
{
	long long end = now_ms() + PROCESS_WAIT_S * 1000LL;

	while (!waits_in_d(pid)) {
		if (waitpid(pid, NULL, WNOHANG) == pid || now_ms() > end)
			return false;
		usleep(10000);
	}
	return true;
}

/* Waits, up to @seconds, for the write of @pid to end: its status. */
static int wait_written(pid_t pid, int seconds)
{
	long long end = now_ms() + seconds * 1000LL;
	int status;

	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (now_ms() > end) {
			kill(pid, SIGKILL);
			return -ETIMEDOUT;
		}
		usleep(10000);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * A writer keeps writing one counter to both filesystems, in turn. Both
 * snapshots show it at one instant: the counters differ by one at most
 * (without the freeze, the two lvcreates a second apart would show
 * thousands of writes between them).
 */
TEST_F_TIMEOUT(freeze, two_filesystems_at_one_instant, RUN_TIMEOUT)
{
	char origin[2][64], mount[2][160], script[512], writer_sh[256];
	char *writer_argv[] = { "/bin/sh", "-c", writer_sh, NULL };
	struct run_result res;
	struct json_object *summary, *freeze, *list, *listed;
	long a = -1, b = -1;
	const char *counts;
	pid_t writer;

	for (int i = 0; i < 2; i++) {
		snprintf(origin[i], sizeof(origin[i]), "%s/%s:8m", self->vg,
			 i ? "data2" : "data");
		snprintf(mount[i], sizeof(mount[i]), "%s/%s=%s", self->vg,
			 i ? "data2" : "data", self->snap[i]);
	}
	/* Fixed-width, overwritten in place: never seen half written. */
	snprintf(writer_sh, sizeof(writer_sh),
		 "i=0; while :; do i=$((i+1)); printf %%010d $i 1<>%s/count; "
		 "printf %%010d $i 1<>%s/count; done",
		 self->mnt[0], self->mnt[1]);
	writer = spawn(writer_argv, -1);
	ASSERT_LT(0, writer);
	snprintf(script, sizeof(script),
		 "echo counts $(cat %s/count) $(cat %s/count)", self->snap[0],
		 self->snap[1]);
	/*
	 * Two lvcreates under TCG may outlast the default 10 s. The first
	 * filesystem named twice counts once.
	 */
	EXPECT_EQ(0, snapset_run(
			 &res, "--json", "-v", "--lvm-snapshot", origin[0],
			 "--lvm-snapshot", origin[1], "--freeze", self->mnt[0],
			 "--freeze", self->mnt[1], "--freeze", self->mnt[0],
			 "--freeze-timeout", "60s", "--mount", mount[0],
			 "--mount", mount[1], "--", "sh", "-c", script, NULL));
	kill(writer, SIGKILL);
	waitpid(writer, NULL, 0);
	EXPECT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	/* lvcreate's "NOT backed up", asked for, is not passed on. */
	EXPECT_EQ(NULL, strstr(res.err, ": lvm: ")) TH_LOG("%s", res.err);
	/* The dirty data was written back before, out of the hold. */
	EXPECT_TRUE(in_order(res.err, "dirty data written back in ",
			     "writes held to 2 filesystems\n", NULL))
	TH_LOG("%s", res.err);
	counts = strstr(res.out, "counts ");
	ASSERT_NE(NULL, counts) TH_LOG("stdout: %s", res.out);
	ASSERT_EQ(2, sscanf(counts, "counts %ld %ld", &a, &b));
	EXPECT_LT(0, b);
	EXPECT_TRUE(a == b || a == b + 1) TH_LOG("counters %ld and %ld", a, b);
	summary = json_tokener_parse(strchr(res.out, '{'));
	ASSERT_NE(NULL, summary) TH_LOG("stdout: %s", res.out);
	ASSERT_TRUE(json_object_object_get_ex(summary, "freeze", &freeze));
	EXPECT_EQ(2, jint(freeze, "filesystems"));
	EXPECT_STREQ("thawed", jstr(freeze, "end"));
	EXPECT_FALSE(jflag(_metadata, freeze, "foreign_thaw"));
	EXPECT_FALSE(jflag(_metadata, freeze, "thaw_failed"));
	/* No daemon took the record: list has it, with the same freeze. */
	listed = listed_freeze(jstr(summary, "id"), &list);
	ASSERT_NE(NULL, listed)
	TH_LOG("no freeze listed for %s", jstr(summary, "id"));
	EXPECT_EQ(2, jint(listed, "filesystems"));
	EXPECT_STREQ("thawed", jstr(listed, "end"));
	EXPECT_STREQ(jstr(freeze, "held_ms"), jstr(listed, "held_ms"));
	EXPECT_FALSE(jflag(_metadata, listed, "foreign_thaw"));
	/* run's summary has the freeze as list has it, member for member. */
	EXPECT_TRUE(json_object_equal(freeze, listed))
	TH_LOG("run: %s, list: %s", json_object_to_json_string(freeze),
	       json_object_to_json_string(listed));
	EXPECT_EQ(24, strlen(jstr(listed, "frozen_at")));
	json_object_put(list);
	json_object_put(summary);
	/* No daemon: run removed both snapshots (the teardown's check). */
}

/* process_running()'s pattern for the lvcreate of a snapshot of data. */
static const char *lvcreate_of_data(FIXTURE_DATA(freeze) * self,
				    char pattern[128])
{
	snprintf(pattern, 128, "lvcreate .*%s/data$", self->vg);
	return pattern;
}

/*
 * Starts run --json with --freeze on the first origin and lvcreate
 * stalled on the VG's lock (held by the test), its stdout into @out and
 * its stderr into @err (pipes, or the test's stderr), and
 * a write to that filesystem: run's pid once lvcreate waits and, with
 * @held, the write is seen held.
 */
static pid_t run_frozen(struct __test_metadata *_metadata,
			FIXTURE_DATA(freeze) * self, const char *timeout,
			int out, int err, bool held, pid_t *writer)
{
	char cmd[512], lvcreate[128];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	pid_t run;

	/* exec: run is the shell's pid; its stderr, the pipe. */
	snprintf(cmd, sizeof(cmd),
		 "exec %s run --json --lvm-snapshot %s/data:8m --freeze %s "
		 "--freeze-timeout %s -- true >&%d 2>&%d",
		 snapset_bin(), self->vg, self->mnt[0], timeout, out, err);
	self->lock = vg_lock(self->vg);
	if (self->lock < 0)
		return -1;
	run = spawn(argv, -1);
	if (run < 0 || wait_process(lvcreate_of_data(self, lvcreate), run))
		return -1;
	*writer = write_once(self->mnt[0]);
	if (*writer < 0 || (held && !wait_held(*writer))) {
		TH_LOG("the write to %s was not held", self->mnt[0]);
		return -1;
	}
	return run;
}

/*
 * run SIGKILLed while writes are held: the set ends once its lvcreate
 * has (lvm.h), and the module thaws then, long before the deadline.
 */
TEST_F_TIMEOUT(freeze, run_killed_while_frozen_leaves_it_writable, RUN_TIMEOUT)
{
	long long killed;
	pid_t run, writer = -1;

	run = run_frozen(_metadata, self, "60s", STDERR_FILENO, STDERR_FILENO,
			 true, &writer);
	ASSERT_LT(0, run);
	ASSERT_EQ(0, kill(run, SIGKILL));
	waitpid(run, NULL, 0);
	killed = now_ms();
	close(self->lock);
	self->lock = -1;
	EXPECT_EQ(0, wait_written(writer, THAW_WAIT_S));
	/* Its lvcreate's time, not the deadline's 60 s. */
	EXPECT_GT(THAW_WAIT_S * 1000LL / 2, now_ms() - killed);
	/* lvcreate made its LV after the kill: tagged, for a daemon. */
	EXPECT_TRUE(wait_no_processes("lvm", "lvcreate"));
	EXPECT_EQ(0, sh("lvm lvremove -y -S lv_tags=snapset %s >/dev/null",
			self->vg));
}

/*
 * run_frozen() with run's stdout and stderr in pipes, whose reading ends
 * are *@out_fd and *@err_fd.
 */
static pid_t run_frozen_piped(struct __test_metadata *_metadata,
			      FIXTURE_DATA(freeze) * self, const char *timeout,
			      bool held, pid_t *writer, int *out_fd,
			      int *err_fd)
{
	int out_pipe[2], err_pipe[2];
	pid_t run;

	if (pipe(out_pipe))
		return -1;
	if (pipe(err_pipe)) {
		close(out_pipe[0]);
		close(out_pipe[1]);
		return -1;
	}
	run = run_frozen(_metadata, self, timeout, out_pipe[1], err_pipe[1],
			 held, writer);
	close(out_pipe[1]);
	close(err_pipe[1]);
	*out_fd = out_pipe[0];
	*err_fd = err_pipe[0];
	return run;
}

/*
 * Lets run_frozen_piped()'s lvcreate go on; run must then fail (125)
 * saying @message. Its summary's "freeze", *@summary holding it
 * (json_object_put() it), or NULL.
 */
static struct json_object *run_failed(struct __test_metadata *_metadata,
				      FIXTURE_DATA(freeze) * self, pid_t run,
				      int out_fd, int err_fd,
				      const char *message,
				      struct json_object **summary)
{
	struct json_object *freeze = NULL;
	char out[4096], err[4096];
	int status = -1;

	close(self->lock);
	self->lock = -1;
	EXPECT_EQ(0, wait_exit(run, &status));
	EXPECT_EQ(125, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	pipe_drain(out_fd, out, sizeof(out));
	pipe_drain(err_fd, err, sizeof(err));
	EXPECT_NE(NULL, strstr(err, message)) TH_LOG("stderr: %s", err);
	*summary = json_tokener_parse(out);
	EXPECT_NE(NULL, *summary) TH_LOG("stdout: %s", out);
	if (*summary)
		EXPECT_TRUE(
		    json_object_object_get_ex(*summary, "freeze", &freeze));
	return freeze;
}

/*
 * lvcreate outlives the freeze's deadline: the module thaws, the write
 * goes through while lvcreate still waits, and run then fails without
 * arming, its LV removed.
 */
TEST_F_TIMEOUT(freeze, deadline_thaws_and_fails_the_run, RUN_TIMEOUT)
{
	struct json_object *summary, *freeze;
	pid_t run, writer = -1;
	int out_fd, err_fd;
	char lvcreate[128];

	/* Held or not by the time it is looked at: 1 s is short. */
	run = run_frozen_piped(_metadata, self, "1s", false, &writer, &out_fd,
			       &err_fd);
	ASSERT_LT(0, run);
	EXPECT_EQ(0, wait_written(writer, THAW_WAIT_S));
	EXPECT_TRUE(process_running(lvcreate_of_data(self, lvcreate)));
	freeze = run_failed(_metadata, self, run, out_fd, err_fd,
			    "held past the freeze's deadline", &summary);
	ASSERT_NE(NULL, freeze);
	EXPECT_STREQ("expired", jstr(freeze, "end"));
	EXPECT_FALSE(jflag(_metadata, freeze, "thaw_failed"));
	json_object_put(summary);
}

/*
 * Someone else thaws (fsfreeze -u) while lvcreate waits: the write goes
 * through, and run fails without arming, its summary saying why.
 */
TEST_F_TIMEOUT(freeze, foreign_thaw_fails_the_run, RUN_TIMEOUT)
{
	struct json_object *summary, *freeze;
	pid_t run, writer = -1;
	int out_fd, err_fd;

	/* The longest deadline there is: the thaw ends it, not the deadline. */
	run = run_frozen_piped(_metadata, self, "60s", true, &writer, &out_fd,
			       &err_fd);
	ASSERT_LT(0, run);
	EXPECT_EQ(0, sh("fsfreeze -u %s", self->mnt[0]));
	EXPECT_EQ(0, wait_written(writer, THAW_WAIT_S));
	freeze = run_failed(_metadata, self, run, out_fd, err_fd,
			    "thawed by someone else", &summary);
	ASSERT_NE(NULL, freeze);
	EXPECT_STREQ("thawed", jstr(freeze, "end"));
	EXPECT_TRUE(jflag(_metadata, freeze, "foreign_thaw"));
	EXPECT_FALSE(jflag(_metadata, freeze, "thaw_failed"));
	json_object_put(summary);
}

/* Refused before any LV is made: nothing to snapshot, nothing left. */
TEST_F_TIMEOUT(freeze, unfreezable_filesystems_are_refused, RUN_TIMEOUT)
{
	char origin[64], tmpfs[64];
	struct run_result res;

	snprintf(origin, sizeof(origin), "%s/data:8m", self->vg);
	snprintf(tmpfs, sizeof(tmpfs), "/run/snapset-frz-%d", getpid());
	ASSERT_EQ(0, mkdir(tmpfs, 0700));
	ASSERT_EQ(0, sh("mount -t tmpfs tmpfs %s", tmpfs));
	EXPECT_EQ(0, snapset_run(&res, "--lvm-snapshot", origin, "--freeze",
				 tmpfs, "--", "true", NULL));
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, "not on a block device"))
	TH_LOG("stderr: %s", res.err);
	sh("umount %s", tmpfs);
	rmdir(tmpfs);
	/* Frozen by someone else: refused, and left frozen for them. */
	ASSERT_EQ(0, sh("fsfreeze -f %s", self->mnt[0]));
	EXPECT_EQ(0, snapset_run(&res, "--lvm-snapshot", origin, "--freeze",
				 self->mnt[0], "--", "true", NULL));
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, "frozen already"))
	TH_LOG("stderr: %s", res.err);
	EXPECT_NE(0, sh("fsfreeze -f %s 2>/dev/null", self->mnt[0]));
	EXPECT_EQ(0, sh("fsfreeze -u %s", self->mnt[0]));
}

/*
 * A filesystem stored on another, a loop device over a file on it: the
 * module freezes in device-number order, and the lower one frozen first
 * would block the upper one's freeze for ever. Refused before anything,
 * both left writable. The file is deleted once the loop device has it:
 * the loop device itself says where it is.
 */
TEST_F_TIMEOUT(freeze, stacked_filesystems_are_refused, RUN_TIMEOUT)
{
	char origin[64], upper[64], img[96], want[192];
	struct run_result res;

	snprintf(origin, sizeof(origin), "%s/data2:8m", self->vg);
	snprintf(img, sizeof(img), "%s/upper.img", self->mnt[0]);
	snprintf(upper, sizeof(upper), "/tmp/snapset-frz-up-%d", getpid());
	ASSERT_EQ(0, mkdir(upper, 0700));
	ASSERT_EQ(0, sh("truncate -s 4m %s && mkfs.ext4 -q -F %s && "
			"mount -o loop %s %s && rm %s",
			img, img, img, upper, img));
	/* Short: without the check, the run would freeze them both. */
	EXPECT_EQ(0, snapset_run(&res, "--lvm-snapshot", origin, "--freeze",
				 self->mnt[0], "--freeze", upper,
				 "--freeze-timeout", "2s", "--", "true", NULL));
	EXPECT_EQ(125, res.status);
	snprintf(want, sizeof(want),
		 "--freeze %s: its filesystem is stored on %s's (loop", upper,
		 self->mnt[0]);
	EXPECT_NE(NULL, strstr(res.err, want)) TH_LOG("stderr: %s", res.err);
	snprintf(want, sizeof(want), " over %s (deleted)): ", img);
	EXPECT_NE(NULL, strstr(res.err, want)) TH_LOG("stderr: %s", res.err);
	EXPECT_EQ(0, sh("touch %s/w %s/w", self->mnt[0], upper));
	EXPECT_EQ(0, sh("umount %s", upper));
	rmdir(upper);
}

/*
 * An origin whose PV is a loop device over a file on a --freeze
 * filesystem: lvcreate's writes to its VG would wait for the thaw, and
 * the freeze would always expire. Refused before anything is made.
 */
TEST_F_TIMEOUT(freeze, origin_on_a_frozen_filesystem_is_refused, RUN_TIMEOUT)
{
	char vg[32], origin[64], img[96], cmd[256], want[256], pv[32];
	struct run_result res;
	int ret;

	snprintf(vg, sizeof(vg), "snapsetup%d", getpid());
	snprintf(origin, sizeof(origin), "%s/lv:4m", vg);
	snprintf(img, sizeof(img), "%s/pv.img", self->mnt[0]);
	snprintf(cmd, sizeof(cmd), "truncate -s 8m %s && losetup -f --show %s",
		 img, img);
	ASSERT_EQ(0, sh_line(pv, sizeof(pv), cmd));
	ret = sh("lvm vgcreate -q %s %s >/dev/null 2>&1 && lvm lvcreate -q "
		 "-Zn -n lv -L 4m %s >/dev/null 2>&1",
		 vg, pv, vg);
	EXPECT_EQ(0, ret);
	if (!ret) {
		EXPECT_EQ(0, snapset_run(&res, "--lvm-snapshot", origin,
					 "--freeze", self->mnt[0],
					 "--freeze-timeout", "2s", "--", "true",
					 NULL));
		EXPECT_EQ(125, res.status);
		snprintf(want, sizeof(want),
			 "--lvm-snapshot %s/lv: the origin is stored on %s's "
			 "filesystem (dm-",
			 vg, self->mnt[0]);
		EXPECT_NE(NULL, strstr(res.err, want))
		TH_LOG("stderr: %s", res.err);
		snprintf(want, sizeof(want), " over %s over %s): ", pv + 5,
			 img);
		EXPECT_NE(NULL, strstr(res.err, want))
		TH_LOG("stderr: %s", res.err);
	}
	/* Before the teardown's umount, which the loop device would fail. */
	EXPECT_EQ(0, sh("lvm vgremove -q -ff %s >/dev/null 2>&1; losetup -d %s",
			vg, pv));
}

TEST_HARNESS_MAIN
