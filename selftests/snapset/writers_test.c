// SPDX-License-Identifier: GPL-2.0
/*
 * Writers and the real daemon: `snapset writer` processes (libsnapset)
 * and raw protocol clients that misbehave. Good writers are served on
 * time whatever the bad ones do; the bad ones are dropped with their
 * reason; every outcome reaches the log, the history and the metrics.
 * Sets are loop devices over ext4 images (a loop device is gone by the
 * time its shutdown is read: its description comes from arm time).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "daemon_fixture.h"
#include "kselftest_harness.h"
#include "writer_client.h"

/* Long enough for a writer's shell to run under KASAN, short for a test. */
#define DEADLINE "10s"

FIXTURE(writers)
{
	struct loopdev loop;
	char dir[64]; /* config, socket, history, metrics, outputs */
	char socket[96];
	char config[96];
	char uuid[64]; /* the loop device's filesystem UUID */
	char ready[96];
	struct daemon_proc d;
	pid_t writer[4];
	bool reloaded; /* with other module parameters than the defaults */
};

static void path_in(FIXTURE_DATA(writers) * self, char *out, size_t size,
		    const char *name)
{
	snprintf(out, size, "%s/%s", self->dir, name);
}

/* The config file: the fixture's socket, history and metrics. */
static int write_config(FIXTURE_DATA(writers) * self, const char *history)
{
	return sh("printf '[daemon]\\nsocket = %s\\nwriter_deadline = %s\\n"
		  "history_dir = %s\\nmetrics = %s/snapset.prom\\n' > %s",
		  self->socket, DEADLINE, history, self->dir, self->config);
}

FIXTURE_SETUP(writers)
{
	char cmd[160], history[128];

	daemon_init(&self->d);
	for (int i = 0; i < 4; i++)
		self->writer[i] = -1;
	if (access(snapset_bin(), X_OK))
		SKIP(return, "%s: not built", snapset_bin());
	discard_all_pending();
	snprintf(self->dir, sizeof(self->dir), "/tmp/snapset-writers-%d",
		 getpid());
	path_in(self, self->socket, sizeof(self->socket), "writer.sock");
	path_in(self, self->config, sizeof(self->config), "snapset.conf");
	path_in(self, self->ready, sizeof(self->ready), "ready");
	ASSERT_EQ(0,
		  sh("rm -rf %s && mkdir -p %s/history", self->dir, self->dir));
	ASSERT_EQ(0, loop_attach(&self->loop, 8 << 20));
	ASSERT_EQ(0, sh("mkfs.ext4 -q -F %s", self->loop.path));
	snprintf(cmd, sizeof(cmd), "blkid -o value -s UUID %s",
		 self->loop.path);
	ASSERT_EQ(0, sh_line(self->uuid, sizeof(self->uuid), cmd));
	path_in(self, history, sizeof(history), "history");
	ASSERT_EQ(0, write_config(self, history));
}

FIXTURE_TEARDOWN(writers)
{
	for (int i = 0; i < 4; i++)
		if (self->writer[i] > 0) {
			kill(self->writer[i], SIGKILL);
			waitpid(self->writer[i], NULL, 0);
		}
	/* A test that failed while the daemon was stopped. */
	if (self->d.pid > 0)
		kill(self->d.pid, SIGCONT);
	daemon_stop(&self->d);
	if (self->d.log >= 0)
		close(self->d.log);
	loop_detach(&self->loop);
	discard_all_pending();
	sh("rm -rf %s", self->dir);
	if (self->reloaded && !module_reload(""))
		TH_LOG("could not reload snapset with default parameters");
}

/*
 * `snapset writer --name NAME [--match MATCH] --count N -- sh -c SCRIPT`
 * in the background; SCRIPT sees $OUT, a file named after the writer.
 */
static pid_t start_writer(FIXTURE_DATA(writers) * self, const char *name,
			  const char *match, const char *count,
			  const char *script)
{
	char out[128];
	char *argv[16];
	int n = 0;

	path_in(self, out, sizeof(out), name);
	setenv("OUT", out, 1);
	argv[n++] = (char *)snapset_bin();
	argv[n++] = "writer";
	argv[n++] = "--socket";
	argv[n++] = self->socket;
	argv[n++] = "--name";
	argv[n++] = (char *)name;
	if (match) {
		argv[n++] = "--match";
		argv[n++] = (char *)match;
	}
	argv[n++] = "--count";
	argv[n++] = (char *)count;
	argv[n++] = "--";
	argv[n++] = "sh";
	argv[n++] = "-c";
	argv[n++] = (char *)script;
	argv[n] = NULL;
	return spawn(argv, -1);
}

/* Waits until @n writers have registered with the daemon. */
static bool wait_writers(FIXTURE_DATA(writers) * self, int n)
{
	for (int i = 0; i < 3000; i++) {
		if (daemon_count(&self->d, "registered") >= n)
			return true;
		usleep(10000);
	}
	return false;
}

/* A set over the loop device whose requester is SIGKILLed. */
static int kill_a_requester(FIXTURE_DATA(writers) * self)
{
	return signal_run("--snapshot", self->loop.path, self->ready,
			  "touch $READY; exec sleep 995", SIGKILL);
}

/* Waits up to a minute for @path to have @n lines. */
static bool wait_lines(const char *path, int n)
{
	for (int i = 0; i < 600; i++) {
		if (!sh("test \"$(cat %s 2>/dev/null | wc -l)\" -ge %d", path,
			n))
			return true;
		usleep(100000);
	}
	return false;
}

/*
 * Two good writers (one matching the set's UUID), one matching another
 * filesystem, and three bad ones: one never acknowledges, one hangs up
 * with its event, one sends garbage. The good ones are served before
 * the bad one's deadline; the bad ones are reported; the record is
 * acknowledged once the deadline passed; the history and the metrics
 * tell it all.
 */
TEST_F_TIMEOUT(writers, good_writers_served_on_time_bad_ones_reported,
	       RUN_TIMEOUT)
{
	char path[128], match[96], type[32];
	int silent, hangup, garbage;
	struct json_object *ev;

	ASSERT_EQ(0, daemon_start(&self->d, NULL, self->config, self->socket));
	self->writer[0] = start_writer(self, "alpha", NULL, "1",
				       "env | grep ^SNAPSET_ > $OUT.tmp && "
				       "mv $OUT.tmp $OUT");
	snprintf(match, sizeof(match), "UUID=%s", self->uuid);
	self->writer[1] = start_writer(self, "beta", match, "1",
				       "env | grep ^SNAPSET_ > $OUT; "
				       "cp \"$SNAPSET_EVENT_FILE\" $OUT.tmp && "
				       "mv $OUT.tmp $OUT.json");
	self->writer[2] = start_writer(self, "other",
				       "UUID=00000000-0000-0000-0000-"
				       "000000000000",
				       "1", "touch $OUT");
	silent = raw_connect(self->socket, HELLO("silent"));
	hangup = raw_connect(self->socket, HELLO("hangup"));
	garbage =
	    raw_connect(self->socket, "{\"type\":\"hello\",\"version\":1,");
	ASSERT_LE(0, silent);
	ASSERT_LE(0, hangup);
	ASSERT_LE(0, garbage);
	raw_next_type(garbage, EVENT_TIMEOUT_MS, type, sizeof(type));
	EXPECT_STREQ("bye protocol", type);
	ASSERT_TRUE(wait_writers(self, 5));
	raw_next_type(silent, EVENT_TIMEOUT_MS, type, sizeof(type));
	EXPECT_STREQ("welcome", type);
	raw_next_type(hangup, EVENT_TIMEOUT_MS, type, sizeof(type));
	EXPECT_STREQ("welcome", type);

	ASSERT_NE(-1, kill_a_requester(self));
	/* The hangup writer takes its event and goes. */
	ev = raw_next(hangup, 30000);
	ASSERT_NE(NULL, ev);
	EXPECT_STREQ("backup-shutdown", jstr(ev, "kind"));
	json_object_put(ev);
	close(hangup);

	path_in(self, path, sizeof(path), "alpha");
	ASSERT_TRUE(wait_for_file(path));
	/* Served before the silent writer's deadline ran out. */
	EXPECT_FALSE(daemon_has_said(&self->d, "not acknowledged within"));
	EXPECT_TRUE(file_has(path, "SNAPSET_EVENT=backup-shutdown"));
	EXPECT_TRUE(file_has(path, "SNAPSET_COMPLETED=0"));
	EXPECT_TRUE(file_has(path, "SNAPSET_REASON=exit"));
	EXPECT_TRUE(file_has(path, "SNAPSET_SIGNAL=9"));
	EXPECT_TRUE(file_has(path, "SNAPSET_EXIT_STATUS=-1"));
	path_in(self, path, sizeof(path), "beta.json");
	ASSERT_TRUE(wait_for_file(path));
	EXPECT_TRUE(file_has(path, self->uuid));
	EXPECT_TRUE(file_has(path, "\"type\":\"ext4\""));

	ASSERT_TRUE(daemon_said(&self->d, "writer silent: failed: dropped: "
					  "event 1 not acknowledged within "
					  "10000 ms"));
	ASSERT_TRUE(daemon_said(&self->d, "writer hangup: failed: dropped: "
					  "disconnected"));
	EXPECT_TRUE(daemon_said(&self->d, "not one JSON value"));
	/* The writers told are named in the order they answered. */
	EXPECT_TRUE(daemon_said(&self->d, "ended without BackupComplete "
					  "(reason exit, signal 9): owner "
					  "killed by signal 9 (SIGKILL); 2 "
					  "writers failed; writers told: "));
	EXPECT_TRUE(daemon_has_said(&self->d, "writers told: alpha, beta") ||
		    daemon_has_said(&self->d, "writers told: beta, alpha"));
	EXPECT_EQ(0, wait_no_pending());
	/* The event it never answered, then why it was dropped. */
	raw_next_type(silent, EVENT_TIMEOUT_MS, type, sizeof(type));
	EXPECT_STREQ("event", type);
	raw_next_type(silent, EVENT_TIMEOUT_MS, type, sizeof(type));
	EXPECT_STREQ("bye deadline", type);
	close(silent);
	close(garbage);
	path_in(self, path, sizeof(path), "other");
	EXPECT_NE(0, access(path, F_OK));

	path_in(self, path, sizeof(path), "history/history.json");
	EXPECT_TRUE(file_has(path, "\"writers_failed\":2"));
	EXPECT_TRUE(file_has(path, "\"result\":\"error\""));
	path_in(self, path, sizeof(path), "snapset.prom");
	EXPECT_TRUE(file_has(path, "snapset_sets_terminated_total{name=\"\","
				   "reason=\"exit\"} 1"));
	EXPECT_TRUE(file_has(path, "snapset_writer_deliveries_total{writer="
				   "\"alpha\",uid=\"0\",result=\"ok\"} 1"));
	EXPECT_TRUE(file_has(path, "snapset_writer_deliveries_total{writer="
				   "\"silent\",uid=\"0\",result=\"error\"} 1"));
	EXPECT_TRUE(file_has(path, "snapset_sets_incomplete_total"));
}

/* What a raw writer gets for each protocol violation, and the log line. */
TEST_F_TIMEOUT(writers, protocol_violations_drop_the_writer, RUN_TIMEOUT)
{
	static const struct {
		const char *first, *second, *bye, *logged;
	} cases[] = {
		{ "not json", NULL, "bye protocol", "not one JSON value" },
		{ "{\"type\":\"hello\",\"version\":2,\"name\":\"v2\"}", NULL,
		  "bye version", "protocol version 2; this daemon speaks 1" },
		{ "{\"type\":\"ack\",\"event\":1,\"result\":\"ok\"}", NULL,
		  "bye protocol", "the first message is not hello or status" },
		{ HELLO("early"),
		  "{\"type\":\"ack\",\"event\":1,\"result\":\"ok\"}",
		  "bye protocol",
		  "acknowledged event 1, but 0 is outstanding" },
		{ HELLO("twice"), HELLO("twice"), "bye protocol",
		  "a message other than ack after hello" },
		{ HELLO("bad"),
		  "{\"type\":\"ack\",\"event\":1,\"result\":\"no\"}",
		  "bye protocol",
		  "\"result\" is neither \"ok\" nor \"error\"" },
	};
	char type[32], *big;
	int fd;

	ASSERT_EQ(0, daemon_start(&self->d, NULL, self->config, self->socket));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fd = raw_connect(self->socket, cases[i].first);
		ASSERT_LE(0, fd);
		if (cases[i].second) {
			raw_next_type(fd, EVENT_TIMEOUT_MS, type, sizeof(type));
			EXPECT_STREQ("welcome", type);
			send(fd, cases[i].second, strlen(cases[i].second), 0);
		}
		raw_next_type(fd, EVENT_TIMEOUT_MS, type, sizeof(type));
		EXPECT_STREQ(cases[i].bye, type);
		EXPECT_TRUE(daemon_said(&self->d, cases[i].logged));
		close(fd);
	}
	/* Oversized: refused by its length, not read past the buffer. */
	big = malloc(100000);
	ASSERT_NE(NULL, big);
	memset(big, ' ', 100000);
	fd = raw_connect(self->socket, NULL);
	ASSERT_LE(0, fd);
	EXPECT_EQ(100000, send(fd, big, 100000, 0));
	free(big);
	raw_next_type(fd, EVENT_TIMEOUT_MS, type, sizeof(type));
	EXPECT_STREQ("bye protocol", type);
	EXPECT_TRUE(daemon_said(&self->d, "a message of 100000 bytes"));
	close(fd);
	/* Silent from the start: dropped at the deadline. */
	fd = raw_connect(self->socket, NULL);
	ASSERT_LE(0, fd);
	raw_next_type(fd, 30000, type, sizeof(type));
	EXPECT_STREQ("bye deadline", type);
	EXPECT_TRUE(daemon_said(&self->d, "no hello or status within 5000 ms"));
	close(fd);
	/* Still serving. */
	EXPECT_TRUE(status_answered(self->socket));
	EXPECT_EQ(0, daemon_stop(&self->d));
}

/* A writer that notes each event it gets, and exits after four. */
static pid_t start_events_writer(FIXTURE_DATA(writers) * self)
{
	return start_writer(self, "events", NULL, "4",
			    "echo $SNAPSET_EVENT $SNAPSET_COMPLETED "
			    "$SNAPSET_REASON $SNAPSET_EXIT_STATUS >> $OUT");
}

/*
 * Ends two sets of the loop device: the first after BackupComplete (its
 * command then exits 3), the second aborted by its command's exit 4.
 */
static bool end_complete_and_aborted_sets(FIXTURE_DATA(writers) * self)
{
	struct run_result res;
	char script[256];

	snprintf(script, sizeof(script), "%s complete && exit 3",
		 snapset_bin());
	if (snapset_run(&res, "--snapshot", self->loop.path, "--", "sh", "-c",
			script, NULL) ||
	    res.status != 3)
		return false;
	/* A new set: the loop device was released with the last one. */
	loop_detach(&self->loop);
	if (loop_attach(&self->loop, 8 << 20))
		return false;
	return !snapset_run(&res, "--snapshot", self->loop.path, "--", "sh",
			    "-c", "exit 4", NULL) &&
	       res.status == 4;
}

/*
 * The events writer got each set's complete or abort before its shutdown
 * (a diff on stdout when not), and exited after these four.
 */
static bool told_in_order(FIXTURE_DATA(writers) * self)
{
	char path[128];
	bool in_order;

	path_in(self, path, sizeof(path), "events");
	wait_lines(path, 4); /* the diff shows what is missing */
	in_order = !sh("printf '%%s\\n' 'backup-complete 1 -1' "
		       "'backup-shutdown 1 close -1' 'abort 0 abort 4' "
		       "'backup-shutdown 0 abort 4' | diff -u - %s",
		       path);
	/* Short of four, it waits on: the teardown kills it. */
	if (!in_order || waitpid(self->writer[0], NULL, 0) != self->writer[0])
		return false;
	self->writer[0] = -1;
	return true;
}

/*
 * BackupComplete as it happens, then BackupShutdown with completed=1;
 * an aborted set gets abort, then BackupShutdown with its exit status.
 */
TEST_F_TIMEOUT(writers, complete_and_abort_are_told, RUN_TIMEOUT)
{
	ASSERT_EQ(0, daemon_start(&self->d, NULL, self->config, self->socket));
	self->writer[0] = start_events_writer(self);
	ASSERT_TRUE(wait_writers(self, 1));
	ASSERT_TRUE(end_complete_and_aborted_sets(self));
	EXPECT_TRUE(told_in_order(self));
}

/* Waits until @pid is stopped by a signal. */
static bool wait_stopped(pid_t pid)
{
	for (int i = 0; i < 1000; i++) {
		if (!sh("grep -q '^State:.*stopped' /proc/%d/status", pid))
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * The watcher misses both sets' complete and abort: its queue, two events
 * long, overflows while the daemon is stopped. The writers are told them
 * from the records, still each before its set's shutdown.
 */
TEST_F_TIMEOUT(writers, missed_complete_and_abort_come_from_the_record,
	       RUN_TIMEOUT)
{
	if (!getenv("SNAPSET_KO"))
		SKIP(return, "SNAPSET_KO is not set: no module file to reload");
	ASSERT_TRUE(module_reload("watcher_queue=2"));
	self->reloaded = true;
	ASSERT_EQ(0, daemon_start(&self->d, NULL, self->config, self->socket));
	self->writer[0] = start_events_writer(self);
	ASSERT_TRUE(wait_writers(self, 1));
	/* Stopped after the writer's welcome has gone, not before. */
	ASSERT_TRUE(status_answered(self->socket));
	ASSERT_EQ(0, kill(self->d.pid, SIGSTOP));
	ASSERT_TRUE(wait_stopped(self->d.pid));
	ASSERT_TRUE(end_complete_and_aborted_sets(self));
	/* The first set's create and device filled the queue. */
	EXPECT_EQ(1, sysfs_counter("overflows"));
	ASSERT_EQ(0, kill(self->d.pid, SIGCONT));
	EXPECT_TRUE(told_in_order(self));
	EXPECT_EQ(0, wait_no_pending());
}

/*
 * The daemon is SIGKILLed while a writer's command runs: the next daemon
 * replays the record, libsnapset answers the duplicate itself, and the
 * command ran once.
 */
TEST_F_TIMEOUT(writers, replayed_shutdown_runs_the_command_once, RUN_TIMEOUT)
{
	char path[128], started[128];

	ASSERT_EQ(0, daemon_start(&self->d, NULL, self->config, self->socket));
	path_in(self, started, sizeof(started), "started");
	setenv("STARTED", started, 1);
	/* It fails: the replay gets the same error, in the same words. */
	self->writer[0] = start_writer(self, "slow", NULL, "2",
				       "touch $STARTED; sleep 2; "
				       "echo $SNAPSET_ID >> $OUT; exit 3");
	ASSERT_TRUE(wait_writers(self, 1));
	ASSERT_NE(-1, kill_a_requester(self));
	ASSERT_TRUE(wait_for_file(started));
	daemon_kill(&self->d);
	EXPECT_EQ(1, sysfs_counter("pending"));
	ASSERT_EQ(0, daemon_start(&self->d, NULL, self->config, self->socket));
	EXPECT_EQ(0, wait_no_pending());
	EXPECT_TRUE(
	    daemon_said(&self->d, "writer slow: failed: sh: exit status 3"));
	path_in(self, path, sizeof(path), "slow");
	EXPECT_EQ(0, sh("test $(wc -l < %s) -eq 1", path));
}

/*
 * SIGTERM while a writer works on a shutdown: the daemon waits for its
 * answer, then acknowledges; an idle writer is told "stopping" at once.
 */
TEST_F_TIMEOUT(writers, stop_waits_for_busy_writers, RUN_TIMEOUT)
{
	const char *ack = "{\"type\":\"ack\",\"event\":1,\"result\":\"ok\"}";
	char started[128], type[32];
	int idle, status;

	ASSERT_EQ(0, daemon_start(&self->d, NULL, self->config, self->socket));
	path_in(self, started, sizeof(started), "started");
	setenv("STARTED", started, 1);
	self->writer[0] =
	    start_writer(self, "busy", NULL, "1", "touch $STARTED; sleep 2");
	idle = raw_connect(self->socket, HELLO("idle"));
	ASSERT_LE(0, idle);
	ASSERT_TRUE(wait_writers(self, 2));
	raw_next_type(idle, EVENT_TIMEOUT_MS, type, sizeof(type));
	EXPECT_STREQ("welcome", type);
	ASSERT_NE(-1, kill_a_requester(self));
	/* The idle one answers its event at once and is idle again. */
	raw_next_type(idle, 30000, type, sizeof(type));
	EXPECT_STREQ("event", type);
	send(idle, ack, strlen(ack), 0);
	ASSERT_TRUE(wait_for_file(started));
	ASSERT_EQ(0, kill(self->d.pid, SIGTERM));
	raw_next_type(idle, EVENT_TIMEOUT_MS, type, sizeof(type));
	EXPECT_STREQ("bye stopping", type);
	close(idle);
	/* One signal only: a second one stops it at once. */
	ASSERT_EQ(self->d.pid, waitpid(self->d.pid, &status, 0));
	self->d.pid = -1;
	EXPECT_EQ(0, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	EXPECT_EQ(0, sysfs_counter("pending"));
	EXPECT_TRUE(daemon_has_said(&self->d, "; writers told: idle, busy"));
}

/* snapset status: the writers and the recent sets; 3 without a daemon. */
TEST_F_TIMEOUT(writers, status_shows_writers_and_history, RUN_TIMEOUT)
{
	char *argv[] = { (char *)snapset_bin(), "status", "--socket",
			 self->socket,		NULL,	  NULL };
	struct run_result res;

	ASSERT_EQ(0, daemon_start(&self->d, NULL, self->config, self->socket));
	self->writer[0] = start_writer(self, "shown", NULL, "1", "true");
	ASSERT_TRUE(wait_writers(self, 1));
	ASSERT_NE(-1, kill_a_requester(self));
	EXPECT_EQ(0, wait_no_pending());
	ASSERT_EQ(0, run_capture(argv[0], argv, &res));
	EXPECT_EQ(0, res.status);
	EXPECT_NE(NULL, strstr(res.out, "daemon: running"));
	EXPECT_NE(NULL, strstr(res.out, "recent sets: 1"));
	argv[4] = "--json";
	ASSERT_EQ(0, run_capture(argv[0], argv, &res));
	EXPECT_EQ(0, res.status);
	EXPECT_NE(NULL, strstr(res.out, "\"writers\""));
	EXPECT_NE(NULL, strstr(res.out, "\"exit\""));
	EXPECT_EQ(0, daemon_stop(&self->d));
	argv[4] = NULL;
	ASSERT_EQ(0, run_capture(argv[0], argv, &res));
	EXPECT_EQ(3, res.status);
	EXPECT_NE(NULL, strstr(res.out, "daemon: not running"));
	EXPECT_NE(NULL, strstr(res.out, "module:"));
}

/*
 * The history's filesystem is frozen when a set ends: the writers are
 * told and the record is acknowledged all the same; the history is
 * written once it thaws.
 */
TEST_F_TIMEOUT(writers, frozen_history_never_stalls_delivery, RUN_TIMEOUT)
{
	struct loopdev var;
	char mnt[96], path[128];

	if (sh("command -v fsfreeze >/dev/null"))
		SKIP(return, "no fsfreeze");
	ASSERT_EQ(0, loop_attach(&var, 16 << 20));
	path_in(self, mnt, sizeof(mnt), "var");
	ASSERT_EQ(0, sh("mkfs.ext4 -q -F %s && mkdir -p %s && mount %s %s",
			var.path, mnt, var.path, mnt));
	ASSERT_EQ(0, sh("sed -i 's|^history_dir = .*|history_dir = %s|' %s",
			mnt, self->config));
	ASSERT_EQ(0, daemon_start(&self->d, NULL, self->config, self->socket));
	self->writer[0] = start_writer(self, "thawed", NULL, "1",
				       "echo $SNAPSET_COMPLETED > $OUT");
	ASSERT_TRUE(wait_writers(self, 1));
	ASSERT_EQ(0, sh("fsfreeze -f %s", mnt));
	ASSERT_NE(-1, kill_a_requester(self));
	path_in(self, path, sizeof(path), "thawed");
	EXPECT_TRUE(wait_for_file(path));
	EXPECT_EQ(0, wait_no_pending());
	snprintf(path, sizeof(path), "%s/history.json", mnt);
	EXPECT_NE(0, access(path, F_OK));
	EXPECT_EQ(0, sh("fsfreeze -u %s", mnt));
	for (int i = 0; i < 300 && access(path, F_OK); i++)
		usleep(100000);
	EXPECT_TRUE(file_has(path, "\"reason\":\"exit\""));
	EXPECT_EQ(0, daemon_stop(&self->d));
	sh("umount %s", mnt);
	loop_detach(&var);
}

/*
 * The example writer, linked with the shared libsnapset: a completed set
 * prunes the WAL archived before its snapshots; a failed one keeps it all
 * and leaves a marker.
 */
TEST_F_TIMEOUT(writers, example_wal_writer_prunes_or_keeps, RUN_TIMEOUT)
{
	char example[256], archive[128], path[160];
	struct run_result res;
	char *argv[] = { example,    "--archive",  archive,
			 "--socket", self->socket, NULL };

	snprintf(example, sizeof(example), "%s", snapset_bin());
	*strrchr(example, '/') = '\0';
	strcat(example, "/examples/wal-writer");
	if (access(example, X_OK))
		SKIP(return, "%s: not built", example);
	path_in(self, archive, sizeof(archive), "archive");
	ASSERT_EQ(0, sh("mkdir -p %s && touch -d 2000-01-01 %s/old && "
			"touch -d '+1 day' %s/new",
			archive, archive, archive));
	ASSERT_EQ(0, daemon_start(&self->d, NULL, self->config, self->socket));
	self->writer[0] = spawn(argv, -1);
	ASSERT_TRUE(wait_writers(self, 1));
	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->loop.path, "--",
				 "true", NULL));
	ASSERT_TRUE(daemon_said(&self->d, "; writers told: wal-writer"));
	path_in(self, path, sizeof(path), "archive/old");
	EXPECT_NE(0, access(path, F_OK));
	path_in(self, path, sizeof(path), "archive/new");
	EXPECT_EQ(0, access(path, F_OK));

	loop_detach(&self->loop);
	ASSERT_EQ(0, loop_attach(&self->loop, 8 << 20));
	ASSERT_NE(-1, kill_a_requester(self));
	EXPECT_EQ(0, wait_no_pending());
	EXPECT_EQ(0, sh("grep -q 'ended without BackupComplete: exit' "
			"%s/BACKUP-FAILED-*",
			archive));
	EXPECT_EQ(0, access(path, F_OK));
}

TEST_HARNESS_MAIN
