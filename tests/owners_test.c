// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the owners of sets closed before their arm: run
 * removes the LVs it made after that close, and if it is killed first,
 * the daemon removes what is left once the owner has exited; never
 * while it lives, at once when it is gone already or its pid names
 * another process now, and never for a set not root's. The set is
 * remembered as ended all the same, so no reconciliation takes it for
 * lost. lvm is a fake that logs its arguments and removes nothing.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../userspace/common/format.h"
#include "../userspace/common/module.h"
#include "../userspace/daemon/daemon.h"
#include "fake_lvm.h"
#include "kselftest_harness.h"

/* Prints nothing: lvremove's way of saying no LV was selected. */
static const char logging_lvm[] = "#!/bin/sh\n"
				  "echo \"$*\" >> \"$FAKE_LVM_LOG\"\n";

FIXTURE(owners)
{
	struct daemon_options opts;
	struct daemon d;
	bool faked; /* lvm is the fake */
	char dir[32];
	char log[64];
	pid_t child;
	int child_pipe; /* the child lives until it is closed */
	struct snapset_event ev;
	char tag[64]; /* the set's tag, as lvremove selects it */
};

FIXTURE_SETUP(owners)
{
	char id[ID_STR_LEN];

	self->opts.lvremove_deadline_ms = 30000;
	self->d.opts = &self->opts;
	self->d.agent_fd = -1;
	self->child = -1;
	self->child_pipe = -1;
	ASSERT_EQ(0, io_uring_queue_init(16, &self->d.ring, 0));
	snprintf(self->dir, sizeof(self->dir), "/tmp/snapset-lvm-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->log, sizeof(self->log), "%s/log", self->dir);
	self->faked = !fake_lvm(self->dir, logging_lvm, self->log);
	/* What run's set looks like once it closed it after a failed arm. */
	record_init(&self->ev, SNAPSET_EVENT_SHUTDOWN);
	self->ev.set.flags = SNAPSET_SET_TERMINATED;
	self->ev.set.reason = SNAPSET_REASON_CLOSE;
	memset(self->ev.set.id, 0x5a, SNAPSET_ID_LEN);
	id_format(self->ev.set.id, id);
	snprintf(self->tag, sizeof(self->tag), "lv_tags=snapset:%s", id);
}

FIXTURE_TEARDOWN(owners)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	if (self->child_pipe >= 0)
		close(self->child_pipe);
	io_uring_queue_exit(&self->d.ring);
	/* After the ring: no completion can name a watch any more. */
	owners_end(&self->d);
	if (self->faked)
		fake_lvm_remove(self->dir, self->log);
}

static __u64 boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * A child that waits on a pipe, as the owner of the fixture's set. Its
 * start time is measured around the fork rather than read from /proc as
 * the daemon does: within one clock tick, or the fork is tried again.
 */
static int owner_spawn(FIXTURE_DATA(owners) * self)
{
	__u64 tick = 1000000000ULL / sysconf(_SC_CLK_TCK), before;
	int fds[2];
	char c;

	for (int tries = 0; tries < 100; tries++) {
		if (pipe(fds))
			return -1;
		before = boottime_ns();
		self->child = fork();
		if (self->child == 0) {
			close(fds[1]);
			_exit(read(fds[0], &c, 1) < 0);
		}
		close(fds[0]);
		self->child_pipe = fds[1];
		if (self->child < 0)
			return -1;
		if (before / tick == boottime_ns() / tick) {
			self->ev.set.owner_tgid = self->child;
			self->ev.set.owner_start_time = before;
			return 0;
		}
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
		close(self->child_pipe);
	}
	return -1;
}

/*
 * Handles one completion as the daemon's loop does; -1 when none came
 * within @ms.
 */
static int step(struct daemon *d, long ms)
{
	struct __kernel_timespec wait;
	struct io_uring_cqe *cqe;
	struct op *op;
	int res;

	ms_to_timespec(ms, &wait);
	io_uring_submit(&d->ring);
	if (io_uring_wait_cqe_timeout(&d->ring, &cqe, &wait))
		return -1;
	op = io_uring_cqe_get_data(cqe);
	res = cqe->res;
	io_uring_cqe_seen(&d->ring, cqe);
	if (op->kind == OP_OWNER_EXIT)
		owners_event(d, op, res);
	else if (op->kind == OP_CHILD_EXIT || op->kind == OP_RETRY)
		lv_release_event(d, op, res);
	return 0;
}

/* Runs the ring until no removal runs and, with @owners, none is watched. */
static int settle(struct daemon *d, bool owners)
{
	while (d->jobs || (owners && d->nowners))
		if (step(d, 10000) < 0)
			return -1;
	return 0;
}

/* Whether lvm was run with @text in its arguments. */
static bool lvm_ran_with(const char *log, const char *text)
{
	char buf[4096] = "";
	FILE *f = fopen(log, "r");

	if (!f)
		return false;
	fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	return strstr(buf, text);
}

TEST_F(owners, removed_once_a_living_owner_is_killed)
{
	if (!self->faked)
		SKIP(return, "no mount namespace of our own to fake lvm in");
	ASSERT_EQ(0, owner_spawn(self));
	records_dissolved(&self->d, &self->ev);
	EXPECT_EQ(1, self->d.nowners);
	EXPECT_EQ(0, self->d.jobs);
	/* It is remembered meanwhile: no reconciliation calls it lost. */
	ASSERT_EQ(1, self->d.nended);
	EXPECT_EQ(0, memcmp(self->d.ended[0], self->ev.set.id, SNAPSET_ID_LEN));
	/* The owner is removing its LVs itself: nothing happens. */
	EXPECT_EQ(-1, step(&self->d, 300));
	EXPECT_EQ(1, self->d.nowners);
	EXPECT_FALSE(lvm_ran_with(self->log, "lvremove"));
	ASSERT_EQ(0, kill(self->child, SIGKILL));
	ASSERT_EQ(0, settle(&self->d, true));
	EXPECT_TRUE(lvm_ran_with(self->log, self->tag));
}

TEST_F(owners, removed_at_once_when_the_owner_is_gone)
{
	if (!self->faked)
		SKIP(return, "no mount namespace of our own to fake lvm in");
	ASSERT_EQ(0, owner_spawn(self));
	ASSERT_EQ(0, kill(self->child, SIGKILL));
	ASSERT_EQ(self->child, waitpid(self->child, NULL, 0));
	self->child = -1;
	records_dissolved(&self->d, &self->ev);
	EXPECT_EQ(0, self->d.nowners);
	EXPECT_EQ(1, self->d.jobs);
	ASSERT_EQ(0, settle(&self->d, true));
	EXPECT_TRUE(lvm_ran_with(self->log, self->tag));
}

/* Its pid reused: the process there now is not the owner. */
TEST_F(owners, removed_at_once_when_its_pid_started_another_time)
{
	if (!self->faked)
		SKIP(return, "no mount namespace of our own to fake lvm in");
	ASSERT_EQ(0, owner_spawn(self));
	self->ev.set.owner_start_time -= 1000000000ULL;
	records_dissolved(&self->d, &self->ev);
	EXPECT_EQ(0, self->d.nowners);
	EXPECT_EQ(1, self->d.jobs);
	ASSERT_EQ(0, settle(&self->d, true));
	EXPECT_TRUE(lvm_ran_with(self->log, self->tag));
	EXPECT_EQ(0, kill(self->child, 0));
}

/* Root removes only what root made. */
TEST_F(owners, not_roots_is_left_alone)
{
	if (!self->faked)
		SKIP(return, "no mount namespace of our own to fake lvm in");
	ASSERT_EQ(0, owner_spawn(self));
	self->ev.set.owner_uid = 1000;
	records_dissolved(&self->d, &self->ev);
	EXPECT_EQ(0, self->d.nowners);
	EXPECT_EQ(0, self->d.jobs);
	ASSERT_EQ(0, kill(self->child, SIGKILL));
	EXPECT_EQ(-1, step(&self->d, 300));
	EXPECT_FALSE(lvm_ran_with(self->log, "lvremove"));
}

TEST_F(owners, past_the_bound_removed_at_once)
{
	unsigned int watched;

	if (!self->faked)
		SKIP(return, "no mount namespace of our own to fake lvm in");
	ASSERT_EQ(0, owner_spawn(self));
	do {
		watched = self->d.nowners;
		self->ev.set.id[0]++;
		records_dissolved(&self->d, &self->ev);
	} while (self->d.nowners > watched);
	EXPECT_LE(16, watched);
	EXPECT_EQ(1, self->d.jobs);
	ASSERT_EQ(0, settle(&self->d, false));
	EXPECT_TRUE(lvm_ran_with(self->log, "lvremove"));
}

/* The next daemon's reconciliation finds what is left. */
TEST_F(owners, stopping_removes_nothing)
{
	if (!self->faked)
		SKIP(return, "no mount namespace of our own to fake lvm in");
	ASSERT_EQ(0, owner_spawn(self));
	records_dissolved(&self->d, &self->ev);
	ASSERT_EQ(1, self->d.nowners);
	self->d.stopping = true;
	ASSERT_EQ(0, kill(self->child, SIGKILL));
	ASSERT_EQ(0, settle(&self->d, true));
	EXPECT_EQ(0, self->d.jobs);
	EXPECT_FALSE(lvm_ran_with(self->log, "lvremove"));
}

TEST_HARNESS_MAIN
