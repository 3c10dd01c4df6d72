// SPDX-License-Identifier: GPL-2.0
/*
 * Races and a bounded stress run. Whatever interleaves, a set terminates
 * once, an armed set leaves exactly one record, and no device stays held:
 * a held loop device only gets autoclear from LOOP_CLR_FD, a free one
 * detaches, so "detaches after the test" is the proof of release.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "util.h"

#define NLOOPS 8

FIXTURE(loops)
{
	struct loopdev loop[NLOOPS];
};

FIXTURE_SETUP(loops)
{
	for (int i = 0; i < NLOOPS; i++) {
		int err = loop_attach(&self->loop[i], 1 << 20);

		if (err)
			SKIP(return, "no loop device: %s", strerror(err));
	}
	discard_all_pending();
}

/* Every loop device detaches: nothing holds it any more. */
static bool all_released(struct loopdev *loop, int n)
{
	bool ok = true;

	for (int i = 0; i < n; i++) {
		loop_detach(&loop[i]);
		ok &= wait_until_unbound(&loop[i]);
	}
	return ok;
}

FIXTURE_TEARDOWN(loops)
{
	all_released(self->loop, NLOOPS);
	discard_all_pending();
}

struct racer {
	int set;
	struct loopdev *loop;
	int added, refused;
};

static void *add_all(void *arg)
{
	struct racer *r = arg;

	for (int i = 0; i < NLOOPS; i++) {
		int err = set_add_path(r->set, r->loop[i].path, O_RDONLY, 0);

		if (!err)
			r->added++;
		else if (err == ESHUTDOWN || err == ENOTTY)
			r->refused++; /* ended, or the number is /dev/null now
				       */
	}
	return NULL;
}

/*
 * Adds every loop device to a new set in another thread while @end ends
 * the set: each add has happened or was refused, and every device is free
 * as soon as @end returned, before the handle is closed.
 */
static void race_adds_against(struct __test_metadata *_metadata,
			      struct loopdev *loop,
			      int (*end)(int set, const __u8 *id))
{
	struct racer r = { .loop = loop };
	__u8 id[SNAPSET_ID_LEN];
	pthread_t thread;

	r.set = set_new(NULL, id);
	ASSERT_LE(0, r.set);
	ASSERT_EQ(0, pthread_create(&thread, NULL, add_all, &r));
	usleep(1000);
	EXPECT_EQ(0, end(r.set, id));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(NLOOPS, r.added + r.refused);
	EXPECT_TRUE(all_released(loop, NLOOPS));
	close(r.set);
}

/*
 * Closes the set's file under the adding thread, keeping its number
 * taken: a plain close() would let the next open reuse it.
 */
static int end_by_close(int set, const __u8 *id)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int err = dup2(null, set) < 0;

	close(null);
	return err;
}

static int end_by_abort(int set, const __u8 *id)
{
	struct snapset_abort abort = { .size = sizeof(abort) };

	return ioctl_err(set, SNAPSET_IOC_ABORT, &abort);
}

static int end_by_admin(int set, const __u8 *id)
{
	int admin = snapset_open(), err;

	if (admin < 0)
		return errno;
	err = terminate(admin, id);
	close(admin);
	return err;
}

TEST_F(loops, close_while_another_thread_adds)
{
	race_adds_against(_metadata, self->loop, end_by_close);
}

TEST_F(loops, abort_while_another_thread_adds)
{
	race_adds_against(_metadata, self->loop, end_by_abort);
}

TEST_F(loops, admin_terminate_while_another_thread_adds)
{
	race_adds_against(_metadata, self->loop, end_by_admin);
}

struct same_device {
	int set;
	const char *path;
	int err;
};

static void *add_one(void *arg)
{
	struct same_device *s = arg;

	s->err = set_add_path(s->set, s->path, O_RDONLY, 0);
	return NULL;
}

struct lister {
	const __u8 *id;
	atomic_int lists;
	int missing; /* lists without the set, live or as its record */
	int failed;
};

/* In one list: whether set @id is in it, and whether its record is queued. */
static int list_once(const __u8 *id, bool *listed, bool *queued)
{
	size_t used = 0, off;
	char *buf = list_records(&used);

	if (!buf)
		return -1;
	*listed = *queued = false;
	for (off = 0; off < used;) {
		struct snapset_event *ev = (void *)(buf + off);

		if (!memcmp(ev->set.id, id, SNAPSET_ID_LEN)) {
			*listed = true;
			/* seq 0: still ending, its record not queued yet */
			*queued |=
			    ev->type == SNAPSET_RECORD_PENDING && ev->seq;
		}
		off += ev->size;
	}
	free(buf);
	return 0;
}

/* Lists until the set's record is queued, for at most 10 s. */
static void *list_until_queued(void *arg)
{
	struct lister *l = arg;
	time_t end = time(NULL) + 10;
	bool listed, queued = false;

	while (!queued && time(NULL) < end) {
		if (list_once(l->id, &listed, &queued)) {
			l->failed++;
			break;
		}
		atomic_fetch_add(&l->lists, 1);
		l->missing += !listed;
	}
	return NULL;
}

/*
 * Lists taken over and over while @end ends armed sets of NLOOPS devices:
 * each has the set, live or pending, never neither (a daemon takes an LV
 * whose set is in neither for lost). Putting the devices is the longest
 * step between the termination and its record.
 */
static void list_while_ending(struct __test_metadata *_metadata,
			      struct loopdev *loop,
			      int (*end)(int set, const __u8 *id))
{
	int missing = 0, lists = 0;

	for (int round = 0; round < 50; round++) {
		struct lister l = { 0 };
		__u8 id[SNAPSET_ID_LEN];
		pthread_t thread;
		int set = set_new(NULL, id);

		ASSERT_LE(0, set);
		for (int i = 0; i < NLOOPS; i++)
			ASSERT_EQ(0,
				  set_add_path(set, loop[i].path, O_RDONLY, 0));
		ASSERT_EQ(0, ioctl_err(set, SNAPSET_IOC_ARM, NULL));
		l.id = id;
		ASSERT_EQ(0,
			  pthread_create(&thread, NULL, list_until_queued, &l));
		while (!atomic_load(&l.lists))
			sched_yield();
		EXPECT_EQ(0, end(set, id));
		ASSERT_EQ(0, pthread_join(thread, NULL));
		close(set);
		ASSERT_EQ(0, l.failed);
		ASSERT_EQ(1, pending_count(id));
		missing += l.missing;
		lists += atomic_load(&l.lists);
		discard_all_pending();
	}
	TH_LOG("%d lists, %d without the set", lists, missing);
	EXPECT_EQ(0, missing);
}

TEST_F_TIMEOUT(loops, closed_set_is_always_listed, 120)
{
	list_while_ending(_metadata, self->loop, end_by_close);
}

TEST_F_TIMEOUT(loops, aborted_set_is_always_listed, 120)
{
	list_while_ending(_metadata, self->loop, end_by_abort);
}

TEST_F_TIMEOUT(loops, admin_terminated_set_is_always_listed, 120)
{
	list_while_ending(_metadata, self->loop, end_by_admin);
}

TEST_F(loops, same_device_from_two_threads_is_added_once)
{
	struct same_device a = { .path = self->loop[0].path };
	struct same_device b = { .path = self->loop[0].path };
	pthread_t ta, tb;

	a.set = b.set = set_new(NULL, NULL);
	ASSERT_LE(0, a.set);
	ASSERT_EQ(0, pthread_create(&ta, NULL, add_one, &a));
	ASSERT_EQ(0, pthread_create(&tb, NULL, add_one, &b));
	ASSERT_EQ(0, pthread_join(ta, NULL));
	ASSERT_EQ(0, pthread_join(tb, NULL));
	EXPECT_EQ(EEXIST, a.err + b.err);
	close(a.set);
}

TEST_F(loops, admin_terminate_during_owner_exit_records_once)
{
	struct snapset_target target = { .size = sizeof(target) };
	union event_buf rec;
	int admin = snapset_open();
	int agent = subscribe(SNAPSET_SUBSCRIBE_AGENT);
	pid_t pid;

	ASSERT_LE(0, admin);
	ASSERT_LE(0, agent);
	pid = owner_child(&self->loop[0], target.id, wait_forever);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ioctl(admin, SNAPSET_IOC_TERMINATE, &target);
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	ASSERT_TRUE(
	    wait_event_for(agent, SNAPSET_EVENT_SHUTDOWN, target.id, &rec));
	EXPECT_TRUE(rec.ev.set.reason == SNAPSET_REASON_EXIT ||
		    rec.ev.set.reason == SNAPSET_REASON_ADMIN);
	EXPECT_EQ(1, pending_count(target.id));
	EXPECT_EQ(0, ack(agent, target.id));
	EXPECT_EQ(0, pending_count(target.id));
	close(agent);
	close(admin);
}

TEST(agent_killed_and_immediately_replaced)
{
	int ready[2], agent;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (subscribe(SNAPSET_SUBSCRIBE_AGENT) < 0 ||
		    write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	/* No wait for the exit: a killed agent already gives way. */
	agent = subscribe(SNAPSET_SUBSCRIBE_AGENT);
	EXPECT_LE(0, agent);
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	close(agent);
}

/*
 * Stress: workers create sets over random devices, arm some, and end them
 * by close, exit, abort or being killed, for a fixed time. A worker tells
 * the parent each set's id before arm ("maybe") and again after a
 * successful arm ("armed"): a SIGKILL can fall between the two. At the
 * end every armed set has exactly one record, every record belongs to a
 * reported set, and every device is free.
 */
#define WORKERS 4
#define STRESS_SECONDS 8
#define MAX_REPORTS (1 << 15)

struct report {
	__u8 armed;
	__u8 id[SNAPSET_ID_LEN];
};

struct reports {
	struct report r[MAX_REPORTS];
	int n;
};

static void stress_worker(struct loopdev *loop, int out, unsigned int seed)
{
	for (;;) {
		struct report rep = {};
		struct snapset_abort abort = { .size = sizeof(abort) };
		int set = set_new("stress", rep.id), n = rand_r(&seed) % 4;

		if (set < 0)
			_exit(1);
		for (int i = 0; i < n; i++)
			set_add_path(set, loop[rand_r(&seed) % NLOOPS].path,
				     O_RDONLY, rand_r(&seed) % 2);
		if (rand_r(&seed) % 4) {
			if (write(out, &rep, sizeof(rep)) != sizeof(rep))
				_exit(1);
			if (!ioctl(set, SNAPSET_IOC_ARM, NULL)) {
				rep.armed = 1;
				if (write(out, &rep, sizeof(rep)) !=
				    sizeof(rep))
					_exit(1);
			}
			if (rand_r(&seed) % 2)
				ioctl(set, SNAPSET_IOC_COMPLETE, NULL);
		}
		switch (rand_r(&seed) % 8) {
		case 0:
			ioctl(set, SNAPSET_IOC_ABORT, &abort);
			break;
		case 1:
			_exit(0); /* a new worker takes over */
		}
		close(set);
	}
}

static void collect(int fd, struct reports *reps)
{
	while (reps->n < MAX_REPORTS &&
	       read(fd, &reps->r[reps->n], sizeof(struct report)) ==
		   sizeof(struct report))
		reps->n++;
}

/* Whether set @id was reported, and whether as armed. */
static bool reported(const struct reports *reps, const __u8 *id, bool armed)
{
	for (int i = 0; i < reps->n; i++)
		if (!memcmp(reps->r[i].id, id, SNAPSET_ID_LEN) &&
		    (!armed || reps->r[i].armed))
			return true;
	return false;
}

TEST_F_TIMEOUT(loops, stress_every_armed_set_records_once, 180)
{
	static __u8 seen[MAX_REPORTS][SNAPSET_ID_LEN];
	static union event_buf batch[4];
	struct reports *reps = calloc(1, sizeof(*reps));
	pid_t workers[WORKERS] = {};
	unsigned int seed = time(NULL);
	time_t end = time(NULL) + STRESS_SECONDS;
	int pipefd[2], agent, records = 0, armed = 0, stray = 0, twice = 0;

	ASSERT_NE(NULL, reps);
	ASSERT_EQ(0, pipe(pipefd));
	ASSERT_EQ(0, fcntl(pipefd[0], F_SETFL, O_NONBLOCK));
	agent = subscribe(SNAPSET_SUBSCRIBE_AGENT);
	ASSERT_LE(0, agent);
	TH_LOG("seed %u", seed);

	while (time(NULL) < end) {
		for (int w = 0; w < WORKERS; w++) {
			if (workers[w] &&
			    waitpid(workers[w], NULL, WNOHANG) == 0) {
				if (rand_r(&seed) % 4 == 0)
					kill(workers[w], SIGKILL);
				continue;
			}
			workers[w] = fork();
			ASSERT_LE(0, workers[w]);
			if (workers[w] == 0)
				stress_worker(self->loop, pipefd[1],
					      seed + w * 7919 + reps->n);
		}
		collect(pipefd[0], reps);
		usleep(50000);
	}
	for (int w = 0; w < WORKERS; w++) {
		kill(workers[w], SIGKILL);
		waitpid(workers[w], NULL, 0);
	}
	collect(pipefd[0], reps);

	ASSERT_EQ(0, fcntl(agent, F_SETFL, O_NONBLOCK));
	for (;;) {
		struct pollfd pfd = { .fd = agent, .events = POLLIN };
		ssize_t n;
		char *p;

		if (poll(&pfd, 1, 2000) != 1)
			break;
		n = read(agent, batch, sizeof(batch));
		if (n <= 0)
			break;
		for (p = (char *)batch; n > 0;) {
			struct snapset_event *ev = (struct snapset_event *)p;

			stray += !reported(reps, ev->set.id, false);
			for (int i = 0; i < records; i++)
				twice += !memcmp(seen[i], ev->set.id,
						 SNAPSET_ID_LEN);
			if (records < MAX_REPORTS)
				memcpy(seen[records++], ev->set.id,
				       SNAPSET_ID_LEN);
			EXPECT_EQ(0, ack(agent, ev->set.id));
			p += ev->size;
			n -= ev->size;
		}
	}
	for (int i = 0; i < reps->n; i++) {
		bool found = false;

		if (!reps->r[i].armed)
			continue;
		armed++;
		for (int j = 0; j < records && !found; j++)
			found = !memcmp(seen[j], reps->r[i].id, SNAPSET_ID_LEN);
		EXPECT_TRUE(found);
	}
	TH_LOG("%d sets armed, %d records", armed, records);
	EXPECT_LT(0, armed);
	EXPECT_LE(armed, records);
	EXPECT_EQ(0, stray);
	EXPECT_EQ(0, twice);
	EXPECT_EQ(0, sysfs_counter("pending"));
	EXPECT_EQ(0, sysfs_counter("sets_live"));
	EXPECT_TRUE(all_released(self->loop, NLOOPS));
	close(agent);
	free(reps);
}

TEST_HARNESS_MAIN
