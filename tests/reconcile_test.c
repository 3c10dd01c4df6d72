// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of when the daemon reconciles: a watcher overflow may
 * have hidden the shutdown of a set that was never armed, whose LVs
 * only their tags tell of, so it starts a reconciliation; one at a
 * time, a second overflow meanwhile asking for one more after it, and
 * none while sets without a record are being released; after the first,
 * at most one so often. A lost set is not told as armed (owners_test.c
 * has a set seen to end before its arm remembered). The lvs it runs is
 * the host's (read-only; with no module, each run ends "skipped").
 */
#include <stdlib.h>
#include <string.h>

#include "../userspace/common/lvm.h"
#include "../userspace/common/module.h"
#include "../userspace/daemon/daemon.h"
#include "../userspace/lib/protocol.h"
#include "daemon_step.h"
#include "fake_lvm.h"
#include "kselftest_harness.h"

FIXTURE(reconcile)
{
	struct daemon_options opts;
	struct daemon d;
};

FIXTURE_SETUP(reconcile)
{
	self->opts.lvremove_deadline_ms = 30000;
	self->d.opts = &self->opts;
	self->d.agent_fd = -1;
	ASSERT_EQ(0, io_uring_queue_init(16, &self->d.ring, 0));
}

FIXTURE_TEARDOWN(reconcile)
{
	reconcile_end(&self->d);
	io_uring_queue_exit(&self->d.ring);
}

/* What the watcher reads when its queue overflowed. */
static void overflow(struct daemon *d)
{
	struct snapset_event ev;

	record_init(&ev, SNAPSET_EVENT_OVERFLOW);
	ev.seq = 7;
	ev.missed = 3;
	watch_received(d, &ev, sizeof(ev));
}

/*
 * Handles one completion as the daemon's loop does: 1 when it was an lvs
 * that ended, 0 for any other, -1 when none came in time.
 */
static int step(struct daemon *d)
{
	int res = 0, kind = daemon_step(d, 60000, &res);

	if (kind < 0)
		return -1;
	return kind == OP_RECONCILE && res > 0;
}

/* Runs the ring until no reconciliation runs nor waits: lvs that ended. */
static int run(struct daemon *d)
{
	int runs = 0, ret;

	while (d->reconcile || d->reconcile_timer) {
		ret = step(d);
		if (ret < 0)
			return ret;
		runs += ret;
	}
	return runs;
}

TEST_F(reconcile, overflow_starts_one)
{
	overflow(&self->d);
	EXPECT_NE(NULL, self->d.reconcile);
	EXPECT_FALSE(self->d.reconcile_wanted);
	EXPECT_EQ(1, run(&self->d));
}

/* The running lvs may have listed LVs before the missed set made them. */
TEST_F(reconcile, overflow_while_one_runs_asks_for_one_more)
{
	overflow(&self->d);
	overflow(&self->d);
	overflow(&self->d);
	EXPECT_TRUE(self->d.reconcile_wanted);
	EXPECT_EQ(2, run(&self->d));
	EXPECT_FALSE(self->d.reconcile_wanted);
}

/* lvs would list the LVs being removed, and report them lost again. */
TEST_F(reconcile, waits_for_sets_without_a_record)
{
	self->d.unrecorded_jobs = 1;
	overflow(&self->d);
	EXPECT_EQ(NULL, self->d.reconcile);
	EXPECT_TRUE(self->d.reconcile_wanted);
}

/* Overflows anyone may cause: the next lvs waits for its time. */
TEST_F(reconcile, overflows_reconcile_at_most_so_often)
{
	long long first;

	self->d.reconcile_every_ms = 500;
	overflow(&self->d);
	first = self->d.reconcile_at;
	EXPECT_EQ(1, run(&self->d));
	overflow(&self->d);
	overflow(&self->d);
	EXPECT_EQ(NULL, self->d.reconcile);
	EXPECT_TRUE(self->d.reconcile_timer);
	EXPECT_EQ(1, run(&self->d));
	EXPECT_LE(first + 500, self->d.reconcile_at);
	EXPECT_FALSE(self->d.reconcile_wanted);
}

/* Whether it was ever armed, a lost set cannot tell: not "armed". */
TEST_F(reconcile, lost_set_is_not_told_as_armed)
{
	const __u8 id[SNAPSET_ID_LEN] = { 1, 2, 3 };
	struct record_job *job;
	char *text;

	self->d.settling = true;
	self->d.history = json_object_new_array();
	ASSERT_EQ(0, metrics_init(&self->d));
	job = lost_set_start(&self->d, id);
	ASSERT_NE(NULL, job);
	lost_set_started(job);
	ASSERT_NE(NULL, self->d.parked);
	text = notice_message(self->d.parked, 1);
	EXPECT_NE(NULL, strstr(text, "\"armed\":false"));
	EXPECT_NE(NULL, strstr(text, "\"reason\":\"lost\""));
	free(text);
	notices_settled(&self->d);
	EXPECT_EQ(0, self->d.jobs);
	json_object_put(self->d.history);
}

/* Runs the ring until every job is done (lvremoves waited for). */
static int run_jobs(struct daemon *d)
{
	while (d->jobs)
		if (step(d) < 0)
			return -1;
	return 0;
}

/* A lost set whose LV no lvremove removes, found by reconciliation. */
static int lost_found(struct daemon *d, const __u8 id[SNAPSET_ID_LEN])
{
	const struct snapset_lv lv = {
		.uuid = "Zz9y8X-7w6V-5u4T-3s2R-1q0P-o9N8-m7L6k5",
		.vg = "snapset-test-no-such-vg",
		.lv = "data-snapset-01020300",
		.set_id = "01020300-0000-0000-0000-000000000000",
	};
	struct record_job *job = lost_set_start(d, id);

	if (!job)
		return -1;
	lost_set_release(job, &lv);
	lost_set_started(job);
	return run_jobs(d);
}

/*
 * Its release failed (lvm refused): found again by the next
 * reconciliation, it is retried, but not told nor reported again.
 */
TEST_F(reconcile, lost_set_is_told_once)
{
	static const char refusing_lvm[] =
	    "#!/bin/sh\n"
	    "echo \"$*\" >> \"$FAKE_LVM_LOG\"\n"
	    "echo '  Internal error: this lvm removes nothing.' >&2; exit 5\n";
	const __u8 id[SNAPSET_ID_LEN] = { 1, 2, 3 };
	char dir[] = "/tmp/snapset-lvm-XXXXXX", log[64];

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(log, sizeof(log), "%s/log", dir);
	if (fake_lvm(dir, refusing_lvm, log))
		SKIP(return, "no mount namespace of our own to fake lvm in");
	self->opts.history_size = 10;
	self->d.history = json_object_new_array();
	ASSERT_EQ(0, metrics_init(&self->d));
	ASSERT_EQ(0, lost_found(&self->d, id));
	ASSERT_EQ(1, json_object_array_length(self->d.history));
	ASSERT_EQ(0, lost_found(&self->d, id));
	EXPECT_EQ(1, json_object_array_length(self->d.history));
	json_object_put(self->d.history);
	fake_lvm_remove(dir, log);
}

TEST_F(reconcile, none_while_stopping)
{
	self->d.stopping = true;
	overflow(&self->d);
	EXPECT_EQ(NULL, self->d.reconcile);
}

TEST_HARNESS_MAIN
