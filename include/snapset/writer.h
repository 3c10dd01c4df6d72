/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsnapset: the client library for application writers.
 *
 * A writer (a database, a service) connects to the snapset daemon,
 * registers a name and optionally which snapshots it cares about, and
 * then receives one event at a time: BackupComplete, abort, and
 * BackupShutdown when a snapshot set ended. It acknowledges each event,
 * ok or with an error message, before it gets the next. A set that ended
 * without BackupComplete arrives as a BackupShutdown with completed == 0:
 * the backup failed, and the writer does its error handling (keep WAL,
 * leave backup mode, ...).
 *
 * Two ways to use it:
 *  - blocking: snapset_writer_next() waits for the next event (and
 *    reconnects by itself when the daemon restarts);
 *  - in the application's own loop: poll snapset_writer_fd() for
 *    POLLIN, then call snapset_writer_dispatch().
 *
 * Every call returns 0 or a negative errno, like liburing. The daemon
 * replays a shutdown it could not finish delivering (it was killed, it
 * restarted): the library drops such duplicates by set id and answers
 * them with the acknowledgement given the first time. An event this
 * writer missed while the daemon ran on (it was not connected, or lost
 * its connection before acknowledging) is not sent again: the daemon
 * reports that delivery as failed.
 *
 * The wire protocol is in docs/writer-protocol.md.
 */
#ifndef SNAPSET_WRITER_H
#define SNAPSET_WRITER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The protocol version this library speaks. */
#define SNAPSET_WRITER_PROTOCOL 1
/* Where the daemon listens unless configured otherwise. */
#define SNAPSET_WRITER_SOCKET "/run/snapset/writer.sock"

enum snapset_writer_kind {
	SNAPSET_WRITER_BACKUP_COMPLETE = 1, /* the requester said complete */
	SNAPSET_WRITER_ABORT,		    /* the requester aborted */
	SNAPSET_WRITER_BACKUP_SHUTDOWN,	    /* the set ended: always sent */
};

/* A snapshot device of the set, as the daemon described it. */
struct snapset_writer_device {
	const char *node;   /* "/dev/dm-3", or "" once gone */
	const char *devno;  /* "253:3" */
	const char *type;   /* filesystem TYPE (libblkid), or "" */
	const char *uuid;   /* filesystem UUID: the origin's too */
	const char *label;  /* filesystem LABEL, or "" */
	const char *engine; /* "lvm", "dm", "loop", or "" */
	const char *name;   /* "VG/LV", the dm name or the loop file */
	const char *origin; /* "VG/LV" of a snapshot's origin, or "" */
	int persistent;	    /* kept past the set's end */
};

/* One event. Strings stay valid until the event is acknowledged. */
struct snapset_writer_event {
	enum snapset_writer_kind kind;
	const char *set_id;   /* the set's UUID */
	const char *set_name; /* its name, or "" */
	int completed;	      /* BackupComplete happened */
	const char *reason;   /* "close", "exit", "abort", "lost", ... or "" */
	int signal;	      /* what ended the requester, or 0 */
	int exit_status;      /* its exit status, or -1 */
	const char *armed_at; /* when the snapshots were committed (ISO 8601) */
	const char *ended_at; /* ISO 8601, or "" */
	size_t ndevices;
	const struct snapset_writer_device *devices;
	/*
	 * The whole event as the daemon sent it, invalid UTF-8 replaced:
	 * JSON json-c's strict parser accepted, not re-encoded.
	 */
	const char *json;
};

/*
 * The filesystems the event's set froze for its snapshots (snapset run
 * --freeze), from snapset_writer_event_freeze(). Its strings live as
 * long as the event's.
 */
struct snapset_writer_freeze {
	unsigned int filesystems; /* how many it froze */
	const char *frozen_at;	  /* when (ISO 8601) */
	double held_ms;		  /* how long writes were held; -1 while held */
	const char *end;  /* "thawed", "expired", "terminated", "frozen" */
	int foreign_thaw; /* someone else thawed one first */
	int thaw_failed;  /* the kernel failed to thaw one */
};

/* The smallest size snapset_writer_event_freeze() takes: 1.1's fields. */
#define SNAPSET_WRITER_FREEZE_SIZE_VER0 \
	(offsetof(struct snapset_writer_freeze, thaw_failed) + sizeof(int))

struct snapset_writer;

/**
 * snapset_writer_connect() - connect and register with the daemon
 * @socket_path: the daemon's socket, or NULL for the default.
 * @name: the writer's name in reports: 1 to 63 of [A-Za-z0-9._:@+-].
 * @match: NULL, or a NULL-terminated list of "UUID=...", "LABEL=..." or
 *         "LV=VG/LV": only sets with a snapshot that matches (a snapshot
 *         carries its origin's filesystem UUID and LABEL) are delivered.
 * @out: the new writer.
 *
 * Return: 0; -ENOENT or -ECONNREFUSED when no daemon listens, -EACCES
 * when it refuses this user, -EINVAL for a bad name or match, -EPROTO
 * when the daemon speaks another protocol.
 */
int snapset_writer_connect(const char *socket_path, const char *name,
			   const char *const *match,
			   struct snapset_writer **out);

/**
 * snapset_writer_reconnect() - connect again after the daemon went away
 * @w: the writer; its name, match and duplicate memory are kept.
 *
 * The fd changes: poll the new snapset_writer_fd(). An event not yet
 * acknowledged is dropped (its strings with it). A running daemon that
 * lost this writer while it held the event (the writer disconnected or
 * missed its deadline) counts that delivery as failed and does not send
 * it again; only a record the daemon did not finish (it stopped or died
 * first) is sent again, by the next daemon, for BackupShutdown once.
 */
int snapset_writer_reconnect(struct snapset_writer *w);

/* The fd to poll for POLLIN; -1 while disconnected. */
int snapset_writer_fd(const struct snapset_writer *w);

/**
 * snapset_writer_next() - wait for the next event
 * @w: the writer.
 * @event: the event, owned by @w until snapset_writer_ack().
 * @timeout_ms: how long to wait; -1 waits for ever, reconnecting while
 *              the daemon is away.
 *
 * Return: 0 with an event, -ETIMEDOUT, -EBUSY while the previous event
 * is not acknowledged; with a timeout, -ENOTCONN once the connection
 * ended (the daemon went away, or sent something unreadable). Waiting
 * for ever, it reconnects by itself, and fails only with what waiting
 * will not mend: -EACCES (refused) or -EPROTO (another protocol).
 */
int snapset_writer_next(struct snapset_writer *w,
			const struct snapset_writer_event **event,
			int timeout_ms);

typedef void (*snapset_writer_handler)(struct snapset_writer *w,
				       const struct snapset_writer_event *event,
				       void *arg);

/**
 * snapset_writer_dispatch() - handle what arrived, without blocking
 * @w: the writer.
 * @handler: called with each new event; it acknowledges it now or later.
 * @arg: passed to @handler.
 *
 * While the application holds an event, the daemon sends nothing: leave
 * the fd out of the poll set until snapset_writer_ack(), or poll would
 * report the daemon going away again and again.
 *
 * Return: 0 (nothing more to read now), or a negative errno once the
 * connection ended: -ENOTCONN when the daemon went away, -EPROTO when it
 * sent something unreadable, -ENOMEM. The fd is then closed
 * (snapset_writer_fd() is -1): reconnect, then poll the new fd.
 */
int snapset_writer_dispatch(struct snapset_writer *w,
			    snapset_writer_handler handler, void *arg);

/**
 * snapset_writer_ack() - acknowledge the current event
 * @w: the writer.
 * @event: the event being acknowledged.
 * @error: 0 when the writer handled it, or a positive errno.
 * @message: NULL, or what went wrong in the writer's words (reported
 *           by the daemon; at most 1024 bytes are sent, and a byte that
 *           is not UTF-8 goes as U+FFFD).
 */
int snapset_writer_ack(struct snapset_writer *w,
		       const struct snapset_writer_event *event, int error,
		       const char *message);

/**
 * snapset_writer_event_freeze() - how the event's set froze filesystems
 * @w: the writer.
 * @event: its current event.
 * @freeze: filled in, all zero first.
 * @size: sizeof(*@freeze) as the caller knows it: the struct may grow at
 *        its end, and the library fills what both know.
 *
 * New in libsnapset 1.1 (symbol version SNAPSET_1.1): a writer that calls
 * it needs that library, not an older one. The event struct itself does
 * not grow, so a writer built against an older header keeps working.
 *
 * Return: 0; -ENOENT when the set froze nothing (or the daemon does not
 * say); -EINVAL when @event is not @w's current event, or @size is less
 * than %SNAPSET_WRITER_FREEZE_SIZE_VER0.
 */
int snapset_writer_event_freeze(const struct snapset_writer *w,
				const struct snapset_writer_event *event,
				struct snapset_writer_freeze *freeze,
				size_t size);

/* Closes the connection and frees @w and its current event. */
void snapset_writer_close(struct snapset_writer *w);

#ifdef __cplusplus
}
#endif

#endif
