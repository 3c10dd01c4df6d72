// SPDX-License-Identifier: GPL-2.0
/*
 * Events and records: order and sequence numbers, poll wakeups, read()
 * edge cases, and the delivery agent (replay, acknowledge, takeover).
 */
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "util.h"

/* An armed set's life without devices: created, armed, complete, shutdown. */
static int completed_set(__u8 id[SNAPSET_ID_LEN])
{
	int fd = set_new("events", id);

	if (fd < 0)
		return fd;
	if (ioctl(fd, SNAPSET_IOC_ARM, NULL) ||
	    ioctl(fd, SNAPSET_IOC_COMPLETE, NULL)) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* A set that is created and ends unarmed: two events, no record. */
static int unarmed_set(void)
{
	int fd = set_new(NULL, NULL);

	return fd < 0 ? fd : close(fd);
}

FIXTURE(watcher)
{
	int fd;
};

FIXTURE_SETUP(watcher)
{
	self->fd = subscribe(0);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(watcher)
{
	close(self->fd);
	discard_all_pending();
}

TEST_F(watcher, events_come_in_order_with_sequence_numbers)
{
	const __u32 expected[] = { SNAPSET_EVENT_CREATED, SNAPSET_EVENT_ARMED,
				   SNAPSET_EVENT_COMPLETE,
				   SNAPSET_EVENT_SHUTDOWN };
	union event_buf batch[4];
	__u8 id[SNAPSET_ID_LEN];
	__u64 last_seq = 0;
	size_t i = 0;
	ssize_t n;
	char *p;

	ASSERT_EQ(0, completed_set(id));
	while (i < 4) {
		n = read_event(self->fd, batch, sizeof(batch));
		ASSERT_LT(0, n);
		for (p = (char *)batch; n > 0 && i < 4;) {
			struct snapset_event *ev = (struct snapset_event *)p;

			ASSERT_LT(last_seq, ev->seq);
			last_seq = ev->seq;
			p += ev->size;
			n -= ev->size;
			if (memcmp(ev->set.id, id, SNAPSET_ID_LEN))
				continue;
			EXPECT_EQ(expected[i], ev->type);
			i++;
		}
	}
}

TEST_F(watcher, poll_wakes_up_on_an_event)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };
	union event_buf buf;
	pid_t pid;

	EXPECT_EQ(0, poll(&pfd, 1, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		usleep(200000);
		_exit(unarmed_set() ? 1 : 0);
	}
	ASSERT_EQ(1, poll(&pfd, 1, EVENT_TIMEOUT_MS));
	EXPECT_TRUE(pfd.revents & POLLIN);
	EXPECT_LT(0, read(self->fd, &buf, sizeof(buf)));
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
}

TEST_F(watcher, empty_nonblocking_read_is_eagain)
{
	union event_buf buf;

	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	EXPECT_EQ(-1, read(self->fd, &buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(watcher, rwf_nowait_read_is_eagain)
{
	union event_buf buf;
	struct iovec iov = { .iov_base = &buf, .iov_len = sizeof(buf) };

	/* IOCB_NOWAIT on a blocking file: what io_uring tries first. */
	EXPECT_EQ(-1, preadv2(self->fd, &iov, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(watcher, small_buffer_is_einval_and_loses_nothing)
{
	union event_buf buf;

	ASSERT_EQ(0, unarmed_set());
	EXPECT_EQ(-1, read(self->fd, &buf, sizeof(struct snapset_event) - 1));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_LE(sizeof(struct snapset_event),
		  read_event(self->fd, &buf, sizeof(buf)));
	EXPECT_EQ(SNAPSET_EVENT_CREATED, buf.ev.type);
}

TEST_F(watcher, one_and_a_half_records_read_one)
{
	char buf[sizeof(struct snapset_event) * 3 / 2];
	struct snapset_event *ev = (struct snapset_event *)buf;

	ASSERT_EQ(0, unarmed_set());
	usleep(100000);
	ASSERT_EQ(sizeof(*ev), read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(SNAPSET_EVENT_CREATED, ev->type);
	ASSERT_EQ(sizeof(*ev), read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(SNAPSET_EVENT_SHUTDOWN, ev->type);
}

TEST_F(watcher, fault_is_efault_and_loses_nothing)
{
	union event_buf buf;
	void *bad = mmap(NULL, sizeof(buf), PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, bad);
	ASSERT_EQ(0, unarmed_set());
	EXPECT_EQ(-1, read(self->fd, bad, sizeof(buf)));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_LT(0, read_event(self->fd, &buf, sizeof(buf)));
	EXPECT_EQ(SNAPSET_EVENT_CREATED, buf.ev.type);
}

TEST_F(watcher, split_readv_holds_one_record)
{
	struct snapset_event ev;
	struct iovec iov[2] = {
		{ .iov_base = &ev, .iov_len = 100 },
		{ .iov_base = (char *)&ev + 100, .iov_len = sizeof(ev) - 100 },
	};
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };

	ASSERT_EQ(0, unarmed_set());
	ASSERT_EQ(1, poll(&pfd, 1, EVENT_TIMEOUT_MS));
	ASSERT_EQ(sizeof(ev), readv(self->fd, iov, 2));
	EXPECT_EQ(SNAPSET_EVENT_CREATED, ev.type);
	EXPECT_EQ(sizeof(ev), ev.size);
}

static void on_alarm(int sig)
{
}

TEST_F(watcher, blocked_read_is_interrupted)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	union event_buf buf;

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	alarm(1);
	EXPECT_EQ(-1, read(self->fd, &buf, sizeof(buf)));
	EXPECT_EQ(EINTR, errno);
}

TEST_F(watcher, pread_is_espipe)
{
	union event_buf buf;

	EXPECT_EQ(-1, pread(self->fd, &buf, sizeof(buf), 0));
	EXPECT_EQ(ESPIPE, errno);
}

TEST_F(watcher, epoll_survives_the_file_closing)
{
	struct epoll_event event = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &event));
	close(self->fd);
	ASSERT_EQ(0, unarmed_set());
	EXPECT_EQ(0, epoll_wait(ep, &event, 1, 200));
	close(ep);
	self->fd = subscribe(0);
}

FIXTURE(agent)
{
	int fd;
};

FIXTURE_SETUP(agent)
{
	self->fd = -1;
	discard_all_pending();
}

FIXTURE_TEARDOWN(agent)
{
	if (self->fd >= 0)
		close(self->fd);
	discard_all_pending();
}

TEST_F(agent, records_made_with_no_agent_are_replayed)
{
	union event_buf rec;
	__u8 a[SNAPSET_ID_LEN], b[SNAPSET_ID_LEN];

	ASSERT_EQ(0, completed_set(a));
	ASSERT_EQ(0, completed_set(b));
	EXPECT_EQ(1, pending_count(a));
	EXPECT_EQ(2, sysfs_counter("pending"));
	self->fd = subscribe(SNAPSET_SUBSCRIBE_AGENT);
	ASSERT_LE(0, self->fd);
	/* One record per read, so neither is dropped by the first wait. */
	ASSERT_EQ(sizeof(rec.ev), read_event(self->fd, &rec, sizeof(rec.ev)));
	EXPECT_EQ(0, memcmp(a, rec.ev.set.id, sizeof(a)));
	ASSERT_EQ(sizeof(rec.ev), read_event(self->fd, &rec, sizeof(rec.ev)));
	EXPECT_EQ(0, memcmp(b, rec.ev.set.id, sizeof(b)));
	EXPECT_EQ(0, ack(self->fd, a));
	EXPECT_EQ(ENOENT, ack(self->fd, a));
	EXPECT_EQ(0, ack(self->fd, b));
	EXPECT_EQ(0, sysfs_counter("pending"));
}

TEST_F(agent, second_live_agent_is_ebusy)
{
	self->fd = subscribe(SNAPSET_SUBSCRIBE_AGENT);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(-EBUSY, subscribe(SNAPSET_SUBSCRIBE_AGENT));
}

TEST_F(agent, sysfs_names_the_live_agent_only)
{
	int watcher = subscribe(0);

	ASSERT_LE(0, watcher);
	EXPECT_EQ(0, sysfs_counter("agent"));
	self->fd = subscribe(SNAPSET_SUBSCRIBE_AGENT);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(getpid(), sysfs_counter("agent"));
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(0, sysfs_counter("agent"));
	close(watcher);
}

TEST_F(agent, only_the_agent_acknowledges)
{
	int watcher = subscribe(0), plain = snapset_open();
	__u8 id[SNAPSET_ID_LEN];

	ASSERT_EQ(0, completed_set(id));
	EXPECT_EQ(EPERM, ack(watcher, id));
	EXPECT_EQ(EPERM, ack(plain, id));
	EXPECT_EQ(1, pending_count(id));
	close(watcher);
	close(plain);
}

TEST_F(agent, agent_killed_before_ack_is_replayed_to_the_next)
{
	union event_buf rec;
	__u8 id[SNAPSET_ID_LEN];
	int ready[2];
	pid_t pid;
	char c;

	ASSERT_EQ(0, completed_set(id));
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int agent = subscribe(SNAPSET_SUBSCRIBE_AGENT);

		if (agent < 0 ||
		    !wait_event_for(agent, SNAPSET_EVENT_SHUTDOWN, id, &rec))
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	EXPECT_EQ(1, pending_count(id));

	self->fd = subscribe(SNAPSET_SUBSCRIBE_AGENT);
	ASSERT_LE(0, self->fd);
	ASSERT_TRUE(wait_event_for(self->fd, SNAPSET_EVENT_SHUTDOWN, id, &rec));
	EXPECT_EQ(0, ack(self->fd, id));
}

TEST_F(agent, new_agent_takes_over_when_the_old_process_is_gone)
{
	struct pollfd pfd = { .events = POLLIN };
	union event_buf rec;
	int sv[2];
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int agent = subscribe(SNAPSET_SUBSCRIBE_AGENT);

		_exit(agent < 0 || send_fd(sv[0], agent) ? 1 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	/* The dead agent's file lives on here. */
	pfd.fd = recv_fd(sv[1]);
	ASSERT_LE(0, pfd.fd);

	self->fd = subscribe(SNAPSET_SUBSCRIBE_AGENT);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_TRUE(pfd.revents & POLLHUP);
	EXPECT_EQ(0, read(pfd.fd, &rec, sizeof(rec)));
	close(pfd.fd);
	close(sv[0]);
	close(sv[1]);
}

/*
 * A child that inherited a live agent's file and read through it once
 * does not become its holder: its exit makes no room for a second agent.
 */
TEST_F(agent, passing_reader_does_not_displace_the_agent)
{
	union event_buf rec;
	pid_t pid;

	self->fd = subscribe(SNAPSET_SUBSCRIBE_AGENT);
	ASSERT_LE(0, self->fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		fcntl(self->fd, F_SETFL, O_NONBLOCK);
		_exit(read(self->fd, &rec, sizeof(rec)) < 0 && errno == EAGAIN
			  ? 0
			  : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	EXPECT_EQ(-EBUSY, subscribe(SNAPSET_SUBSCRIBE_AGENT));
	EXPECT_EQ(getpid(), sysfs_counter("agent"));
}

/*
 * A daemon that subscribes, then forks and goes on in the child (the
 * classic daemonize), is still the agent once the parent has exited: the
 * agent is the file, held by whoever uses it.
 */
TEST_F(agent, agent_that_forks_stays_the_agent)
{
	int ready[2], done[2];
	pid_t pid, daemon_pid;
	char c;

	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(done, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int agent = subscribe(SNAPSET_SUBSCRIBE_AGENT);
		union event_buf rec;
		pid_t child;

		close(done[1]);
		if (agent < 0)
			_exit(1);
		child = fork();
		if (child)
			_exit(child < 0);
		/* The daemon's loop starts: a non-blocking read. */
		fcntl(agent, F_SETFL, O_NONBLOCK);
		if (read(agent, &rec, sizeof(rec)) >= 0 || errno != EAGAIN)
			_exit(1);
		daemon_pid = getpid();
		if (write(ready[1], &daemon_pid, sizeof(daemon_pid)) !=
		    sizeof(daemon_pid))
			_exit(1);
		/* Until the test is over. */
		while (read(done[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	close(ready[1]);
	close(done[0]);
	ASSERT_EQ(sizeof(daemon_pid),
		  read(ready[0], &daemon_pid, sizeof(daemon_pid)));

	EXPECT_EQ(-EBUSY, subscribe(SNAPSET_SUBSCRIBE_AGENT));
	EXPECT_EQ(daemon_pid, sysfs_counter("agent"));

	/* The daemon goes: its agent gives way. */
	close(done[1]);
	for (int i = 0; i < 500 && sysfs_counter("agent"); i++)
		usleep(10000);
	EXPECT_EQ(0, sysfs_counter("agent"));
	close(ready[0]);
}

TEST_HARNESS_MAIN
