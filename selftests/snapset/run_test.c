// SPDX-License-Identifier: GPL-2.0
/*
 * snapset run, the real binary, on a loop device: how COMMAND ends (its
 * status, signals, timeouts, snapset complete), how run itself ends
 * (SIGTERM forwarded, SIGKILL), and the namespaces that take COMMAND's
 * descendants and mounts along. Each outcome is read back through
 * `snapset watch --json` and from what is left afterwards. No daemon runs
 * here, so records stay pending.
 */
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "requester.h"

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

TEST_F_TIMEOUT(run, success_completes_and_releases_the_loop, RUN_TIMEOUT)
{
	struct run_result res;
	char line[256];
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
	/*
	 * No daemon, but no LVM snapshot to lose: nothing to warn of. The
	 * one line is the summary; a loop device has no COW space to show.
	 */
	snprintf(line, sizeof(line),
		 "snapset run: set nightly (%s) completed in ", jstr(ev, "id"));
	EXPECT_TRUE(starts_with(res.err, line));
	snprintf(line, sizeof(line), " s (exit status 0); snapshots: %s\n",
		 self->loop.path);
	EXPECT_TRUE(in_order(res.err, " completed in ", line, NULL));
	EXPECT_EQ(strlen(res.err) - 1, strcspn(res.err, "\n"))
	{
		TH_LOG("stderr: %s", res.err);
	}
	json_object_put(ev);
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
	EXPECT_NE(NULL, strstr(res.err, "timed out (--timeout 1);"));
	EXPECT_TRUE(wait_until_unbound(&self->loop));
}

TEST_F_TIMEOUT(run, kill_after_sends_sigkill, RUN_TIMEOUT)
{
	struct run_result res;
	int ret;

	/*
	 * COMMAND must outlive the TERM, and anything it does to ignore TERM
	 * itself can come after it (a shell's trap did, and env's
	 * --ignore-signal under KASAN). An ignored signal stays ignored
	 * through fork and exec, and run only blocks TERM for its signalfd:
	 * so TERM is ignored here, before run starts.
	 */
	signal(SIGTERM, SIG_IGN);
	ret = snapset_run(&res, "--timeout", "0.5s", "--kill-after", "0.5s",
			  "--snapshot", self->loop.path, "--", "sleep", "990",
			  NULL);
	signal(SIGTERM, SIG_DFL);
	ASSERT_EQ(0, ret);
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
		 "grep -q ' %s ext4 ro,nosuid,nodev,noexec' /proc/mounts && "
		 "test -d "
		 "%s/lost+found && test \"$(cat /proc/1/comm)\" = snapset",
		 self->mnt, self->mnt);
	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->loop.path, "--mount",
				 spec, "--", "sh", "-c", script, NULL));
	EXPECT_EQ(0, res.status);
	EXPECT_FALSE(mounted(self->mnt));
	EXPECT_SHUTDOWN(true, "close", NULL, 0);
	EXPECT_TRUE(wait_until_unbound(&self->loop));
}

/* Under cron's PATH (no sbin), COMMAND still reaches run's program. */
TEST_F_TIMEOUT(run, command_finds_snapset_under_cron_path, RUN_TIMEOUT)
{
	char *path = strdup(getenv("PATH") ?: "/usr/bin:/bin");
	struct run_result res;

	setenv("PATH", "/usr/bin:/bin", 1);
	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->loop.path, "--",
				 "sh", "-c",
				 "snapset complete && test -x \"$SNAPSET\" && "
				 "exit 3",
				 NULL));
	setenv("PATH", path, 1);
	free(path);
	EXPECT_EQ(3, res.status);
	/* Only the summary: completed by snapset complete, status 3. */
	EXPECT_TRUE(starts_with(res.err, "snapset run: set "));
	EXPECT_TRUE(
	    in_order(res.err, " completed in ", " (exit status 3); ", NULL));
	EXPECT_EQ(strlen(res.err) - 1, strcspn(res.err, "\n"));
	EXPECT_SHUTDOWN(true, "close", NULL, 0);
}

/* What exec would pass on, COMMAND gets; the set's fd it never does. */
TEST_F_TIMEOUT(run, command_inherits_fds_but_never_the_set, RUN_TIMEOUT)
{
	char script[512];
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct run_result res;

	snprintf(
	    script, sizeof(script),
	    "exec 7</dev/null; exec %s run --snapshot %s -- sh -c "
	    "'test -e /proc/self/fd/7 && ! ls -l /proc/self/fd/ /proc/1/fd/ "
	    "| grep snapset'",
	    snapset_bin(), self->loop.path);
	ASSERT_EQ(0, run_capture(argv[0], argv, &res));
	EXPECT_EQ(0, res.status);
	EXPECT_SHUTDOWN(true, "close", NULL, 0);
}

/* An ignored SIGCHLD, inherited, must not hide COMMAND's end. */
TEST_F_TIMEOUT(run, inherited_ignored_sigchld, RUN_TIMEOUT)
{
	char script[512];
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct run_result res;

	snprintf(script, sizeof(script),
		 "trap '' CHLD; exec %s run --snapshot %s -- sh -c 'exit 6'",
		 snapset_bin(), self->loop.path);
	ASSERT_EQ(0, run_capture(argv[0], argv, &res));
	EXPECT_EQ(6, res.status);
	EXPECT_SHUTDOWN(false, "abort", "exit_status", 6);
}

/* Each signal reaches COMMAND once: from run, and from inside. */
TEST_F_TIMEOUT(run, signals_arrive_once, RUN_TIMEOUT)
{
	int status = signal_run("--snapshot", self->loop.path, self->ready,
				"n=0; trap 'n=$((n+1))' TERM; kill -TERM 1; "
				"sleep 1; touch $READY; sleep 1; sleep 1; "
				"exit $n",
				SIGTERM);

	ASSERT_NE(-1, status);
	EXPECT_EQ(2, WEXITSTATUS(status));
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

TEST_HARNESS_MAIN
