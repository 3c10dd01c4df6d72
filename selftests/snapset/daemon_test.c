// SPDX-License-Identifier: GPL-2.0
/*
 * snapset daemon, the real binary, as the delivery agent: it releases
 * the LVM snapshot of a requester killed with SIGKILL, reports the set
 * that never reached BackupComplete and acknowledges its record; at
 * start it removes snapset-tagged LVs whose set is neither live nor
 * pending (reported as lost) and leaves everything else alone.
 */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "daemon_fixture.h"
#include "kselftest_harness.h"

FIXTURE(daemon)
{
	struct loopdev pv;
	char vg[32];
	struct daemon_proc d;
	int vg_lock; /* an flock on the VG's LVM lock file, or -1 */
	int hold;    /* an LV held open, or -1 */
};

static bool lv_exists(const char *vg, const char *lv)
{
	return sh("lvm lvs %s/%s >/dev/null 2>&1", vg, lv) == 0;
}

/* LVs of @vg that snapset run made, or -1. */
static int snapset_lvs(const char *vg)
{
	char cmd[160], count[16];

	snprintf(cmd, sizeof(cmd),
		 "lvm lvs --noheadings -o lv_name %s 2>/dev/null | grep -c "
		 "snapset- || true",
		 vg);
	return sh_line(count, sizeof(count), cmd) ? -1 : atoi(count);
}

static bool wait_lv_gone(const char *vg, const char *lv)
{
	for (int i = 0; i < 600; i++) {
		if (!lv_exists(vg, lv))
			return true;
		usleep(100000);
	}
	return false;
}

FIXTURE_SETUP(daemon)
{
	daemon_init(&self->d);
	self->vg_lock = -1;
	self->hold = -1;
	unlink("/tmp/snapset-daemon.strace");
	if (access(snapset_bin(), X_OK))
		SKIP(return, "%s: not built", snapset_bin());
	if (lvm_prepare())
		SKIP(return, "no device-mapper or no lvm");
	discard_all_pending();
	if (loop_attach(&self->pv, 96 << 20))
		SKIP(return, "no loop device");
	snprintf(self->vg, sizeof(self->vg), "snapsetd%d", getpid());
	ASSERT_EQ(0, sh("lvm vgcreate -q %s %s >/dev/null 2>&1 && "
			"lvm lvcreate -q -n data -L 16m %s >/dev/null 2>&1",
			self->vg, self->pv.path, self->vg));
}

FIXTURE_TEARDOWN(daemon)
{
	daemon_stop(&self->d);
	if (self->d.log >= 0)
		close(self->d.log);
	if (self->vg_lock >= 0)
		close(self->vg_lock);
	if (self->hold >= 0)
		close(self->hold);
	sh("lvm vgremove -q -f %s >/dev/null 2>&1", self->vg);
	loop_detach(&self->pv);
	discard_all_pending();
}

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
					  "(reason exit, signal 9)"));
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
	EXPECT_TRUE(daemon_said(&self->d, "backup-shutdown: writer lvm: ok"));
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
}

static bool no_children_within(pid_t pid, int seconds)
{
	for (int i = 0; i < seconds * 10; i++) {
		if (sh("pgrep -P %d >/dev/null", pid))
			return true;
		usleep(100000);
	}
	return false;
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

/* The dm minor of VG/LV, or -1. */
static int lv_minor(const char *vg, const char *lv)
{
	char cmd[256], minor[16];

	snprintf(cmd, sizeof(cmd),
		 "lvm lvs --noheadings -o lv_kernel_minor %s/%s 2>/dev/null | "
		 "tr -d ' '",
		 vg, lv);
	return sh_line(minor, sizeof(minor), cmd) ? -1 : atoi(minor);
}

/* The name of the one LV snapset run made in @vg. */
static int snapset_lv_name(const char *vg, char *name, size_t size)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd),
		 "lvm lvs --noheadings -o lv_name %s | tr -d ' ' | grep "
		 "snapset-",
		 vg);
	return sh_line(name, size, cmd);
}

/* A requester SIGKILLed with no daemon: its LV and record wait. */
static void orphan_a_snapshot(struct __test_metadata *_metadata,
			      FIXTURE_DATA(daemon) * self, char *name,
			      size_t size)
{
	char origin[64], ready[64];

	snprintf(origin, sizeof(origin), "%s/data:8m", self->vg);
	snprintf(ready, sizeof(ready), "/tmp/snapset-daemon-ready-%d",
		 getpid());
	ASSERT_NE(-1, signal_run("--lvm-snapshot", origin, ready,
				 "touch $READY; exec sleep 996", SIGKILL));
	ASSERT_EQ(1, sysfs_counter("pending"));
	ASSERT_EQ(0, snapset_lv_name(self->vg, name, size));
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
 * A release that fails (the LV stays open) is reported, but its record is
 * not acknowledged as if done: it stays pending, and the release is tried
 * again until the LV is gone. Six lvremove attempts come first: under a
 * loaded TCG guest they take minutes.
 */
TEST_F_TIMEOUT(daemon, failed_release_is_retried_until_done, 2 * RUN_TIMEOUT)
{
	char name[64], node[128];

	orphan_a_snapshot(_metadata, self, name, sizeof(name));
	snprintf(node, sizeof(node), "/dev/%s/%s", self->vg, name);
	self->hold = open(node, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->hold);
	ASSERT_EQ(0, daemon_start(&self->d, NULL, NULL, NULL));
	ASSERT_TRUE(daemon_said_within(
	    &self->d, "its release failed: tried again in 5 s", RUN_TIMEOUT));
	EXPECT_EQ(1, sysfs_counter("pending"));
	EXPECT_TRUE(lv_exists(self->vg, name));
	close(self->hold);
	self->hold = -1;
	ASSERT_TRUE(
	    daemon_said_within(&self->d, "released at last", RUN_TIMEOUT));
	EXPECT_TRUE(wait_lv_gone(self->vg, name));
	EXPECT_EQ(0, wait_no_pending());
}

/*
 * Records discarded (as a module reload does) while no daemon ran: the
 * next daemon finds the snapshot by its tags, removes it and reports
 * the set lost.
 */
TEST_F_TIMEOUT(daemon, discarded_record_leaves_a_lost_set, RUN_TIMEOUT)
{
	char name[64];

	orphan_a_snapshot(_metadata, self, name, sizeof(name));
	discard_all_pending();
	ASSERT_EQ(0, sysfs_counter("pending"));
	ASSERT_TRUE(lv_exists(self->vg, name));
	ASSERT_EQ(0, daemon_start(&self->d, NULL, NULL, NULL));
	ASSERT_TRUE(daemon_said(&self->d, "ended without BackupComplete "
					  "(reason lost)"));
	EXPECT_TRUE(daemon_has_said(&self->d, ": removed"));
	EXPECT_TRUE(wait_lv_gone(self->vg, name));
}

/*
 * The recorded LV was removed (as run does without a daemon) and its
 * number went to another LV: that one stays, and the release is done,
 * not failed.
 */
TEST_F_TIMEOUT(daemon, reused_device_number_is_released_already, RUN_TIMEOUT)
{
	char name[64];
	int minor;

	orphan_a_snapshot(_metadata, self, name, sizeof(name));
	minor = lv_minor(self->vg, name);
	ASSERT_EQ(0, sh("lvm lvremove -q -y %s/%s >/dev/null 2>&1 && lvm "
			"lvcreate -q -s -n other -L 8m %s/data >/dev/null 2>&1",
			self->vg, name, self->vg));
	if (lv_minor(self->vg, "other") != minor)
		SKIP(return, "dm did not reuse minor %d", minor);
	ASSERT_EQ(0, daemon_start(&self->d, NULL, NULL, NULL));
	ASSERT_TRUE(daemon_said(&self->d, ": gone already"));
	ASSERT_TRUE(daemon_said(&self->d, "ended without BackupComplete"));
	EXPECT_FALSE(daemon_has_said(&self->d, "release failed"));
	EXPECT_TRUE(lv_exists(self->vg, "other"));
	EXPECT_EQ(0, wait_no_pending());
}

/*
 * The recorded LV is there but its dm device is not (deactivated): it is
 * removed by its uuid, not taken for gone.
 */
TEST_F_TIMEOUT(daemon, inactive_snapshot_is_removed_by_uuid, RUN_TIMEOUT)
{
	char name[64];

	orphan_a_snapshot(_metadata, self, name, sizeof(name));
	ASSERT_EQ(0,
		  sh("lvm lvchange -q -an %s/data >/dev/null 2>&1", self->vg));
	ASSERT_EQ(0, daemon_start(&self->d, NULL, NULL, NULL));
	ASSERT_TRUE(daemon_said(&self->d, ": removed"));
	EXPECT_TRUE(wait_lv_gone(self->vg, name));
	EXPECT_FALSE(daemon_has_said(&self->d, "gone already"));
	EXPECT_EQ(0, wait_no_pending());
}

/* @id as text, the way tags carry it. */
static void id_text(const __u8 id[SNAPSET_ID_LEN], char out[40])
{
	int n = 0;

	for (int i = 0; i < SNAPSET_ID_LEN; i++)
		n += sprintf(out + n, "%s%02x",
			     i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "",
			     id[i]);
}

/*
 * snapset cleanup, with no daemon: the snapshot whose set is gone goes
 * (--dry-run only says so); a live set's snapshot, an untagged snapshot
 * and a tagged LV that is no snapshot stay.
 */
TEST_F_TIMEOUT(daemon, cleanup_removes_lost_snapshots_only, RUN_TIMEOUT)
{
	const char *gone = "0b7e2c1d-5a4f-4e3b-9c8d-7f6e5d4c3b2a";
	char *argv[] = { (char *)snapset_bin(), "cleanup", "--dry-run", NULL };
	__u8 id[SNAPSET_ID_LEN];
	struct run_result res;
	char live[40];
	int set = set_new("cleanup", id);

	ASSERT_LE(0, set);
	id_text(id, live);
	ASSERT_EQ(0, sh("for lv in lost:%s held:%s; do lvm lvcreate -q -s -n "
			"${lv%%%%:*} -L 8m --addtag snapset --addtag "
			"snapset:${lv#*:} %s/data >/dev/null 2>&1 || exit; "
			"done; lvm lvcreate -q -s -n mine -L 8m %s/data "
			">/dev/null 2>&1 && lvm lvcreate -q -n plain -L 8m "
			"--addtag snapset --addtag snapset:%s %s >/dev/null "
			"2>&1",
			gone, live, self->vg, self->vg, gone, self->vg));
	ASSERT_EQ(0, run_capture(argv[0], argv, &res));
	EXPECT_EQ(0, res.status);
	EXPECT_NE(NULL, strstr(res.out, "/lost: would be removed (set "));
	EXPECT_TRUE(lv_exists(self->vg, "lost"));
	argv[2] = NULL;
	ASSERT_EQ(0, run_capture(argv[0], argv, &res));
	EXPECT_EQ(0, res.status);
	EXPECT_NE(NULL, strstr(res.out, "/lost: removed (set "));
	EXPECT_NE(NULL, strstr(res.out, "/held: kept: set "));
	EXPECT_NE(NULL, strstr(res.out, "/plain: left alone: not a snapshot"));
	EXPECT_FALSE(lv_exists(self->vg, "lost"));
	EXPECT_TRUE(lv_exists(self->vg, "held"));
	EXPECT_TRUE(lv_exists(self->vg, "mine"));
	EXPECT_TRUE(lv_exists(self->vg, "plain"));
	close(set);
}

/*
 * snapset cleanup --pending, with no daemon: a SIGKILLed run's record is
 * released (its LV removed) and acknowledged, and nothing holds the
 * module any more; while a daemon runs, it is the daemon's work.
 */
TEST_F_TIMEOUT(daemon, cleanup_pending_releases_and_acknowledges, RUN_TIMEOUT)
{
	char *argv[] = { (char *)snapset_bin(), "cleanup", "--pending", NULL };
	struct run_result res;
	char name[64];

	orphan_a_snapshot(_metadata, self, name, sizeof(name));
	ASSERT_EQ(0, run_capture(argv[0], argv, &res));
	EXPECT_EQ(0, res.status);
	EXPECT_NE(NULL, strstr(res.out, ": released and acknowledged (no "
					"writer was told)"));
	EXPECT_FALSE(lv_exists(self->vg, name));
	EXPECT_EQ(0, sysfs_counter("pending"));
	ASSERT_EQ(0, daemon_start(&self->d, NULL, NULL, NULL));
	ASSERT_EQ(0, run_capture(argv[0], argv, &res));
	EXPECT_EQ(1, res.status);
	EXPECT_NE(NULL, strstr(res.err, "a daemon runs"));
}

/*
 * A requester SIGKILLed between lvcreate and arm: its set leaves no
 * record, and the daemon that runs removes the LV tagged for it at once,
 * not at its next start.
 */
TEST_F_TIMEOUT(daemon, killed_before_arm_is_removed_at_once, RUN_TIMEOUT)
{
	__u8 id[SNAPSET_ID_LEN];
	char text[40];
	int p[2];
	pid_t owner;

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	owner = fork();
	ASSERT_LE(0, owner);
	if (owner == 0) {
		/* Holds its unarmed set until it is killed. */
		if (set_new("killed", id) < 0 ||
		    write(p[1], id, sizeof(id)) != sizeof(id))
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	ASSERT_EQ(sizeof(id), read(p[0], id, sizeof(id)));
	close(p[0]);
	id_text(id, text);
	ASSERT_EQ(0, sh("lvm lvcreate -q -s -n killed -L 8m --addtag snapset "
			"--addtag snapset:%s %s/data >/dev/null 2>&1",
			text, self->vg));
	/* Its set is live: the start-up reconciliation keeps the LV. */
	ASSERT_EQ(0, daemon_start(&self->d, NULL, NULL, NULL));
	ASSERT_TRUE(no_children_within(self->d.pid, 30));
	ASSERT_TRUE(lv_exists(self->vg, "killed"));
	kill(owner, SIGKILL);
	waitpid(owner, NULL, 0);
	ASSERT_TRUE(daemon_said(&self->d, "LVs tagged snapset:"));
	EXPECT_TRUE(daemon_said(&self->d, ": removed"));
	EXPECT_TRUE(wait_lv_gone(self->vg, "killed"));
	EXPECT_FALSE(daemon_has_said(&self->d, "(reason lost)"));
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
	char origin[64], workers[64];
	struct run_result res;
	long agent;

	if (sh("command -v strace >/dev/null"))
		SKIP(return, "no strace");
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
