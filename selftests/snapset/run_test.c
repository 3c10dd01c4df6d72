// SPDX-License-Identifier: GPL-2.0
/*
 * snapset run, the real binary, on loop devices and LVM: how COMMAND
 * ends, how run itself ends, and what bad input leaves behind (nothing).
 * Each outcome is read back through `snapset watch --json` and from the
 * devices, LVs, mounts and processes left afterwards. No daemon runs
 * here, so run releases LVM snapshots itself and records stay pending.
 */
#include <dirent.h>
#include <json-c/json.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <time.h>

#include "kselftest_harness.h"
#include "run.h"
#include "util.h"

/* Everything here runs programs, lvm above all: slow under KASAN. */
#define RUN_TIMEOUT 300
#define WATCH_TIMEOUT_MS 60000

/* `snapset watch --json` in the background, its lines on @fd. */
struct watcher {
	pid_t pid;
	int fd;
	char buf[65536];
	size_t len;
};

static pid_t spawn(char *const argv[], int out_fd)
{
	posix_spawn_file_actions_t actions;
	pid_t pid;
	int ret;

	posix_spawn_file_actions_init(&actions);
	if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&actions, out_fd,
						 STDOUT_FILENO);
	ret = posix_spawn(&pid, argv[0], &actions, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	return ret ? -1 : pid;
}

static int watcher_start(struct watcher *w)
{
	char *argv[] = { (char *)snapset_bin(), "watch", "--json", NULL };
	long before = sysfs_counter("subscribers");
	int p[2];

	w->len = 0;
	if (pipe2(p, O_CLOEXEC))
		return -1;
	w->pid = spawn(argv, p[1]);
	close(p[1]);
	w->fd = p[0];
	if (w->pid < 0)
		return -1;
	/* Subscribed before anything happens that it must see. */
	for (int i = 0; i < 1000; i++) {
		if (sysfs_counter("subscribers") > before)
			return 0;
		usleep(10000);
	}
	return -1;
}

static void watcher_stop(struct watcher *w)
{
	if (w->pid > 0) {
		kill(w->pid, SIGTERM);
		waitpid(w->pid, NULL, 0);
	}
	close(w->fd);
}

/* The next event called @name, parsed; NULL after a timeout. */
static struct json_object *watcher_next(struct watcher *w, const char *name)
{
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
	char *nl;
	ssize_t n;

	for (;;) {
		while ((nl = memchr(w->buf, '\n', w->len))) {
			struct json_object *obj, *ev;

			*nl = '\0';
			obj = json_tokener_parse(w->buf);
			w->len -= nl + 1 - w->buf;
			memmove(w->buf, nl + 1, w->len);
			if (obj &&
			    json_object_object_get_ex(obj, "event", &ev) &&
			    !strcmp(json_object_get_string(ev), name))
				return obj;
			json_object_put(obj);
		}
		if (poll(&pfd, 1, WATCH_TIMEOUT_MS) != 1)
			return NULL;
		n = read(w->fd, w->buf + w->len, sizeof(w->buf) - w->len - 1);
		if (n <= 0)
			return NULL;
		w->len += n;
	}
}

static const char *jstr(struct json_object *obj, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(obj, key, &v)
		   ? json_object_get_string(v)
		   : "";
}

static int64_t jint(struct json_object *obj, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(obj, key, &v)
		   ? json_object_get_int64(v)
		   : -1;
}

static bool jbool(struct json_object *obj, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(obj, key, &v) &&
	       json_object_get_boolean(v);
}

/* snapset run ARGS... (NULL-terminated), output captured. */
static int snapset_run(struct run_result *res, ...)
{
	char *argv[32] = { (char *)snapset_bin(), "run" };
	int n = 2;
	va_list ap;

	va_start(ap, res);
	while (n < 31 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return run_capture(argv[0], argv, res);
}

/* Processes whose command line is exactly @argv0 @arg1. */
static int count_processes(const char *argv0, const char *arg1)
{
	char path[300], cmdline[256], want[256];
	size_t want_len;
	struct dirent *d;
	int count = 0;
	DIR *proc;

	want_len = snprintf(want, sizeof(want), "%s%c%s", argv0, 0, arg1) + 1;
	proc = opendir("/proc");
	while (proc && (d = readdir(proc))) {
		int fd;
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%s/cmdline", d->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, cmdline, sizeof(cmdline));
		close(fd);
		if (n == (ssize_t)want_len && !memcmp(cmdline, want, n))
			count++;
	}
	if (proc)
		closedir(proc);
	return count;
}

static bool wait_no_processes(const char *argv0, const char *arg1)
{
	for (int i = 0; i < 500; i++) {
		if (!count_processes(argv0, arg1))
			return true;
		usleep(10000);
	}
	return false;
}

static bool mounted(const char *dir)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/mounts", "re");

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, dir))
			found = true;
	if (f)
		fclose(f);
	return found;
}

static bool wait_for_file(const char *path)
{
	for (int i = 0; i < 3000; i++) {
		if (!access(path, F_OK))
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * Starts `snapset run DEV_OPT DEV -- sh -c SCRIPT`, waits for SCRIPT to
 * `touch $READY` (@ready), sends run @sig and reaps it: run's wait
 * status, or -1.
 */
static int signal_run(const char *dev_opt, const char *dev, const char *ready,
		      const char *script, int sig)
{
	char *argv[] = { (char *)snapset_bin(),
			 "run",
			 (char *)dev_opt,
			 (char *)dev,
			 "--",
			 "sh",
			 "-c",
			 (char *)script,
			 NULL };
	int status;
	pid_t pid;

	unlink(ready);
	setenv("READY", ready, 1);
	pid = spawn(argv, -1);
	if (pid < 0)
		return -1;
	if (!wait_for_file(ready) || kill(pid, sig) ||
	    waitpid(pid, &status, 0) != pid)
		status = -1;
	unlink(ready);
	return status;
}

static long loop_autoclear(const struct loopdev *loop)
{
	char name[64];

	snprintf(name, sizeof(name), "/sys/block/loop%d/loop/autoclear",
		 loop->index);
	return sh("grep -qx 1 %s", name) == 0;
}

FIXTURE(run)
{
	struct loopdev loop;
	struct watcher watch;
	char mnt[64];
	char ready[64];
};

FIXTURE_SETUP(run)
{
	if (access(snapset_bin(), X_OK))
		SKIP(return, "%s: not built", snapset_bin());
	discard_all_pending();
	if (loop_attach(&self->loop, 16 << 20))
		SKIP(return, "no loop device");
	sh("modprobe -q ext4");
	ASSERT_EQ(0, sh("mkfs.ext4 -q -L snapset-test %s", self->loop.path));
	snprintf(self->mnt, sizeof(self->mnt), "/tmp/snapset-mnt-%d", getpid());
	snprintf(self->ready, sizeof(self->ready), "/tmp/snapset-ready-%d",
		 getpid());
	mkdir(self->mnt, 0700);
	unlink(self->ready);
	ASSERT_EQ(0, watcher_start(&self->watch));
}

FIXTURE_TEARDOWN(run)
{
	watcher_stop(&self->watch);
	loop_detach(&self->loop);
	rmdir(self->mnt);
	unlink(self->ready);
	discard_all_pending();
}

/* The shutdown record of the run just done: completed, reason, status. */
#define EXPECT_SHUTDOWN(_completed, _reason, _key, _value)     \
	do {                                                   \
		struct json_object *ev =                       \
		    watcher_next(&self->watch, "shutdown");    \
		ASSERT_NE(NULL, ev);                           \
		EXPECT_EQ(_completed, jbool(ev, "completed")); \
		EXPECT_STREQ(_reason, jstr(ev, "reason"));     \
		if (_key)                                      \
			EXPECT_EQ(_value, jint(ev, _key));     \
		json_object_put(ev);                           \
	} while (0)

TEST_F_TIMEOUT(run, success_completes_and_releases_the_loop, RUN_TIMEOUT)
{
	struct run_result res;
	struct json_object *ev;

	ASSERT_EQ(0, snapset_run(&res, "--name", "nightly", "--snapshot",
				 self->loop.path, "--", "sh", "-c",
				 "echo $SNAPSET_ID $SNAPSET_NAME", NULL));
	EXPECT_EQ(0, res.status);
	ev = watcher_next(&self->watch, "shutdown");
	ASSERT_NE(NULL, ev);
	EXPECT_TRUE(jbool(ev, "completed"));
	EXPECT_STREQ("close", jstr(ev, "reason"));
	EXPECT_STREQ("nightly", jstr(ev, "name"));
	/* COMMAND saw the set's id and name. */
	EXPECT_TRUE(starts_with(res.out, jstr(ev, "id")));
	EXPECT_NE(NULL, strstr(res.out, " nightly\n"));
	json_object_put(ev);
	/* No daemon: run says so, once. */
	EXPECT_NE(NULL, strstr(res.err, "no snapset daemon"));
	EXPECT_TRUE(wait_until_unbound(&self->loop));
}

TEST_F_TIMEOUT(run, failure_passes_the_status_and_aborts, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--name", "nightly", "--snapshot",
				 self->loop.path, "--", "sh", "-c", "exit 3",
				 NULL));
	EXPECT_EQ(3, res.status);
	EXPECT_SHUTDOWN(false, "abort", "exit_status", 3);
	EXPECT_NE(NULL, strstr(res.err, "set nightly ("));
	EXPECT_NE(NULL, strstr(res.err, "COMMAND exited with status 3; "
					"aborted"));
	EXPECT_TRUE(wait_until_unbound(&self->loop));
}

TEST_F_TIMEOUT(run, command_sigkilled_is_128_plus_9, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->loop.path, "--",
				 "sh", "-c", "kill -9 $$", NULL));
	EXPECT_EQ(128 + SIGKILL, res.status);
	EXPECT_SHUTDOWN(false, "abort", "signal", SIGKILL);
	EXPECT_NE(NULL, strstr(res.err, "killed by signal 9"));
	EXPECT_TRUE(wait_until_unbound(&self->loop));
}

TEST_F_TIMEOUT(run, complete_then_failure_stays_complete, RUN_TIMEOUT)
{
	char script[512];
	struct run_result res;

	snprintf(script, sizeof(script), "%s complete && exit 4",
		 snapset_bin());
	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->loop.path, "--",
				 "sh", "-c", script, NULL));
	EXPECT_EQ(4, res.status);
	EXPECT_SHUTDOWN(true, "close", NULL, 0);
	EXPECT_EQ(NULL, strstr(res.err, "aborted"));
	EXPECT_TRUE(wait_until_unbound(&self->loop));
}

TEST_F_TIMEOUT(run, complete_on_lists_successful_statuses, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--complete-on", "0,1", "--snapshot",
				 self->loop.path, "--", "sh", "-c", "exit 1",
				 NULL));
	EXPECT_EQ(1, res.status);
	EXPECT_SHUTDOWN(true, "close", NULL, 0);
}

TEST_F_TIMEOUT(run, timeout_sends_sigterm, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--timeout", "1", "--snapshot",
				 self->loop.path, "--", "sleep", "989", NULL));
	EXPECT_EQ(128 + SIGTERM, res.status);
	EXPECT_SHUTDOWN(false, "abort", "signal", SIGTERM);
	EXPECT_NE(NULL, strstr(res.err, "timed out after 1s"));
	EXPECT_TRUE(wait_until_unbound(&self->loop));
}

TEST_F_TIMEOUT(run, kill_after_sends_sigkill, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--timeout", "0.5s", "--kill-after",
				 "0.5s", "--snapshot", self->loop.path, "--",
				 "sh", "-c", "trap '' TERM; sleep 990", NULL));
	EXPECT_EQ(128 + SIGKILL, res.status);
	EXPECT_SHUTDOWN(false, "abort", "signal", SIGKILL);
	EXPECT_TRUE(wait_no_processes("sleep", "990"));
}

TEST_F_TIMEOUT(run, sigterm_to_run_is_forwarded, RUN_TIMEOUT)
{
	int status = signal_run("--snapshot", self->loop.path, self->ready,
				"trap 'exit 7' TERM; touch $READY; "
				"while :; do sleep 0.1; done",
				SIGTERM);

	ASSERT_NE(-1, status);
	EXPECT_EQ(7, WEXITSTATUS(status));
	EXPECT_SHUTDOWN(false, "abort", "exit_status", 7);
}

/* COMMAND that cannot run: env(1)'s statuses, and the set aborted. */
TEST_F_TIMEOUT(run, command_not_found_or_not_executable, RUN_TIMEOUT)
{
	static const struct {
		const char *command;
		int status;
		const char *why;
	} cases[] = {
		{ "/nonexistent/command", 127, "command not found" },
		{ "/etc/passwd", 126, "cannot execute" },
	};
	struct run_result res;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (i)
			ASSERT_EQ(0, loop_attach(&self->loop, 16 << 20));
		ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->loop.path,
					 "--", cases[i].command, NULL));
		EXPECT_EQ(cases[i].status, res.status);
		EXPECT_NE(NULL, strstr(res.err, cases[i].why));
		EXPECT_SHUTDOWN(false, "abort", "exit_status", cases[i].status);
		EXPECT_TRUE(wait_until_unbound(&self->loop));
	}
}

/* run SIGKILLed: the set ends with it, and COMMAND with the set. */
TEST_F_TIMEOUT(run, run_sigkilled_takes_command_along, RUN_TIMEOUT)
{
	ASSERT_NE(-1, signal_run("--snapshot", self->loop.path, self->ready,
				 "touch $READY; exec sleep 991", SIGKILL));
	EXPECT_SHUTDOWN(false, "exit", "signal", SIGKILL);
	EXPECT_TRUE(wait_no_processes("sleep", "991"));
	EXPECT_TRUE(wait_until_unbound(&self->loop));
}

TEST_F_TIMEOUT(run, grandchild_dies_with_the_namespace, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->loop.path, "--",
				 "sh", "-c", "sleep 992 & exit 0", NULL));
	EXPECT_EQ(0, res.status);
	EXPECT_TRUE(wait_no_processes("sleep", "992"));
	EXPECT_SHUTDOWN(true, "close", NULL, 0);
	EXPECT_TRUE(wait_until_unbound(&self->loop));
}

TEST_F_TIMEOUT(run, mount_is_private_and_read_only, RUN_TIMEOUT)
{
	char spec[128], script[256];
	struct run_result res;

	snprintf(spec, sizeof(spec), "%s=%s", self->loop.path, self->mnt);
	snprintf(script, sizeof(script),
		 "grep -q ' %s ext4 ro' /proc/mounts && test -d "
		 "%s/lost+found && test \"$(cat /proc/1/comm)\" = snapset",
		 self->mnt, self->mnt);
	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->loop.path, "--mount",
				 spec, "--", "sh", "-c", script, NULL));
	EXPECT_EQ(0, res.status);
	EXPECT_FALSE(mounted(self->mnt));
	EXPECT_SHUTDOWN(true, "close", NULL, 0);
	EXPECT_TRUE(wait_until_unbound(&self->loop));
}

/* COMMAND mounts the snapshot itself and is killed: the mount goes too. */
TEST_F_TIMEOUT(run, own_mount_dies_with_command, RUN_TIMEOUT)
{
	char script[256];
	struct run_result res;

	snprintf(script, sizeof(script), "mount -o ro %s %s && kill -9 $$",
		 self->loop.path, self->mnt);
	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->loop.path, "--",
				 "sh", "-c", script, NULL));
	EXPECT_EQ(128 + SIGKILL, res.status);
	EXPECT_FALSE(mounted(self->mnt));
	EXPECT_SHUTDOWN(false, "abort", "signal", SIGKILL);
	EXPECT_TRUE(wait_until_unbound(&self->loop));
}

/* Bad input: a clear error, status 125, and nothing left anywhere. */
FIXTURE(bad_input)
{
	struct loopdev a, b;
	long sets_live, pending;
};

FIXTURE_SETUP(bad_input)
{
	if (access(snapset_bin(), X_OK))
		SKIP(return, "%s: not built", snapset_bin());
	discard_all_pending();
	if (loop_attach(&self->a, 8 << 20) || loop_attach(&self->b, 8 << 20))
		SKIP(return, "no loop devices");
	ASSERT_EQ(0, sh("mkfs.ext4 -q -L snapset-twin -U "
			"0b0e7c6d-5a7e-4b8e-9d61-0123456789ab %s && "
			"dd if=%s of=%s bs=1M status=none",
			self->a.path, self->a.path, self->b.path));
	self->sets_live = sysfs_counter("sets_live");
	self->pending = sysfs_counter("pending");
}

FIXTURE_TEARDOWN(bad_input)
{
	loop_detach(&self->a);
	loop_detach(&self->b);
}

static void expect_nothing_left(struct __test_metadata *_metadata,
				FIXTURE_DATA(bad_input) * self,
				const struct run_result *res, const char *why)
{
	EXPECT_EQ(125, res->status);
	EXPECT_NE(NULL, strstr(res->err, why));
	EXPECT_EQ(self->sets_live, sysfs_counter("sets_live"));
	EXPECT_EQ(self->pending, sysfs_counter("pending"));
	/* Not held and no autoclear armed: detaching works at once. */
	EXPECT_TRUE(loop_bound(&self->a));
	EXPECT_TRUE(loop_bound(&self->b));
	EXPECT_FALSE(loop_autoclear(&self->a));
	EXPECT_FALSE(loop_autoclear(&self->b));
}

TEST_F(bad_input, regular_file)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--snapshot", "/etc/passwd", "--",
				 "true", NULL));
	expect_nothing_left(_metadata, self, &res,
			    "/etc/passwd: not a block device");
}

TEST_F(bad_input, missing_path)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--snapshot", "/dev/nonexistent", "--",
				 "true", NULL));
	expect_nothing_left(_metadata, self, &res,
			    "/dev/nonexistent: No such file or directory");
}

TEST_F(bad_input, unmatched_uuid)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--snapshot",
				 "UUID=00000000-0000-0000-0000-000000000000",
				 "--", "true", NULL));
	expect_nothing_left(_metadata, self, &res, "no device has it");
}

/* A copy of a filesystem has its UUID, as a snapshot has its origin's. */
TEST_F(bad_input, ambiguous_uuid)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--snapshot",
				 "UUID=0b0e7c6d-5a7e-4b8e-9d61-0123456789ab",
				 "--", "true", NULL));
	expect_nothing_left(_metadata, self, &res, "2 devices match");
	EXPECT_NE(NULL, strstr(res.err, self->a.path));
	EXPECT_NE(NULL, strstr(res.err, self->b.path));
}

TEST_F(bad_input, same_device_twice)
{
	struct run_result res;

	ASSERT_EQ(0,
		  snapset_run(&res, "--snapshot", self->a.path, "--persistent",
			      self->a.path, "--", "true", NULL));
	expect_nothing_left(_metadata, self, &res, "the same device as");
}

/* The good specs before a typo are opened, but nothing is armed. */
TEST_F(bad_input, typo_in_the_last_spec)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->a.path, "--snapshot",
				 self->b.path, "--snapshot", "/dev/lop0", "--",
				 "true", NULL));
	expect_nothing_left(_metadata, self, &res, "/dev/lop0:");
}

TEST_F(bad_input, mount_of_a_device_not_in_the_set)
{
	char spec[64];
	struct run_result res;

	snprintf(spec, sizeof(spec), "%s=/tmp", self->b.path);
	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->a.path, "--mount",
				 spec, "--", "true", NULL));
	expect_nothing_left(_metadata, self, &res, "not a device of this set");
}

TEST_F(bad_input, no_command_is_a_usage_error)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->a.path, NULL));
	EXPECT_EQ(2, res.status);
	EXPECT_NE(NULL, strstr(res.err, "COMMAND: missing"));
	EXPECT_EQ(self->sets_live, sysfs_counter("sets_live"));
	EXPECT_TRUE(loop_bound(&self->a));
}

/*
 * Plain device-mapper: a dm snapshot target is proven a snapshot and is
 * removed at its last close (deferred remove); a linear one needs --force.
 */
FIXTURE(dm)
{
	struct loopdev origin, cow;
	char snap[32], linear[32];
	char snap_path[32], linear_path[32];
	long sets_live;
};

FIXTURE_SETUP(dm)
{
	if (access(snapset_bin(), X_OK))
		SKIP(return, "%s: not built", snapset_bin());
	if (lvm_prepare())
		SKIP(return, "no device-mapper");
	if (loop_attach(&self->origin, 8 << 20) ||
	    loop_attach(&self->cow, 4 << 20))
		SKIP(return, "no loop devices");
	snprintf(self->snap, sizeof(self->snap), "snapset-snap-%d", getpid());
	snprintf(self->linear, sizeof(self->linear), "snapset-lin-%d",
		 getpid());
	ASSERT_EQ(0, sh("dmsetup create %s --table '0 16384 snapshot %s %s N "
			"8' && dmsetup create %s --table '0 8192 linear %s 0'",
			self->snap, self->origin.path, self->cow.path,
			self->linear, self->cow.path));
	ASSERT_EQ(
	    0, dm_path(self->snap, self->snap_path, sizeof(self->snap_path)));
	ASSERT_EQ(0, dm_path(self->linear, self->linear_path,
			     sizeof(self->linear_path)));
	self->sets_live = sysfs_counter("sets_live");
	discard_all_pending();
}

FIXTURE_TEARDOWN(dm)
{
	sh("dmsetup remove %s >/dev/null 2>&1; dmsetup remove %s >/dev/null "
	   "2>&1",
	   self->snap, self->linear);
	loop_detach(&self->origin);
	loop_detach(&self->cow);
	discard_all_pending();
}

TEST_F_TIMEOUT(dm, snapshot_target_is_removed_after_the_set, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->snap_path, "--",
				 "true", NULL));
	EXPECT_EQ(0, res.status);
	EXPECT_TRUE(wait_dm_gone(self->snap));
	EXPECT_TRUE(dm_exists(self->linear));
}

TEST_F_TIMEOUT(dm, linear_target_needs_force, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->linear_path, "--",
				 "true", NULL));
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, "has a linear table"));
	EXPECT_EQ(self->sets_live, sysfs_counter("sets_live"));
	EXPECT_TRUE(dm_exists(self->linear));
	/* Asked for, it is released like a snapshot. */
	ASSERT_EQ(0, snapset_run(&res, "--force", "--snapshot",
				 self->linear_path, "--", "true", NULL));
	EXPECT_EQ(0, res.status);
	EXPECT_TRUE(wait_dm_gone(self->linear));
}

/* Scheduled for removal already: holding it would only delay that. */
TEST_F_TIMEOUT(dm, device_already_deferred_is_refused, RUN_TIMEOUT)
{
	int fd = open(self->snap_path, O_RDONLY | O_CLOEXEC);
	struct run_result res;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sh("dmsetup remove --deferred %s", self->snap));
	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->snap_path, "--",
				 "true", NULL));
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, "already scheduled for removal"));
	EXPECT_EQ(self->sets_live, sysfs_counter("sets_live"));
	close(fd);
	EXPECT_TRUE(wait_dm_gone(self->snap));
}

/* A typo after a good dm spec: its deferred remove is never armed. */
TEST_F_TIMEOUT(dm, typo_arms_no_deferred_remove, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0,
		  snapset_run(&res, "--snapshot", self->snap_path, "--snapshot",
			      "/dev/dm-typo", "--", "true", NULL));
	EXPECT_EQ(125, res.status);
	EXPECT_EQ(0, sh("dmsetup info %s | grep -q '^State: *ACTIVE$' && "
			"! dmsetup info %s | grep -qi deferred",
			self->snap, self->snap));
}

/* LVM on a loop device: a thick origin and a thin one in a pool. */
FIXTURE(lvm)
{
	struct loopdev pv;
	struct watcher watch;
	char vg[32];
	char mnt[64];
};

FIXTURE_SETUP(lvm)
{
	if (access(snapset_bin(), X_OK))
		SKIP(return, "%s: not built", snapset_bin());
	if (lvm_prepare())
		SKIP(return, "no device-mapper or no lvm");
	discard_all_pending();
	if (loop_attach(&self->pv, 160 << 20))
		SKIP(return, "no loop device");
	snprintf(self->vg, sizeof(self->vg), "snapsetrun%d", getpid());
	snprintf(self->mnt, sizeof(self->mnt), "/tmp/snapset-lvm-mnt-%d",
		 getpid());
	mkdir(self->mnt, 0700);
	sh("modprobe -q ext4");
	ASSERT_EQ(0, sh("lvm vgcreate -q %s %s >/dev/null 2>&1 && "
			"lvm lvcreate -q -n data -L 16m %s >/dev/null 2>&1 && "
			"mkfs.ext4 -q /dev/%s/data && "
			"lvm lvcreate -q -T %s/pool -L 32m >/dev/null 2>&1 && "
			"lvm lvcreate -q -V 16m -T %s/pool -n thin "
			">/dev/null 2>&1",
			self->vg, self->pv.path, self->vg, self->vg, self->vg,
			self->vg));
	ASSERT_EQ(0, watcher_start(&self->watch));
}

FIXTURE_TEARDOWN(lvm)
{
	watcher_stop(&self->watch);
	sh("lvm vgremove -q -f %s >/dev/null 2>&1", self->vg);
	loop_detach(&self->pv);
	rmdir(self->mnt);
	discard_all_pending();
}

/* The names of the VG's LVs, one per line, sorted. */
static void lv_names(const char *vg, char *out, size_t size)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd),
		 "lvm lvs --noheadings -o lv_name %s 2>/dev/null | tr -d ' ' "
		 "| sort | tr '\\n' ' '",
		 vg);
	if (sh_line(out, size, cmd))
		out[0] = '\0';
}

TEST_F_TIMEOUT(lvm, thick_snapshot_is_made_tagged_mounted_and_removed,
	       RUN_TIMEOUT)
{
	char origin[64], spec[128], script[512], lvs[256];
	struct run_result res;
	struct json_object *ev;

	snprintf(origin, sizeof(origin), "%s/data:8m", self->vg);
	snprintf(spec, sizeof(spec), "%s/data=%s", self->vg, self->mnt);
	snprintf(script, sizeof(script),
		 "test -d %s/lost+found && lvm lvs --noheadings -o "
		 "lv_name,origin,lv_tags --separator ' ' "
		 "%s/data-snapset-${SNAPSET_ID%%%%-*}",
		 self->mnt, self->vg);
	ASSERT_EQ(0, snapset_run(&res, "--lvm-snapshot", origin, "--mount",
				 spec, "--", "sh", "-c", script, NULL));
	EXPECT_EQ(0, res.status);
	ev = watcher_next(&self->watch, "shutdown");
	ASSERT_NE(NULL, ev);
	EXPECT_TRUE(jbool(ev, "completed"));
	/* Named after the origin and the set; tagged snapset and the id. */
	snprintf(lvs, sizeof(lvs), "data-snapset-%.8s data snapset,snapset:%s",
		 jstr(ev, "id"), jstr(ev, "id"));
	EXPECT_NE(NULL, strstr(res.out, lvs));
	json_object_put(ev);
	/* No daemon: run removed the snapshot itself. */
	lv_names(self->vg, lvs, sizeof(lvs));
	EXPECT_STREQ("data pool thin ", lvs);
}

TEST_F_TIMEOUT(lvm, thin_snapshot_needs_no_size, RUN_TIMEOUT)
{
	char origin[64], lvs[256];
	struct run_result res;
	struct json_object *ev, *devices;

	snprintf(origin, sizeof(origin), "%s/thin", self->vg);
	ASSERT_EQ(0, snapset_run(&res, "--lvm-snapshot", origin, "--", "sh",
				 "-c", "exit 5", NULL));
	EXPECT_EQ(5, res.status);
	ev = watcher_next(&self->watch, "shutdown");
	ASSERT_NE(NULL, ev);
	EXPECT_FALSE(jbool(ev, "completed"));
	EXPECT_EQ(5, jint(ev, "exit_status"));
	ASSERT_TRUE(json_object_object_get_ex(ev, "devices", &devices));
	ASSERT_EQ(1, json_object_array_length(devices));
	EXPECT_TRUE(starts_with(
	    jstr(json_object_array_get_idx(devices, 0), "dm_uuid"), "LVM-"));
	json_object_put(ev);
	lv_names(self->vg, lvs, sizeof(lvs));
	EXPECT_STREQ("data pool thin ", lvs);
}

TEST_F_TIMEOUT(lvm, thick_origin_without_size_is_refused, RUN_TIMEOUT)
{
	char origin[64], lvs[256];
	struct run_result res;

	snprintf(origin, sizeof(origin), "%s/data", self->vg);
	ASSERT_EQ(
	    0, snapset_run(&res, "--lvm-snapshot", origin, "--", "true", NULL));
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, "needs a snapshot size"));
	lv_names(self->vg, lvs, sizeof(lvs));
	EXPECT_STREQ("data pool thin ", lvs);
}

/* The origin is no snapshot: snapset never removes it unasked. */
TEST_F_TIMEOUT(lvm, origin_as_snapshot_needs_force, RUN_TIMEOUT)
{
	char node[64], lvs[256];
	long sets = sysfs_counter("sets_live");
	struct run_result res;

	snprintf(node, sizeof(node), "/dev/%s/data", self->vg);
	ASSERT_EQ(0, snapset_run(&res, "--snapshot", node, "--", "true", NULL));
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, "has no origin"));
	EXPECT_NE(NULL, strstr(res.err, "--force"));
	EXPECT_EQ(sets, sysfs_counter("sets_live"));
	/* As a persistent device it is fine, and stays. */
	ASSERT_EQ(0,
		  snapset_run(&res, "--persistent", node, "--", "true", NULL));
	EXPECT_EQ(0, res.status);
	lv_names(self->vg, lvs, sizeof(lvs));
	EXPECT_STREQ("data pool thin ", lvs);
}

/* A bad spec after --lvm-snapshot: found before any LV is made. */
TEST_F_TIMEOUT(lvm, bad_spec_creates_no_lv, RUN_TIMEOUT)
{
	char origin[64], lvs[256];
	struct run_result res;

	snprintf(origin, sizeof(origin), "%s/data:8m", self->vg);
	ASSERT_EQ(0, snapset_run(&res, "--lvm-snapshot", origin, "--snapshot",
				 "LABEL=no-such-label", "--", "true", NULL));
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, "LABEL=no-such-label"));
	lv_names(self->vg, lvs, sizeof(lvs));
	EXPECT_STREQ("data pool thin ", lvs);
}

/*
 * run SIGKILLed with no daemon: the record says so and the LV stays,
 * tagged, for the daemon to remove when it starts.
 */
TEST_F_TIMEOUT(lvm, run_sigkilled_leaves_a_tagged_lv_for_the_daemon,
	       RUN_TIMEOUT)
{
	char origin[64], ready[64], tags[256], cmd[256];
	struct json_object *ev;

	snprintf(origin, sizeof(origin), "%s/data:8m", self->vg);
	snprintf(ready, sizeof(ready), "/tmp/snapset-lvm-ready-%d", getpid());
	ASSERT_NE(-1, signal_run("--lvm-snapshot", origin, ready,
				 "touch $READY; exec sleep 993", SIGKILL));
	ev = watcher_next(&self->watch, "shutdown");
	ASSERT_NE(NULL, ev);
	EXPECT_STREQ("exit", jstr(ev, "reason"));
	EXPECT_EQ(SIGKILL, jint(ev, "signal"));
	snprintf(cmd, sizeof(cmd),
		 "lvm lvs --noheadings -o lv_tags %s/data-snapset-%.8s | tr -d "
		 "' '",
		 self->vg, jstr(ev, "id"));
	ASSERT_EQ(0, sh_line(tags, sizeof(tags), cmd));
	EXPECT_TRUE(starts_with(tags, "snapset,snapset:"));
	EXPECT_NE(NULL, strstr(tags, jstr(ev, "id")));
	json_object_put(ev);
	EXPECT_TRUE(wait_no_processes("sleep", "993"));
}

TEST_HARNESS_MAIN
