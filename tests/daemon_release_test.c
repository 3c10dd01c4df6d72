// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the daemon's release step (userspace/daemon/
 * release.c) against an lvm of the test's own: what lvremove and the lvs
 * after it said decides the result, and an lvm that could not read a VG
 * never makes an LV "gone already" (its record would be acknowledged and
 * the LV left behind).
 */
#include <errno.h>
#include <stdlib.h>

#include "../userspace/daemon/daemon.h"
#include "fake_lvm.h"
#include "kselftest_harness.h"

#define UUID "A1b2C3-d4E5-f6G7-h8I9-j0K1-l2M3-n4O5p6"

#define ROW(roles) "{\"lv_uuid\":\"" UUID "\", \"lv_role\":\"" roles "\"}"

/*
 * lvremove removes nothing (and fails on vg9 with $FAKE_LVREMOVE_FAILS),
 * or removes ours, says so and still fails on vg9 with
 * $FAKE_LVREMOVE_REMOVES; lvs sleeps $FAKE_LVS_SLEEP seconds, warns
 * $FAKE_LVS_WARNINGS times, pads its report past 16 KiB with $FAKE_LVS_PAD,
 * reports the row in $FAKE_LVS_ROW, if any, then fails on vg9.
 */
static const char vg9_lvm[] =
    "#!/bin/sh\n"
    "echo \"$*\" >> \"$FAKE_LVM_LOG\"\n"
    "case \"$1\" in\n"
    "lvremove)\n"
    "  [ -n \"$FAKE_LVREMOVE_REMOVES\" ] &&\n"
    "    echo '  Logical volume \"vg0/s\" successfully removed.'\n"
    "  [ -n \"$FAKE_LVREMOVE_FAILS$FAKE_LVREMOVE_REMOVES\" ] || exit 0 ;;\n"
    "lvs)\n"
    "  [ -n \"$FAKE_LVS_SLEEP\" ] && sleep \"$FAKE_LVS_SLEEP\"\n"
    "  i=0; while [ $i -lt \"${FAKE_LVS_WARNINGS:-0}\" ]; do\n"
    "    echo \"  WARNING: PV /dev/sd$i is odd.\" >&2; i=$((i + 1)); done\n"
    "  [ -n \"$FAKE_LVS_PAD\" ] && head -c 20000 /dev/zero | tr '\\0' ' '\n"
    "  echo \"{\\\"report\\\":[{\\\"lv\\\":[$FAKE_LVS_ROW]}]}\" ;;\n"
    "esac\n"
    "echo '  Volume group \"vg9\" not found' >&2\n"
    "exit 5\n";

FIXTURE(release)
{
	struct daemon_options opts;
	struct daemon d;
	char dir[32], log[64];
	bool done;
	int result;
	char message[256];
};

FIXTURE_SETUP(release)
{
	self->opts.lvremove_deadline_ms = 30000;
	self->d.opts = &self->opts;
	self->d.agent_fd = -1;
	ASSERT_EQ(0, io_uring_queue_init(16, &self->d.ring, 0));
	snprintf(self->dir, sizeof(self->dir), "/tmp/snapset-lvm-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->log, sizeof(self->log), "%s/log", self->dir);
	if (fake_lvm(self->dir, vg9_lvm, self->log))
		SKIP(return, "no mount namespace of our own to fake lvm in");
	unsetenv("FAKE_LVREMOVE_FAILS");
	unsetenv("FAKE_LVREMOVE_REMOVES");
	unsetenv("FAKE_LVS_ROW");
	unsetenv("FAKE_LVS_WARNINGS");
	unsetenv("FAKE_LVS_PAD");
	unsetenv("FAKE_LVS_SLEEP");
}

FIXTURE_TEARDOWN(release)
{
	fake_lvm_remove(self->dir, self->log);
	io_uring_queue_exit(&self->d.ring);
}

static void released(struct lv_release *r, int result, const char *message)
{
	FIXTURE_DATA(release) *self = lv_release_owner(r);

	self->done = true;
	self->result = result;
	snprintf(self->message, sizeof(self->message), "%s", message);
}

/* Releases LV UUID as the daemon does: its result, or 1 when stuck. */
static int release(FIXTURE_DATA(release) * self)
{
	const struct lv_release_spec spec = {
		.by = LV_BY_UUID,
		.key = UUID,
		.label = "vg0/data-snapset-01020300",
		.may_be_gone = true,
	};
	struct __kernel_timespec wait = { .tv_sec = 60 };
	struct io_uring_cqe *cqe;
	struct op *op;
	int res;

	if (lv_release_start(&self->d, &spec, released, self))
		return 1;
	while (!self->done) {
		io_uring_submit(&self->d.ring);
		if (io_uring_wait_cqe_timeout(&self->d.ring, &cqe, &wait))
			return 1;
		op = io_uring_cqe_get_data(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&self->d.ring, cqe);
		if (op->kind == OP_CHILD_EXIT || op->kind == OP_RETRY)
			lv_release_event(&self->d, op, res);
	}
	return self->result;
}

/* lvremove took nothing, and lvs could not read vg9: not gone. */
TEST_F(release, unreadable_vg_is_no_lv_gone)
{
	EXPECT_EQ(-EIO, release(self));
	EXPECT_STREQ("cannot tell whether snapshot LV " UUID " is gone: lvs: "
		     "Volume group \"vg9\" not found",
		     self->message);
}

/* lvremove itself failed on vg9: no more gone than by lvs. */
TEST_F(release, lvremove_on_unreadable_vg_is_no_lv_gone)
{
	setenv("FAKE_LVREMOVE_FAILS", "1", 1);
	EXPECT_EQ(-EIO, release(self));
	EXPECT_STREQ("Volume group \"vg9\" not found", self->message);
}

/* lvremove removed ours, then failed on vg9: removed, not retried. */
TEST_F(release, removed_despite_unreadable_vg)
{
	setenv("FAKE_LVREMOVE_REMOVES", "1", 1);
	EXPECT_EQ(0, release(self));
	EXPECT_STREQ("removed", self->message);
}

/* The LV's row decides, whatever lvs said of vg9. */
TEST_F(release, row_decides_despite_unreadable_vg)
{
	setenv("FAKE_LVS_ROW", ROW("public"), 1);
	EXPECT_EQ(-ESRCH, release(self));
	self->done = false;
	setenv("FAKE_LVS_ROW", ROW("public,snapshot,thicksnapshot"), 1);
	EXPECT_EQ(-EIO, release(self));
	EXPECT_STREQ("snapshot LV " UUID " is still there", self->message);
}

/* Warnings on stderr, however many, never push the row out. */
TEST_F(release, row_after_many_warnings_decides)
{
	setenv("FAKE_LVS_WARNINGS", "800", 1);
	setenv("FAKE_LVS_ROW", ROW("public"), 1);
	EXPECT_EQ(-ESRCH, release(self));
}

/* A report that does not fit is "cannot tell", never "gone already". */
TEST_F(release, report_too_long_is_no_lv_gone)
{
	setenv("FAKE_LVS_PAD", "1", 1);
	EXPECT_EQ(-EIO, release(self));
	EXPECT_STREQ("lvs output too long: cannot tell whether LV " UUID
		     " is gone",
		     self->message);
}

/* An lvs past its deadline names the LV it could not tell of. */
TEST_F(release, lookup_past_its_deadline_names_the_lv)
{
	self->opts.lvremove_deadline_ms = 200;
	setenv("FAKE_LVS_SLEEP", "2", 1);
	EXPECT_EQ(-ETIMEDOUT, release(self));
	EXPECT_STREQ("cannot tell whether snapshot LV " UUID " is gone: lvs "
		     "took longer than its deadline",
		     self->message);
}

TEST_HARNESS_MAIN
