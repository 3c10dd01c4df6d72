// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the record decoder, record_next(), over buffers
 * as LIST and the agent's read() return them. The input is a list of
 * edits to two well-formed records (a shutdown with two devices in this
 * build's layout, a live set with one in a newer kernel's longer one):
 * any field set to any value, strings filled to their end, the buffer
 * cut short or lengthened. Every record decoded must lie within the
 * buffer, aligned, its sizes as the UAPI promises, and be shown as
 * `snapset list`, `snapset watch` and the daemon's release show it.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../userspace/common/format.h"
#include "../../userspace/common/module.h"

#define HEADER_B (sizeof(struct snapset_event) + 16)
#define DEVICE_B (sizeof(struct snapset_device_info) + 8)
#define RECORD_A \
	(sizeof(struct snapset_event) + 2 * sizeof(struct snapset_device_info))
#define RECORD_B (HEADER_B + DEVICE_B)
/* Room for the records and what the edits may add to them. */
#define BUF_MAX (2 * (RECORD_A + RECORD_B))

/* Edits, each an opcode byte and its arguments from the input. */
enum edit {
	EDIT_BYTES,  /* a field: offset, width 1-8, value */
	EDIT_FIELD,  /* a size, count or type of either record, any value */
	EDIT_CUT,    /* the buffer cut at an offset */
	EDIT_EXTEND, /* the buffer made longer by some bytes */
	EDIT_STRING, /* a name or a dm uuid filled, without its NUL */
	EDIT_COUNT,
};

struct input {
	const uint8_t *data;
	size_t left;
};

static uint64_t take(struct input *in, size_t bytes)
{
	uint64_t value = 0;

	for (size_t i = 0; i < bytes && in->left; i++, in->left--)
		value |= (uint64_t)*in->data++ << (8 * i);
	return value;
}

static void device_init(struct snapset_device_info *d, __u32 minor,
			const char *dm_uuid)
{
	d->major = 253;
	d->minor = minor;
	d->diskseq = 40 + minor;
	d->sectors = 2097152;
	snprintf(d->dm_uuid, sizeof(d->dm_uuid), "%s", dm_uuid);
}

/* The two records, A then B, from @buf; their length. */
static size_t records_init(char *buf)
{
	struct snapset_event *a = (void *)buf, *b = (void *)(buf + RECORD_A);

	memset(buf, 0, BUF_MAX);
	record_init(a, SNAPSET_EVENT_SHUTDOWN);
	a->size = RECORD_A;
	a->seq = 7;
	strcpy(a->set.name, "nightly-root");
	strcpy(a->set.owner_comm, "borg");
	a->set.flags = SNAPSET_SET_ARMED | SNAPSET_SET_COMPLETED |
		       SNAPSET_SET_TERMINATED | SNAPSET_SET_EXIT_STATUS;
	a->set.reason = SNAPSET_REASON_EXIT;
	a->set.ndevices = 2;
	a->set.create_realtime = 1795613725123456789ULL;
	a->set.end_realtime = 1795613785123456789ULL;
	a->set.freeze_count = 1;
	a->set.freeze_end = SNAPSET_FREEZE_END_THAWED;
	a->set.freeze_hold_ns = 182400999;
	device_init((void *)snapset_event_device(a, 0), 3,
		    "LVM-0123456789abcdef0123456789abcdef"
		    "fedcba9876543210fedcba9876543210");
	device_init((void *)snapset_event_device(a, 1), 4, "");
	record_init(b, SNAPSET_RECORD_LIVE);
	b->size = RECORD_B;
	b->header_size = HEADER_B;
	b->device_size = DEVICE_B;
	b->set.ndevices = 1;
	b->set.owner_tgid = 4242;
	device_init((void *)snapset_event_device(b, 0), 9, "CRYPT-abc");
	return RECORD_A + RECORD_B;
}

/* The header fields worth most edits: in A, then in B. */
static const size_t fields[] = {
	offsetof(struct snapset_event, type),
	offsetof(struct snapset_event, size),
	offsetof(struct snapset_event, header_size),
	offsetof(struct snapset_event, device_size),
	offsetof(struct snapset_event, set.ndevices),
	offsetof(struct snapset_event, set.flags),
};

#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* A string field of A's and its size, filled from the input. */
static void fill_string(char *buf, struct input *in)
{
	struct snapset_event *a = (void *)buf;
	char *strings[] = {
		a->set.name,
		a->set.owner_comm,
		a->set.closer_comm,
		/* Where its second device was put: its header may be edited. */
		buf + sizeof(*a) + sizeof(struct snapset_device_info) +
		    offsetof(struct snapset_device_info, dm_uuid),
	};
	const size_t sizes[] = { SNAPSET_NAME_LEN, SNAPSET_COMM_LEN,
				 SNAPSET_COMM_LEN, SNAPSET_DM_UUID_LEN };
	size_t which = take(in, 1) % 4;

	for (size_t i = 0; i < sizes[which]; i++)
		strings[which][i] = in->left ? (char)take(in, 1) : 'x';
}

static void edit(char *buf, size_t *len, struct input *in)
{
	size_t at, width;
	uint64_t value;

	switch (take(in, 1) % EDIT_COUNT) {
	case EDIT_BYTES:
		at = take(in, 2) % *len;
		width = take(in, 1) % 8 + 1;
		value = take(in, width);
		memcpy(buf + at, &value, width < *len - at ? width : *len - at);
		break;
	case EDIT_FIELD:
		at = take(in, 1) % (2 * NFIELDS);
		at = fields[at % NFIELDS] + (at < NFIELDS ? 0 : RECORD_A);
		value = take(in, 4);
		if (at + 4 <= *len)
			memcpy(buf + at, &value, 4);
		break;
	case EDIT_CUT:
		*len = take(in, 2) % (*len + 1);
		break;
	case EDIT_EXTEND:
		at = *len;
		*len += take(in, 2) % (BUF_MAX - *len + 1);
		memset(buf + at, (int)take(in, 1), *len - at);
		break;
	default:
		fill_string(buf, in);
		break;
	}
}

/* What the program shows of a decoded record, each way it does. */
static void show(const struct snapset_event *ev, FILE *out)
{
	struct json_object *obj = record_to_json(ev);
	char text[SET_LABEL_LEN], uuid[LV_UUID_LEN];

	assert(json_object_to_json_string(obj));
	json_object_put(obj);
	record_print_line(out, ev);
	set_label(ev->set.name, sizeof(ev->set.name), ev->set.id, text,
		  sizeof(text));
	display_escape(ev->set.name, sizeof(ev->set.name), text, sizeof(text));
	for (__u32 i = 0; i < ev->set.ndevices; i++)
		if (!record_device_lv_uuid(snapset_event_device(ev, i), uuid))
			assert(strlen(uuid) == 38);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char edited[BUF_MAX];
	static FILE *out;
	struct input in = { data, size };
	size_t len = records_init(edited), off = 0, prev = 0;
	const struct snapset_event *ev;
	char *buf;

	if (!out)
		out = fopen("/dev/null", "w");
	while (in.left && len)
		edit(edited, &len, &in);
	/* Exactly @len bytes: ASan sees any read past the records. */
	buf = malloc(len ? len : 1);
	memcpy(buf, edited, len);
	while ((ev = record_next(buf, len, &off))) {
		assert((const char *)ev == buf + prev);
		assert(ev->size % 8 == 0 && ev->size == off - prev);
		assert(ev->header_size >= sizeof(*ev));
		assert(ev->device_size >= sizeof(struct snapset_device_info));
		assert(ev->header_size +
			   (uint64_t)ev->set.ndevices * ev->device_size ==
		       ev->size);
		assert(off <= len);
		show(ev, out);
		prev = off;
	}
	assert(off == prev);
	free(buf);
	return 0;
}
