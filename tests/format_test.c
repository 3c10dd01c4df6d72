// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of userspace/common: set ids, names, times, walking
 * untrusted record buffers, and records as JSON (parsed back) and text.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../userspace/common/format.h"
#include "../userspace/common/module.h"
#include "kselftest_harness.h"

static const __u8 sample_id[SNAPSET_ID_LEN] = {
	0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
};

TEST(id_round_trip)
{
	char text[ID_STR_LEN];
	__u8 id[SNAPSET_ID_LEN];

	id_format(sample_id, text);
	EXPECT_STREQ("12345678-9abc-def0-0123-456789abcdef", text);
	ASSERT_EQ(0, id_parse(text, id));
	EXPECT_EQ(0, memcmp(sample_id, id, sizeof(id)));
	ASSERT_EQ(0, id_parse("12345678-9ABC-DEF0-0123-456789ABCDEF", id));
	EXPECT_EQ(0, memcmp(sample_id, id, sizeof(id)));
}

TEST(id_parse_refuses_what_is_not_a_uuid)
{
	__u8 id[SNAPSET_ID_LEN];

	EXPECT_EQ(-EINVAL, id_parse("", id));
	EXPECT_EQ(-EINVAL, id_parse("12345678-9abc-def0-0123-456789abcde", id));
	EXPECT_EQ(-EINVAL,
		  id_parse("12345678-9abc-def0-0123-456789abcdeff", id));
	EXPECT_EQ(-EINVAL,
		  id_parse("12345678x9abc-def0-0123-456789abcdef", id));
	EXPECT_EQ(-EINVAL,
		  id_parse("1234567g-9abc-def0-0123-456789abcdef", id));
	EXPECT_EQ(-EINVAL,
		  id_parse("123456789abcdef00123456789abcdef0000", id));
	/* The 32-digit form, signs and spaces that strtoul() would take. */
	EXPECT_EQ(-EINVAL, id_parse("123456789abcdef00123456789abcdef", id));
	EXPECT_EQ(-EINVAL,
		  id_parse("+2345678-9abc-def0-0123-456789abcdef", id));
	EXPECT_EQ(-EINVAL,
		  id_parse(" 2345678-9abc-def0-0123-456789abcdef", id));
	EXPECT_EQ(-EINVAL,
		  id_parse("12345678-9abc-def0-0123-456789abcde-", id));
	EXPECT_EQ(-EINVAL,
		  id_parse("12345678-9abc-def0-0123-456789abcdef ", id));
}

TEST(names)
{
	EXPECT_STREQ("exit", reason_name(SNAPSET_REASON_EXIT));
	EXPECT_STREQ("released", reason_name(SNAPSET_REASON_RELEASED));
	EXPECT_STREQ("unknown", reason_name(999));
	EXPECT_STREQ("shutdown", event_name(SNAPSET_EVENT_SHUTDOWN));
	EXPECT_STREQ("unknown", event_name(0));
	EXPECT_STREQ("unknown", event_name(999));
}

TEST(time_is_iso8601_utc)
{
	char text[TIME_STR_LEN];

	time_format(1795613725123456789ULL, text);
	EXPECT_STREQ("2026-11-25T13:35:25.123Z", text);
	time_format(0, text);
	EXPECT_STREQ("-", text);
}

/* A shutdown record with @n devices, as the module writes it. */
static struct snapset_event *make_record(unsigned int n)
{
	size_t size = sizeof(struct snapset_event) +
		      n * sizeof(struct snapset_device_info);
	struct snapset_event *ev = calloc(1, size);

	ev->type = SNAPSET_EVENT_SHUTDOWN;
	ev->size = size;
	ev->header_size = sizeof(*ev);
	ev->device_size = sizeof(struct snapset_device_info);
	ev->seq = 42;
	memcpy(ev->set.id, sample_id, sizeof(sample_id));
	strcpy(ev->set.name, "nightly \"root\"");
	ev->set.flags =
	    SNAPSET_SET_ARMED | SNAPSET_SET_TERMINATED | SNAPSET_SET_SIGNAL;
	ev->set.reason = SNAPSET_REASON_EXIT;
	ev->set.signal = 9;
	ev->set.ndevices = n;
	for (unsigned int i = 0; i < n; i++) {
		struct snapset_device_info *dev =
		    (void *)snapset_event_device(ev, i);

		dev->major = 253;
		dev->minor = i;
		dev->sectors = 2048;
		strcpy(dev->dm_uuid, "LVM-abc");
	}
	return ev;
}

TEST(record_next_walks_and_refuses_bad_sizes)
{
	struct snapset_event *ev = make_record(2);
	size_t off = 0;

	EXPECT_EQ(ev, record_next(ev, ev->size, &off));
	EXPECT_EQ(ev->size, off);
	EXPECT_EQ(NULL, record_next(ev, ev->size, &off));

	off = 0;
	EXPECT_EQ(NULL, record_next(ev, ev->size - 1, &off));
	EXPECT_EQ(0, off);
	ev->size += 8;
	EXPECT_EQ(NULL, record_next(ev, ev->size, &off));
	ev->size -= 8;
	ev->set.ndevices = 1000;
	EXPECT_EQ(NULL, record_next(ev, ev->size, &off));
	off = ev->size + 1;
	EXPECT_EQ(NULL, record_next(ev, ev->size, &off));
	ev->set.ndevices = 2;
	off = 0;
	ev->header_size -= 8;
	EXPECT_EQ(NULL, record_next(ev, ev->size, &off));
	ev->header_size += 8;
	ev->device_size -= 8;
	EXPECT_EQ(NULL, record_next(ev, ev->size, &off));
	free(ev);
}

/*
 * The UAPI promises parts in multiples of 8: a record whose header or
 * devices are not would leave the next record, or a device, misaligned.
 */
TEST(record_next_refuses_sizes_not_multiples_of_8)
{
	struct snapset_event *ev = make_record(2);
	size_t off = 0;

	ev->header_size += 4;
	ev->size += 4;
	ev = realloc(ev, ev->size);
	ASSERT_NE(NULL, ev);
	EXPECT_EQ(NULL, record_next(ev, ev->size, &off));
	ev->header_size -= 4;
	ev->device_size += 2;
	EXPECT_EQ(NULL, record_next(ev, ev->size, &off));
	EXPECT_EQ(0, off);
	free(ev);
}

/*
 * A newer kernel's record, both parts longer: read by the sizes it gives,
 * its devices found where it put them.
 */
TEST(record_next_reads_a_longer_layout)
{
	const size_t hdr = sizeof(struct snapset_event) + 16;
	const size_t dev = sizeof(struct snapset_device_info) + 24;
	struct snapset_event *ev = calloc(1, hdr + 2 * dev);
	size_t off = 0;

	ASSERT_NE(NULL, ev);
	ev->type = SNAPSET_EVENT_SHUTDOWN;
	ev->size = hdr + 2 * dev;
	ev->header_size = hdr;
	ev->device_size = dev;
	ev->set.ndevices = 2;
	((struct snapset_device_info *)((char *)ev + hdr + dev))->minor = 7;
	EXPECT_EQ(ev, record_next(ev, ev->size, &off));
	EXPECT_EQ(ev->size, off);
	EXPECT_EQ(7, snapset_event_device(ev, 1)->minor);
	free(ev);
}

TEST(record_json_parses_back)
{
	struct snapset_event *ev = make_record(1);
	struct json_object *obj = record_to_json(ev), *parsed, *field, *dev;

	parsed = json_tokener_parse(json_object_to_json_string(obj));
	ASSERT_NE(NULL, parsed);
	ASSERT_TRUE(json_object_object_get_ex(parsed, "id", &field));
	EXPECT_STREQ("12345678-9abc-def0-0123-456789abcdef",
		     json_object_get_string(field));
	ASSERT_TRUE(json_object_object_get_ex(parsed, "name", &field));
	EXPECT_STREQ("nightly \"root\"", json_object_get_string(field));
	ASSERT_TRUE(json_object_object_get_ex(parsed, "reason", &field));
	EXPECT_STREQ("exit", json_object_get_string(field));
	ASSERT_TRUE(json_object_object_get_ex(parsed, "signal", &field));
	EXPECT_EQ(9, json_object_get_int(field));
	ASSERT_TRUE(json_object_object_get_ex(parsed, "completed", &field));
	EXPECT_FALSE(json_object_get_boolean(field));
	ASSERT_TRUE(json_object_object_get_ex(parsed, "devices", &field));
	ASSERT_EQ(1, json_object_array_length(field));
	dev = json_object_array_get_idx(field, 0);
	ASSERT_TRUE(json_object_object_get_ex(dev, "devno", &field));
	EXPECT_STREQ("253:0", json_object_get_string(field));
	ASSERT_TRUE(json_object_object_get_ex(dev, "size", &field));
	EXPECT_EQ(2048 * 512, json_object_get_int64(field));
	json_object_put(parsed);
	json_object_put(obj);
	free(ev);
}

/*
 * A device's size in bytes, from an untrusted count of sectors: up to
 * 8 EiB exact, past it the most a JSON int64 holds, never overflowed.
 */
TEST(device_size_past_8_eib_is_clamped)
{
	static const struct {
		__u64 sectors;
		int64_t bytes;
	} cases[] = {
		{ INT64_MAX / 512, INT64_MAX / 512 * 512 },
		{ INT64_MAX / 512 + 1, INT64_MAX },
		{ UINT64_MAX, INT64_MAX },
	};
	struct snapset_device_info dev = { .major = 8 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *obj, *size;

		dev.sectors = cases[i].sectors;
		obj = device_info_to_json(&dev);
		ASSERT_TRUE(json_object_object_get_ex(obj, "size", &size));
		EXPECT_EQ(cases[i].bytes, json_object_get_int64(size));
		json_object_put(obj);
	}
}

/* @ev's set frozen: 2 filesystems, writes held 182.4 ms, thawed. */
static void froze(struct snapset_event *ev)
{
	ev->set.freeze_count = 2;
	ev->set.freeze_realtime = 1795613725500000000ULL;
	ev->set.freeze_end = SNAPSET_FREEZE_END_THAWED;
	ev->set.freeze_hold_ns = 182400999;
}

/* @key of @obj's "freeze" as JSON text, or NULL (no freeze, no @key). */
static const char *freeze_member(struct json_object *obj, const char *key)
{
	struct json_object *freeze, *value;

	if (!json_object_object_get_ex(obj, "freeze", &freeze) ||
	    !json_object_object_get_ex(freeze, key, &value))
		return NULL;
	return json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN);
}

/*
 * The freeze is there only when the set froze: its count, when, how
 * long (null while it holds), how it ended, and whether someone else
 * thawed first.
 */
TEST(record_json_has_the_freeze_only_when_frozen)
{
	struct snapset_event *ev = make_record(0);
	struct json_object *obj = record_to_json(ev), *freeze;

	EXPECT_FALSE(json_object_object_get_ex(obj, "freeze", &freeze));
	json_object_put(obj);
	froze(ev);
	obj = record_to_json(ev);
	EXPECT_STREQ("2", freeze_member(obj, "filesystems"));
	EXPECT_STREQ("\"2026-11-25T13:35:25.500Z\"",
		     freeze_member(obj, "frozen_at"));
	EXPECT_STREQ("182.400", freeze_member(obj, "held_ms"));
	EXPECT_STREQ("\"thawed\"", freeze_member(obj, "end"));
	EXPECT_STREQ("false", freeze_member(obj, "foreign_thaw"));
	EXPECT_STREQ("false", freeze_member(obj, "thaw_failed"));
	json_object_put(obj);
	ev->set.freeze_end = SNAPSET_FREEZE_END_NONE;
	ev->set.freeze_hold_ns = 0;
	ev->set.flags |= SNAPSET_SET_FREEZE_FOREIGN;
	obj = record_to_json(ev);
	EXPECT_STREQ("null", freeze_member(obj, "held_ms"));
	EXPECT_STREQ("\"frozen\"", freeze_member(obj, "end"));
	EXPECT_STREQ("true", freeze_member(obj, "foreign_thaw"));
	EXPECT_STREQ("false", freeze_member(obj, "thaw_failed"));
	json_object_put(obj);
	free(ev);
}

/* Events to writers have the members list --json has, the freeze too. */
TEST(set_text_is_the_set_json)
{
	static const __u32 ends[] = {
		SNAPSET_FREEZE_END_NONE,
		SNAPSET_FREEZE_END_THAWED,
		SNAPSET_FREEZE_END_EXPIRED,
		SNAPSET_FREEZE_END_TERMINATED,
	};
	struct snapset_event *ev = make_record(0);

	froze(ev);
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		struct json_object *obj;
		char *text, *want;
		const char *json;

		ev->set.freeze_end = ends[i];
		obj = set_info_to_json(&ev->set);
		json =
		    json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
		want = strndup(json + 1, strlen(json) - 2);
		text = set_members_text(&ev->set, NULL);
		EXPECT_STREQ(want, text);
		free(text);
		free(want);
		json_object_put(obj);
	}
	free(ev);
}

TEST(record_line_escapes_names)
{
	struct snapset_event *ev = make_record(0);
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	ASSERT_NE(NULL, out);
	strcpy(ev->set.name, "a b\n");
	record_print_line(out, ev);
	fclose(out);
	EXPECT_NE(NULL, strstr(text, " name=a\\x20b\\x0a "));
	EXPECT_NE(NULL, strstr(text, " reason=exit signal=9 "));
	EXPECT_EQ(1,
		  (int)(strchr(text, '\n') - text == (long)strlen(text) - 1));
	free(text);
	free(ev);
}

/* Whether @ev's line, as `snapset watch` prints it, holds @text. */
static bool line_has(const struct snapset_event *ev, const char *text)
{
	char *line = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&line, &size);
	bool found;

	if (!out)
		return false;
	record_print_line(out, ev);
	fclose(out);
	found = strstr(line, text);
	free(line);
	return found;
}

/*
 * Each event's line has the time of its own step, not the set's creation;
 * complete and abort carry no devices, so they show no "devices=0".
 */
TEST(watch_line_has_the_event_time_and_its_devices)
{
	struct snapset_event *ev = make_record(1);

	ev->set.create_realtime = 1795613725000000000ULL;
	ev->set.arm_realtime = 1795613726000000000ULL;
	ev->set.complete_realtime = 1795613727000000000ULL;
	ev->set.end_realtime = 1795613728000000000ULL;
	EXPECT_TRUE(line_has(ev, " 2026-11-25T13:35:28.000Z "));
	EXPECT_TRUE(line_has(ev, " devices=1\n"));
	ev->type = SNAPSET_EVENT_ARMED;
	EXPECT_TRUE(line_has(ev, " 2026-11-25T13:35:26.000Z "));
	ev->type = SNAPSET_EVENT_DEVICE_ADDED;
	EXPECT_TRUE(line_has(ev, " device=253:0\n"));
	/* As the module sends them: the set's fields, no device. */
	ev->set.ndevices = 0;
	ev->type = SNAPSET_EVENT_COMPLETE;
	EXPECT_TRUE(line_has(ev, " 2026-11-25T13:35:27.000Z "));
	EXPECT_FALSE(line_has(ev, "devices="));
	ev->type = SNAPSET_EVENT_ABORT;
	EXPECT_TRUE(line_has(ev, " 2026-11-25T13:35:28.000Z "));
	EXPECT_FALSE(line_has(ev, "devices="));
	free(ev);
}

/*
 * A set that froze says how the freeze went on each of its lines; the
 * deadline's own event is dated by the thaw it made.
 */
TEST(watch_line_has_the_freeze)
{
	struct snapset_event *ev = make_record(1);

	EXPECT_FALSE(line_has(ev, "freeze"));
	froze(ev);
	EXPECT_TRUE(line_has(ev, " signal=9 freeze=thawed froze=2 "
				 "held_ms=182.400 devices=1\n"));
	ev->set.flags |= SNAPSET_SET_FREEZE_FOREIGN;
	EXPECT_TRUE(line_has(ev, " held_ms=182.400 foreign_thaw=1 "));
	ev->set.flags |= SNAPSET_SET_THAW_FAILED;
	EXPECT_TRUE(line_has(ev, " foreign_thaw=1 thaw_failed=1 devices=1\n"));
	ev->set.flags &=
	    ~(SNAPSET_SET_FREEZE_FOREIGN | SNAPSET_SET_THAW_FAILED);
	ev->set.freeze_end = SNAPSET_FREEZE_END_NONE;
	EXPECT_TRUE(line_has(ev, " freeze=frozen froze=2 devices=1\n"));
	ev->type = SNAPSET_EVENT_FREEZE_EXPIRED;
	ev->set.ndevices = 0;
	ev->set.flags = 0;
	ev->set.freeze_end = SNAPSET_FREEZE_END_EXPIRED;
	ev->set.freeze_hold_ns = 10000000000ULL;
	EXPECT_TRUE(line_has(ev, " freeze-expired  2026-11-25T13:35:35.500Z "));
	EXPECT_TRUE(line_has(ev, " completed=0 freeze=expired froze=2 "
				 "held_ms=10000.000\n"));
	free(ev);
}

/*
 * What a terminal is shown: valid UTF-8 as it is, but control characters
 * (C0, DEL, C1), quotes, backslashes and invalid bytes escaped.
 */
TEST(display_escape_keeps_text_and_escapes_controls)
{
	static const struct {
		const char *value, *shown;
	} cases[] = {
		{ "caf\xc3\xa9 data", "caf\xc3\xa9 data" },
		{ "caf\xe9", "caf\\xe9" },
		{ "a\x1b]0;owned\x07\n", "a\\x1b]0;owned\\x07\\x0a" },
		{ "\x7f\xc2\x9b", "\\x7f\\xc2\\x9b" },
		{ "say \"hi\" \\", "say \\x22hi\\x22 \\x5c" },
		{ "\xc3\xa9t\xc3", "\xc3\xa9t\\xc3" },
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		display_escape(cases[i].value, 64, out, sizeof(out));
		EXPECT_STREQ(cases[i].shown, out);
	}
	/* Bounded by the field's size and by the output's, never cut in two. */
	display_escape("abcdef", 3, out, sizeof(out));
	EXPECT_STREQ("abc", out);
	display_escape("a\xc3\xa9\xc3\xa9", 64, out, 7);
	EXPECT_STREQ("a\xc3\xa9", out);
}

TEST_HARNESS_MAIN
