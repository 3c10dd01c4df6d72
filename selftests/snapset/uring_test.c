// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring and the module: events read through a ring without an io-wq
 * worker thread, a set held only as a fixed file when its owner is killed,
 * an SQPOLL owner killed (the record must say signal 9, not 0), and an
 * owner killed with a poll request on its set (the request's reference
 * must not hide the signal).
 */
#include <dirent.h>
#include <liburing.h>
#include <signal.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "util.h"

/* Counts this process's io-wq worker threads (comm "iou-wrk-PID"). */
static int iou_workers(void)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *d;
	int count = 0;

	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		char path[300], comm[32] = "";
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) &&
		    !strncmp(comm, "iou-wrk", 7))
			count++;
		fclose(f);
	}
	closedir(dir);
	return count;
}

TEST(ring_reads_events_without_a_worker_thread)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	union event_buf buf;
	int watcher, fd;

	watcher = subscribe(0);
	ASSERT_LE(0, watcher);
	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));

	/* A blocking fd: the module's FMODE_NOWAIT keeps io-wq out. */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, watcher, &buf, sizeof(buf), 0);
	ASSERT_EQ(1, io_uring_submit(&ring));
	usleep(200000);
	EXPECT_EQ(0, iou_workers());

	fd = set_new(NULL, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	EXPECT_LE((int)sizeof(struct snapset_event), cqe->res);
	EXPECT_EQ(SNAPSET_EVENT_CREATED, buf.ev.type);
	io_uring_cqe_seen(&ring, cqe);
	EXPECT_EQ(0, iou_workers());

	close(fd);
	io_uring_queue_exit(&ring);
	close(watcher);
}

/* How a killed owner holds its set. */
enum hold {
	HOLD_FIXED_FILE,
	HOLD_SQPOLL,
	HOLD_POLL
};

static void owner(int ready, enum hold hold)
{
	struct io_uring_params params = {};
	__u8 id[SNAPSET_ID_LEN];
	struct io_uring ring;
	int set = set_new("uring", id);

	if (set < 0 || ioctl(set, SNAPSET_IOC_ARM, NULL))
		_exit(1);
	if (hold == HOLD_SQPOLL) {
		params.flags = IORING_SETUP_SQPOLL;
		params.sq_thread_idle = 60000;
	}
	if (io_uring_queue_init_params(8, &ring, &params))
		_exit(2);
	if (hold == HOLD_FIXED_FILE) {
		if (io_uring_register_files(&ring, &set, 1))
			_exit(3);
		/* Only the ring holds the set now. */
		close(set);
	}
	if (hold == HOLD_POLL) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		/*
		 * A normal fd: the armed request holds its own reference to
		 * the set's file until the ring cancels it, after the exit
		 * closed the owner's descriptor.
		 */
		io_uring_prep_poll_add(sqe, set, POLLIN);
		if (io_uring_submit(&ring) != 1)
			_exit(3);
	}
	if (write(ready, id, sizeof(id)) != sizeof(id))
		_exit(4);
	for (;;)
		pause();
}

FIXTURE(killed_owner)
{
	int agent;
	__u8 id[SNAPSET_ID_LEN];
};

FIXTURE_SETUP(killed_owner)
{
	self->agent = subscribe(SNAPSET_SUBSCRIBE_AGENT);
	ASSERT_LE(0, self->agent);
}

FIXTURE_TEARDOWN(killed_owner)
{
	close(self->agent);
	discard_all_pending();
}

/* Starts an owner holding its set as @hold, then SIGKILLs it. */
static bool kill_owner(enum hold hold, __u8 id[SNAPSET_ID_LEN], pid_t *killed)
{
	int ready[2];
	pid_t pid;

	if (pipe(ready))
		return false;
	pid = fork();
	if (pid == 0)
		owner(ready[1], hold);
	close(ready[1]);
	if (pid < 0 || read(ready[0], id, SNAPSET_ID_LEN) != SNAPSET_ID_LEN)
		return false;
	close(ready[0]);
	if (killed)
		*killed = pid;
	return kill(pid, SIGKILL) == 0 && waitpid(pid, NULL, 0) == pid;
}

TEST_F(killed_owner, fixed_file_is_released_when_the_ring_goes)
{
	union event_buf rec;

	ASSERT_TRUE(kill_owner(HOLD_FIXED_FILE, self->id, NULL));
	/* The ring is torn down in a workqueue: no close, no flush. */
	ASSERT_TRUE(wait_event_for(self->agent, SNAPSET_EVENT_SHUTDOWN,
				   self->id, &rec));
	EXPECT_EQ(SNAPSET_REASON_RELEASED, rec.ev.set.reason);
	EXPECT_EQ(0, ack(self->agent, self->id));
}

TEST_F(killed_owner, sqpoll_owner_reports_the_signal)
{
	union event_buf rec;

	ASSERT_TRUE(kill_owner(HOLD_SQPOLL, self->id, NULL));
	ASSERT_TRUE(wait_event_for(self->agent, SNAPSET_EVENT_SHUTDOWN,
				   self->id, &rec));
	EXPECT_EQ(SNAPSET_REASON_EXIT, rec.ev.set.reason);
	EXPECT_TRUE(rec.ev.set.flags & SNAPSET_SET_SIGNAL);
	EXPECT_EQ(SIGKILL, rec.ev.set.signal);
	EXPECT_EQ(0, ack(self->agent, self->id));
}

TEST_F(killed_owner, poll_request_does_not_hide_the_signal)
{
	union event_buf rec;
	pid_t pid;

	ASSERT_TRUE(kill_owner(HOLD_POLL, self->id, &pid));
	ASSERT_TRUE(wait_event_for(self->agent, SNAPSET_EVENT_SHUTDOWN,
				   self->id, &rec));
	EXPECT_EQ(SNAPSET_REASON_EXIT, rec.ev.set.reason);
	EXPECT_TRUE(rec.ev.set.flags & SNAPSET_SET_SIGNAL);
	EXPECT_EQ(SIGKILL, rec.ev.set.signal);
	/* The exit closed the owner's fd while the request still held it. */
	EXPECT_TRUE(rec.ev.set.flags & SNAPSET_SET_CLOSER_SHARED);
	EXPECT_EQ(pid, rec.ev.set.closer_tgid);
	EXPECT_EQ(0, ack(self->agent, self->id));
}

TEST_HARNESS_MAIN
