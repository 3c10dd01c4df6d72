// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsnapset's writer client: the connection and its handshake, events
 * turned from the wire's JSON into struct snapset_writer_event, one
 * event outstanding at a time, and the memory of acknowledged shutdowns
 * that turns a replayed one into the same answer, unseen by the
 * application.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <snapset/writer.h>

#include "protocol.h"

#define EXPORT __attribute__((visibility("default")))

/* The handshake is one message each way. */
#define HANDSHAKE_TIMEOUT_MS 10000
/* Shutdowns remembered for duplicates: a daemon replays what it held. */
#define SEEN_MAX 64

struct seen_shutdown {
	char set_id[40];
	int error;
	char *message;
};

/* What the devices' "VG/LV" strings point into. */
struct device_paths {
	char name[260];
	char origin[260];
};

struct snapset_writer {
	int fd;
	char *socket_path;
	char name[PROTO_NAME_MAX + 1];
	char **match; /* NULL-terminated, or NULL */
	char *buf;    /* one message, and a NUL after it */
	bool has_event;
	struct proto_msg msg; /* the current event's message */
	struct snapset_writer_event event;
	struct snapset_writer_device *devices;
	struct device_paths *paths;
	struct seen_shutdown seen[SEEN_MAX];
	unsigned int seen_next;
};

static int send_text(int fd, char *text)
{
	ssize_t n;

	if (!text)
		return -ENOMEM;
	n = send(fd, text, strlen(text), MSG_NOSIGNAL);
	free(text);
	if (n < 0)
		return errno == EPIPE || errno == ECONNRESET ? -ENOTCONN
							     : -errno;
	return 0;
}

/*
 * One message, read without blocking: 1 when @msg holds it, 0 when none
 * is there, -ENOTCONN at end of file, -EPROTO for anything unreadable.
 */
static int receive(struct snapset_writer *w, struct proto_msg *msg)
{
	char why[256];
	ssize_t n;

	n = recv(w->fd, w->buf, PROTO_MESSAGE_MAX, MSG_DONTWAIT | MSG_TRUNC);
	/*
	 * A daemon that closes without reading what we sent (a refused
	 * hello) resets the connection: the error comes first, its bye
	 * after it.
	 */
	if (n < 0 && errno == ECONNRESET)
		n = recv(w->fd, w->buf, PROTO_MESSAGE_MAX,
			 MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0)
		return errno == EAGAIN	     ? 0
		       : errno == ECONNRESET ? -ENOTCONN
					     : -errno;
	if (n == 0)
		return -ENOTCONN;
	/* An event's JSON is handed over as it came: a C string. */
	if (n <= PROTO_MESSAGE_MAX)
		w->buf[n] = '\0';
	if (proto_parse(w->buf, n, PROTO_FROM_DAEMON, msg, why, sizeof(why)))
		return -EPROTO;
	return 1;
}

static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;

	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

static int bye_error(const struct proto_msg *msg)
{
	if (!strcmp(msg->code, PROTO_BYE_DENIED))
		return -EACCES;
	if (!strcmp(msg->code, PROTO_BYE_VERSION))
		return -EPROTO;
	return -ECONNRESET;
}

/* Waits for the daemon's answer to hello. */
static int handshake(struct snapset_writer *w)
{
	struct proto_msg msg;
	int ret = send_text(
	    w->fd, proto_hello(w->name, (const char *const *)w->match));

	/*
	 * A daemon that turns us away may hang up before our hello arrives;
	 * its bye, already sent, still says why.
	 */
	if (ret && ret != -ENOTCONN)
		return ret;
	ret = wait_readable(w->fd, HANDSHAKE_TIMEOUT_MS);
	if (ret)
		return ret;
	ret = receive(w, &msg);
	if (ret <= 0)
		return ret ? (ret == -ENOTCONN ? -ECONNREFUSED : ret) : -EPROTO;
	if (msg.type == PROTO_BYE)
		ret = bye_error(&msg);
	else if (msg.type != PROTO_WELCOME || msg.version != PROTO_VERSION)
		ret = -EPROTO;
	else
		ret = 0;
	proto_msg_free(&msg);
	return ret;
}

static void disconnect(struct snapset_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (w->has_event)
		proto_msg_free(&w->msg);
	w->has_event = false;
}

EXPORT int snapset_writer_reconnect(struct snapset_writer *w)
{
	int ret;

	disconnect(w);
	w->fd = proto_connect(w->socket_path);
	if (w->fd < 0) {
		ret = w->fd;
		w->fd = -1;
		return ret;
	}
	ret = handshake(w);
	if (ret)
		disconnect(w);
	return ret;
}

static int copy_match(struct snapset_writer *w, const char *const *match)
{
	size_t n = 0;

	if (!match || !*match)
		return 0;
	while (match[n])
		if (!proto_match_valid(match[n++]) || n > PROTO_MATCH_MAX)
			return -EINVAL;
	w->match = calloc(n + 1, sizeof(*w->match));
	if (!w->match)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!(w->match[i] = strdup(match[i])))
			return -ENOMEM;
	return 0;
}

EXPORT int snapset_writer_connect(const char *socket_path, const char *name,
				  const char *const *match,
				  struct snapset_writer **out)
{
	struct snapset_writer *w;
	int ret;

	if (!name || !proto_name_valid(name))
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = -1;
	strcpy(w->name, name);
	w->socket_path = strdup(socket_path ?: SNAPSET_WRITER_SOCKET);
	w->buf = malloc(PROTO_MESSAGE_MAX + 1);
	ret = w->socket_path && w->buf ? copy_match(w, match) : -ENOMEM;
	if (!ret)
		ret = snapset_writer_reconnect(w);
	if (ret) {
		snapset_writer_close(w);
		return ret;
	}
	*out = w;
	return 0;
}

EXPORT int snapset_writer_fd(const struct snapset_writer *w)
{
	return w->fd;
}

static const char *member(struct json_object *obj, const char *key)
{
	struct json_object *value;

	if (!json_object_object_get_ex(obj, key, &value) ||
	    !json_object_is_type(value, json_type_string))
		return "";
	return json_object_get_string(value);
}

/* An integer member within [@min, @max]; @otherwise if none is. */
static long long member_int(struct json_object *obj, const char *key,
			    long long min, long long max, long long otherwise)
{
	struct json_object *value;
	long long n;

	if (!json_object_object_get_ex(obj, key, &value) ||
	    !json_object_is_type(value, json_type_int))
		return otherwise;
	n = json_object_get_int64(value);
	return n < min || n > max ? otherwise : n;
}

/* A JSON boolean, true; anything else ("yes", 1) is not. */
static bool member_bool(struct json_object *obj, const char *key)
{
	struct json_object *value;

	return json_object_object_get_ex(obj, key, &value) &&
	       json_object_is_type(value, json_type_boolean) &&
	       json_object_get_boolean(value);
}

/* Milliseconds, a number not below 0 (json-c reads 1e999 as inf); or -1. */
static double member_ms(struct json_object *obj, const char *key)
{
	struct json_object *value;
	double ms;

	if (!json_object_object_get_ex(obj, key, &value) ||
	    !(json_object_is_type(value, json_type_double) ||
	      json_object_is_type(value, json_type_int)))
		return -1;
	ms = json_object_get_double(value);
	return isfinite(ms) && ms >= 0 ? ms : -1;
}

/* "VG/LV" from the members "vg" and @lv_key, or "". */
static const char *lv_path(struct json_object *obj, const char *lv_key,
			   char *out, size_t size)
{
	if (!*member(obj, "vg") || !*member(obj, lv_key))
		return "";
	snprintf(out, size, "%s/%s", member(obj, "vg"), member(obj, lv_key));
	return out;
}

static void device_from_json(struct json_object *obj,
			     struct snapset_writer_device *dev,
			     struct device_paths *paths)
{
	dev->node = member(obj, "node");
	dev->devno = member(obj, "devno");
	dev->type = member(obj, "type");
	dev->uuid = member(obj, "uuid");
	dev->label = member(obj, "label");
	dev->engine = member(obj, "engine");
	dev->name = lv_path(obj, "lv", paths->name, sizeof(paths->name));
	if (!*dev->name)
		dev->name = *member(obj, "dm_name")
				? member(obj, "dm_name")
				: member(obj, "backing_file");
	dev->origin =
	    lv_path(obj, "origin", paths->origin, sizeof(paths->origin));
	dev->persistent = member_bool(obj, "persistent");
}

static int event_from_msg(struct snapset_writer *w)
{
	struct snapset_writer_event *ev = &w->event;
	struct json_object *set, *devices;
	size_t n;

	json_object_object_get_ex(w->msg.obj, "set", &set);
	json_object_object_get_ex(w->msg.obj, "devices", &devices);
	n = json_object_array_length(devices);
	free(w->devices);
	free(w->paths);
	w->devices = calloc(n ?: 1, sizeof(*w->devices));
	w->paths = calloc(n ?: 1, sizeof(*w->paths));
	if (!w->devices || !w->paths)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		device_from_json(json_object_array_get_idx(devices, i),
				 &w->devices[i], &w->paths[i]);
	*ev = (struct snapset_writer_event){
		.kind = !strcmp(w->msg.kind, PROTO_KIND_COMPLETE)
			    ? SNAPSET_WRITER_BACKUP_COMPLETE
			: !strcmp(w->msg.kind, PROTO_KIND_ABORT)
			    ? SNAPSET_WRITER_ABORT
			    : SNAPSET_WRITER_BACKUP_SHUTDOWN,
		.set_id = member(set, "id"),
		.set_name = member(set, "name"),
		.completed = member_bool(set, "completed"),
		.reason = member(set, "reason"),
		.signal = (int)member_int(set, "signal", 0, INT_MAX, 0),
		.exit_status =
		    (int)member_int(set, "exit_status", INT_MIN, INT_MAX, -1),
		.armed_at = member(set, "armed_at"),
		.ended_at = member(set, "ended_at"),
		.ndevices = n,
		.devices = w->devices,
		/* Not encoded again: w->buf is not read into while it is held.
		 */
		.json = w->msg.repaired ?: w->buf,
	};
	return 0;
}

EXPORT int snapset_writer_event_freeze(const struct snapset_writer *w,
				       const struct snapset_writer_event *event,
				       struct snapset_writer_freeze *freeze,
				       size_t size)
{
	struct snapset_writer_freeze f = { 0 };
	struct json_object *set, *obj;

	if (!w->has_event || event != &w->event ||
	    size < SNAPSET_WRITER_FREEZE_SIZE_VER0)
		return -EINVAL;
	memset(freeze, 0, size);
	if (!json_object_object_get_ex(w->msg.obj, "set", &set) ||
	    !json_object_object_get_ex(set, "freeze", &obj) ||
	    !json_object_is_type(obj, json_type_object))
		return -ENOENT;
	f.filesystems =
	    (unsigned int)member_int(obj, "filesystems", 0, UINT_MAX, 0);
	f.frozen_at = member(obj, "frozen_at");
	f.held_ms = member_ms(obj, "held_ms");
	f.end = member(obj, "end");
	f.foreign_thaw = member_bool(obj, "foreign_thaw");
	f.thaw_failed = member_bool(obj, "thaw_failed");
	memcpy(freeze, &f, size < sizeof(f) ? size : sizeof(f));
	return 0;
}

static struct seen_shutdown *seen_find(struct snapset_writer *w,
				       const char *set_id)
{
	for (unsigned int i = 0; i < SEEN_MAX; i++)
		if (!strcmp(w->seen[i].set_id, set_id))
			return &w->seen[i];
	return NULL;
}

static void seen_add(struct snapset_writer *w, const char *set_id, int error,
		     const char *message)
{
	struct seen_shutdown *s = seen_find(w, set_id);
	char *copy;

	if (!s) {
		s = &w->seen[w->seen_next++ % SEEN_MAX];
		snprintf(s->set_id, sizeof(s->set_id), "%s", set_id);
	}
	/* @message may be this very slot's: copied before it is freed. */
	copy = message ? strdup(message) : NULL;
	free(s->message);
	s->error = error;
	s->message = copy;
}

/* A replayed shutdown gets the answer the first one got. */
static int answer_duplicate(struct snapset_writer *w)
{
	const struct seen_shutdown *s;

	if (w->event.kind != SNAPSET_WRITER_BACKUP_SHUTDOWN ||
	    !(s = seen_find(w, w->event.set_id)))
		return 0;
	return snapset_writer_ack(w, &w->event, s->error, s->message) ?: 1;
}

/*
 * Reads until an event the application has not seen is current: 1 with
 * one, 0 when nothing more is there now, -errno (disconnected).
 */
static int receive_event(struct snapset_writer *w)
{
	int ret;

	if (w->fd < 0)
		return -ENOTCONN;
	while (!w->has_event) {
		ret = receive(w, &w->msg);
		if (ret <= 0)
			goto out;
		if (w->msg.type != PROTO_EVENT) {
			/* bye, or what the daemon never sends now */
			proto_msg_free(&w->msg);
			ret = -ENOTCONN;
			goto out;
		}
		w->has_event = true;
		ret = event_from_msg(w);
		if (!ret)
			ret = answer_duplicate(w);
		if (ret < 0)
			goto out;
	}
	return 1;
out:
	if (ret < 0)
		disconnect(w);
	return ret;
}

/* Milliseconds left of @timeout_ms since @start, or -1 for ever. */
static int time_left(const struct timespec *start, int timeout_ms)
{
	struct timespec now;
	long long spent;

	if (timeout_ms < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	spent = (now.tv_sec - start->tv_sec) * 1000LL +
		(now.tv_nsec - start->tv_nsec) / 1000000;
	return spent >= timeout_ms ? 0 : (int)(timeout_ms - spent);
}

EXPORT int snapset_writer_next(struct snapset_writer *w,
			       const struct snapset_writer_event **event,
			       int timeout_ms)
{
	struct timespec start;
	int ret;

	if (w->has_event)
		return -EBUSY;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (w->fd < 0) {
			/* Blocking for ever: wait for the daemon to return. */
			if (timeout_ms >= 0)
				return -ENOTCONN;
			ret = snapset_writer_reconnect(w);
			/* Refused, or another protocol: waiting won't help. */
			if (ret == -EACCES || ret == -EPROTO)
				return ret;
			if (ret)
				sleep(1);
			continue;
		}
		ret = receive_event(w);
		if (ret > 0) {
			*event = &w->event;
			return 0;
		}
		if (ret == 0)
			ret =
			    wait_readable(w->fd, time_left(&start, timeout_ms));
		if (ret && ret != -ENOTCONN && ret != -EPROTO)
			return ret;
	}
}

EXPORT int snapset_writer_dispatch(struct snapset_writer *w,
				   snapset_writer_handler handler, void *arg)
{
	int ret;

	/* Until the application holds an event or nothing more is there. */
	while (!w->has_event) {
		ret = receive_event(w);
		if (ret <= 0)
			return ret;
		handler(w, &w->event, arg);
	}
	return 0;
}

EXPORT int snapset_writer_ack(struct snapset_writer *w,
			      const struct snapset_writer_event *event,
			      int error, const char *message)
{
	char *text;
	int ret;

	if (!w->has_event || event != &w->event)
		return -EINVAL;
	if (error && !message)
		message = strerror(error);
	/* Encoded first: @message may be the memory seen_add() replaces. */
	text = proto_ack(w->msg.event, error ? message : NULL);
	if (event->kind == SNAPSET_WRITER_BACKUP_SHUTDOWN)
		seen_add(w, event->set_id, error, error ? message : NULL);
	ret = send_text(w->fd, text);
	proto_msg_free(&w->msg);
	w->has_event = false;
	if (ret == -ENOTCONN)
		disconnect(w);
	return ret;
}

EXPORT void snapset_writer_close(struct snapset_writer *w)
{
	if (!w)
		return;
	disconnect(w);
	for (char **m = w->match; m && *m; m++)
		free(*m);
	for (unsigned int i = 0; i < SEEN_MAX; i++)
		free(w->seen[i].message);
	free(w->match);
	free(w->devices);
	free(w->paths);
	free(w->buf);
	free(w->socket_path);
	free(w);
}
