// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The writer protocol's codec. Parsing is strict: one UTF-8 JSON object
 * (a daemon's invalid UTF-8 repaired) of at most PROTO_MESSAGE_MAX bytes,
 * nested at most a few levels, with a known "type", every member that type
 * requires, no member it does not know, and each value of its type and within
 * its bounds. Whatever fails gets one reason naming the member and what is
 * wrong with it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "protocol.h"

/* Messages are flat but for the event's set and devices. */
#define PROTO_DEPTH 6

struct member {
	const char *key;
	enum json_type type;
	bool required;
};

struct schema {
	const char *type_name;
	enum proto_type type;
	enum proto_sender sender;
	const struct member *members;
};

static const struct member hello_members[] = {
	{ "version", json_type_int, true },
	{ "name", json_type_string, true },
	{ "match", json_type_array, false },
	{},
};

static const struct member status_request_members[] = {
	{ "version", json_type_int, true },
	{},
};

static const struct member ack_members[] = {
	{ "event", json_type_int, true },
	{ "result", json_type_string, true },
	{ "message", json_type_string, false },
	{},
};

static const struct member welcome_members[] = {
	{ "version", json_type_int, true },
	{ "deadline_ms", json_type_int, true },
	{},
};

static const struct member event_members[] = {
	{ "event", json_type_int, true },
	{ "kind", json_type_string, true },
	{ "set", json_type_object, true },
	{ "devices", json_type_array, true },
	{},
};

/* The daemon's view: its members are documented, not fixed here. */
static const struct member status_members[] = {
	{ "daemon", json_type_object, true },
	{ "writers", json_type_array, true },
	{ "history", json_type_array, true },
	{},
};

static const struct member bye_members[] = {
	{ "code", json_type_string, true },
	{ "reason", json_type_string, true },
	{},
};

static const struct schema schemas[] = {
	{ "hello", PROTO_HELLO, PROTO_FROM_WRITER, hello_members },
	{ "status", PROTO_STATUS_REQUEST, PROTO_FROM_WRITER,
	  status_request_members },
	{ "ack", PROTO_ACK, PROTO_FROM_WRITER, ack_members },
	{ "welcome", PROTO_WELCOME, PROTO_FROM_DAEMON, welcome_members },
	{ "event", PROTO_EVENT, PROTO_FROM_DAEMON, event_members },
	{ "status", PROTO_STATUS, PROTO_FROM_DAEMON, status_members },
	{ "bye", PROTO_BYE, PROTO_FROM_DAEMON, bye_members },
};

static int refuse(char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return -EPROTO;
}

static const char *type_word(enum json_type type)
{
	switch (type) {
	case json_type_int:
		return "an integer";
	case json_type_string:
		return "a string";
	case json_type_array:
		return "an array";
	default:
		return "an object";
	}
}

static const struct member *member_find(const struct member *m, const char *key)
{
	for (; m->key; m++)
		if (!strcmp(m->key, key))
			return m;
	return NULL;
}

/* Known members only, each of its type; then every required one. */
static int check_members(struct json_object *obj, const struct member *known,
			 char *why, size_t size)
{
	json_object_object_foreach(obj, key, value)
	{
		const struct member *m = member_find(known, key);

		if (!strcmp(key, "type"))
			continue;
		if (!m)
			return refuse(why, size, "unknown member \"%.64s\"",
				      key);
		if (!json_object_is_type(value, m->type))
			return refuse(why, size, "\"%s\" is not %s", key,
				      type_word(m->type));
	}
	for (; known->key; known++)
		if (known->required &&
		    !json_object_object_get_ex(obj, known->key, NULL))
			return refuse(why, size, "\"%s\" is missing",
				      known->key);
	return 0;
}

static const char *get_string(struct json_object *obj, const char *key)
{
	struct json_object *value;

	return json_object_object_get_ex(obj, key, &value)
		   ? json_object_get_string(value)
		   : NULL;
}

static long long get_int(struct json_object *obj, const char *key)
{
	struct json_object *value;

	return json_object_object_get_ex(obj, key, &value)
		   ? json_object_get_int64(value)
		   : 0;
}

/* A string member must hold no NUL and fit its bound. */
static int check_text(struct json_object *obj, const char *key, size_t max,
		      char *why, size_t size)
{
	struct json_object *value;
	size_t len;

	if (!json_object_object_get_ex(obj, key, &value))
		return 0;
	len = json_object_get_string_len(value);
	if (len > max)
		return refuse(why, size, "\"%s\" is longer than %zu bytes", key,
			      max);
	if (strlen(json_object_get_string(value)) != len)
		return refuse(why, size, "\"%s\" holds a NUL byte", key);
	return 0;
}

bool proto_name_valid(const char *name)
{
	size_t len = strlen(name);

	return len && len <= PROTO_NAME_MAX &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
			    "YZ0123456789._:@+-") == len;
}

bool proto_match_valid(const char *match)
{
	static const char *const prefixes[] = { "UUID=", "LABEL=", "LV=" };
	size_t len = strlen(match);

	if (len > PROTO_MATCH_LEN)
		return false;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t plen = strlen(prefixes[i]);

		if (!strncmp(match, prefixes[i], plen) && len > plen)
			return i < 2 || strchr(match + plen + 1, '/');
	}
	return false;
}

static int parse_version(struct proto_msg *msg, char *why, size_t size)
{
	msg->version = get_int(msg->obj, "version");
	if (msg->version < 1)
		return refuse(why, size, "\"version\" %lld is not a version",
			      msg->version);
	return 0;
}

static int parse_hello(struct proto_msg *msg, char *why, size_t size)
{
	struct json_object *match;
	size_t n;
	int ret = parse_version(msg, why, size);

	if (ret ||
	    (ret = check_text(msg->obj, "name", PROTO_NAME_MAX, why, size)))
		return ret;
	msg->name = get_string(msg->obj, "name");
	if (!proto_name_valid(msg->name))
		return refuse(why, size,
			      "\"name\" must be 1 to %d of A-Z a-z 0-9 . _ : @ "
			      "+ -",
			      PROTO_NAME_MAX);
	if (!json_object_object_get_ex(msg->obj, "match", &match))
		return 0;
	n = json_object_array_length(match);
	if (n > PROTO_MATCH_MAX)
		return refuse(why, size, "\"match\" has more than %d entries",
			      PROTO_MATCH_MAX);
	for (size_t i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(match, i);
		const char *text = json_object_get_string(m);

		if (!json_object_is_type(m, json_type_string) ||
		    strlen(text) != (size_t)json_object_get_string_len(m) ||
		    !proto_match_valid(text))
			return refuse(why, size,
				      "\"match\" entry %zu is not UUID=..., "
				      "LABEL=... or LV=VG/LV",
				      i + 1);
		msg->match[i] = text;
	}
	return 0;
}

static int parse_ack(struct proto_msg *msg, char *why, size_t size)
{
	const char *result = get_string(msg->obj, "result");
	int ret = check_text(msg->obj, "message", PROTO_TEXT_MAX, why, size);

	if (ret)
		return ret;
	msg->event = get_int(msg->obj, "event");
	if (msg->event < 1)
		return refuse(why, size, "\"event\" %lld is no event number",
			      msg->event);
	msg->ok = !strcmp(result, "ok");
	if (!msg->ok && strcmp(result, "error"))
		return refuse(why, size,
			      "\"result\" is neither \"ok\" nor \"error\"");
	msg->text = get_string(msg->obj, "message");
	if (msg->ok && msg->text)
		return refuse(why, size, "an \"ok\" result has a \"message\"");
	return 0;
}

static int parse_event(struct proto_msg *msg, char *why, size_t size)
{
	struct json_object *set, *devices, *id;

	msg->event = get_int(msg->obj, "event");
	msg->kind = get_string(msg->obj, "kind");
	if (msg->event < 1)
		return refuse(why, size, "\"event\" %lld is no event number",
			      msg->event);
	if (strcmp(msg->kind, PROTO_KIND_COMPLETE) &&
	    strcmp(msg->kind, PROTO_KIND_ABORT) &&
	    strcmp(msg->kind, PROTO_KIND_SHUTDOWN))
		return refuse(why, size, "\"kind\" is no event kind");
	json_object_object_get_ex(msg->obj, "set", &set);
	if (!json_object_object_get_ex(set, "id", &id) ||
	    !json_object_is_type(id, json_type_string) ||
	    json_object_get_string_len(id) != 36)
		return refuse(why, size, "\"set\" has no \"id\"");
	json_object_object_get_ex(msg->obj, "devices", &devices);
	for (size_t i = 0; i < json_object_array_length(devices); i++)
		if (!json_object_is_type(json_object_array_get_idx(devices, i),
					 json_type_object))
			return refuse(why, size,
				      "\"devices\" entry %zu is no object",
				      i + 1);
	return 0;
}

static int parse_body(struct proto_msg *msg, char *why, size_t size)
{
	switch (msg->type) {
	case PROTO_HELLO:
		return parse_hello(msg, why, size);
	case PROTO_STATUS_REQUEST:
		return parse_version(msg, why, size);
	case PROTO_ACK:
		return parse_ack(msg, why, size);
	case PROTO_WELCOME:
		msg->deadline_ms = get_int(msg->obj, "deadline_ms");
		return msg->deadline_ms < 1
			   ? refuse(why, size, "\"deadline_ms\" is not > 0")
			   : parse_version(msg, why, size);
	case PROTO_EVENT:
		return parse_event(msg, why, size);
	case PROTO_BYE:
		msg->code = get_string(msg->obj, "code");
		msg->text = get_string(msg->obj, "reason");
		return check_text(msg->obj, "reason", PROTO_TEXT_MAX, why,
				  size);
	default:
		return 0;
	}
}

/*
 * The length of the valid UTF-8 character at @s (1 to 4) within @len
 * bytes, or 0: overlong forms, surrogates and code points past U+10FFFF
 * are not characters.
 */
static size_t utf8_char(const unsigned char *s, size_t len)
{
	size_t need = s[0] < 0x80		     ? 1
		      : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
		      : (s[0] & 0xf0) == 0xe0	     ? 3
		      : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
						     : 0;

	if (!need || need > len)
		return 0;
	for (size_t i = 1; i < need; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return need;
}

size_t proto_utf8_len(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;

	return len ? utf8_char(s, len) : 0;
}

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* proto_utf8_copy() for @len bytes that may hold NULs. */
static size_t utf8_repair(const char *text, size_t len, char *out, size_t size)
{
	size_t i = 0, o = 0, n;

	while (i < len) {
		n = proto_utf8_len(text + i, len - i);
		if (o + (n ?: 3) >= size)
			break;
		memcpy(out + o, n ? text + i : REPLACEMENT, n ?: 3);
		o += n ?: 3;
		i += n ?: 1;
	}
	out[o] = '\0';
	return o;
}

size_t proto_utf8_copy(const char *text, size_t len, char *out, size_t size)
{
	return utf8_repair(text, strnlen(text, len), out, size);
}

/*
 * A daemon's message made valid UTF-8: each byte that starts no UTF-8
 * character replaced, so that one odd byte from a device's label costs a
 * writer that field's byte, not the whole event. *@repaired is the
 * repaired copy, or NULL when @buf needs none; -ENOMEM when one was
 * needed and memory ran out.
 */
static int utf8_repaired(const char *buf, size_t *len, char **repaired)
{
	size_t i, n, size = 3 * *len + 1;

	*repaired = NULL;
	for (i = 0; i < *len; i += n) {
		/* Most of a message is ASCII: it goes by in a tight loop. */
		while (i < *len && !(buf[i] & 0x80))
			i++;
		if (i == *len || !(n = proto_utf8_len(buf + i, *len - i)))
			break;
	}
	if (i == *len)
		return 0;
	*repaired = malloc(size);
	if (!*repaired)
		return -ENOMEM;
	*len = utf8_repair(buf, *len, *repaired, size);
	return 0;
}

static struct json_object *parse_object(const void *buf, size_t len, int flags,
					char *why, size_t size)
{
	struct json_tokener *tok = json_tokener_new_ex(PROTO_DEPTH);
	struct json_object *obj = NULL;

	if (!tok) {
		refuse(why, size, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, flags);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	if (!obj || json_tokener_get_parse_end(tok) != len) {
		refuse(
		    why, size, "not one JSON value: %s",
		    obj ? "trailing bytes"
			: json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(obj);
		obj = NULL;
	} else if (!json_object_is_type(obj, json_type_object)) {
		refuse(why, size, "not a JSON object");
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

static const struct schema *schema_find(const char *type,
					enum proto_sender sender)
{
	for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++)
		if (schemas[i].sender == sender &&
		    !strcmp(schemas[i].type_name, type))
			return &schemas[i];
	return NULL;
}

int proto_parse(const void *buf, size_t len, enum proto_sender sender,
		struct proto_msg *msg, char *why, size_t why_size)
{
	const struct schema *schema;
	int flags = JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8;
	struct json_object *type;
	int ret;

	memset(msg, 0, sizeof(*msg));
	if (!len || len > PROTO_MESSAGE_MAX)
		return refuse(why, why_size, "a message of %zu bytes", len);
	/* A daemon's message is valid UTF-8 once checked or repaired here. */
	if (sender == PROTO_FROM_DAEMON) {
		if (utf8_repaired(buf, &len, &msg->repaired))
			return refuse(why, why_size, "out of memory");
		flags = JSON_TOKENER_STRICT;
	}
	msg->obj =
	    parse_object(msg->repaired ?: buf, len, flags, why, why_size);
	if (!msg->obj) {
		proto_msg_free(msg);
		return -EPROTO;
	}
	if (!json_object_object_get_ex(msg->obj, "type", &type) ||
	    !json_object_is_type(type, json_type_string)) {
		ret = refuse(why, why_size, "no \"type\"");
		goto fail;
	}
	schema = schema_find(json_object_get_string(type), sender);
	if (!schema) {
		ret = refuse(why, why_size, "unknown type \"%.32s\"",
			     json_object_get_string(type));
		goto fail;
	}
	msg->type = schema->type;
	ret = check_members(msg->obj, schema->members, why, why_size);
	if (!ret)
		ret = parse_body(msg, why, why_size);
	if (!ret)
		return 0;
fail:
	proto_msg_free(msg);
	return ret;
}

void proto_msg_free(struct proto_msg *msg)
{
	json_object_put(msg->obj);
	free(msg->repaired);
	memset(msg, 0, sizeof(*msg));
}

/* The message as a malloc()ed string; @obj is put. */
static char *finish(struct json_object *obj)
{
	char *text =
	    strdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));

	json_object_put(obj);
	return text;
}

static struct json_object *message(const char *type)
{
	struct json_object *obj = json_object_new_object();

	json_object_object_add(obj, "type", json_object_new_string(type));
	return obj;
}

static void add_int(struct json_object *obj, const char *key, long long value)
{
	json_object_object_add(obj, key, json_object_new_int64(value));
}

static void add_string(struct json_object *obj, const char *key,
		       const char *value)
{
	json_object_object_add(obj, key, json_object_new_string(value));
}

char *proto_hello(const char *name, const char *const *match)
{
	struct json_object *obj = message("hello"), *array;

	add_int(obj, "version", PROTO_VERSION);
	add_string(obj, "name", name);
	if (match && *match) {
		array = json_object_new_array();
		for (; *match; match++)
			json_object_array_add(array,
					      json_object_new_string(*match));
		json_object_object_add(obj, "match", array);
	}
	return finish(obj);
}

char *proto_status_request(void)
{
	struct json_object *obj = message("status");

	add_int(obj, "version", PROTO_VERSION);
	return finish(obj);
}

char *proto_ack(long long event, const char *error)
{
	struct json_object *obj = message("ack");

	add_int(obj, "event", event);
	add_string(obj, "result", error ? "error" : "ok");
	if (error) {
		char text[PROTO_TEXT_MAX + 1];

		proto_utf8_copy(error, strlen(error), text, sizeof(text));
		json_object_object_add(obj, "message",
				       json_object_new_string(text));
	}
	return finish(obj);
}

char *proto_welcome(long long deadline_ms)
{
	struct json_object *obj = message("welcome");

	add_int(obj, "version", PROTO_VERSION);
	add_int(obj, "deadline_ms", deadline_ms);
	return finish(obj);
}

char *proto_bye(const char *code, const char *reason)
{
	struct json_object *obj = message("bye");

	add_string(obj, "code", code);
	add_string(obj, "reason", reason);
	return finish(obj);
}

static void append(struct proto_text *t, const char *text, size_t len)
{
	size_t size = t->size ?: 512;
	char *buf;

	if (t->failed)
		return;
	while (size < t->len + len + 1)
		size *= 2;
	if (size != t->size) {
		buf = realloc(t->buf, size);
		if (!buf) {
			t->failed = true;
			return;
		}
		t->buf = buf;
		t->size = size;
	}
	memcpy(t->buf + t->len, text, len);
	t->len += len;
}

/* ,"KEY": (no comma before the first member) */
static void append_key(struct proto_text *t, const char *key)
{
	if (t->comma)
		append(t, ",", 1);
	t->comma = true;
	append(t, "\"", 1);
	append(t, key, strlen(key));
	append(t, "\":", 2);
}

void proto_text_int(struct proto_text *t, const char *key, long long value)
{
	char text[24];

	append_key(t, key);
	append(t, text, snprintf(text, sizeof(text), "%lld", value));
}

void proto_text_bool(struct proto_text *t, const char *key, bool value)
{
	append_key(t, key);
	append(t, value ? "true" : "false", value ? 4 : 5);
}

void proto_text_string(struct proto_text *t, const char *key, const char *value,
		       size_t len)
{
	const char *text = NULL;
	size_t text_len = 0;

	if (t->failed)
		return;
	if (!t->scratch)
		t->scratch = json_object_new_string("");
	/*
	 * json-c 0.16 loses the buffer of a long string set to "": the
	 * empty string never goes through the scratch.
	 */
	if (!len)
		text = "\"\"", text_len = 2;
	else if (t->scratch &&
		 json_object_set_string_len(t->scratch, value, len))
		text = json_object_to_json_string_length(
		    t->scratch, JSON_C_TO_STRING_PLAIN, &text_len);
	if (!text) {
		t->failed = true;
		return;
	}
	append_key(t, key);
	append(t, text, text_len);
}

void proto_text_members(struct proto_text *t, const char *members)
{
	if (!*members)
		return;
	if (t->comma)
		append(t, ",", 1);
	t->comma = true;
	append(t, members, strlen(members));
}

char *proto_text_end(struct proto_text *t)
{
	/* A buffer with room for the NUL, even for no member. */
	append(t, "", 0);
	json_object_put(t->scratch);
	if (t->failed) {
		free(t->buf);
		return NULL;
	}
	t->buf[t->len] = '\0';
	return t->buf;
}

/* "KEY":{MEMBERS} or "KEY":[...] as given. */
static void append_value(struct proto_text *t, const char *key,
			 const char *open, const char *json, const char *close)
{
	append_key(t, key);
	append(t, open, strlen(open));
	append(t, json, strlen(json));
	append(t, close, strlen(close));
}

void proto_text_value(struct proto_text *t, const char *key, const char *value)
{
	append_key(t, key);
	append(t, value, strlen(value));
}

void proto_text_object(struct proto_text *t, const char *key,
		       const char *members)
{
	if (!members) {
		t->failed = true;
		return;
	}
	append_value(t, key, "{", members, "}");
}

char *proto_event_text(long long event, const char *kind, const char *set,
		       const char *devices)
{
	struct proto_text t = { 0 };

	append(&t, "{", 1);
	proto_text_string(&t, "type", "event", 5);
	proto_text_int(&t, "event", event);
	proto_text_string(&t, "kind", kind, strlen(kind));
	append_value(&t, "set", "{", set, "}");
	append_value(&t, "devices", "", devices, "");
	append(&t, "}", 1);
	return proto_text_end(&t);
}

char *proto_event(long long event, const char *kind, struct json_object *set,
		  struct json_object *devices)
{
	const char *set_text =
	    set ? json_object_to_json_string_ext(set, JSON_C_TO_STRING_PLAIN)
		: NULL;
	/* The set's members: its text less its braces. */
	char *members =
	    set_text ? strndup(set_text + 1, strlen(set_text) - 2) : NULL;
	const char *devices_text =
	    devices ? json_object_to_json_string_ext(devices,
						     JSON_C_TO_STRING_PLAIN)
		    : NULL;
	char *text = members && devices_text
			 ? proto_event_text(event, kind, members, devices_text)
			 : NULL;

	free(members);
	json_object_put(set);
	json_object_put(devices);
	return text;
}

int proto_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}
