// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's one io_uring loop. Reads of the agent and watcher files,
 * of a signalfd and of the writer sockets are polled by the ring (they
 * all support poll, so no io-wq worker is needed); children are waited
 * on through pidfds, deadlines and backoff are ring timeouts; files are
 * written by ring operations. Submissions are batched: entries queue up
 * while completions are handled and go in with the next wait.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "../common/module.h"
#include "daemon.h"

#define RING_ENTRIES 256
/* Room for a few records with all their devices. */
#define AGENT_BUF_SIZE (256 * 1024)
/* While stopping, how often systemd is asked to wait longer. */
#define STOP_TICK_S 10
/*
 * Overflows, which anyone allowed to open /dev/snapset can cause, start
 * at most one reconciliation (an lvs, perhaps lvremoves) so often.
 */
#define RECONCILE_EVERY_MS (60 * 1000L)
/* How many lvremove-plus-writer deadlines a stop may ask systemd for. */
#define STOP_EXTENSIONS 4

static struct op stop_tick_op = { OP_STOP_TICK, NULL };
static struct __kernel_timespec stop_tick_ts = { .tv_sec = STOP_TICK_S };

void ms_to_timespec(long ms, struct __kernel_timespec *ts)
{
	ts->tv_sec = ms / 1000;
	ts->tv_nsec = ms % 1000 * 1000000L;
}

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

void daemon_submit_soon(struct daemon *d)
{
	d->submit_soon = true;
}

void daemon_round_end(struct daemon *d)
{
	writers_round_end(d);
}

static void read_agent(struct daemon *d)
{
	io_uring_prep_read(daemon_sqe(d, &d->agent_op), d->agent_fd, d->buf,
			   d->buf_size, 0);
}

static void read_watch(struct daemon *d)
{
	io_uring_prep_read(daemon_sqe(d, &d->watch_op), d->watch_fd,
			   d->watch_buf, d->buf_size, 0);
}

static void read_signal(struct daemon *d)
{
	io_uring_prep_read(daemon_sqe(d, &d->signal_op), d->signal_fd, &d->si,
			   sizeof(d->si), 0);
}

/*
 * Stopping with releases or deliveries in flight: each is bounded by its
 * own deadline, but several may run in turn (one lvremove per VG at a
 * time, retries). systemd is asked to wait, so that TimeoutStopSec does
 * not end in a SIGKILL to lvm, but only for so long: an lvremove stuck
 * in the kernel (a dead multipath device) ignores the deadline's
 * SIGTERM, and must not hold a shutdown of the host for ever.
 */
static void stop_tick(struct daemon *d)
{
	const struct daemon_options *o = d->opts;
	long long ms = o->lvremove_deadline_ms + o->writer_deadline_ms +
		       STOP_TICK_S * 1000LL;
	static long long began;
	long long spent;

	if (!d->jobs)
		return;
	if (!began)
		began = monotonic_ms();
	spent = monotonic_ms() - began;
	if (spent > STOP_EXTENSIONS * ms) {
		report_note("still stopping after %lld s with %u records in "
			    "hand: systemd's stop timeout applies now",
			    spent / 1000, d->jobs);
		return;
	}
	sd_notifyf(0, "EXTEND_TIMEOUT_USEC=%lld", ms * 1000);
	io_uring_prep_timeout(daemon_sqe(d, &stop_tick_op), &stop_tick_ts, 0,
			      0);
}

void daemon_stop(struct daemon *d)
{
	sd_notify(0, "STOPPING=1");
	stop_tick(d);
	/* Held notices go to the writers there are before they go. */
	if (d->settling)
		notices_settled(d);
	d->stopping = true;
	reconcile_stop(d);
	writers_stop(d);
	metrics_stop(d);
}

static void agent_read_done(struct daemon *d, int res)
{
	/* Stopping: what was read stays pending, for the next daemon. */
	if (res > 0 && !d->stopping) {
		records_received(d, d->buf, res);
	} else if (res == 0) {
		/* Another agent took over: this one is done. */
		report_note("another delivery agent took over; stopping");
		daemon_stop(d);
		return;
	} else if (res != -EINTR && res != -EAGAIN) {
		report_note("reading records: %s; stopping", strerror(-res));
		daemon_stop(d);
		return;
	}
	if (!d->stopping)
		read_agent(d);
}

static void watch_read_done(struct daemon *d, int res)
{
	if (res > 0) {
		watch_received(d, d->watch_buf, res);
	} else if (res != -EINTR && res != -EAGAIN) {
		/* Complete and abort are told from the records from now on. */
		live_sets_watched(d, UINT64_MAX);
		return;
	}
	if (!d->stopping)
		read_watch(d);
}

static void signal_read_done(struct daemon *d, int res)
{
	if (res == sizeof(d->si)) {
		/* A second signal does not wait for releases in flight. */
		if (d->stopping)
			exit(EXIT_SUCCESS);
		/* Records not acknowledged yet are replayed to the next one. */
		daemon_stop(d);
	}
	read_signal(d);
}

void daemon_dispatch(struct daemon *d, struct io_uring_cqe *cqe)
{
	struct op *op = io_uring_cqe_get_data(cqe);

	switch (op->kind) {
	case OP_AGENT_READ:
		agent_read_done(d, cqe->res);
		break;
	case OP_WATCH_READ:
		watch_read_done(d, cqe->res);
		break;
	case OP_SIGNAL_READ:
		signal_read_done(d, cqe->res);
		break;
	case OP_CHILD_EXIT:
	case OP_CHILD_DEADLINE:
	case OP_RETRY:
		lv_release_event(d, op, cqe->res);
		break;
	case OP_RECORD_RETRY:
		records_retry(d, op);
		break;
	case OP_RECONCILE:
		reconcile_event(d, cqe->res);
		break;
	case OP_RECONCILE_DUE:
		reconcile_due(d);
		break;
	case OP_OWNER_EXIT:
		owners_event(d, op, cqe->res);
		break;
	case OP_FILE:
		files_event(d, cqe->res);
		break;
	case OP_METRICS:
		metrics_event(d);
		break;
	case OP_SETTLED:
		notices_settled(d);
		break;
	case OP_IGNORED:
		break;
	case OP_STOP_TICK:
		stop_tick(d);
		break;
	default:
		writers_event(d, op, cqe->res);
		break;
	}
}

int daemon_round(struct daemon *d)
{
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0;
	int ret = io_uring_submit_and_wait(&d->ring, 1);

	if (ret < 0 && ret != -EINTR)
		return ret;
	io_uring_for_each_cqe (&d->ring, head, cqe) {
		daemon_dispatch(d, cqe);
		seen++;
		if (d->submit_soon && io_uring_cq_ready(&d->ring) > seen)
			io_uring_submit(&d->ring);
		d->submit_soon = false;
	}
	io_uring_cq_advance(&d->ring, seen);
	daemon_round_end(d);
	return 0;
}

/* Until stopped and every release step started has finished. */
static int loop(struct daemon *d)
{
	int ret;

	while (!d->stopping || d->jobs) {
		ret = daemon_round(d);
		if (ret)
			return ret;
	}
	/* What the last completions queued: the writers' byes. */
	io_uring_submit(&d->ring);
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

/* /dev/snapset subscribed with @flags, in @fd; -errno on failure. */
static int open_module(int *fd, __u64 flags)
{
	int ret;

	*fd = module_open();
	if (*fd < 0)
		return *fd;
	ret = module_subscribe(*fd, flags);
	if (ret) {
		close(*fd);
		*fd = -1;
	}
	return ret;
}

/* Sets armed before the daemon started, described for their notices. */
static int load_live_sets(struct daemon *d)
{
	const struct snapset_event *ev;
	size_t len, off = 0;
	void *buf;
	int ret = module_list(d->agent_fd, &buf, &len);

	if (ret)
		return ret;
	while ((ev = record_next(buf, len, &off)))
		if (ev->type == SNAPSET_RECORD_LIVE &&
		    (ev->set.flags & SNAPSET_SET_ARMED))
			live_set_armed(d, ev);
	free(buf);
	return 0;
}

/* Everything before the loop, in an order that fails early and cleanly. */
static int start(struct daemon *d)
{
	struct timespec now;
	int ret;

	clock_gettime(CLOCK_REALTIME, &now);
	d->started_realtime = now.tv_sec * 1000000000ULL + now.tv_nsec;
	ret = open_signals(d);
	if (!ret)
		ret = open_module(&d->agent_fd, SNAPSET_SUBSCRIBE_AGENT);
	/* The watcher after the agent: a second daemon is refused first. */
	if (!ret)
		ret = open_module(&d->watch_fd, 0);
	if (!ret)
		ret = ring_init(d);
	if (ret)
		return ret;
	d->ring_ready = true;
	ret = files_init(d);
	if (!ret)
		ret = history_load(d);
	if (!ret)
		ret = metrics_init(d);
	if (!ret)
		ret = load_live_sets(d);
	if (!ret)
		ret = writers_listen(d);
	return ret;
}

static void daemon_free(struct daemon *d)
{
	if (d->ring_ready)
		io_uring_queue_exit(&d->ring);
	if (d->agent_fd >= 0)
		close(d->agent_fd);
	if (d->watch_fd >= 0)
		close(d->watch_fd);
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		unlink(d->opts->socket_path);
	}
	files_free(d);
	reconcile_end(d);
	owners_end(d);
	live_sets_free(d);
	metrics_free(d);
	free(d->lost_failed);
	json_object_put(d->history);
	free(d->buf);
	free(d->watch_buf);
}

int daemon_run(const struct daemon_options *opts)
{
	struct daemon d = {
		.opts = opts,
		.agent_fd = -1,
		.watch_fd = -1,
		.signal_fd = -1,
		.listen_fd = -1,
		.files_event_fd = -1,
		.agent_op = { OP_AGENT_READ, NULL },
		.watch_op = { OP_WATCH_READ, NULL },
		.signal_op = { OP_SIGNAL_READ, NULL },
		.buf_size = AGENT_BUF_SIZE,
		.reconcile_every_ms = RECONCILE_EVERY_MS,
	};
	int ret;

	d.buf = malloc(d.buf_size);
	d.watch_buf = malloc(d.buf_size);
	ret = d.buf && d.watch_buf ? start(&d) : -ENOMEM;
	if (!ret) {
		/* Type=notify: ready once it is the agent and listens. */
		sd_notify(0, "READY=1");
		notices_settle(&d);
		read_signal(&d);
		read_agent(&d);
		read_watch(&d);
		files_read_event(&d);
		writers_accept(&d);
		reconcile_start(&d);
		ret = loop(&d);
	}
	daemon_free(&d);
	return ret;
}
