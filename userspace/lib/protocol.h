/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The writer protocol's codec (docs/writer-protocol.md), shared by
 * libsnapset and the daemon: one JSON object per SOCK_SEQPACKET message,
 * each checked member by member. Anything unexpected is refused with a
 * reason fit for a log line; nothing here trusts its input. Invalid UTF-8
 * from the daemon is repaired rather than refused: it can only come from
 * a device or process name, and a writer must not lose its event to it.
 */
#ifndef SNAPSET_LIB_PROTOCOL_H
#define SNAPSET_LIB_PROTOCOL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#define PROTO_VERSION 1
/* The largest message either side sends or accepts. */
#define PROTO_MESSAGE_MAX 65536
#define PROTO_NAME_MAX 63
#define PROTO_MATCH_MAX 16
#define PROTO_MATCH_LEN 255
#define PROTO_TEXT_MAX 1024

enum proto_type {
	/* writer to daemon */
	PROTO_HELLO = 1,
	PROTO_STATUS_REQUEST,
	PROTO_ACK,
	/* daemon to writer */
	PROTO_WELCOME,
	PROTO_EVENT,
	PROTO_STATUS,
	PROTO_BYE,
};

enum proto_sender {
	PROTO_FROM_WRITER,
	PROTO_FROM_DAEMON,
};

/* A parsed message; its strings live as long as @obj. */
struct proto_msg {
	enum proto_type type;
	long long version; /* hello, status request, welcome */
	const char *name;  /* hello */
	const char *match[PROTO_MATCH_MAX + 1]; /* hello; NULL-terminated */
	long long event;       /* ack, event: the event's number */
	bool ok;	       /* ack */
	const char *text;      /* ack: the error; bye: the reason */
	const char *code;      /* bye: one of PROTO_BYE_* */
	const char *kind;      /* event */
	long long deadline_ms; /* welcome */
	struct json_object *obj;
	/* A daemon's message with its invalid UTF-8 replaced, or NULL. */
	char *repaired;
};

/*
 * Parses one message from @sender; 0, or -EPROTO with the reason in
 * @why. A message that parsed is released with proto_msg_free().
 */
int proto_parse(const void *buf, size_t len, enum proto_sender sender,
		struct proto_msg *msg, char *why, size_t why_size);
void proto_msg_free(struct proto_msg *msg);

/* 1 to PROTO_NAME_MAX of [A-Za-z0-9._:@+-]. */
bool proto_name_valid(const char *name);
/* "UUID=...", "LABEL=..." or "LV=VG/LV", at most PROTO_MATCH_LEN bytes. */
bool proto_match_valid(const char *match);

/*
 * The length of the UTF-8 character that starts @text (1 to 4 bytes,
 * within @len), or 0 when none does.
 */
size_t proto_utf8_len(const char *text, size_t len);
/*
 * Copies @text, up to its NUL or @len bytes, to @out as UTF-8 any JSON
 * parser accepts: each byte that starts no character becomes U+FFFD, and
 * the copy ends on a whole character within @size (NUL included). Returns
 * the bytes written, NUL excluded. Strings from devices and processes
 * (labels, file names, process names) are in no known encoding.
 */
size_t proto_utf8_copy(const char *text, size_t len, char *out, size_t size);

/* A SOCK_SEQPACKET connection to the daemon at @path: an fd or -errno. */
int proto_connect(const char *path);

/* Event kinds on the wire. */
#define PROTO_KIND_COMPLETE "backup-complete"
#define PROTO_KIND_ABORT "abort"
#define PROTO_KIND_SHUTDOWN "backup-shutdown"

/* Why the daemon closes a connection, in a word a program can test. */
#define PROTO_BYE_DENIED "denied"     /* peer not allowed */
#define PROTO_BYE_VERSION "version"   /* protocol version not spoken */
#define PROTO_BYE_PROTOCOL "protocol" /* a message was refused */
#define PROTO_BYE_DEADLINE "deadline" /* an event was not acknowledged */
#define PROTO_BYE_STOPPING "stopping" /* the daemon is stopping */

/*
 * Messages as text to send: a malloc()ed string the caller frees, NULL
 * when out of memory. @match is NULL-terminated or NULL; @error NULL
 * for an ok acknowledgement.
 */
char *proto_hello(const char *name, const char *const *match);
char *proto_status_request(void);
char *proto_ack(long long event, const char *error);
char *proto_welcome(long long deadline_ms);
char *proto_bye(const char *code, const char *reason);
/* Takes @set and @devices; @kind is one of PROTO_KIND_*. */
char *proto_event(long long event, const char *kind, struct json_object *set,
		  struct json_object *devices);

/*
 * The same event from text encoded earlier, for a daemon that keeps the
 * parts of its events that do not change: @set is the set's members as
 * JSON text without braces (struct proto_text), @devices the devices'
 * JSON array. NULL out of memory.
 */
char *proto_event_text(long long event, const char *kind, const char *set,
		       const char *devices);

/*
 * JSON members as text, composed one by one without a json-c object of
 * them (strings are still escaped by json-c): for the parts of a message
 * that are encoded once and sent many times. Keys are the caller's own
 * words, which need no escaping. A member that runs out of memory fails
 * the whole text (proto_text_end() returns NULL).
 */
struct proto_text {
	char *buf;
	size_t len;
	size_t size;
	bool comma; /* a member is written: the next one after a comma */
	bool failed;
	struct json_object *scratch; /* a string value, written by json-c */
};
void proto_text_int(struct proto_text *t, const char *key, long long value);
void proto_text_bool(struct proto_text *t, const char *key, bool value);
/* @value as it is: UTF-8 already (see proto_utf8_copy()). */
void proto_text_string(struct proto_text *t, const char *key, const char *value,
		       size_t len);
/* @value, a JSON number or null of the caller's, as it is. */
void proto_text_value(struct proto_text *t, const char *key, const char *value);
/*
 * An object of @members, a proto_text_end() of the caller's (NULL: it
 * ran out of memory, and so does this text).
 */
void proto_text_object(struct proto_text *t, const char *key,
		       const char *members);
/* Members written earlier, as this text wrote them. */
void proto_text_members(struct proto_text *t, const char *members);
/* The members written (malloc()ed), or NULL: out of memory. */
char *proto_text_end(struct proto_text *t);

#endif
