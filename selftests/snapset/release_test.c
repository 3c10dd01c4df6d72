// SPDX-License-Identifier: GPL-2.0
/*
 * What the daemon and snapset cleanup remove, and when: a release that
 * fails is retried while its record waits, a discarded record leaves a
 * lost set, a record's LV is removed by its uuid wherever its device is
 * (a reused number, an inactive LV), cleanup removes lost snapshots only
 * and settles pending records with no daemon, and a set killed before
 * its arm has its tagged LV removed at once; one closed before its arm,
 * once its owner is gone.
 */
#include "daemon_lvm.h"

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
	if (lv_minor(self->vg, "other") != minor) {
		sh("lvm lvremove -q -y %s/other >/dev/null 2>&1", self->vg);
		SKIP(return, "dm did not reuse minor %d", minor);
	}
	ASSERT_EQ(0, daemon_start(&self->d, NULL, NULL, NULL));
	ASSERT_TRUE(daemon_said(&self->d, ": gone already"));
	ASSERT_TRUE(daemon_said(&self->d, "ended without BackupComplete"));
	EXPECT_FALSE(daemon_has_said(&self->d, "release failed"));
	EXPECT_EQ(0, wait_no_pending());
	/* Still there to be removed: the fixture's check fails it if not. */
	EXPECT_EQ(0,
		  sh("lvm lvremove -q -y %s/other >/dev/null 2>&1", self->vg));
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
	/* The origin goes back as the next test expects it. */
	EXPECT_EQ(0,
		  sh("lvm lvchange -q -ay %s/data >/dev/null 2>&1", self->vg));
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
	close(set);
	/*
	 * The others still there, removed together; "lost" left behind
	 * would fail the fixture's check.
	 */
	EXPECT_EQ(0, sh("lvm lvremove -q -y %s/held %s/mine %s/plain "
			">/dev/null 2>&1",
			self->vg, self->vg, self->vg));
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

/* Whether process @pid holds a pidfd of process @target within @seconds. */
static bool holds_pidfd_within(pid_t pid, pid_t target, int seconds)
{
	for (int i = 0; i < seconds * 10; i++) {
		if (!sh("grep -qsE '^Pid:[[:space:]]+%d$' /proc/%d/fdinfo/*",
			target, pid))
			return true;
		usleep(100000);
	}
	return false;
}

/*
 * A requester that closed its set before its arm (run, after a failed
 * arm) removes its LVs itself, after the close: the daemon leaves them
 * while it lives, and removes them once it was killed before it could.
 */
TEST_F_TIMEOUT(daemon, closed_before_arm_is_removed_once_its_owner_is_gone,
	       RUN_TIMEOUT)
{
	__u8 id[SNAPSET_ID_LEN];
	char text[40], c;
	int ids[2], go[2];
	pid_t owner;

	ASSERT_EQ(0, pipe2(ids, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	owner = fork();
	ASSERT_LE(0, owner);
	if (owner == 0) {
		/* Closes its unarmed set when told, then lives until killed. */
		int set = set_new("closed", id);

		close(go[1]);
		if (set < 0 || write(ids[1], id, sizeof(id)) != sizeof(id) ||
		    read(go[0], &c, 1) != 1)
			_exit(1);
		close(set);
		_exit(read(go[0], &c, 1) != 0);
	}
	close(ids[1]);
	close(go[0]);
	ASSERT_EQ(sizeof(id), read(ids[0], id, sizeof(id)));
	close(ids[0]);
	id_text(id, text);
	ASSERT_EQ(0, sh("lvm lvcreate -q -s -n closed -L 8m --addtag snapset "
			"--addtag snapset:%s %s/data >/dev/null 2>&1",
			text, self->vg));
	ASSERT_EQ(0, daemon_start(&self->d, NULL, NULL, NULL));
	/* Closed after the start-up reconciliation saw the set live. */
	ASSERT_TRUE(daemon_at_rest_within(self->d.pid, 60));
	ASSERT_EQ(1, write(go[1], "c", 1));
	/* Watched: the daemon holds a pidfd of the owner, no lvremove ran. */
	ASSERT_TRUE(holds_pidfd_within(self->d.pid, owner, 60));
	EXPECT_TRUE(lv_exists(self->vg, "closed"));
	EXPECT_FALSE(daemon_has_said(&self->d, "LVs tagged snapset:"));
	kill(owner, SIGKILL);
	waitpid(owner, NULL, 0);
	close(go[1]);
	ASSERT_TRUE(daemon_said(&self->d, "LVs tagged snapset:"));
	EXPECT_TRUE(daemon_said(&self->d, ": removed"));
	EXPECT_TRUE(wait_lv_gone(self->vg, "closed"));
	EXPECT_FALSE(daemon_has_said(&self->d, "(reason lost)"));
}

TEST_HARNESS_MAIN
