// SPDX-License-Identifier: GPL-2.0
/*
 * snapset daemon, the real binary, as the delivery agent: it releases
 * the LVM snapshot of a requester killed with SIGKILL, reports the set
 * that never reached BackupComplete and acknowledges its record; at
 * start it removes snapset-tagged LVs whose set is neither live nor
 * pending (reported as lost) and leaves everything else alone.
 */
#include "daemon_lvm.h"

TEST_F_TIMEOUT(daemon, requester_sigkilled_is_released_and_reported,
	       RUN_TIMEOUT)
{
	char origin[64], ready[64];
	long pending;

	ASSERT_EQ(0, daemon_start(&self->d, NULL, NULL, NULL));
	snprintf(origin, sizeof(origin), "%s/data:8m", self->vg);
	snprintf(ready, sizeof(ready), "/tmp/snapset-daemon-ready-%d",
		 getpid());
	ASSERT_NE(-1, signal_run("--lvm-snapshot", origin, ready,
				 "touch $READY; exec sleep 995", SIGKILL));
	ASSERT_TRUE(daemon_said(&self->d, "ended without BackupComplete "
					  "(reason exit, signal 9): owner "
					  "killed by signal 9 (SIGKILL)"));
	ASSERT_TRUE(daemon_said(&self->d, ": removed"));
	EXPECT_EQ(0, snapset_lvs(self->vg));
	/* Acknowledged once released: nothing pending. */
	for (int i = 0; i < 100 && (pending = sysfs_counter("pending")); i++)
		usleep(50000);
	EXPECT_EQ(0, pending);
	EXPECT_EQ(0, daemon_stop(&self->d));
}

/*
 * A writer that never answers holds the record until its deadline, but
 * never the release: the LV is gone while the writer still has its event.
 */
TEST_F_TIMEOUT(daemon, release_is_not_delayed_by_writers, RUN_TIMEOUT)
{
	const char *config = "/tmp/snapset-daemon-test.conf";
	const char *sock = "/tmp/snapset-daemon-test.sock";
	const char *hello =
	    "{\"type\":\"hello\",\"version\":1,\"name\":\"stuck\"}";
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char origin[64], ready[64];
	int fd;

	ASSERT_EQ(0, sh("printf '[daemon]\\nsocket = %s\\nwriter_deadline = "
			"20s\\n' > %s",
			sock, config));
	ASSERT_EQ(0, daemon_start(&self->d, NULL, config, sock));
	strcpy(addr.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&addr, sizeof(addr)));
	ASSERT_LT(0, send(fd, hello, strlen(hello), 0));
	ASSERT_TRUE(daemon_said(&self->d, "writer stuck (pid"));
	snprintf(origin, sizeof(origin), "%s/data:8m", self->vg);
	snprintf(ready, sizeof(ready), "/tmp/snapset-daemon-ready-%d",
		 getpid());
	ASSERT_NE(-1, signal_run("--lvm-snapshot", origin, ready,
				 "touch $READY; exec sleep 997", SIGKILL));
	ASSERT_TRUE(daemon_said(&self->d, ": removed"));
	EXPECT_EQ(0, snapset_lvs(self->vg));
	/* Released, and still waiting for the writer. */
	EXPECT_FALSE(daemon_has_said(&self->d, "writer stuck: failed"));
	EXPECT_EQ(1, sysfs_counter("pending"));
	ASSERT_TRUE(daemon_said(&self->d, "writer stuck: failed: dropped: "
					  "event 1 not acknowledged within "
					  "20000 ms"));
	EXPECT_EQ(0, wait_no_pending());
	close(fd);
	unlink(config);
}

/*
 * A writer that matches the origin LV gets the shutdown of its thick
 * snapshot, described as it was: LV, origin and filesystem.
 */
TEST_F_TIMEOUT(daemon, writer_matching_the_origin_is_told, RUN_TIMEOUT)
{
	/* BackupComplete comes first, then BackupShutdown: the one read. */
	char origin[64], match[64], out[64], json[80];
	struct run_result res;
	char *argv[] = {
		(char *)snapset_bin(),
		"writer",
		"--name",
		"lvm",
		"--match",
		match,
		"--count",
		"2",
		"--",
		"sh",
		"-c",
		"[ $SNAPSET_EVENT = backup-shutdown ] || exit 0; "
		"echo \"$SNAPSET_DEVICES\" > $OUT; "
		"cp $SNAPSET_EVENT_FILE $OUT.tmp && mv $OUT.tmp $OUT.json",
		NULL
	};
	pid_t writer;

	snprintf(out, sizeof(out), "/tmp/snapset-daemon-writer-%d", getpid());
	setenv("OUT", out, 1);
	snprintf(match, sizeof(match), "LV=%s/data", self->vg);
	ASSERT_EQ(0, sh("mkfs.ext4 -q /dev/%s/data", self->vg));
	ASSERT_EQ(0, daemon_start(&self->d, NULL, NULL, NULL));
	writer = spawn(argv, -1);
	ASSERT_TRUE(daemon_said(&self->d, "writer lvm (pid"));
	snprintf(origin, sizeof(origin), "%s/data:8m", self->vg);
	ASSERT_EQ(
	    0, snapset_run(&res, "--lvm-snapshot", origin, "--", "true", NULL));
	snprintf(json, sizeof(json), "%s.json", out);
	EXPECT_TRUE(daemon_said(&self->d, "; writers told: lvm"));
	EXPECT_TRUE(wait_for_file(json));
	kill(writer, SIGKILL);
	waitpid(writer, NULL, 0);
	EXPECT_EQ(0, sh("grep -q '^%s/data-snapset-' %s", self->vg, out));
	EXPECT_EQ(0, sh("grep -q '\"origin\":\"data\"' %s.json", out));
	EXPECT_EQ(0, sh("grep -q '\"type\":\"ext4\"' %s.json", out));
	sh("rm -f %s %s.json", out, out);
}

TEST_F_TIMEOUT(daemon, complete_set_is_released_quietly, RUN_TIMEOUT)
{
	char origin[64];
	struct run_result res;

	ASSERT_EQ(0, daemon_start(&self->d, NULL, NULL, NULL));
	snprintf(origin, sizeof(origin), "%s/data:8m", self->vg);
	ASSERT_EQ(0, snapset_run(&res, "--name", "nightly", "--lvm-snapshot",
				 origin, "--", "true", NULL));
	EXPECT_EQ(0, res.status);
	ASSERT_TRUE(daemon_said(&self->d, "set nightly ("));
	ASSERT_TRUE(daemon_said(&self->d, "complete (reason close)"));
	ASSERT_TRUE(daemon_said(&self->d, ": removed"));
	EXPECT_EQ(0, snapset_lvs(self->vg));
}

/*
 * An LV tagged for a set that no longer exists is removed at start and
 * reported lost; an untagged snapshot, and a tagged one that is no
 * snapshot, are left alone.
 */
TEST_F_TIMEOUT(daemon, start_up_removes_lost_snapshots_only, RUN_TIMEOUT)
{
	const char *gone = "0b7e2c1d-5a4f-4e3b-9c8d-7f6e5d4c3b2a";

	ASSERT_EQ(0,
		  sh("lvm lvcreate -q -s -n lost -L 8m --addtag snapset "
		     "--addtag snapset:%s %s/data >/dev/null 2>&1 && "
		     "lvm lvcreate -q -s -n lost2 -L 8m --addtag snapset "
		     "--addtag snapset:%s %s/data >/dev/null 2>&1 && "
		     "lvm lvcreate -q -s -n mine -L 8m %s/data >/dev/null "
		     "2>&1 && lvm lvcreate -q -n plain -L 8m --addtag "
		     "snapset --addtag snapset:%s %s >/dev/null 2>&1",
		     gone, self->vg, gone, self->vg, self->vg, gone, self->vg));
	ASSERT_EQ(0, daemon_start(&self->d, NULL, NULL, NULL));
	/* Two LVs of one set: released one after the other, one shutdown. */
	ASSERT_TRUE(daemon_said(&self->d, "ended without BackupComplete "
					  "(reason lost)"));
	EXPECT_TRUE(daemon_has_said(&self->d, "/lost: removed"));
	EXPECT_TRUE(daemon_has_said(&self->d, "/lost2: removed"));
	EXPECT_EQ(1, daemon_count(&self->d, "(reason lost)"));
	EXPECT_TRUE(wait_lv_gone(self->vg, "lost"));
	EXPECT_TRUE(wait_lv_gone(self->vg, "lost2"));
	EXPECT_TRUE(lv_exists(self->vg, "mine"));
	EXPECT_TRUE(lv_exists(self->vg, "plain"));
	EXPECT_TRUE(lv_exists(self->vg, "data"));
	/* The VG is the program's: what the test made goes with it. */
	EXPECT_EQ(0, sh("lvm lvremove -q -y %s/mine %s/plain >/dev/null 2>&1",
			self->vg, self->vg));
}

/*
 * Another LVM command holds the VG's lock, and the start-up lvs waits for
 * it: the daemon is ready and delivers records all the same, and kills
 * lvs at its deadline, skipping reconciliation.
 */
TEST_F_TIMEOUT(daemon, stuck_start_up_lvs_delays_nothing, RUN_TIMEOUT)
{
	const char *config = "/tmp/snapset-daemon-test.conf";
	char lock_dir[128], lock[192], ready[64];
	struct loopdev disk;
	long delivered, skipped;

	ASSERT_EQ(0, sh_line(lock_dir, sizeof(lock_dir),
			     "lvm lvmconfig --typeconfig full "
			     "global/locking_dir | cut -d'\"' -f2"));
	snprintf(lock, sizeof(lock), "%s/V_%s", lock_dir, self->vg);
	self->vg_lock = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ASSERT_LE(0, self->vg_lock);
	ASSERT_EQ(0, flock(self->vg_lock, LOCK_EX));
	ASSERT_EQ(0, sh("printf '[daemon]\\nlvremove_deadline = 40s\\n' > %s",
			config));
	ASSERT_EQ(0, daemon_start(&self->d, NULL, config, NULL));
	ASSERT_EQ(0, loop_attach(&disk, 8 << 20));
	snprintf(ready, sizeof(ready), "/tmp/snapset-daemon-ready-%d",
		 getpid());
	EXPECT_NE(-1, signal_run("--snapshot", disk.path, ready,
				 "touch $READY; exec sleep 993", SIGKILL));
	EXPECT_TRUE(daemon_said(&self->d, "ended without BackupComplete "
					  "(reason exit, signal 9)"));
	loop_detach(&disk);
	ASSERT_TRUE(daemon_said(&self->d, "reconciliation skipped: lvs took "
					  "longer than its deadline"));
	/* Delivered while lvs still waited. */
	delivered = daemon_offset(&self->d, "(reason exit, signal 9)");
	skipped = daemon_offset(&self->d, "reconciliation skipped");
	EXPECT_LE(0, delivered);
	EXPECT_LT(delivered, skipped);
	EXPECT_FALSE(daemon_has_said(&self->d, "(reason lost)"));
	/* lvs, killed, is reaped: the daemon has no child left. */
	EXPECT_TRUE(no_children_within(self->d.pid, 10));
	close(self->vg_lock);
	self->vg_lock = -1;
	EXPECT_EQ(0, daemon_stop(&self->d));
}

TEST_F_TIMEOUT(daemon, second_daemon_is_refused, RUN_TIMEOUT)
{
	char *argv[] = { (char *)snapset_bin(), "daemon", NULL };
	struct run_result res;

	ASSERT_EQ(0, daemon_start(&self->d, NULL, NULL, NULL));
	ASSERT_EQ(0, run_capture(argv[0], argv, &res));
	EXPECT_EQ(1, res.status);
	EXPECT_NE(NULL, strstr(res.err, "another delivery agent"));
}

/*
 * A daemon killed after reading a record but before acknowledging it:
 * the LV is held, so its release retries; the next daemon gets the
 * record again and finishes.
 */
TEST_F_TIMEOUT(daemon, killed_before_ack_is_replayed, RUN_TIMEOUT)
{
	char name[64], node[128];
	int hold, status;

	orphan_a_snapshot(_metadata, self, name, sizeof(name));
	snprintf(node, sizeof(node), "/dev/%s/%s", self->vg, name);
	hold = open(node, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, hold);
	ASSERT_EQ(0, daemon_start(&self->d, NULL, NULL, NULL));
	sleep(1);
	ASSERT_EQ(0, kill(self->d.pid, SIGKILL));
	ASSERT_EQ(self->d.pid, waitpid(self->d.pid, &status, 0));
	self->d.pid = -1;
	EXPECT_EQ(1, sysfs_counter("pending"));
	EXPECT_TRUE(lv_exists(self->vg, name));
	close(hold);

	ASSERT_EQ(0, daemon_start(&self->d, NULL, NULL, NULL));
	/* Removed by the new daemon, or by the old one's last lvremove. */
	ASSERT_TRUE(daemon_said(&self->d, "ended without BackupComplete"));
	EXPECT_TRUE(wait_lv_gone(self->vg, name));
	for (int i = 0; i < 100 && sysfs_counter("pending"); i++)
		usleep(50000);
	EXPECT_EQ(0, sysfs_counter("pending"));
}

/*
 * The loop waits in io_uring alone: no poll, select or epoll call, and no
 * io-wq worker while idle or reading the module.
 */
TEST_F_TIMEOUT(daemon, no_poll_calls_and_no_workers, RUN_TIMEOUT)
{
	static const char *const strace[] = {
		"strace",
		"-qq",
		"-o",
		"/tmp/snapset-daemon.strace",
		"-e",
		"trace=poll,ppoll,select,pselect6,epoll_create1,epoll_ctl,"
		"epoll_wait,epoll_pwait,epoll_pwait2",
		NULL
	};
	char origin[64], workers[64], asan_options[512];
	struct run_result res;
	long agent;

	if (sh("command -v strace >/dev/null"))
		SKIP(return, "no strace");
	/*
	 * LeakSanitizer stops a process's threads with ptrace, which a
	 * traced process cannot take: a sanitized daemon is told not to try
	 * (this test's process alone, the harness forked it).
	 */
	ASSERT_GT(sizeof(asan_options),
		  snprintf(asan_options, sizeof(asan_options),
			   "%s:detect_leaks=0", getenv("ASAN_OPTIONS") ?: ""));
	ASSERT_EQ(0, setenv("ASAN_OPTIONS", asan_options, 1));
	ASSERT_EQ(0, daemon_start(&self->d, strace, NULL, NULL));
	snprintf(origin, sizeof(origin), "%s/data:8m", self->vg);
	ASSERT_EQ(
	    0, snapset_run(&res, "--lvm-snapshot", origin, "--", "true", NULL));
	ASSERT_TRUE(daemon_said(&self->d, ": removed"));
	/* The history's and metrics' writer threads have ended by now. */
	sleep(2);
	agent = sysfs_counter("agent");
	ASSERT_LT(0, agent);
	snprintf(workers, sizeof(workers),
		 "cat /proc/%ld/task/*/comm | grep -c iou-wrk", agent);
	EXPECT_NE(0, sh("%s >/dev/null", workers));
	/* strace exits with the daemon. */
	ASSERT_EQ(0, kill(agent, SIGTERM));
	waitpid(self->d.pid, NULL, 0);
	self->d.pid = -1;
	/* Signal lines (--- SIGCHLD ---) aside, strace saw no such call. */
	EXPECT_EQ(0, sh("test -e /tmp/snapset-daemon.strace"));
	EXPECT_NE(0, sh("grep -v -e '^---' -e '^+++' "
			"/tmp/snapset-daemon.strace >&2"));
}

TEST_HARNESS_MAIN
