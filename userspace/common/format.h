/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How sets and events are written for people and for programs: set ids
 * as UUIDs, names of reasons and events, ISO 8601 times, and records as
 * text lines or json-c objects.
 */
#ifndef SNAPSET_COMMON_FORMAT_H
#define SNAPSET_COMMON_FORMAT_H

#include <json-c/json.h>
#include <linux/snapset.h>
#include <stdint.h>
#include <stdio.h>

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" and its NUL. */
#define ID_STR_LEN 37
/* "2026-11-25T13:50:01.123Z" and its NUL. */
#define TIME_STR_LEN 32

void id_format(const __u8 id[SNAPSET_ID_LEN], char out[ID_STR_LEN]);
/* Accepts the 36-character UUID form, any case; -EINVAL otherwise. */
int id_parse(const char *text, __u8 id[SNAPSET_ID_LEN]);

const char *reason_name(__u32 reason);
const char *event_name(__u32 type);

/*
 * How a set's freeze ended (enum snapset_freeze_end): "thawed",
 * "expired", "terminated"; "frozen" while it holds writes.
 */
const char *freeze_end_name(__u32 end);
/* How long writes were held, ns as milliseconds to the microsecond. */
#define HELD_MS_STR_LEN 32
void held_ms_format(__u64 ns, char out[HELD_MS_STR_LEN]);
/* The same as a JSON number, written as held_ms_format() writes it. */
struct json_object *json_held_ms(__u64 ns);

/* CLOCK_REALTIME ns as UTC ISO 8601 with milliseconds; "-" for 0. */
void time_format(__u64 realtime_ns, char out[TIME_STR_LEN]);

/*
 * A name from a process or a device, at most @size bytes, with anything
 * but printable ASCII written \xNN: safe in logs and environments.
 */
#define NAME_ESCAPED_LEN (4 * SNAPSET_NAME_LEN + 1)
void name_escape(const char *value, size_t size, char *out, size_t out_size);
/* The same for a message in someone's words: spaces are kept. */
void text_escape(const char *value, size_t size, char *out, size_t out_size);
/*
 * The same for a terminal: spaces and valid UTF-8 (a label "café") are
 * kept, control characters, '"' and invalid bytes are written \xNN.
 * Takes up to 4 * @size + 1 bytes.
 */
void display_escape(const char *value, size_t size, char *out, size_t out_size);

/* Copies @src to @out, cut on a whole UTF-8 character when it is longer. */
void text_copy(char *out, size_t size, const char *src);

/* "set NAME (ID)", or "set ID" without a name: the name escaped. */
#define SET_LABEL_LEN (NAME_ESCAPED_LEN + ID_STR_LEN + 8)
void set_label(const char *name, size_t name_size,
	       const __u8 id[SNAPSET_ID_LEN], char *out, size_t size);

/* "10", "1.5s", "5m", "2h", "1d" as milliseconds; -EINVAL otherwise. */
int parse_duration(const char *text, long *ms);

/* Sets @obj's member @key, invalid UTF-8 replaced (U+FFFD). */
void json_add_string(struct json_object *obj, const char *key,
		     const char *value);
/* Sets @obj's member @key to @value, text of ours in ASCII: no repair. */
void json_add_ascii(struct json_object *obj, const char *key,
		    const char *value);
void json_add_int(struct json_object *obj, const char *key, int64_t value);
/* @obj's member @key as text (numbers too), or @missing without it. */
const char *json_member(struct json_object *obj, const char *key,
			const char *missing);

/* One record as a JSON object (the caller puts it). */
struct json_object *record_to_json(const struct snapset_event *ev);
/* Its parts as they appear in it: the set's members, and one device's. */
struct json_object *set_info_to_json(const struct snapset_set_info *s);
struct json_object *device_info_to_json(const struct snapset_device_info *d);
/* A set's "freeze" member as set_info_to_json() has it. */
struct json_object *freeze_info_to_json(const struct snapset_set_info *s);
/*
 * A set's members as set_info_to_json() has them, as JSON text without
 * braces (malloc()ed; NULL out of memory), for events to writers. What
 * the set's arm fixes (id, name, owner, creation and arm) can be encoded
 * once, at arm, into a struct set_fixed: set_members_text() then writes
 * only what the end brings, and takes the rest from @fixed (NULL: none)
 * when it is of the same set.
 */
struct set_fixed {
	struct snapset_set_info set; /* what @text was made of */
	char *text[3];		     /* NULL: not encoded */
};
int set_fixed_encode(const struct snapset_set_info *s, struct set_fixed *f);
void set_fixed_free(struct set_fixed *f);
char *set_members_text(const struct snapset_set_info *s,
		       const struct set_fixed *fixed);
/* One record as one line of text, with the newline. */
void record_print_line(FILE *out, const struct snapset_event *ev);

#endif
