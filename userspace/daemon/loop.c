// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's one io_uring loop. Reads of the agent file and of a
 * signalfd are polled by the ring (both files support poll, so no io-wq
 * worker is needed); children are waited on through pidfds, deadlines
 * and backoff are ring timeouts. Submissions are batched: entries queue
 * up while completions are handled and go in with the next wait.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/module.h"
#include "daemon.h"

#define RING_ENTRIES 256
/* Room for a few records with all their devices. */
#define AGENT_BUF_SIZE (256 * 1024)

struct io_uring_sqe *daemon_sqe(struct daemon *d, struct op *op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);

	if (!sqe && io_uring_submit(&d->ring) >= 0)
		sqe = io_uring_get_sqe(&d->ring);
	if (!sqe) {
		/* Unacknowledged records come back to the next daemon. */
		report_note("io_uring submission queue stuck; exiting");
		exit(EXIT_FAILURE);
	}
	io_uring_sqe_set_data(sqe, op);
	return sqe;
}

void daemon_reserve(struct daemon *d, unsigned int n)
{
	/* A linked pair split across two submissions would not be linked. */
	if (io_uring_sq_space_left(&d->ring) < n &&
	    (io_uring_submit(&d->ring) < 0 ||
	     io_uring_sq_space_left(&d->ring) < n)) {
		report_note("io_uring submission queue stuck; exiting");
		exit(EXIT_FAILURE);
	}
}

static void read_agent(struct daemon *d)
{
	io_uring_prep_read(daemon_sqe(d, &d->agent_op), d->agent_fd, d->buf,
			   d->buf_size, 0);
}

static void read_signal(struct daemon *d)
{
	io_uring_prep_read(daemon_sqe(d, &d->signal_op), d->signal_fd, &d->si,
			   sizeof(d->si), 0);
}

static void agent_read_done(struct daemon *d, int res)
{
	/* Stopping: what was read stays pending, for the next daemon. */
	if (res > 0 && !d->stopping) {
		records_received(d, d->buf, res);
	} else if (res == 0) {
		/* Another agent took over: this one is done. */
		report_note("another delivery agent took over; stopping");
		d->stopping = true;
		return;
	} else if (res != -EINTR && res != -EAGAIN) {
		report_note("reading records: %s; stopping", strerror(-res));
		d->stopping = true;
		return;
	}
	if (!d->stopping)
		read_agent(d);
}

static void signal_read_done(struct daemon *d, int res)
{
	if (res == sizeof(d->si)) {
		/* A second signal does not wait for releases in flight. */
		if (d->stopping)
			exit(EXIT_SUCCESS);
		/* Records not acknowledged yet are replayed to the next one. */
		d->stopping = true;
	}
	read_signal(d);
}

static void dispatch(struct daemon *d, struct io_uring_cqe *cqe)
{
	struct op *op = io_uring_cqe_get_data(cqe);

	switch (op->kind) {
	case OP_AGENT_READ:
		agent_read_done(d, cqe->res);
		break;
	case OP_SIGNAL_READ:
		signal_read_done(d, cqe->res);
		break;
	default:
		lv_release_event(d, op, cqe->res);
		break;
	}
}

/* Until stopped and every release step started has finished. */
static int loop(struct daemon *d)
{
	struct io_uring_cqe *cqe;
	unsigned int head, seen;
	int ret;

	while (!d->stopping || d->jobs) {
		ret = io_uring_submit_and_wait(&d->ring, 1);
		if (ret < 0 && ret != -EINTR)
			return ret;
		seen = 0;
		io_uring_for_each_cqe (&d->ring, head, cqe) {
			dispatch(d, cqe);
			seen++;
		}
		io_uring_cq_advance(&d->ring, seen);
	}
	return 0;
}

static int ring_init(struct daemon *d)
{
	int ret = io_uring_queue_init(RING_ENTRIES, &d->ring,
				      IORING_SETUP_SINGLE_ISSUER |
					  IORING_SETUP_DEFER_TASKRUN);

	/* Both flags are 6.1's; older kernels get a plain ring. */
	if (ret == -EINVAL)
		ret = io_uring_queue_init(RING_ENTRIES, &d->ring, 0);
	return ret;
}

static int open_agent(struct daemon *d)
{
	int ret;

	d->agent_fd = module_open();
	if (d->agent_fd < 0)
		return d->agent_fd;
	ret = module_subscribe(d->agent_fd, SNAPSET_SUBSCRIBE_AGENT);
	if (ret) {
		close(d->agent_fd);
		d->agent_fd = -1;
	}
	return ret;
}

static int open_signals(struct daemon *d)
{
	sigset_t set;

	/* lvremove children are waited on through pidfds, never ignored. */
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	d->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return d->signal_fd < 0 ? -errno : 0;
}

int daemon_run(const struct daemon_options *opts)
{
	struct daemon d = {
		.opts = opts,
		.agent_fd = -1,
		.signal_fd = -1,
		.agent_op = { OP_AGENT_READ, NULL },
		.signal_op = { OP_SIGNAL_READ, NULL },
		.buf_size = AGENT_BUF_SIZE,
	};
	int ret;

	d.buf = malloc(d.buf_size);
	if (!d.buf)
		return -ENOMEM;
	ret = open_signals(&d);
	if (!ret)
		ret = open_agent(&d);
	if (!ret)
		ret = ring_init(&d);
	if (ret)
		goto out;
	ret = reconcile(&d);
	if (!ret) {
		read_signal(&d);
		read_agent(&d);
		ret = loop(&d);
	}
	io_uring_queue_exit(&d.ring);
out:
	if (d.agent_fd >= 0)
		close(d.agent_fd);
	if (d.signal_fd >= 0)
		close(d.signal_fd);
	free(d.buf);
	return ret;
}
