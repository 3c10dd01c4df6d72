// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the daemon's side of an event: a record and a
 * device description holding arbitrary bytes (labels, loop files and
 * process names are in no known encoding) are encoded as the daemon
 * does, and parsed back as libsnapset does. The event must always parse,
 * and every field that was valid UTF-8 must come back as it went. The
 * set's members composed as text, with or without the parts encoded at
 * arm, must be what json-c writes for them, a freeze's included.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../userspace/common/device.h"
#include "../../userspace/common/format.h"
#include "../../userspace/lib/protocol.h"

struct field {
	const char *key;
	char *value;
	size_t size;
};

/* Fills @out (@size bytes, NUL-terminated) from the input's next bytes. */
static void take(const uint8_t **data, size_t *left, char *out, size_t size)
{
	size_t n = *left ? **data : 0;

	if (*left) {
		(*data)++;
		(*left)--;
	}
	n = n % size;
	if (n > *left)
		n = *left;
	memcpy(out, *data, n);
	out[n] = '\0';
	*data += n;
	*left -= n;
}

/* Whether @value is valid UTF-8, so that it must come back unchanged. */
static int stays(const char *value)
{
	char copy[1024];

	return proto_utf8_copy(value, strlen(value), copy, sizeof(copy)) ==
	       strlen(value);
}

static void check(struct json_object *obj, const struct field *f)
{
	struct json_object *value;

	if (!f->value[0] || !stays(f->value))
		return;
	assert(json_object_object_get_ex(obj, f->key, &value));
	assert(!strcmp(json_object_get_string(value), f->value));
}

/* @s's members as text are @set's, as json-c writes them, less braces. */
static void check_text(struct json_object *set,
		       const struct snapset_set_info *s)
{
	const char *json =
	    json_object_to_json_string_ext(set, JSON_C_TO_STRING_PLAIN);
	struct set_fixed fixed = { 0 };
	char *text = set_members_text(s, NULL), *cached;

	assert(!set_fixed_encode(s, &fixed));
	cached = set_members_text(s, &fixed);
	assert(text && cached);
	assert(strlen(json) == strlen(text) + 2);
	assert(!strncmp(json + 1, text, strlen(text)));
	assert(!strcmp(text, cached));
	set_fixed_free(&fixed);
	free(text);
	free(cached);
}

/* The set's freeze from the input's next bytes: any count, end, hold. */
static void take_freeze(const uint8_t **data, size_t *left,
			struct snapset_set_info *s)
{
	uint8_t bytes[10] = { 0 };
	size_t n = *left < sizeof(bytes) ? *left : sizeof(bytes);

	memcpy(bytes, *data, n);
	*data += n;
	*left -= n;
	s->freeze_count = bytes[0];
	s->freeze_end = bytes[1];
	s->flags |= bytes[1] & 0x80 ? SNAPSET_SET_FREEZE_FOREIGN : 0;
	memcpy(&s->freeze_hold_ns, bytes + 2, sizeof(s->freeze_hold_ns));
	s->freeze_realtime = s->freeze_count ? 1764000001000000000ULL : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapset_event ev = { .type = SNAPSET_EVENT_SHUTDOWN };
	struct device_desc desc = { 0 };
	const struct field fields[] = {
		{ "node", desc.node, sizeof(desc.node) },
		{ "type", desc.type, sizeof(desc.type) },
		{ "uuid", desc.uuid, sizeof(desc.uuid) },
		{ "label", desc.label, sizeof(desc.label) },
		{ "backing_file", desc.backing, sizeof(desc.backing) },
		{ "dm_name", desc.dm_name, sizeof(desc.dm_name) },
	};
	struct json_object *set, *devices, *dev;
	struct proto_msg msg;
	char *text, why[256];

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		take(&data, &size, fields[i].value, fields[i].size);
	take(&data, &size, ev.set.owner_comm, sizeof(ev.set.owner_comm));
	take_freeze(&data, &size, &ev.set);
	set = set_info_to_json(&ev.set);
	check_text(set, &ev.set);
	devices = json_object_new_array();
	dev = json_object_new_object();
	device_desc_to_json(&desc, dev);
	json_object_array_add(devices, dev);
	text = proto_event(1, PROTO_KIND_SHUTDOWN, set, devices);
	assert(text);
	assert(!proto_parse(text, strlen(text), PROTO_FROM_DAEMON, &msg, why,
			    sizeof(why)));
	json_object_object_get_ex(msg.obj, "devices", &devices);
	dev = json_object_array_get_idx(devices, 0);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		check(dev, &fields[i]);
	json_object_object_get_ex(msg.obj, "set", &set);
	check(set, &(struct field){ "owner_comm", ev.set.owner_comm, 0 });
	proto_msg_free(&msg);
	free(text);
	return 0;
}
