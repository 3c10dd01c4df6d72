// SPDX-License-Identifier: GPL-2.0
/*
 * Writer connections on the daemon's SOCK_SEQPACKET socket. accept,
 * recv and send are ring operations on non-blocking sockets (the ring
 * polls them, no worker thread); each writer has one event outstanding
 * at a time, under a deadline. A writer that breaks the protocol,
 * misses its deadline or goes away is dropped with its reason logged,
 * and every event it still owed counts as a failed delivery. Nothing
 * a writer does can delay another or a release.
 *
 * A writer lives until its last ring operation completes: "ops" counts
 * them, and dropping shuts the socket down so that its recv completes.
 * A connection that has not said hello or status goes after a short
 * idle deadline. Who may connect is connections.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/format.h"
#include "../lib/protocol.h"
#include "writers.h"

struct delivery {
	struct notice *notice;
	struct delivery *next;
};

/* Before hello or status: a ring timeout of the connection's own. */
struct deadline_timer {
	struct op op;
	struct writer *w;
	struct __kernel_timespec ts;
};

/* Messages waiting to go out, the head one in flight. */
struct outgoing {
	struct outgoing *next;
	size_t len;
	/*
	 * An event, sent without a completion when it succeeds (send_head):
	 * sent once the kernel has consumed the submission queue entry
	 * that ends at @sq_seq and its failure, if any, was handled.
	 */
	bool silent;
	unsigned int sq_seq;
	char text[];
};

/* Messages of a closing peer read at most, for its bye to reach it. */
#define DRAIN_MAX 64
/* Time to say hello or status: libsnapset says it at once. */
#define HELLO_DEADLINE_MS 5000
/* Completions nobody waits for: timeout removals. */
static struct op ignored_op = { OP_IGNORED, NULL };
/* The one ring timeout for every event's deadline: d->event_timer. */
static struct op event_timer_op = { OP_EVENT_DEADLINE, NULL };
/* Read when the timeout is submitted; one is armed at a time. */
static struct __kernel_timespec event_timer_ts;

void writer_put(struct writer *w)
{
	struct writer **p;

	if (--w->ops || !w->dropped)
		return;
	for (p = &w->d->writers; *p != w; p = &(*p)->next)
		;
	*p = w->next;
	/*
	 * What the peer sent and we did not read would turn its next recv
	 * into ECONNRESET, ahead of our bye: read it first. Shut down, the
	 * socket takes nothing more; what it holds is bounded, and so is
	 * this loop, for a peer that sends empty messages.
	 */
	shutdown(w->fd, SHUT_RD);
	for (int i = 0; i < DRAIN_MAX; i++)
		if (recv(w->fd, NULL, 0, MSG_DONTWAIT | MSG_TRUNC) <= 0)
			break;
	close(w->fd);
	for (char **m = w->match; *m; m++)
		free(*m);
	free(w->in);
	free(w);
}

static void writer_recv(struct writer *w)
{
	w->ops++;
	io_uring_prep_recv(daemon_sqe(w->d, &w->recv_op), w->fd, w->in,
			   PROTO_MESSAGE_MAX, MSG_TRUNC);
}

/* The kernel's submission queue head: what it has consumed so far. */
static unsigned int sq_head(const struct daemon *d)
{
	return io_uring_smp_load_acquire(d->ring.sq.khead);
}

/* Whether the submission queued at @seq is behind @head, consumed. */
static bool sq_consumed(unsigned int head, unsigned int seq)
{
	return (int)(head - seq) >= 0;
}

/*
 * An event goes with MSG_DONTWAIT and no completion on success: the
 * kernel sends it while it consumes the submission, or fails it (that
 * completion comes), never later. Its success costs no completion and
 * no wakeup then; writers_settle() ends it. A writer whose socket is
 * full has not read what it acknowledged: its event fails, it goes.
 */
static void send_head(struct writer *w)
{
	struct io_uring_sqe *sqe = daemon_sqe(w->d, &w->send_op);
	struct outgoing *o = w->out;

	w->ops++;
	io_uring_prep_send(sqe, w->fd, o->text, o->len,
			   MSG_NOSIGNAL | (o->silent ? MSG_DONTWAIT : 0));
	if (!o->silent)
		return;
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	o->sq_seq = w->d->ring.sq.sqe_tail;
	/* writers_settle()'s, as long as @w is on its list. */
	w->ops++;
	w->next_unsettled = w->d->unsettled;
	w->d->unsettled = w;
}

/*
 * Shuts the socket down, which also ends its recv. Not a ring operation:
 * 6.1 always hands IORING_OP_SHUTDOWN to an io-wq worker.
 */
static void writer_shutdown(struct writer *w)
{
	shutdown(w->fd, SHUT_RDWR);
}

/*
 * Queues a copy of @text (NULL: out of memory) behind what is being sent;
 * an @event, where the ring can, goes silently (send_head).
 */
static void writer_queue(struct writer *w, const char *text, bool event)
{
	size_t len = text ? strlen(text) : 0;
	struct outgoing *o = text ? malloc(sizeof(*o) + len) : NULL;

	if (!o) {
		writer_drop(w, NULL, "out of memory");
		return;
	}
	o->next = NULL;
	o->len = len;
	o->silent = event && (w->d->ring.features & IORING_FEAT_CQE_SKIP);
	memcpy(o->text, text, len);
	if (w->out_tail)
		w->out_tail->next = o;
	else
		w->out = o;
	w->out_tail = o;
	if (w->out == o)
		send_head(w);
}

/* Queues @text (taken). */
static void writer_send(struct writer *w, char *text)
{
	writer_queue(w, text, false);
	free(text);
}

/* An answer came, or the writer goes: its deadline is no more. */
static void deadline_cancel(struct writer *w)
{
	struct daemon *d = w->d;

	if (w->awaited) {
		*(w->awaited_prev ? &w->awaited_prev->awaited_next
				  : &d->awaited_first) = w->awaited_next;
		*(w->awaited_next ? &w->awaited_next->awaited_prev
				  : &d->awaited_last) = w->awaited_prev;
		w->awaited = false;
	}
	if (!w->timer)
		return;
	io_uring_prep_timeout_remove(daemon_sqe(d, &ignored_op),
				     (__u64)(uintptr_t)&w->timer->op, 0);
	w->timer = NULL;
}

/* @whole: a whole deadline, armed for events of an empty list. */
static void event_timer_arm(struct daemon *d, long long ms, bool whole)
{
	d->event_timer = true;
	d->event_timer_whole = whole;
	ms_to_timespec(ms > 0 ? ms : 0, &event_timer_ts);
	io_uring_prep_timeout(daemon_sqe(d, &event_timer_op), &event_timer_ts,
			      0, 0);
	d->event_timer_sq = d->ring.sq.sqe_tail;
}

/*
 * A whole deadline's timeout the kernel has not consumed yet counts from
 * a submission no later than that of a send queued now (the same one,
 * unless the send waits behind another message): that event's deadline
 * is the timeout's, with no clock read (a system call where the vDSO
 * cannot read the clock, as in a guest under emulation).
 */
static bool event_timer_unsubmitted(struct daemon *d)
{
	return d->event_timer && d->event_timer_whole &&
	       !sq_consumed(sq_head(d), d->event_timer_sq);
}

/* due_ms of an event whose deadline is an unsubmitted timeout's. */
#define DUE_WITH_TIMER (-1LL)

/*
 * The event just sent is due within writer_deadline_ms: @w joins the
 * end of the list from d->awaited_first, which is thus in deadline
 * order, and one ring timeout, for the first, serves them all. An ack
 * takes its writer off the list without a ring operation; the timeout
 * that was armed for it fires once and finds nobody. An event that does
 * not go out with a timeout of its own is stamped at the round's end,
 * when its send has gone (due_ms is 0 until then).
 */
static void event_deadline_arm(struct writer *w)
{
	struct daemon *d = w->d;

	w->awaited = true;
	w->awaited_next = NULL;
	w->awaited_prev = d->awaited_last;
	*(d->awaited_last ? &d->awaited_last->awaited_next
			  : &d->awaited_first) = w;
	d->awaited_last = w;
	/* One that fired is armed again at the round's end, for the first. */
	if (!d->event_timer && !d->event_timer_fired)
		event_timer_arm(d, d->opts->writer_deadline_ms, true);
	w->due_ms = event_timer_unsubmitted(d) ? DUE_WITH_TIMER : 0;
}

static void deadline_missed(struct writer *w)
{
	char why[96];

	snprintf(why, sizeof(why), "event %lld not acknowledged within %ld ms",
		 w->event, w->d->opts->writer_deadline_ms);
	writer_drop(w, PROTO_BYE_DEADLINE, why);
}

/*
 * Writers past their event's deadline go, once the round's acks are
 * handled: an ack in the same batch as the timeout is an answer in
 * time. Then the events of this round that no timeout of their own
 * serves are stamped, with one clock read, and the timeout armed again
 * for the first. A notice sent while writers are dropped here arms no
 * timeout (event_timer_fired holds it back): its events are stamped.
 */
static void event_deadlines(struct daemon *d)
{
	bool fired = d->event_timer_fired;
	long long now = 0;
	struct writer *w;

	if (fired && d->event_timer_lost)
		for (w = d->awaited_first; w && w->due_ms == DUE_WITH_TIMER;
		     w = w->awaited_next)
			w->due_ms = 0;
	/* The timeout that fired is the one submitted with their sends. */
	while (fired && (w = d->awaited_first) && w->due_ms == DUE_WITH_TIMER)
		deadline_missed(w);
	if (d->awaited_first && (fired || !d->awaited_last->due_ms)) {
		now = monotonic_ms();
		while ((w = d->awaited_first) && w->due_ms > 0 &&
		       w->due_ms <= now)
			deadline_missed(w);
		for (w = d->awaited_last; w && !w->due_ms; w = w->awaited_prev)
			w->due_ms = now + d->opts->writer_deadline_ms;
	}
	d->event_timer_fired = false;
	d->event_timer_lost = false;
	if (!d->event_timer && d->awaited_first)
		event_timer_arm(d, d->awaited_first->due_ms - now, false);
}

/* Before hello: the idle deadline, shorter than an event's. */
static long hello_deadline_ms(const struct daemon *d)
{
	long ms = d->opts->writer_deadline_ms;

	return ms < HELLO_DEADLINE_MS ? ms : HELLO_DEADLINE_MS;
}

static void hello_deadline_arm(struct writer *w)
{
	struct deadline_timer *t = calloc(1, sizeof(*t));

	if (!t) {
		writer_drop(w, PROTO_BYE_STOPPING, "out of memory");
		return;
	}
	t->op = (struct op){ OP_WRITER_DEADLINE, t };
	t->w = w;
	ms_to_timespec(hello_deadline_ms(w->d), &t->ts);
	w->timer = t;
	w->ops++;
	io_uring_prep_timeout(daemon_sqe(w->d, &t->op), &t->ts, 0, 0);
}

/*
 * An event as one writer is sent it: encoded once for every writer that
 * gets the same notice as the same event number, as most do when it is
 * told to all of them at once (encoding is most of a send's cost).
 */
struct encoded {
	const struct notice *notice;
	long long event;
	char *text; /* NULL: out of memory */
};

static const char *event_text(struct encoded *e, const struct notice *n,
			      long long event)
{
	if (e->notice != n || e->event != event) {
		free(e->text);
		e->text = notice_message(n, event);
		/* Out of memory: the next writer tries again. */
		e->notice = e->text ? n : NULL;
		e->event = event;
	}
	return e->text;
}

/*
 * Sends the next queued event once the previous one is answered; @e
 * keeps its encoding for the next writer.
 */
static void writer_pump(struct writer *w, struct encoded *e)
{
	struct delivery *next = w->queue;

	if (w->dropped || w->current)
		return;
	if (!next) {
		/* Stopping: a writer goes once it has answered all it had. */
		if (w->d->stopping)
			writer_drop(w, PROTO_BYE_STOPPING,
				    "the daemon is stopping");
		return;
	}
	w->queue = next->next;
	if (!w->queue)
		w->queue_tail = NULL;
	w->current = next;
	w->event++;
	writer_queue(w, event_text(e, next->notice, w->event), true);
	if (!w->dropped)
		event_deadline_arm(w);
}

static void delivery_end(struct writer *w, struct delivery *del, bool ok,
			 const char *message)
{
	if (ok)
		w->delivered++;
	else
		w->failed++;
	/* Cut short by the stop: delivered again by the next daemon. */
	if (ok || !w->d->stopping)
		metrics_delivery(w->d, w->name, w->cred.uid, ok);
	notice_answered(del->notice, w->name, ok, message);
	free(del);
}

void writer_drop(struct writer *w, const char *code, const char *reason)
{
	char text[PROTO_TEXT_MAX + 64];

	if (w->dropped)
		return;
	w->dropped = true;
	if (w->registered) {
		report_note("writer %s (pid %d): dropped: %s", w->name,
			    w->cred.pid, reason);
		metrics_write(w->d);
	} else if (!w->refused)
		report_note("writer connection (pid %d, uid %u): dropped: %s",
			    w->cred.pid, w->cred.uid, reason);
	deadline_cancel(w);
	snprintf(text, sizeof(text), "%s: %s", "dropped", reason);
	if (w->current)
		delivery_end(w, w->current, false, text);
	w->current = NULL;
	while (w->queue) {
		struct delivery *del = w->queue;

		w->queue = del->next;
		delivery_end(w, del, false, text);
	}
	/* The bye goes out first; the socket is shut down once it has. */
	if (code)
		writer_send(w, proto_bye(code, reason));
	if (!w->out)
		writer_shutdown(w);
}

static void hello(struct writer *w, const struct proto_msg *msg)
{
	unsigned int i;

	snprintf(w->name, sizeof(w->name), "%s", msg->name);
	for (i = 0; msg->match[i]; i++)
		if (!(w->match[i] = strdup(msg->match[i]))) {
			writer_drop(w, PROTO_BYE_STOPPING, "out of memory");
			return;
		}
	w->registered = true;
	report_note("writer %s (pid %d, uid %u) registered", w->name,
		    w->cred.pid, w->cred.uid);
	writer_send(w, proto_welcome(w->d->opts->writer_deadline_ms));
	metrics_write(w->d);
}

static void ack(struct writer *w, const struct proto_msg *msg)
{
	struct delivery *del = w->current;
	struct encoded e = { 0 };

	if (!del || msg->event != w->event) {
		char why[96];

		snprintf(why, sizeof(why),
			 "acknowledged event %lld, but %lld is outstanding",
			 msg->event, del ? w->event : 0);
		writer_drop(w, PROTO_BYE_PROTOCOL, why);
		return;
	}
	deadline_cancel(w);
	w->current = NULL;
	delivery_end(w, del, msg->ok, msg->text);
	writer_pump(w, &e);
	free(e.text);
}

/* The first message says what the connection is: a writer or a query. */
static void first_message(struct writer *w, const struct proto_msg *msg)
{
	deadline_cancel(w);
	if (msg->type != PROTO_HELLO && msg->type != PROTO_STATUS_REQUEST) {
		writer_drop(w, PROTO_BYE_PROTOCOL,
			    "the first message is "
			    "not hello or status");
		return;
	}
	if (msg->version != PROTO_VERSION) {
		char why[96];

		snprintf(why, sizeof(why),
			 "protocol version %lld; this daemon speaks %d",
			 msg->version, PROTO_VERSION);
		writer_drop(w, PROTO_BYE_VERSION, why);
		return;
	}
	if (msg->type == PROTO_HELLO) {
		hello(w, msg);
		return;
	}
	/* Answered, then shut down once the answer is sent. */
	w->dropped = true;
	writer_send(w, status_message(w->d));
}

static void received(struct writer *w, int res)
{
	struct proto_msg msg;
	char why[256];

	if (res <= 0 || w->dropped) {
		writer_drop(w, NULL,
			    res == 0 || w->dropped ? "disconnected"
						   : strerror(-res));
		return;
	}
	if (proto_parse(w->in, res, PROTO_FROM_WRITER, &msg, why,
			sizeof(why))) {
		writer_drop(w, PROTO_BYE_PROTOCOL, why);
		return;
	}
	if (!w->registered)
		first_message(w, &msg);
	else if (msg.type == PROTO_ACK)
		ack(w, &msg);
	else
		writer_drop(w, PROTO_BYE_PROTOCOL,
			    "a message other than ack after hello");
	proto_msg_free(&msg);
	if (!w->dropped)
		writer_recv(w);
}

void writer_start(struct writer *w)
{
	/* A connection that says nothing goes at the deadline. */
	hello_deadline_arm(w);
	writer_recv(w);
}

static void sent(struct writer *w, int res)
{
	struct outgoing *o = w->out;
	bool whole = res >= 0 && (size_t)res == o->len;

	w->out = o->next;
	if (!w->out)
		w->out_tail = NULL;
	free(o);
	if (!whole) {
		/* Nothing more can go out on this socket. */
		while ((o = w->out)) {
			w->out = o->next;
			free(o);
		}
		w->out_tail = NULL;
		if (!w->dropped) {
			/*
			 * Events go one at a time: only a writer that acked
			 * what it never read can have its socket full.
			 */
			writer_drop(w, NULL,
				    res == -EAGAIN ? "its socket is full: it "
						     "acknowledged events it "
						     "did not read"
				    : res < 0	   ? strerror(-res)
						   : "a message cut short");
			return;
		}
	}
	if (w->out)
		send_head(w);
	else if (w->dropped)
		writer_shutdown(w);
}

/*
 * Events sent silently whose submission the kernel has consumed were
 * sent: a failure would have come as a completion by then. Only once
 * every completion at hand is handled (none in the queue nor in its
 * overflow), or a failure still unread would find its message gone.
 */
static void writers_settle(struct daemon *d)
{
	/* Read first: a consumed one's failure is in the queue by then. */
	unsigned int head = sq_head(d);
	struct writer *w, *waiting = NULL;

	if (io_uring_cq_ready(&d->ring) || io_uring_cq_has_overflow(&d->ring))
		return;
	while ((w = d->unsettled)) {
		d->unsettled = w->next_unsettled;
		if (w->out && w->out->silent &&
		    !sq_consumed(head, w->out->sq_seq)) {
			w->next_unsettled = waiting;
			waiting = w;
			continue;
		}
		/* Or it failed, and sent() has dropped the writer. */
		if (w->out && w->out->silent) {
			sent(w, w->out->len);
			writer_put(w);
		}
		writer_put(w);
	}
	d->unsettled = waiting;
}

static void deadline_passed(struct deadline_timer *t, int res)
{
	struct writer *w = t->w;
	char why[96];

	if (res == -ETIME && w->timer == t && !w->dropped) {
		w->timer = NULL;
		snprintf(why, sizeof(why), "no hello or status within %ld ms",
			 hello_deadline_ms(w->d));
		writer_drop(w, PROTO_BYE_DEADLINE, why);
	}
	free(t);
	writer_put(w);
}

void writers_event(struct daemon *d, struct op *op, int res)
{
	struct writer *w = op->owner;

	switch (op->kind) {
	case OP_ACCEPT:
	case OP_ACCEPT_RETRY:
		connections_event(d, op, res);
		return;
	case OP_WRITER_RECV:
		received(w, res);
		break;
	case OP_WRITER_SEND:
		sent(w, res);
		break;
	case OP_WRITER_DEADLINE:
		deadline_passed(op->owner, res);
		return;
	case OP_EVENT_DEADLINE:
		d->event_timer = false;
		d->event_timer_fired = true;
		/* Not its expiry (cancelled, refused): none of theirs passed.
		 */
		d->event_timer_lost = res != -ETIME;
		return;
	default:
		return;
	}
	writer_put(w);
}

unsigned int writers_queue(struct daemon *d, struct notice *n)
{
	unsigned int queued = 0;

	for (struct writer *w = d->writers; w; w = w->next) {
		struct delivery *del;

		if (!w->registered || w->dropped || !notice_wanted(n, w->match))
			continue;
		del = calloc(1, sizeof(*del));
		if (!del) {
			/* That writer's failed delivery, reported with the set.
			 */
			metrics_delivery(d, w->name, w->cred.uid, false);
			notice_missed(n, w->name);
			continue;
		}
		del->notice = n;
		if (w->queue_tail)
			w->queue_tail->next = del;
		else
			w->queue = del;
		w->queue_tail = del;
		queued++;
	}
	return queued;
}

/* Starts what writers_queue() queued: after counting, never before. */
void writers_pump(struct daemon *d)
{
	struct encoded e = { 0 };

	for (struct writer *w = d->writers; w; w = w->next)
		writer_pump(w, &e);
	free(e.text);
}

/* Idle writers go now; the others once they have answered (pump). */
void writers_stop(struct daemon *d)
{
	for (struct writer *w = d->writers, *next; w; w = next) {
		next = w->next;
		w->ops++;
		if (!w->current && !w->queue)
			writer_drop(w, PROTO_BYE_STOPPING,
				    "the daemon is stopping");
		writer_put(w);
	}
}

unsigned int writers_count(const struct daemon *d)
{
	unsigned int n = 0;

	for (const struct writer *w = d->writers; w; w = w->next)
		n += w->registered && !w->dropped;
	return n;
}

struct json_object *writers_status(const struct daemon *d, bool with_match)
{
	struct json_object *array = json_object_new_array();

	for (const struct writer *w = d->writers; w; w = w->next) {
		struct json_object *obj, *match;

		if (!w->registered || w->dropped)
			continue;
		obj = json_object_new_object();
		match = json_object_new_array();
		json_add_string(obj, "name", w->name);
		json_add_int(obj, "pid", w->cred.pid);
		json_add_int(obj, "uid", w->cred.uid);
		for (char *const *m = w->match; with_match && *m; m++)
			json_object_array_add(match,
					      json_object_new_string(*m));
		json_object_object_add(obj, "match", match);
		json_object_object_add(
		    obj, "waiting",
		    json_object_new_boolean(w->current != NULL));
		json_add_int(obj, "delivered", w->delivered);
		json_add_int(obj, "failed", w->failed);
		json_object_array_add(array, obj);
	}
	return array;
}

void writers_round_end(struct daemon *d)
{
	event_deadlines(d);
	writers_settle(d);
}
