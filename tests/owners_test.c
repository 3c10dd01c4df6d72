// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the owners of sets closed before their arm: run
 * removes the LVs it made after that close, and if it is killed first,
 * the daemon removes what is left once the owner has exited; never
 * while it lives, at once when it is gone already, its pid names
 * another process now, another process closed the set or the bounds
 * are reached, and never for a set not root's. The set is
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
#include "daemon_step.h"
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
	pid_t child;	/* the owner of @ev */
	int child_pipe; /* the child lives until it is closed */
	/* Other owners, for the bound on owners watched */
	pid_t others[OWNERS_MAX];
	int other_pipes[OWNERS_MAX];
	unsigned int nothers;
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
	for (unsigned int i = 0; i < self->nothers; i++) {
		kill(self->others[i], SIGKILL);
		waitpid(self->others[i], NULL, 0);
		close(self->other_pipes[i]);
	}
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
 * A child that waits on a pipe (its write end in *@pipe_out), as the
 * owner and closer of @ev's set. Its start time is measured around the
 * fork rather than read from /proc as the daemon does: within one clock
 * tick, or the fork is tried again.
 */
static pid_t child_spawn(int *pipe_out, struct snapset_event *ev)
{
	__u64 tick = 1000000000ULL / sysconf(_SC_CLK_TCK), before;
	int fds[2];
	pid_t child;
	char c;

	for (int tries = 0; tries < 100; tries++) {
		if (pipe(fds))
			return -1;
		before = boottime_ns();
		child = fork();
		if (child == 0) {
			close(fds[1]);
			_exit(read(fds[0], &c, 1) < 0);
		}
		close(fds[0]);
		if (child < 0) {
			close(fds[1]);
			return -1;
		}
		if (before / tick == boottime_ns() / tick) {
			*pipe_out = fds[1];
			ev->set.owner_tgid = child;
			ev->set.closer_tgid = child;
			ev->set.owner_start_time = before;
			return child;
		}
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		close(fds[1]);
	}
	return -1;
}

static int owner_spawn(FIXTURE_DATA(owners) * self)
{
	self->child = child_spawn(&self->child_pipe, &self->ev);
	return self->child > 0 ? 0 : -1;
}

/* Handles one completion as the daemon's loop does; -1 when none came. */
static int step(struct daemon *d, long ms)
{
	return daemon_step(d, ms, NULL) < 0 ? -1 : 0;
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

/* The sets one owner closed are one watch, released together. */
TEST_F(owners, an_owners_sets_share_its_watch)
{
	char second[64], id[ID_STR_LEN];

	if (!self->faked)
		SKIP(return, "no mount namespace of our own to fake lvm in");
	ASSERT_EQ(0, owner_spawn(self));
	records_dissolved(&self->d, &self->ev);
	self->ev.set.id[0]++;
	id_format(self->ev.set.id, id);
	snprintf(second, sizeof(second), "lv_tags=snapset:%s", id);
	records_dissolved(&self->d, &self->ev);
	EXPECT_EQ(1, self->d.nowners);
	EXPECT_EQ(0, self->d.jobs);
	ASSERT_EQ(0, kill(self->child, SIGKILL));
	ASSERT_EQ(0, settle(&self->d, true));
	EXPECT_TRUE(lvm_ran_with(self->log, self->tag));
	EXPECT_TRUE(lvm_ran_with(self->log, second));
}

TEST_F(owners, past_an_owners_bound_removed_at_once)
{
	if (!self->faked)
		SKIP(return, "no mount namespace of our own to fake lvm in");
	ASSERT_EQ(0, owner_spawn(self));
	for (unsigned int i = 0; i < OWNER_SETS_MAX; i++) {
		self->ev.set.id[0] = i;
		self->ev.set.id[1] = i >> 8;
		records_dissolved(&self->d, &self->ev);
	}
	EXPECT_EQ(1, self->d.nowners);
	EXPECT_EQ(0, self->d.jobs);
	self->ev.set.id[1] = 0xff;
	records_dissolved(&self->d, &self->ev);
	EXPECT_EQ(1, self->d.jobs);
	ASSERT_EQ(0, settle(&self->d, false));
	EXPECT_TRUE(lvm_ran_with(self->log, "lvremove"));
}

TEST_F(owners, past_the_bound_on_owners_removed_at_once)
{
	struct snapset_event ev = self->ev;

	if (!self->faked)
		SKIP(return, "no mount namespace of our own to fake lvm in");
	for (unsigned int i = 0; i < OWNERS_MAX; i++) {
		self->others[i] = child_spawn(&self->other_pipes[i], &ev);
		ASSERT_LT(0, self->others[i]);
		self->nothers++;
		ev.set.id[0] = i;
		records_dissolved(&self->d, &ev);
	}
	EXPECT_EQ(OWNERS_MAX, self->d.nowners);
	EXPECT_EQ(0, self->d.jobs);
	ASSERT_EQ(0, owner_spawn(self));
	records_dissolved(&self->d, &self->ev);
	EXPECT_EQ(OWNERS_MAX, self->d.nowners);
	EXPECT_EQ(1, self->d.jobs);
	ASSERT_EQ(0, settle(&self->d, false));
	EXPECT_TRUE(lvm_ran_with(self->log, self->tag));
}

/* Closed by another than its owner: nobody known removes its LVs. */
TEST_F(owners, closed_by_another_removed_at_once)
{
	if (!self->faked)
		SKIP(return, "no mount namespace of our own to fake lvm in");
	ASSERT_EQ(0, owner_spawn(self));
	self->ev.set.closer_tgid = getpid();
	records_dissolved(&self->d, &self->ev);
	EXPECT_EQ(0, self->d.nowners);
	EXPECT_EQ(1, self->d.jobs);
	ASSERT_EQ(0, settle(&self->d, true));
	EXPECT_TRUE(lvm_ran_with(self->log, self->tag));
}

/* Deleted by an administrator: its owner, alive, removes what it made. */
TEST_F(owners, deleted_before_arm_waits_for_its_owner)
{
	if (!self->faked)
		SKIP(return, "no mount namespace of our own to fake lvm in");
	ASSERT_EQ(0, owner_spawn(self));
	self->ev.set.reason = SNAPSET_REASON_ADMIN;
	self->ev.set.closer_tgid = getpid();
	records_dissolved(&self->d, &self->ev);
	EXPECT_EQ(1, self->d.nowners);
	EXPECT_EQ(-1, step(&self->d, 300));
	EXPECT_FALSE(lvm_ran_with(self->log, "lvremove"));
	ASSERT_EQ(0, kill(self->child, SIGKILL));
	ASSERT_EQ(0, settle(&self->d, true));
	EXPECT_TRUE(lvm_ran_with(self->log, self->tag));
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
