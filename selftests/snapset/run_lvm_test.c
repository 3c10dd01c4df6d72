// SPDX-License-Identifier: GPL-2.0
/*
 * snapset run with LVM: thick and thin snapshots made after the set
 * exists, named and tagged, mounted, and removed by run itself when no
 * daemon runs; origins refused as snapshots; run SIGKILLed leaving a
 * tagged LV for the daemon, and SIGKILLed at its arm leaving no loop or
 * dm device without its engine's release; the child that holds the set
 * for lvcreate SIGKILLed leaving no LV.
 */
#include <sys/file.h>
#include <sys/ptrace.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "dm_util.h"
#include "requester.h"
#include "shared_vg.h"

/*
 * The program's VG (shared_vg.h) on a loop device: a thick origin with
 * a filesystem, and a thin one in a pool. Each test leaves only those;
 * the teardown's check fails it otherwise.
 */
FIXTURE(lvm)
{
	struct shared_vg shared;
	struct watcher watch;
	char vg[32]; /* shared.name, or "" until the fixture has it */
	char mnt[64];
};

FIXTURE_SETUP(lvm)
{
	const char *reason;
	int ret;

	reason = run_on_lvm_unavailable();
	if (reason)
		SKIP(return, "%s", reason);
	ret = shared_vg_get(_metadata, &self->shared, "snapsetrun", 160 << 20,
			    "lvm lvcreate -q -n data -L 16m $VG >/dev/null "
			    "2>&1 && mkfs.ext4 -q /dev/$VG/data && "
			    "lvm lvcreate -q -T $VG/pool -L 32m >/dev/null "
			    "2>&1 && lvm lvcreate -q -V 16m -T $VG/pool -n "
			    "thin >/dev/null 2>&1");
	if (ret == ENODEV)
		SKIP(return, "no loop device");
	ASSERT_EQ(0, ret);
	strcpy(self->vg, self->shared.name);
	snprintf(self->mnt, sizeof(self->mnt), "/tmp/snapset-lvm-mnt-%d",
		 getpid());
	mkdir(self->mnt, 0700);
	ASSERT_EQ(0, watcher_start(&self->watch));
}

FIXTURE_TEARDOWN(lvm)
{
	if (self->watch.pid > 0)
		watcher_stop(&self->watch);
	if (self->vg[0])
		shared_vg_check(_metadata, &self->shared);
	if (self->mnt[0])
		rmdir(self->mnt);
	discard_all_pending();
}

/* Removes the LVs tagged snapset in @vg: 0 if there were @count. */
static int remove_tagged(const char *vg, int count)
{
	char cmd[192], n[16];

	snprintf(cmd, sizeof(cmd),
		 "lvm lvremove -y -S lv_tags=snapset %s 2>&1 | grep -c "
		 "'successfully removed'",
		 vg);
	if (sh_line(n, sizeof(n), cmd))
		return -1;
	return atoi(n) == count ? 0 : -1;
}

TEST_F_TIMEOUT(lvm, thick_snapshot_is_made_tagged_mounted_and_removed,
	       RUN_TIMEOUT)
{
	char origin[64], spec[128], script[512], lvs[256];
	struct run_result res;
	struct json_object *ev;

	/* Too big: lvcreate makes a smaller one and says so, run too. */
	snprintf(origin, sizeof(origin), "%s/data:999T", self->vg);
	snprintf(spec, sizeof(spec), "%s/data=%s", self->vg, self->mnt);
	snprintf(script, sizeof(script),
		 "test -d %s/lost+found && lvm lvs --noheadings -o "
		 "lv_name,origin,lv_tags --separator ' ' "
		 "%s/data-snapset-${SNAPSET_ID%%%%-*}",
		 self->mnt, self->vg);
	ASSERT_EQ(0,
		  snapset_run(&res, "-v", "--lvm-snapshot", origin, "--mount",
			      spec, "--", "sh", "-c", script, NULL));
	EXPECT_EQ(0, res.status);
	EXPECT_NE(NULL, strstr(res.err, ": lvm: Reducing COW size 999.00 TiB"))
	{
		TH_LOG("stderr: %s", res.err);
	}
	/* -v: each step, in order; then the summary with the COW's use. */
	EXPECT_TRUE(in_order(res.err, " created\n", " made (999T)\n",
			     ": added (", "set armed", "COMMAND started: sh",
			     "COMMAND exited with status 0\n", " completed\n",
			     "set closed", ": removed\n", " completed in ",
			     " MiB COW, 0.", "% used)\n", NULL))
	{
		TH_LOG("stderr: %s", res.err);
	}
	ev = watcher_next(&self->watch, "shutdown");
	ASSERT_NE(NULL, ev);
	EXPECT_TRUE(jbool(ev, "completed"));
	/* Named after the origin and the set; tagged snapset and the id. */
	snprintf(lvs, sizeof(lvs), "data-snapset-%.8s data snapset,snapset:%s",
		 jstr(ev, "id"), jstr(ev, "id"));
	EXPECT_NE(NULL, strstr(res.out, lvs));
	json_object_put(ev);
	/* No daemon: run removed the snapshot itself (the teardown's check). */
}

TEST_F_TIMEOUT(lvm, thin_snapshot_needs_no_size, RUN_TIMEOUT)
{
	char origin[64];
	struct run_result res;
	struct json_object *ev, *devices;

	snprintf(origin, sizeof(origin), "%s/thin", self->vg);
	ASSERT_EQ(0, snapset_run(&res, "--lvm-snapshot", origin, "--", "sh",
				 "-c", "exit 5", NULL));
	EXPECT_EQ(5, res.status);
	/* A thin snapshot takes from its pool: no COW space of its own. */
	EXPECT_TRUE(in_order(res.err, "aborted\n", " aborted in ",
			     " (exit status 5); snapshots: ", "/thin-snapset-",
			     NULL));
	EXPECT_EQ(NULL, strstr(res.err, "COW"));
	ev = watcher_next(&self->watch, "shutdown");
	ASSERT_NE(NULL, ev);
	EXPECT_FALSE(jbool(ev, "completed"));
	EXPECT_EQ(5, jint(ev, "exit_status"));
	ASSERT_TRUE(json_object_object_get_ex(ev, "devices", &devices));
	ASSERT_EQ(1, json_object_array_length(devices));
	EXPECT_TRUE(starts_with(
	    jstr(json_object_array_get_idx(devices, 0), "dm_uuid"), "LVM-"));
	json_object_put(ev);
	/* Removed by run: the teardown's check. */
}

/*
 * A COW space that overflows drops the snapshot: what was read from it is
 * bad, so the set is never completed, neither by snapset complete nor by
 * COMMAND's status, and the summary (here --json's) says why. COMMAND
 * rewrites the origin with its own bytes, which costs a copy of each.
 */
TEST_F_TIMEOUT(lvm, overflowed_snapshot_is_never_completed, RUN_TIMEOUT)
{
	char origin[64], script[256];
	struct json_object *summary, *devices, *dev, *ev;
	struct run_result res;

	snprintf(origin, sizeof(origin), "%s/data:4m", self->vg);
	snprintf(script, sizeof(script),
		 "dd if=/dev/%s/data of=/dev/%s/data bs=1M oflag=direct "
		 "conv=notrunc status=none; snapset complete || exit 0",
		 self->vg, self->vg);
	ASSERT_EQ(0, snapset_run(&res, "--json", "--name", "full",
				 "--lvm-snapshot", origin, "--", "sh", "-c",
				 script, NULL));
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, "snapshot's COW space overflowed"));
	summary = json_tokener_parse(res.out);
	ASSERT_NE(NULL, summary)
	{
		TH_LOG("stdout: %s", res.out);
	}
	EXPECT_STREQ("aborted", jstr(summary, "outcome"));
	EXPECT_EQ(125, jint(summary, "exit_status"));
	EXPECT_NE(NULL, strstr(jstr(summary, "error"), "COW space overflowed"));
	ASSERT_TRUE(json_object_object_get_ex(summary, "devices", &devices));
	ASSERT_EQ(1, json_object_array_length(devices));
	dev = json_object_array_get_idx(devices, 0);
	EXPECT_TRUE(jbool(dev, "created"));
	EXPECT_STREQ("lvm", jstr(dev, "engine"));
	EXPECT_TRUE(jbool(dev, "cow_invalid"));
	json_object_put(summary);
	ev = watcher_next(&self->watch, "shutdown");
	ASSERT_NE(NULL, ev);
	EXPECT_FALSE(jbool(ev, "completed"));
	json_object_put(ev);
}

TEST_F_TIMEOUT(lvm, thick_origin_without_size_is_refused, RUN_TIMEOUT)
{
	char origin[64];
	struct run_result res;

	snprintf(origin, sizeof(origin), "%s/data", self->vg);
	ASSERT_EQ(
	    0, snapset_run(&res, "--lvm-snapshot", origin, "--", "true", NULL));
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, "needs a snapshot size"));
}

/* The origin is no snapshot: snapset never removes it unasked. */
TEST_F_TIMEOUT(lvm, origin_is_never_taken_as_a_snapshot, RUN_TIMEOUT)
{
	char node[64];
	long sets = sysfs_counter("sets_live");
	struct run_result res;

	snprintf(node, sizeof(node), "/dev/%s/data", self->vg);
	ASSERT_EQ(0, snapset_run(&res, "--snapshot", node, "--", "true", NULL));
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, "has no origin"));
	EXPECT_NE(NULL, strstr(res.err, "--persistent"));
	EXPECT_EQ(sets, sysfs_counter("sets_live"));
	/* lvremove destroys data: --force does not reach that far. */
	ASSERT_EQ(0, snapset_run(&res, "--force", "--snapshot", node, "--",
				 "true", NULL));
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, "--force never applies to LVM"));
	EXPECT_EQ(sets, sysfs_counter("sets_live"));
	/* As a persistent device it is fine, and stays. */
	ASSERT_EQ(0,
		  snapset_run(&res, "--persistent", node, "--", "true", NULL));
	EXPECT_EQ(0, res.status);
	/* Still there, the same LV, active: the teardown's check. */
}

/* An LV's hidden part is no plain dm device: --force does not take it. */
TEST_F_TIMEOUT(lvm, lvm_internal_part_is_refused_even_forced, RUN_TIMEOUT)
{
	char name[64], node[32];
	long sets = sysfs_counter("sets_live");
	struct run_result res;

	snprintf(name, sizeof(name), "%s-pool-tpool", self->vg);
	ASSERT_EQ(0, dm_path(name, node, sizeof(node)));
	ASSERT_EQ(0, snapset_run(&res, "--force", "--snapshot", node, "--",
				 "true", NULL));
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, ": part of an LVM LV"))
	{
		TH_LOG("stderr: %s", res.err);
	}
	EXPECT_EQ(sets, sysfs_counter("sets_live"));
	EXPECT_TRUE(dm_exists(name));
}

/*
 * lvm's own cause reaches the user even when run was handed a descriptor
 * lvm would warn about, and lvm is found without sbin in PATH (cron).
 */
TEST_F_TIMEOUT(lvm, missing_origin_is_named_from_cron, RUN_TIMEOUT)
{
	char script[512];
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct run_result res;

	snprintf(script, sizeof(script),
		 "exec 7</dev/null; PATH=/usr/bin:/bin exec %s run "
		 "--lvm-snapshot %s/nope:8m -- true",
		 snapset_bin(), self->vg);
	ASSERT_EQ(0, run_capture(argv[0], argv, &res));
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, "nope: no such LV"));
	EXPECT_EQ(NULL, strstr(res.err, "leaked"));
}

/* A bad spec after --lvm-snapshot: found before any LV is made. */
TEST_F_TIMEOUT(lvm, bad_spec_creates_no_lv, RUN_TIMEOUT)
{
	char origin[64];
	struct run_result res;

	/* Too big: lvcreate makes a smaller one and says so, run too. */
	snprintf(origin, sizeof(origin), "%s/data:999T", self->vg);
	ASSERT_EQ(0, snapset_run(&res, "--lvm-snapshot", origin, "--snapshot",
				 "LABEL=no-such-label", "--", "true", NULL));
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, "LABEL=no-such-label"));
	/* No LV made: the teardown's check. */
}

/*
 * run SIGKILLed with no daemon: the record says so and the LV stays,
 * tagged, for the daemon to remove when it starts.
 */
TEST_F_TIMEOUT(lvm, run_sigkilled_leaves_a_tagged_lv_for_the_daemon,
	       RUN_TIMEOUT)
{
	char origin[64], ready[64], tags[256], cmd[256];
	struct run_result res;
	struct json_object *ev;

	/* Too big: lvcreate makes a smaller one and says so, run too. */
	snprintf(origin, sizeof(origin), "%s/data:999T", self->vg);
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
	/* The record still has to remove it: no other set may take it. */
	snprintf(cmd, sizeof(cmd), "/dev/%s/data-snapset-%.8s", self->vg,
		 jstr(ev, "id"));
	ASSERT_EQ(0,
		  snapset_run(&res, "--persistent", cmd, "--", "true", NULL));
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, "still waits to remove it"))
	{
		TH_LOG("%s", res.err);
	}
	json_object_put(ev);
	EXPECT_TRUE(wait_no_processes("sleep", "993"));
	/* Left for a daemon: removed here. */
	EXPECT_EQ(0, remove_tagged(self->vg, 1));
}

/* What run had armed when it was stopped at its SNAPSET_IOC_ARM. */
struct at_arm {
	const struct loopdev *loop;
	const char *dm;
	const char *dm_node;
	bool before; /* killed as it enters the ioctl, not as it returns */
	bool stopped;
	bool autoclear;
	bool deferred;
	long pending;
};

static void look_at_arm(struct at_arm *at)
{
	at->stopped = true;
	at->autoclear = loop_autoclear(at->loop);
	at->deferred =
	    !sh("dmsetup info %s 2>/dev/null | grep -qi deferred", at->dm);
	at->pending = sysfs_counter("pending");
}

/*
 * Runs `snapset run [--lvm-snapshot @lvm] --snapshot LOOP --snapshot DM
 * -- true` traced: stopped as it enters its SNAPSET_IOC_ARM ioctl, where
 * @at is filled in, and SIGKILLed there (@at->before) or as that ioctl
 * returns 0, before run takes another step. Run's wait status, or -1.
 */
static int kill_run_at_arm(struct at_arm *at, const char *lvm)
{
	char *argv[12] = { (char *)snapset_bin(), "run" }, **arg = argv + 2;
	const long options =
	    PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
	struct __ptrace_syscall_info info;
	bool arming = false;
	int status, sig = 0;
	pid_t pid;

	if (lvm) {
		*arg++ = "--lvm-snapshot";
		*arg++ = (char *)lvm;
	}
	*arg++ = "--snapshot";
	*arg++ = (char *)at->loop->path;
	*arg++ = "--snapshot";
	*arg++ = (char *)at->dm_node;
	*arg++ = "--";
	*arg = "true";
	pid = fork();
	if (pid == 0) {
		/* Untraced, the stop below would never be seen: give up. */
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(126);
		raise(SIGSTOP);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid ||
	    ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)options))
		return -1;
	while (!ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)sig)) {
		if (waitpid(pid, &status, 0) != pid)
			return -1;
		if (!WIFSTOPPED(status))
			return status; /* ended without arming */
		sig = 0;
		if (WSTOPSIG(status) != (SIGTRAP | 0x80)) {
			/* A signal for run, passed on; an exec stop is not. */
			if (!(status >> 16))
				sig = WSTOPSIG(status);
			continue;
		}
		if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(info),
			   &info) <= 0)
			break;
		if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
			arming = info.entry.nr == SYS_ioctl &&
				 info.entry.args[1] == SNAPSET_IOC_ARM;
			if (arming)
				look_at_arm(at);
			if (arming && at->before)
				break;
		} else if (info.op == PTRACE_SYSCALL_INFO_EXIT && arming &&
			   info.exit.rval == 0) {
			break;
		}
	}
	/* At its arm, or the tracing failed: killed either way. */
	kill(pid, SIGKILL);
	return waitpid(pid, &status, 0) == pid ? status : -1;
}

/*
 * Whether the dm device at /dev/dm-N @node is gone within ten seconds,
 * watched in sysfs: no dmsetup run per look, which under TCG would
 * make a device that stays cost the test its whole timeout.
 */
static bool dm_node_gone(const char *node)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/block/%s", node + strlen("/dev/"));
	for (int i = 0; i < 1000; i++) {
		if (access(path, F_OK))
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * For run to hold: a loop device, and a dm snapshot @dm over two more
 * (they go with it), removed however the test ends. 0, or -1.
 */
static int devices_to_hold(struct loopdev *loop, char *dm, char *node)
{
	struct loopdev origin, cow;

	if (loop_attach(loop, 8 << 20) || loop_attach(&origin, 8 << 20) ||
	    loop_attach(&cow, 4 << 20))
		return -1;
	sprintf(dm, "snapset-arm-%d", getpid());
	if (sh_at_exit("dmsetup remove $0 >/dev/null 2>&1", dm) ||
	    sh("dmsetup create %s --table '0 16384 snapshot %s %s N 8'", dm,
	       origin.path, cow.path) ||
	    dm_path(dm, node, 32))
		return -1;
	/* Held by the dm device: autoclear, they go at its removal. */
	loop_detach(&origin);
	loop_detach(&cow);
	return 0;
}

/*
 * run SIGKILLed right after its arm: the loop device's autoclear and
 * the dm snapshot's deferred remove were armed before the set was (and
 * before any record could exist), so both go at the set's end, with no
 * daemon; the LVM snapshot is left, tagged and in the record, for one.
 */
TEST_F_TIMEOUT(lvm, run_sigkilled_at_its_arm_leaves_nothing_unreleased,
	       RUN_TIMEOUT)
{
	char origin[64], dm[32], dm_node[32];
	struct loopdev loop;
	struct at_arm at = { .loop = &loop, .dm = dm, .dm_node = dm_node };
	struct json_object *ev, *devices;
	int status;

	ASSERT_EQ(0, devices_to_hold(&loop, dm, dm_node));
	snprintf(origin, sizeof(origin), "%s/data:8m", self->vg);

	status = kill_run_at_arm(&at, origin);
	ASSERT_TRUE(at.stopped);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* At its arm, run had armed every engine's release already. */
	EXPECT_TRUE(at.autoclear);
	EXPECT_TRUE(at.deferred);
	EXPECT_EQ(0, at.pending);

	ev = watcher_next(&self->watch, "shutdown");
	ASSERT_NE(NULL, ev);
	EXPECT_STREQ("exit", jstr(ev, "reason"));
	EXPECT_EQ(SIGKILL, jint(ev, "signal"));
	ASSERT_TRUE(json_object_object_get_ex(ev, "devices", &devices));
	EXPECT_EQ(3, json_object_array_length(devices));
	json_object_put(ev);
	/* Released by their engines, with no daemon. */
	EXPECT_TRUE(wait_until_unbound(&loop));
	EXPECT_TRUE(dm_node_gone(dm_node));
	/* The LVM snapshot waits for a daemon: removed here. */
	EXPECT_EQ(0, remove_tagged(self->vg, 1));
}

/*
 * run SIGKILLed as it enters its arm: the set ends unarmed, with no
 * record, and its devices go all the same, as after an arm.
 */
TEST_F_TIMEOUT(lvm, run_sigkilled_before_its_arm_releases_its_devices,
	       RUN_TIMEOUT)
{
	char dm[32], dm_node[32];
	struct loopdev loop;
	struct at_arm at = {
		.loop = &loop, .dm = dm, .dm_node = dm_node, .before = true
	};
	long sets = sysfs_counter("sets_live");
	int status;

	ASSERT_EQ(0, devices_to_hold(&loop, dm, dm_node));
	status = kill_run_at_arm(&at, NULL);
	ASSERT_TRUE(at.stopped);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	EXPECT_TRUE(at.autoclear);
	EXPECT_TRUE(at.deferred);
	EXPECT_TRUE(wait_until_unbound(&loop));
	EXPECT_TRUE(dm_node_gone(dm_node));
	EXPECT_EQ(sets, sysfs_counter("sets_live"));
	EXPECT_EQ(0, sysfs_counter("pending"));
}

/*
 * With a delivery agent registered (the daemon's part, played here by
 * the test): no warning, --require-daemon is met, and run leaves the
 * LVM release to the agent, which gets the record, SIGKILL or not.
 */
TEST_F_TIMEOUT(lvm, with_an_agent_run_leaves_the_release_to_it, RUN_TIMEOUT)
{
	char origin[64], ready[64], cmd[256], name[64];
	int agent = subscribe(SNAPSET_SUBSCRIBE_AGENT);
	struct run_result res;
	union event_buf rec;

	ASSERT_LE(0, agent);
	/* Too big: lvcreate makes a smaller one and says so, run too. */
	snprintf(origin, sizeof(origin), "%s/data:999T", self->vg);
	ASSERT_EQ(0, snapset_run(&res, "--require-daemon", "--lvm-snapshot",
				 origin, "--", "true", NULL));
	EXPECT_EQ(0, res.status);
	EXPECT_EQ(NULL, strstr(res.err, "no snapset daemon"));
	ASSERT_LT(0, read_event(agent, &rec, sizeof(rec)));
	EXPECT_EQ(SNAPSET_EVENT_SHUTDOWN, rec.ev.type);
	EXPECT_TRUE(rec.ev.set.flags & SNAPSET_SET_COMPLETED);
	EXPECT_TRUE(
	    starts_with(snapset_event_device(&rec.ev, 0)->dm_uuid, "LVM-"));
	snprintf(name, sizeof(name), "data-snapset-%02x%02x%02x%02x",
		 rec.ev.set.id[0], rec.ev.set.id[1], rec.ev.set.id[2],
		 rec.ev.set.id[3]);
	snprintf(cmd, sizeof(cmd), "lvm lvs %s/%s >/dev/null 2>&1", self->vg,
		 name);
	EXPECT_EQ(0, sh("%s", cmd));

	snprintf(ready, sizeof(ready), "/tmp/snapset-lvm-ready-%d", getpid());
	ASSERT_NE(-1, signal_run("--lvm-snapshot", origin, ready,
				 "touch $READY; exec sleep 994", SIGKILL));
	ASSERT_LT(0, read_event(agent, &rec, sizeof(rec)));
	EXPECT_EQ(SNAPSET_REASON_EXIT, rec.ev.set.reason);
	EXPECT_EQ(SIGKILL, rec.ev.set.signal);
	close(agent);
	/* Both left to the agent: removed here. */
	EXPECT_EQ(0, remove_tagged(self->vg, 2));
}

/*
 * ---------------------------------------------------------------------
 * run SIGKILLed while its lvcreate runs. lvcreate is never killed (it
 * may have the origin suspended), so it may make and tag its LV after
 * run died: the set must end only after lvcreate did, or the daemon's
 * tag lookup at the set's end comes too early and the LV leaks. The set
 * still reads as ended by run's kill.
 * ---------------------------------------------------------------------
 */

/* Whether a process's command line matches @pattern (pgrep -f). */
/*
 * Starts run making a snapshot of @vg/data, and waits for its lvcreate,
 * held back by a lock on the VG, whose command line matches @lvcreate:
 * run's pid, or -1 with run gone and why logged.
 */
static pid_t run_until_lvcreate(struct __test_metadata *_metadata,
				const char *vg, const char *lvcreate)
{
	char origin[64];
	char *argv[] = { (char *)snapset_bin(),
			 "run",
			 "--lvm-snapshot",
			 origin,
			 "--",
			 "true",
			 NULL };
	pid_t run;
	int ret;

	snprintf(origin, sizeof(origin), "%s/data:8m", vg);
	run = spawn(argv, -1);
	if (run < 0)
		return -1;
	ret = wait_process(lvcreate, run);
	if (ret == -ETIMEDOUT) {
		kill(run, SIGKILL);
		waitpid(run, NULL, 0);
	}
	if (ret)
		TH_LOG("no %s: %s", lvcreate,
		       ret == -ECHILD ? "run exited" : "timed out");
	return ret ? -1 : run;
}

TEST_F_TIMEOUT(lvm, run_killed_during_lvcreate_ends_its_set_after_it,
	       RUN_TIMEOUT)
{
	char lvcreate[128], cmd[256], tags[256], id[40];
	long live = sysfs_counter("sets_live");
	struct json_object *ev;
	int lock_fd, status;
	pid_t run;

	lock_fd = vg_lock(self->vg);
	ASSERT_LE(0, lock_fd);
	snprintf(lvcreate, sizeof(lvcreate), "lvcreate .*%s/data$", self->vg);
	run = run_until_lvcreate(_metadata, self->vg, lvcreate);
	ASSERT_LT(0, run);
	ASSERT_EQ(0, kill(run, SIGKILL));
	ASSERT_EQ(run, waitpid(run, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* run is gone, lvcreate is not: the set waits for it. */
	EXPECT_TRUE(process_running(lvcreate));
	EXPECT_EQ(live + 1, sysfs_counter("sets_live"));
	close(lock_fd);
	ev = watcher_next(&self->watch, "shutdown");
	ASSERT_NE(NULL, ev);
	EXPECT_FALSE(process_running(lvcreate));
	EXPECT_STREQ("exit", jstr(ev, "reason"));
	EXPECT_EQ(SIGKILL, jint(ev, "signal"));
	EXPECT_EQ(run, jint(ev, "closer_pid"));
	snprintf(id, sizeof(id), "%s", jstr(ev, "id"));
	json_object_put(ev);
	/* Made and tagged before the set ended: a tag lookup finds it. */
	snprintf(cmd, sizeof(cmd),
		 "lvm lvs --noheadings -o lv_tags %s/data-snapset-%.8s | tr -d "
		 "' '",
		 self->vg, id);
	ASSERT_EQ(0, sh_line(tags, sizeof(tags), cmd));
	EXPECT_NE(NULL, strstr(tags, id));
	EXPECT_EQ(0, sh("%s cleanup >/dev/null", snapset_bin()));
}

/*
 * ---------------------------------------------------------------------
 * The child that holds the set's file for lvcreate SIGKILLed while run
 * lives: lvcreate, orphaned, comes back to run, which waits for it
 * before it removes what lvcreate made, or the LV it makes later leaks.
 * ---------------------------------------------------------------------
 */

/* The parent of process @pid, or -1. */
static pid_t parent_of(pid_t pid)
{
	char path[32], stat[512], *end;
	int ppid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	/* "PID (COMM) STATE PPID ...": COMM may hold anything. */
	if (fgets(stat, sizeof(stat), f)) {
		end = strrchr(stat, ')');
		if (end && sscanf(end + 1, " %*c %d", &ppid) != 1)
			ppid = -1;
	}
	fclose(f);
	return ppid;
}

TEST_F_TIMEOUT(lvm, keeper_killed_during_lvcreate_leaves_no_lv, RUN_TIMEOUT)
{
	char lvcreate[128], cmd[192], line[16];
	int lock_fd, status;
	pid_t run, lvm, keeper;
	long long end;

	lock_fd = vg_lock(self->vg);
	ASSERT_LE(0, lock_fd);
	snprintf(lvcreate, sizeof(lvcreate), "lvcreate .*%s/data$", self->vg);
	run = run_until_lvcreate(_metadata, self->vg, lvcreate);
	ASSERT_LT(0, run);
	snprintf(cmd, sizeof(cmd), "pgrep -f '%s'", lvcreate);
	ASSERT_EQ(0, sh_line(line, sizeof(line), cmd));
	lvm = atoi(line);
	/* run -> keeper -> lvm */
	keeper = parent_of(lvm);
	ASSERT_EQ(run, parent_of(keeper));
	ASSERT_EQ(0, kill(keeper, SIGKILL));
	end = now_ms() + PROCESS_WAIT_S * 1000LL;
	while (parent_of(lvm) == keeper && now_ms() < end)
		usleep(10000);
	EXPECT_EQ(run, parent_of(lvm));
	/* lvcreate waits for the lock, run for lvcreate: nothing removed. */
	usleep(1000000);
	/* "[:]": the shell that runs pgrep never matches. */
	EXPECT_FALSE(process_running("lvremove .*--select lv_tags=snapset[:]"));
	EXPECT_EQ(run, parent_of(lvm));
	close(lock_fd);
	ASSERT_EQ(0, wait_exit(run, &status))
	{
		kill(run, SIGKILL);
		TH_LOG("run did not exit after its lvcreate");
	}
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 125);
	/* Whatever lvcreate made, run removed (and the teardown's check). */
	snprintf(
	    cmd, sizeof(cmd),
	    "lvm lvs --noheadings -o lv_name -S lv_tags=snapset %s | wc -l",
	    self->vg);
	ASSERT_EQ(0, sh_line(line, sizeof(line), cmd));
	EXPECT_STREQ("0", line);
}

TEST_HARNESS_MAIN
