// SPDX-License-Identifier: GPL-2.0
/*
 * Writer connections on the daemon's SOCK_SEQPACKET socket. accept,
 * recv and send are ring operations on non-blocking sockets (the ring
 * polls them, no worker thread); each writer has one event outstanding
 * at a time, under a deadline that is a ring timeout. A writer that
 * breaks the protocol, misses its deadline or goes away is dropped with
 * its reason logged, and every event it still owed counts as a failed
 * delivery. Nothing a writer does can delay another or a release.
 *
 * A writer lives until its last ring operation completes: "ops" counts
 * them, and dropping shuts the socket down so that its recv completes.
 *
 * Connection slots are bounded per user, and the last few are root's,
 * so that no allowed user can hold them all and shut out the root
 * writers and snapset status; a connection that has not said hello or
 * status goes after a short idle deadline. Refused connections are
 * counted in the metrics and logged at most once a minute.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/files_limit.h"
#include "../common/format.h"
#include "../lib/protocol.h"
#include "daemon.h"

struct delivery {
	struct notice *notice;
	struct delivery *next;
};

struct deadline_timer {
	struct op op;
	struct writer *w;
	long long event;
	struct __kernel_timespec ts;
};

/* Messages waiting to go out, the head one in flight. */
struct outgoing {
	struct outgoing *next;
	size_t len;
	char text[];
};

struct writer {
	struct daemon *d;
	struct writer *next;
	int fd;
	struct ucred cred;
	char name[PROTO_NAME_MAX + 1];
	char *match[PROTO_MATCH_MAX + 1];
	bool registered;
	bool dropped;
	bool refused;	  /* logged, if at all, by refuse() */
	unsigned int ops; /* ring operations in flight */
	struct op recv_op;
	struct op send_op;
	char *in;
	struct outgoing *out, *out_tail;
	struct delivery *queue, *queue_tail;
	struct delivery *current; /* sent, waiting for its ack */
	long long event;	  /* the current event's number */
	struct deadline_timer *timer;
	unsigned long delivered, failed;
};

/*
 * Open connections, writers or not, are at most max_connections (each
 * costs a message buffer and an fd). Of those, the last ones only root
 * may take.
 */
#define ROOT_RESERVED 16
/* Connections of one user other than root. */
#define PER_USER_MAX 16
/* Files the daemon keeps open besides its writers': ring, agent, lvm... */
#define FILES_BESIDES_WRITERS 256
/* Messages of a closing peer read at most, for its bye to reach it. */
#define DRAIN_MAX 64
/* Time to say hello or status: libsnapset says it at once. */
#define HELLO_DEADLINE_MS 5000
/* Refusals are logged at most this often; the others are counted. */
#define REFUSED_LOG_MS 60000

static struct op accept_op = { OP_ACCEPT, NULL };
static struct op accept_retry_op = { OP_ACCEPT_RETRY, NULL };
static struct __kernel_timespec accept_backoff = { .tv_sec = 1 };
/* Completions nobody waits for: timeout removals. */
static struct op ignored_op = { OP_IGNORED, NULL };

static void writer_put(struct writer *w)
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

static void send_head(struct writer *w)
{
	w->ops++;
	io_uring_prep_send(daemon_sqe(w->d, &w->send_op), w->fd, w->out->text,
			   w->out->len, MSG_NOSIGNAL);
}

/*
 * Shuts the socket down, which also ends its recv. Not a ring operation:
 * 6.1 always hands IORING_OP_SHUTDOWN to an io-wq worker.
 */
static void writer_shutdown(struct writer *w)
{
	shutdown(w->fd, SHUT_RDWR);
}

/* Queues a copy of @text (NULL: out of memory) behind what is being sent. */
static void writer_queue(struct writer *w, const char *text)
{
	size_t len = text ? strlen(text) : 0;
	struct outgoing *o = text ? malloc(sizeof(*o) + len) : NULL;

	if (!o) {
		writer_drop(w, NULL, "out of memory");
		return;
	}
	o->next = NULL;
	o->len = len;
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
	writer_queue(w, text);
	free(text);
}

static void deadline_cancel(struct writer *w)
{
	if (!w->timer)
		return;
	io_uring_prep_timeout_remove(daemon_sqe(w->d, &ignored_op),
				     (__u64)(uintptr_t)&w->timer->op, 0);
	w->timer = NULL;
}

/* An event's deadline, or before hello, the shorter idle one. */
static long deadline_ms(const struct writer *w)
{
	long ms = w->d->opts->writer_deadline_ms;

	return w->registered || ms < HELLO_DEADLINE_MS ? ms : HELLO_DEADLINE_MS;
}

static void deadline_arm(struct writer *w)
{
	struct deadline_timer *t = calloc(1, sizeof(*t));

	if (!t) {
		writer_drop(w, PROTO_BYE_STOPPING, "out of memory");
		return;
	}
	t->op = (struct op){ OP_WRITER_DEADLINE, t };
	t->w = w;
	t->event = w->event;
	ms_to_timespec(deadline_ms(w), &t->ts);
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
	writer_queue(w, event_text(e, next->notice, w->event));
	if (!w->dropped)
		deadline_arm(w);
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

static bool gid_allowed(const struct daemon_options *o, gid_t gid)
{
	for (unsigned int i = 0; i < o->nallowed_gids; i++)
		if (o->allowed_gids[i] == gid)
			return true;
	return false;
}

/* The peer's supplementary groups, as they were at connect(). */
static bool groups_allowed(const struct daemon_options *o, int fd)
{
	socklen_t len = 0;
	gid_t *groups;
	bool allowed = false;

	/* The first call says how much room the list needs. */
	if (!getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, NULL, &len) ||
	    errno != ERANGE || !(groups = malloc(len)))
		return false;
	if (!getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len))
		for (size_t i = 0; i < len / sizeof(*groups) && !allowed; i++)
			allowed = gid_allowed(o, groups[i]);
	free(groups);
	return allowed;
}

static bool peer_allowed(const struct daemon_options *o, int fd,
			 const struct ucred *c)
{
	if (c->uid == 0)
		return true;
	for (unsigned int i = 0; i < o->nallowed_uids; i++)
		if (o->allowed_uids[i] == c->uid)
			return true;
	return o->nallowed_gids &&
	       (gid_allowed(o, c->gid) || groups_allowed(o, fd));
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

/* Open connections: all of them, and @uid's. */
static unsigned int connections(const struct daemon *d, uid_t uid,
				unsigned int *of_uid)
{
	unsigned int n = 0;

	*of_uid = 0;
	for (const struct writer *w = d->writers; w; w = w->next) {
		n++;
		*of_uid += w->cred.uid == uid;
	}
	return n;
}

/*
 * Turns @w away, counted by @label (a metrics label), and logged unless
 * a refusal was less than REFUSED_LOG_MS ago: a refused user could
 * flood the journal.
 */
static void refuse(struct writer *w, const char *label, const char *reason)
{
	struct daemon *d = w->d;
	long long now = monotonic_ms();
	char more[64] = "";

	metrics_refused(d, label);
	if (d->refused_log_at && now < d->refused_log_at + REFUSED_LOG_MS) {
		d->refused_unlogged++;
	} else {
		if (d->refused_unlogged)
			snprintf(more, sizeof(more),
				 " (and %u more unlogged before)",
				 d->refused_unlogged);
		report_note("writer connection (pid %d, uid %u): dropped: %s%s",
			    w->cred.pid, w->cred.uid, reason, more);
		d->refused_log_at = now;
		d->refused_unlogged = 0;
	}
	w->refused = true;
	writer_drop(w, PROTO_BYE_DENIED, reason);
}

/* Why @w may not have a connection slot (@label for metrics), or NULL. */
static const char *no_slot(const struct writer *w, const char **label)
{
	unsigned int of_uid, n = connections(w->d, w->cred.uid, &of_uid);
	unsigned int max = w->d->max_writers;

	*label = "full";
	if (n > max)
		return "too many connections";
	if (w->cred.uid == 0)
		return NULL;
	if (n > max - ROOT_RESERVED)
		return "too many connections; the rest are root's";
	*label = "user_limit";
	if (of_uid > PER_USER_MAX)
		return "too many connections of this user";
	return NULL;
}

static void accepted(struct daemon *d, int fd)
{
	struct writer *w = calloc(1, sizeof(*w));
	socklen_t len = sizeof(w->cred);
	const char *why, *label;

	if (!w || !(w->in = malloc(PROTO_MESSAGE_MAX))) {
		free(w);
		close(fd);
		report_note("out of memory: a writer connection refused");
		return;
	}
	w->d = d;
	w->fd = fd;
	w->recv_op = (struct op){ OP_WRITER_RECV, w };
	w->send_op = (struct op){ OP_WRITER_SEND, w };
	w->next = d->writers;
	d->writers = w;
	w->ops = 1; /* this function's own */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &w->cred, &len)) {
		refuse(w, "no_credentials", "no peer credentials");
	} else if (!peer_allowed(d->opts, fd, &w->cred)) {
		refuse(w, "not_allowed", "this user is not allowed");
	} else if ((why = no_slot(w, &label))) {
		refuse(w, label, why);
	} else if (d->stopping) {
		writer_drop(w, PROTO_BYE_STOPPING, "the daemon is stopping");
	} else {
		/* A connection that says nothing goes at the deadline. */
		deadline_arm(w);
		writer_recv(w);
	}
	writer_put(w);
}

void writers_accept(struct daemon *d)
{
	io_uring_prep_accept(daemon_sqe(d, &accept_op), d->listen_fd, NULL,
			     NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
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
			writer_drop(w, NULL,
				    res < 0 ? strerror(-res)
					    : "a message cut short");
			return;
		}
	}
	if (w->out)
		send_head(w);
	else if (w->dropped)
		writer_shutdown(w);
}

static void deadline_passed(struct deadline_timer *t, int res)
{
	struct writer *w = t->w;
	char why[96];

	if (res == -ETIME && w->timer == t && !w->dropped) {
		w->timer = NULL;
		if (w->registered)
			snprintf(why, sizeof(why),
				 "event %lld not acknowledged within %ld ms",
				 t->event, w->d->opts->writer_deadline_ms);
		else
			snprintf(why, sizeof(why),
				 "no hello or status within %ld ms",
				 deadline_ms(w));
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
		if (res >= 0) {
			accepted(d, res);
		} else {
			/* Out of fds, say: try again in a while, not at once.
			 */
			report_note("accepting writers: %s", strerror(-res));
			io_uring_prep_timeout(daemon_sqe(d, &accept_retry_op),
					      &accept_backoff, 0, 0);
			return;
		}
		if (!d->stopping)
			writers_accept(d);
		return;
	case OP_ACCEPT_RETRY:
		if (!d->stopping)
			writers_accept(d);
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

/*
 * A stale socket from an earlier daemon goes: we are the agent now. But
 * only a socket of root's: a file or a link put there by someone else
 * is not ours to remove (-ENOTSOCK).
 */
static int remove_stale(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode) || st.st_uid != 0)
		return -ENOTSOCK;
	return unlink(path) ? -errno : 0;
}

/*
 * Room for max_connections writers and the daemon's own files: the soft
 * limit raised up to the hard one (systemd's soft default is 1024). Under
 * a lower limit, fewer writers: an fd for an lvm command or a file must
 * never be taken by a writer, nor root's last slots by the kernel's EMFILE.
 */
static void writers_limit(struct daemon *d)
{
	unsigned int max = d->opts->max_connections;
	rlim_t want = (rlim_t)max + FILES_BESIDES_WRITERS, got;

	d->max_writers = max;
	/* Not raised as far as wanted: @got says how far it went. */
	files_limit_raise(want, &got);
	if (!got || got >= want)
		return;
	d->max_writers = got > FILES_BESIDES_WRITERS + 2 * ROOT_RESERVED
			     ? got - FILES_BESIDES_WRITERS
			     : 2 * ROOT_RESERVED;
	report_note("at most %llu open files: %u writer connections, not "
		    "max_connections %u",
		    (unsigned long long)got, d->max_writers, max);
}

int writers_listen(struct daemon *d)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *path = d->opts->socket_path;
	char dir[sizeof(addr.sun_path)];
	bool open_to_others = d->opts->nallowed_uids || d->opts->nallowed_gids;
	int fd, ret;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	strcpy(dir, path);
	if (strrchr(dir, '/') && strrchr(dir, '/') != dir) {
		*strrchr(dir, '/') = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
	}
	ret = remove_stale(path);
	if (ret)
		return ret;
	writers_limit(d);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    /*
	     * SO_PEERCRED decides; the mode only keeps others out early.
	     * Never through a link someone put in our socket's place.
	     */
	    fchmodat(AT_FDCWD, path, open_to_others ? 0666 : 0600,
		     AT_SYMLINK_NOFOLLOW) ||
	    listen(fd, 64)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	d->listen_fd = fd;
	return 0;
}
