// SPDX-License-Identifier: GPL-2.0
/*
 * Sets and events written for people (aligned text, ISO 8601) and for
 * programs (JSON through json-c, never escaped by hand).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

#include "../lib/protocol.h"
#include "format.h"
#include "module.h"

/* A set id is printed and read as a UUID: libuuid's own text form. */
void id_format(const __u8 id[SNAPSET_ID_LEN], char out[ID_STR_LEN])
{
	uuid_unparse_lower(id, out);
}

int id_parse(const char *text, __u8 id[SNAPSET_ID_LEN])
{
	return uuid_parse(text, id) ? -EINVAL : 0;
}

/* @names[@i], or "unknown" past its end or in a gap. */
static const char *table_name(const char *const *names, size_t n, __u32 i)
{
	return i < n && names[i] ? names[i] : "unknown";
}

#define TABLE_NAME(names, i) \
	table_name(names, sizeof(names) / sizeof(names[0]), i)

const char *reason_name(__u32 reason)
{
	static const char *const names[] = {
		[SNAPSET_REASON_NONE] = "none",
		[SNAPSET_REASON_CLOSE] = "close",
		[SNAPSET_REASON_EXIT] = "exit",
		[SNAPSET_REASON_RELEASED] = "released",
		[SNAPSET_REASON_ABORT] = "abort",
		[SNAPSET_REASON_ADMIN] = "admin",
	};

	if (reason == SNAPSET_REASON_LOST)
		return "lost";
	return TABLE_NAME(names, reason);
}

const char *event_name(__u32 type)
{
	static const char *const names[] = {
		[SNAPSET_EVENT_CREATED] = "created",
		[SNAPSET_EVENT_DEVICE_ADDED] = "device-added",
		[SNAPSET_EVENT_ARMED] = "armed",
		[SNAPSET_EVENT_COMPLETE] = "complete",
		[SNAPSET_EVENT_DEVICE_RELEASED] = "device-released",
		[SNAPSET_EVENT_ABORT] = "abort",
		[SNAPSET_EVENT_SHUTDOWN] = "shutdown",
		[SNAPSET_EVENT_OVERFLOW] = "overflow",
		[SNAPSET_RECORD_LIVE] = "live",
		[SNAPSET_RECORD_PENDING] = "pending",
		[SNAPSET_EVENT_FREEZE_EXPIRED] = "freeze-expired",
	};

	return TABLE_NAME(names, type);
}

const char *freeze_end_name(__u32 end)
{
	static const char *const names[] = {
		[SNAPSET_FREEZE_END_NONE] = "frozen",
		[SNAPSET_FREEZE_END_THAWED] = "thawed",
		[SNAPSET_FREEZE_END_EXPIRED] = "expired",
		[SNAPSET_FREEZE_END_TERMINATED] = "terminated",
	};

	return TABLE_NAME(names, end);
}

void held_ms_format(__u64 ns, char out[HELD_MS_STR_LEN])
{
	snprintf(out, HELD_MS_STR_LEN, "%llu.%03llu",
		 (unsigned long long)(ns / 1000000),
		 (unsigned long long)(ns / 1000 % 1000));
}

struct json_object *json_held_ms(__u64 ns)
{
	char text[HELD_MS_STR_LEN];

	held_ms_format(ns, text);
	return json_object_new_double_s((double)ns / 1e6, text);
}

void time_format(__u64 realtime_ns, char out[TIME_STR_LEN])
{
	time_t secs = realtime_ns / 1000000000;
	struct tm tm;
	size_t len;

	if (!realtime_ns || !gmtime_r(&secs, &tm)) {
		strcpy(out, "-");
		return;
	}
	len = strftime(out, TIME_STR_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + len, TIME_STR_LEN - len, ".%03uZ",
		 (unsigned int)(realtime_ns / 1000000 % 1000));
}

/*
 * At most @size bytes of @value as a JSON string: names and labels from
 * devices and processes are in no known encoding, and the writer
 * protocol is UTF-8 (NULL, a JSON null, when out of memory).
 */
static struct json_object *json_text(const char *value, size_t size)
{
	size_t len = strnlen(value, size), out_size = 3 * len + 1;
	struct json_object *obj;
	char *text = malloc(out_size);

	if (!text)
		return NULL;
	len = proto_utf8_copy(value, len, text, out_size);
	obj = json_object_new_string_len(text, (int)len);
	free(text);
	return obj;
}

void json_add_string(struct json_object *obj, const char *key,
		     const char *value)
{
	json_object_object_add(obj, key, json_text(value, SIZE_MAX));
}

void json_add_ascii(struct json_object *obj, const char *key, const char *value)
{
	json_object_object_add(obj, key, json_object_new_string(value));
}

void text_copy(char *out, size_t size, const char *src)
{
	size_t len = strlen(src), cut = size - 1, i = cut;

	if (len < size) {
		memcpy(out, src, len + 1);
		return;
	}
	/* Back to the start of the character that the cut falls into. */
	while (i > 0 && cut - i < 3 && (src[i] & 0xc0) == 0x80)
		i--;
	if (proto_utf8_len(src + i, len - i) > cut - i)
		cut = i;
	memcpy(out, src, cut);
	out[cut] = '\0';
}

void json_add_int(struct json_object *obj, const char *key, int64_t value)
{
	json_object_object_add(obj, key, json_object_new_int64(value));
}

const char *json_member(struct json_object *obj, const char *key,
			const char *missing)
{
	struct json_object *value;

	return json_object_object_get_ex(obj, key, &value)
		   ? json_object_get_string(value)
		   : missing;
}

/* Names come from processes and users: bounded, never trusted as C strings. */
static void add_bounded(struct json_object *obj, const char *key,
			const char *value, size_t size)
{
	json_object_object_add(obj, key, json_text(value, size));
}

/*
 * Bytes of @sectors; a record is not trusted, and a count past JSON's
 * int64 (8 EiB, no real disk) is written as its most, not overflowed.
 */
static int64_t sectors_bytes(__u64 sectors)
{
	return sectors > INT64_MAX / 512 ? INT64_MAX : (int64_t)sectors * 512;
}

struct json_object *device_info_to_json(const struct snapset_device_info *d)
{
	struct json_object *obj = json_object_new_object();
	char devno[24];

	if (!obj)
		return NULL;
	snprintf(devno, sizeof(devno), "%u:%u", d->major, d->minor);
	json_add_ascii(obj, "devno", devno);
	json_add_int(obj, "diskseq", (int64_t)d->diskseq);
	json_add_int(obj, "size", sectors_bytes(d->sectors));
	json_object_object_add(
	    obj, "persistent",
	    json_object_new_boolean(d->flags & SNAPSET_DEVICE_PERSISTENT));
	json_object_object_add(
	    obj, "released",
	    json_object_new_boolean(d->flags & SNAPSET_DEVICE_RELEASED));
	if (d->dm_uuid[0])
		add_bounded(obj, "dm_uuid", d->dm_uuid, sizeof(d->dm_uuid));
	return obj;
}

/*
 * Where a set's members are written: a json-c object (list, watch), or
 * text (events to writers, struct proto_text). The same parts below
 * write both, so both have the same members in the same order.
 */
struct members {
	struct json_object *obj; /* or NULL: @text */
	struct proto_text *text;
};

static void member_int(const struct members *m, const char *key, int64_t v)
{
	if (m->obj)
		json_add_int(m->obj, key, v);
	else
		proto_text_int(m->text, key, v);
}

static void member_bool(const struct members *m, const char *key, bool v)
{
	if (m->obj)
		json_object_object_add(m->obj, key, json_object_new_boolean(v));
	else
		proto_text_bool(m->text, key, v);
}

/* Text of ours, ASCII: no repair. */
static void member_ascii(const struct members *m, const char *key,
			 const char *value)
{
	if (m->obj)
		json_add_ascii(m->obj, key, value);
	else
		proto_text_string(m->text, key, value, strlen(value));
}

/* A set's name or a process's: at most SNAPSET_NAME_LEN bytes. */
static void member_name(const struct members *m, const char *key,
			const char *value, size_t size)
{
	char text[3 * SNAPSET_NAME_LEN + 1];

	if (m->obj) {
		add_bounded(m->obj, key, value, size);
		return;
	}
	size = proto_utf8_copy(
	    value, size < SNAPSET_NAME_LEN ? size : SNAPSET_NAME_LEN, text,
	    sizeof(text));
	proto_text_string(m->text, key, text, size);
}

static void member_time(const struct members *m, const char *key, __u64 ns)
{
	char text[TIME_STR_LEN];

	if (!ns)
		return;
	time_format(ns, text);
	member_ascii(m, key, text);
}

/*
 * The parts of a set, in order: those at even places are fixed by its
 * arm (set_fixed_same() says which fields they read), those at odd
 * places come with its end.
 */
static void set_identity(const struct members *m,
			 const struct snapset_set_info *s)
{
	char id[ID_STR_LEN];

	id_format(s->id, id);
	member_ascii(m, "id", id);
	member_name(m, "name", s->name, sizeof(s->name));
	member_bool(m, "armed", s->flags & SNAPSET_SET_ARMED);
}

static void set_outcome(const struct members *m,
			const struct snapset_set_info *s)
{
	member_bool(m, "completed", s->flags & SNAPSET_SET_COMPLETED);
	if (s->flags & SNAPSET_SET_TERMINATED)
		member_ascii(m, "reason", reason_name(s->reason));
	if (s->flags & SNAPSET_SET_EXIT_STATUS)
		member_int(m, "exit_status", s->exit_status);
	if (s->flags & SNAPSET_SET_SIGNAL)
		member_int(m, "signal", s->signal);
	if (s->flags & SNAPSET_SET_TOMBSTONE)
		member_bool(m, "tombstone", true);
}

static void set_owner(const struct members *m, const struct snapset_set_info *s)
{
	member_int(m, "owner_pid", s->owner_tgid);
	member_int(m, "owner_uid", s->owner_uid);
	member_name(m, "owner_comm", s->owner_comm, sizeof(s->owner_comm));
}

static void set_closer(const struct members *m,
		       const struct snapset_set_info *s)
{
	if (!s->closer_tgid)
		return;
	member_int(m, "closer_pid", s->closer_tgid);
	member_name(m, "closer_comm", s->closer_comm, sizeof(s->closer_comm));
}

static void set_start_times(const struct members *m,
			    const struct snapset_set_info *s)
{
	member_time(m, "created", s->create_realtime);
	member_time(m, "armed_at", s->arm_realtime);
}

/* How long the freeze held writes: null while it holds them. */
static void member_held(const struct members *m,
			const struct snapset_set_info *s)
{
	bool held = s->freeze_end != SNAPSET_FREEZE_END_NONE;
	char text[HELD_MS_STR_LEN] = "null";

	if (m->obj) {
		json_object_object_add(m->obj, "held_ms",
				       held ? json_held_ms(s->freeze_hold_ns)
					    : NULL);
		return;
	}
	if (held)
		held_ms_format(s->freeze_hold_ns, text);
	proto_text_value(m->text, "held_ms", text);
}

/* The filesystems the set froze: how many, when, how long, how it ended. */
static void freeze_members(const struct members *m,
			   const struct snapset_set_info *s)
{
	member_int(m, "filesystems", s->freeze_count);
	member_time(m, "frozen_at", s->freeze_realtime);
	member_held(m, s);
	member_ascii(m, "end", freeze_end_name(s->freeze_end));
	member_bool(m, "foreign_thaw", s->flags & SNAPSET_SET_FREEZE_FOREIGN);
	member_bool(m, "thaw_failed", s->flags & SNAPSET_SET_THAW_FAILED);
}

struct json_object *freeze_info_to_json(const struct snapset_set_info *s)
{
	struct members m = { .obj = json_object_new_object() };

	if (m.obj)
		freeze_members(&m, s);
	return m.obj;
}

/* "freeze": an object of freeze_members(). */
static void set_freeze(const struct members *m,
		       const struct snapset_set_info *s)
{
	struct proto_text text = { 0 };
	struct members inner = { .text = &text };
	char *members;

	if (m->obj) {
		json_object_object_add(m->obj, "freeze",
				       freeze_info_to_json(s));
		return;
	}
	freeze_members(&inner, s);
	members = proto_text_end(&text);
	proto_text_object(m->text, "freeze", members);
	free(members);
}

/*
 * Its end's times, then its freeze, only when it froze: the set's last
 * member, so that a set that never froze is written as before.
 */
static void set_end_times(const struct members *m,
			  const struct snapset_set_info *s)
{
	member_time(m, "completed_at", s->complete_realtime);
	member_time(m, "ended_at", s->end_realtime);
	if (s->freeze_count)
		set_freeze(m, s);
}

static void (*const set_parts[])(const struct members *,
				 const struct snapset_set_info *) = {
	set_identity, set_outcome,     set_owner,
	set_closer,   set_start_times, set_end_times,
};

#define SET_PARTS (sizeof(set_parts) / sizeof(set_parts[0]))
_Static_assert(SET_PARTS / 2 ==
		   sizeof(((struct set_fixed *)0)->text) / sizeof(char *),
	       "a text of struct set_fixed for each fixed part");

static void add_set(struct json_object *obj, const struct snapset_set_info *s)
{
	struct members m = { .obj = obj };

	for (size_t i = 0; i < SET_PARTS; i++)
		set_parts[i](&m, s);
}

/* Whether @a and @b agree on every field the fixed parts read. */
static bool set_fixed_same(const struct snapset_set_info *a,
			   const struct snapset_set_info *b)
{
	return !memcmp(a->id, b->id, sizeof(a->id)) &&
	       !memcmp(a->name, b->name, sizeof(a->name)) &&
	       (a->flags & SNAPSET_SET_ARMED) ==
		   (b->flags & SNAPSET_SET_ARMED) &&
	       a->owner_tgid == b->owner_tgid && a->owner_uid == b->owner_uid &&
	       !memcmp(a->owner_comm, b->owner_comm, sizeof(a->owner_comm)) &&
	       a->create_realtime == b->create_realtime &&
	       a->arm_realtime == b->arm_realtime;
}

int set_fixed_encode(const struct snapset_set_info *s, struct set_fixed *f)
{
	/* The daemon encodes the copy it keeps in @f itself. */
	if (&f->set != s)
		f->set = *s;
	for (size_t i = 0; i < SET_PARTS / 2; i++) {
		struct proto_text text = { 0 };
		struct members m = { .text = &text };

		set_parts[2 * i](&m, s);
		f->text[i] = proto_text_end(&text);
		if (!f->text[i]) {
			set_fixed_free(f);
			return -ENOMEM;
		}
	}
	return 0;
}

void set_fixed_free(struct set_fixed *f)
{
	for (size_t i = 0; i < SET_PARTS / 2; i++) {
		free(f->text[i]);
		f->text[i] = NULL;
	}
}

char *set_members_text(const struct snapset_set_info *s,
		       const struct set_fixed *fixed)
{
	struct proto_text text = { 0 };
	struct members m = { .text = &text };
	bool cached = fixed && fixed->text[0] && set_fixed_same(&fixed->set, s);

	for (size_t i = 0; i < SET_PARTS; i++) {
		if (cached && i % 2 == 0)
			proto_text_members(&text, fixed->text[i / 2]);
		else
			set_parts[i](&m, s);
	}
	return proto_text_end(&text);
}

struct json_object *set_info_to_json(const struct snapset_set_info *s)
{
	struct json_object *obj = json_object_new_object();

	if (obj)
		add_set(obj, s);
	return obj;
}

struct json_object *record_to_json(const struct snapset_event *ev)
{
	struct json_object *obj = json_object_new_object();
	struct json_object *devices;

	json_add_string(obj, "event", event_name(ev->type));
	if (ev->seq)
		json_add_int(obj, "seq", (int64_t)ev->seq);
	if (ev->type == SNAPSET_EVENT_OVERFLOW) {
		json_add_int(obj, "missed", (int64_t)ev->missed);
		return obj;
	}
	add_set(obj, &ev->set);
	devices = json_object_new_array();
	for (__u32 i = 0; i < ev->set.ndevices; i++)
		json_object_array_add(
		    devices, device_info_to_json(snapset_event_device(ev, i)));
	json_object_object_add(obj, "devices", devices);
	return obj;
}

/*
 * Writes @value with \xNN for each byte below @lowest or past ASCII, and
 * for '\\'; with @utf8, valid UTF-8 characters but C1 controls are kept,
 * and '"' is escaped too.
 */
static void escape(const char *value, size_t size, char *out, size_t out_size,
		   char lowest, bool utf8)
{
	size_t o = 0, n;

	size = strnlen(value, size);
	for (size_t i = 0; i < size && o + 5 <= out_size; i += n) {
		unsigned char c = value[i];

		n = utf8 ? proto_utf8_len(value + i, size - i) : 1;
		if (n > 1 &&
		    !(c == 0xc2 && (unsigned char)value[i + 1] < 0xa0)) {
			if (o + n >= out_size)
				break;
			memcpy(out + o, value + i, n);
			o += n;
			continue;
		}
		n = 1;
		if (c >= lowest && c < 0x7f && c != '\\' && !(utf8 && c == '"'))
			out[o++] = c;
		else
			o += snprintf(out + o, out_size - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

void name_escape(const char *value, size_t size, char *out, size_t out_size)
{
	escape(value, size, out, out_size, ' ' + 1, false);
}

void text_escape(const char *value, size_t size, char *out, size_t out_size)
{
	escape(value, size, out, out_size, ' ', false);
}

void display_escape(const char *value, size_t size, char *out, size_t out_size)
{
	escape(value, size, out, out_size, ' ', true);
}

void set_label(const char *name, size_t name_size,
	       const __u8 id[SNAPSET_ID_LEN], char *out, size_t size)
{
	char text[ID_STR_LEN], escaped[NAME_ESCAPED_LEN];

	id_format(id, text);
	name_escape(name, name_size, escaped, sizeof(escaped));
	if (escaped[0])
		snprintf(out, size, "set %s (%s)", escaped, text);
	else
		snprintf(out, size, "set %s", text);
}

static void print_escaped(FILE *out, const char *value, size_t size)
{
	char escaped[NAME_ESCAPED_LEN];

	name_escape(value, size, escaped, sizeof(escaped));
	fputs(escaped, out);
}

/*
 * When the event happened: the set's time of that step (create, arm,
 * complete, end). Device events carry none and get the end of the set,
 * or now.
 */
static __u64 event_realtime(const struct snapset_event *ev)
{
	const struct snapset_set_info *s = &ev->set;
	struct timespec now;

	switch (ev->type) {
	case SNAPSET_EVENT_CREATED:
	case SNAPSET_RECORD_LIVE:
		return s->create_realtime;
	case SNAPSET_EVENT_ARMED:
		return s->arm_realtime;
	case SNAPSET_EVENT_COMPLETE:
		return s->complete_realtime;
	case SNAPSET_EVENT_ABORT:
	case SNAPSET_EVENT_SHUTDOWN:
	case SNAPSET_RECORD_PENDING:
		return s->end_realtime;
	case SNAPSET_EVENT_FREEZE_EXPIRED:
		/* The deadline's thaw: the freeze, and the hold it ended. */
		return s->freeze_realtime + s->freeze_hold_ns;
	default:
		/* A device event carries no time of its own: it is read now. */
		clock_gettime(CLOCK_REALTIME, &now);
		return s->end_realtime
			   ?: (__u64)now.tv_sec * 1000000000 +
				  (__u64)now.tv_nsec;
	}
}

/*
 * The devices an event carries: all of the set's for armed, shutdown and
 * list records, the one concerned for device events, none for the others
 * (so no count is shown for them: it would read 0).
 */
static void print_devices(FILE *out, const struct snapset_event *ev)
{
	const struct snapset_device_info *d;

	switch (ev->type) {
	case SNAPSET_EVENT_ARMED:
	case SNAPSET_EVENT_SHUTDOWN:
	case SNAPSET_RECORD_LIVE:
	case SNAPSET_RECORD_PENDING:
		fprintf(out, " devices=%u", ev->set.ndevices);
		break;
	case SNAPSET_EVENT_DEVICE_ADDED:
	case SNAPSET_EVENT_DEVICE_RELEASED:
		if (!ev->set.ndevices)
			break;
		d = snapset_event_device(ev, 0);
		fprintf(out, " device=%u:%u", d->major, d->minor);
		break;
	default:
		break;
	}
}

/* " freeze=thawed froze=2 held_ms=182.400", when the set froze. */
static void print_freeze(FILE *out, const struct snapset_set_info *s)
{
	char held[HELD_MS_STR_LEN];

	if (!s->freeze_count)
		return;
	fprintf(out, " freeze=%s froze=%u", freeze_end_name(s->freeze_end),
		s->freeze_count);
	if (s->freeze_end != SNAPSET_FREEZE_END_NONE) {
		held_ms_format(s->freeze_hold_ns, held);
		fprintf(out, " held_ms=%s", held);
	}
	if (s->flags & SNAPSET_SET_FREEZE_FOREIGN)
		fputs(" foreign_thaw=1", out);
	if (s->flags & SNAPSET_SET_THAW_FAILED)
		fputs(" thaw_failed=1", out);
}

void record_print_line(FILE *out, const struct snapset_event *ev)
{
	const struct snapset_set_info *s = &ev->set;
	char id[ID_STR_LEN], when[TIME_STR_LEN];

	if (ev->type == SNAPSET_EVENT_OVERFLOW) {
		fprintf(out, "%-8llu overflow        missed %llu events\n",
			(unsigned long long)ev->seq,
			(unsigned long long)ev->missed);
		return;
	}
	id_format(s->id, id);
	time_format(event_realtime(ev), when);
	fprintf(out, "%-8llu %-15s %s %s name=", (unsigned long long)ev->seq,
		event_name(ev->type), when, id);
	print_escaped(out, s->name, sizeof(s->name));
	fprintf(out, " completed=%d", !!(s->flags & SNAPSET_SET_COMPLETED));
	if (s->flags & SNAPSET_SET_TERMINATED)
		fprintf(out, " reason=%s", reason_name(s->reason));
	if (s->flags & SNAPSET_SET_SIGNAL)
		fprintf(out, " signal=%u", s->signal);
	if (s->flags & SNAPSET_SET_EXIT_STATUS)
		fprintf(out, " exit_status=%u", s->exit_status);
	print_freeze(out, s);
	print_devices(out, ev);
	fputc('\n', out);
}

int parse_duration(const char *text, long *ms)
{
	static const struct {
		char suffix;
		double ms;
	} units[] = {
		{ 's', 1e3 }, { 'm', 60e3 }, { 'h', 3600e3 }, { 'd', 86400e3 }
	};
	double value, scale = 1e3;
	char *end;

	errno = 0;
	value = strtod(text, &end);
	if (errno || end == text || !isfinite(value) || value < 0 ||
	    strchr(text, 'x') || strchr(text, 'X'))
		return -EINVAL;
	if (*end) {
		size_t i;

		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (*end == units[i].suffix)
				break;
		if (i == sizeof(units) / sizeof(units[0]) || end[1])
			return -EINVAL;
		scale = units[i].ms;
	}
	if (value * scale > (double)LONG_MAX)
		return -EINVAL;
	*ms = (long)ceil(value * scale);
	return 0;
}
