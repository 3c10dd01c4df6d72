// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of when the daemon reconciles: a watcher overflow may
 * have hidden the shutdown of a set that was never armed, whose LVs
 * only their tags tell of, so it starts a reconciliation; one at a
 * time, a second overflow meanwhile asking for one more after it, and
 * none while sets without a record are being released. The lvs it runs
 * is the host's (read-only; with no module, each run ends "skipped").
 */
#include <stdlib.h>

#include "../userspace/common/module.h"
#include "../userspace/daemon/daemon.h"
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

/* Runs the ring until no reconciliation runs: how many lvs ended. */
static int run(struct daemon *d)
{
	struct __kernel_timespec wait = { .tv_sec = 60 };
	struct io_uring_cqe *cqe;
	struct op *op;
	int runs = 0, res;

	while (d->reconcile) {
		io_uring_submit(&d->ring);
		if (io_uring_wait_cqe_timeout(&d->ring, &cqe, &wait))
			return -1;
		op = io_uring_cqe_get_data(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&d->ring, cqe);
		if (op->kind != OP_RECONCILE)
			continue;
		runs += res > 0;
		reconcile_event(d, res);
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

TEST_F(reconcile, none_while_stopping)
{
	self->d.stopping = true;
	overflow(&self->d);
	EXPECT_EQ(NULL, self->d.reconcile);
}

TEST_HARNESS_MAIN
