/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's LVM fixture, shared by daemon_test and release_test: the
 * program's VG (shared_vg.h) with one origin LV, the real daemon, and a
 * requester SIGKILLed with no daemon to leave a record and its LV.
 */
#ifndef SNAPSET_SELFTEST_DAEMON_LVM_H
#define SNAPSET_SELFTEST_DAEMON_LVM_H

#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "daemon_fixture.h"
#include "kselftest_harness.h"
#include "shared_vg.h"

FIXTURE(daemon)
{
	struct shared_vg shared;
	char vg[32]; /* shared.name, or "" until the fixture has it */
	struct daemon_proc d;
	int vg_lock; /* an flock on the VG's LVM lock file, or -1 */
	int hold;    /* an LV held open, or -1 */
};

static inline bool lv_exists(const char *vg, const char *lv)
{
	return sh("lvm lvs %s/%s >/dev/null 2>&1", vg, lv) == 0;
}

/* LVs of @vg that snapset run made, or -1. */
static inline int snapset_lvs(const char *vg)
{
	char cmd[160], count[16];

	snprintf(cmd, sizeof(cmd),
		 "lvm lvs --noheadings -o lv_name %s 2>/dev/null | grep -c "
		 "snapset- || true",
		 vg);
	return sh_line(count, sizeof(count), cmd) ? -1 : atoi(count);
}

/* Appends @name to @o with its dashes doubled, as dm names LVs. */
static inline char *dm_escaped(char *o, const char *name, const char *end)
{
	for (; *name && o + 2 < end; name++) {
		if (*name == '-')
			*o++ = '-';
		*o++ = *name;
	}
	*o = '\0';
	return o;
}

/*
 * Waits up to a minute for VG/LV to be gone. Its dm device is watched
 * first, which costs no lvm call; lvs then waits for the VG's lock, so
 * that an lvremove that took the device away has also committed.
 */
static inline bool wait_lv_gone(const char *vg, const char *lv)
{
	char node[160], *end = node + sizeof(node);
	char *o = node + sprintf(node, "/dev/mapper/");

	o = dm_escaped(o, vg, end);
	if (o + 1 < end)
		*o++ = '-';
	dm_escaped(o, lv, end);
	for (int i = 0; i < 6000 && !access(node, F_OK); i++)
		usleep(10000);
	for (int i = 0; i < 600; i++) {
		if (!lv_exists(vg, lv))
			return true;
		usleep(100000);
	}
	return false;
}

FIXTURE_SETUP(daemon)
{
	int ret;

	daemon_init(&self->d);
	self->vg_lock = -1;
	self->hold = -1;
	unlink("/tmp/snapset-daemon.strace");
	if (access(snapset_bin(), X_OK))
		SKIP(return, "%s: not built", snapset_bin());
	if (lvm_prepare())
		SKIP(return, "no device-mapper or no lvm");
	discard_all_pending();
	ret =
	    shared_vg_get(_metadata, &self->shared, "snapsetd", 96 << 20,
			  "lvm lvcreate -q -n data -L 16m $VG >/dev/null 2>&1");
	if (ret == ENODEV)
		SKIP(return, "no loop device");
	ASSERT_EQ(0, ret);
	strcpy(self->vg, self->shared.name);
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
	/* What the test made, or snapset left, fails it here. */
	if (self->vg[0])
		shared_vg_check(_metadata, &self->shared);
	discard_all_pending();
}

static inline bool no_children_within(pid_t pid, int seconds)
{
	for (int i = 0; i < seconds * 10; i++) {
		if (sh("pgrep -P %d >/dev/null", pid))
			return true;
		usleep(100000);
	}
	return false;
}

/*
 * Whether @pid sleeps with no child within @seconds: the daemon's start-up
 * reconciliation is over then (its lvs, started before the daemon first
 * sleeps, is reaped and its list handled in one go).
 */
static inline bool daemon_at_rest_within(pid_t pid, int seconds)
{
	for (int i = 0; i < seconds * 10; i++) {
		if (sh("grep -q '^State:.*S (sleeping)' /proc/%d/status && "
		       "! pgrep -P %d >/dev/null",
		       pid, pid) == 0)
			return true;
		usleep(100000);
	}
	return false;
}

/* The name of the one LV snapset run made in @vg. */
static inline int snapset_lv_name(const char *vg, char *name, size_t size)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd),
		 "lvm lvs --noheadings -o lv_name %s | tr -d ' ' | grep "
		 "snapset-",
		 vg);
	return sh_line(name, size, cmd);
}

/* A requester SIGKILLed with no daemon: its LV and record wait. */
static inline void orphan_a_snapshot(struct __test_metadata *_metadata,
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

#endif
