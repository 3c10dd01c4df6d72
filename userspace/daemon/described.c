// SPDX-License-Identifier: GPL-2.0
/*
 * A set's devices as writers are told of them: each with the record's
 * identity of it and what it was while it existed (or, for an LV of a
 * lost set, what lvs and libblkid said). Described once, shared by the
 * set's notices, matched against writers' matches field by field, and
 * turned into JSON once, with the members of the set that its arm fixes,
 * before the set's events need them: an event encodes only what the
 * set's end brings.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/format.h"
#include "../common/lvm.h"
#include "../lib/protocol.h"
#include "daemon.h"

static struct described_devices *devices_alloc(struct described_devices *old,
					       unsigned int count)
{
	struct described_devices *devs =
	    realloc(old, sizeof(*devs) + count * sizeof(devs->dev[0]));

	if (!devs)
		return NULL;
	if (!old) {
		devs->refs = 1;
		devs->unknown = false;
		devs->set = (struct set_fixed){ 0 };
	} else {
		/* Grown: its text is of fewer devices. */
		free(devs->json);
	}
	devs->json = NULL;
	devs->count = count;
	return devs;
}

/* What the device at @info's number is now, if it is still that disk. */
static void describe_now(const struct snapset_device_info *info,
			 const char *set_id, struct device_desc *desc)
{
	if (device_describe(info->major, info->minor, info->diskseq, desc)) {
		memset(desc, 0, sizeof(*desc));
		return;
	}
	/* A thin snapshot's origin, from the name run gave it. */
	if (desc->lv[0] && !desc->origin[0])
		lvm_snapshot_origin(desc->lv, set_id, desc->origin,
				    sizeof(desc->origin));
}

/* Never freed: devices_get() and devices_put() leave it alone. */
static struct described_devices unknown_devices = { .refs = 1,
						    .unknown = true };

struct described_devices *devices_describe(const struct snapset_event *ev)
{
	struct described_devices *devs = devices_alloc(NULL, ev->set.ndevices);
	char id[ID_STR_LEN];

	if (!devs)
		return &unknown_devices;
	devs->set.set = ev->set;
	id_format(ev->set.id, id);
	for (__u32 i = 0; i < ev->set.ndevices; i++) {
		struct described_device *dev = &devs->dev[i];

		dev->recorded = true;
		dev->info = *snapset_event_device(ev, i);
		describe_now(&dev->info, id, &dev->desc);
	}
	return devs;
}

int devices_add_lost(struct described_devices **devs,
		     const struct snapset_lv *lv)
{
	struct described_devices *grown = NULL;
	struct described_device *dev;

	if (!*devs || !(*devs)->unknown)
		grown = devices_alloc(*devs, *devs ? (*devs)->count + 1 : 1);
	if (!grown) {
		/* One LV left out would hide the set from its writers. */
		devices_put(*devs);
		*devs = &unknown_devices;
		return -ENOMEM;
	}
	*devs = grown;
	dev = &grown->dev[grown->count - 1];
	memset(dev, 0, sizeof(*dev));
	/* Its filesystem's UUID and LABEL, which are its origin's. */
	if (!lv->major || device_describe(lv->major, lv->minor, 0, &dev->desc))
		memset(&dev->desc, 0, sizeof(dev->desc));
	strcpy(dev->desc.engine, "lvm");
	text_copy(dev->desc.vg, sizeof(dev->desc.vg), lv->vg);
	text_copy(dev->desc.lv, sizeof(dev->desc.lv), lv->lv);
	/* LVM's word: a thin snapshot's origin is in its metadata only. */
	if (lv->origin[0])
		text_copy(dev->desc.origin, sizeof(dev->desc.origin),
			  lv->origin);
	return 0;
}

struct described_devices *devices_get(struct described_devices *devs)
{
	if (devs && !devs->unknown)
		devs->refs++;
	return devs;
}

void devices_put(struct described_devices *devs)
{
	if (devs && !devs->unknown && --devs->refs == 0) {
		free(devs->json);
		set_fixed_free(&devs->set);
		free(devs);
	}
}

/* Whether @vg_lv is "VG/LV" of @desc's VG and @lv. */
static bool lv_equals(const struct device_desc *desc, const char *lv,
		      const char *vg_lv)
{
	size_t vg_len = strlen(desc->vg);

	return desc->vg[0] && lv[0] && !strncmp(vg_lv, desc->vg, vg_len) &&
	       vg_lv[vg_len] == '/' && !strcmp(vg_lv + vg_len + 1, lv);
}

/*
 * Whether @value, as the event shows it to writers (its invalid UTF-8
 * repaired), is @want: a match is written against what writers see.
 */
static bool shown_as(const char *value, const char *want, bool any_case)
{
	char shown[3 * sizeof(((struct device_desc *)0)->label) + 1];

	proto_utf8_copy(value, strlen(value), shown, sizeof(shown));
	return any_case ? !strcasecmp(shown, want) : !strcmp(shown, want);
}

bool device_matches(const struct described_device *dev, const char *match)
{
	const struct device_desc *desc = &dev->desc;

	if (!strncmp(match, "UUID=", 5))
		return shown_as(desc->uuid, match + 5, true);
	if (!strncmp(match, "LABEL=", 6))
		return shown_as(desc->label, match + 6, false);
	if (!strncmp(match, "LV=", 3))
		return lv_equals(desc, desc->origin, match + 3) ||
		       lv_equals(desc, desc->lv, match + 3);
	return false;
}

bool devices_match(const struct described_devices *devs, char *const *match)
{
	for (unsigned int i = 0; devs && i < devs->count; i++)
		for (char *const *m = match; *m; m++)
			if (device_matches(&devs->dev[i], *m))
				return true;
	return false;
}

struct json_object *devices_to_json(const struct described_devices *devs)
{
	struct json_object *array = json_object_new_array();

	for (unsigned int i = 0; array && devs && i < devs->count; i++) {
		const struct described_device *dev = &devs->dev[i];
		struct json_object *obj = dev->recorded
					      ? device_info_to_json(&dev->info)
					      : json_object_new_object();

		/* Out of memory: no event rather than one missing a device. */
		if (!obj || json_object_array_add(array, obj)) {
			json_object_put(obj);
			json_object_put(array);
			return NULL;
		}
		device_desc_to_json(&dev->desc, obj);
	}
	return array;
}

const char *devices_text(struct described_devices *devs)
{
	struct json_object *array;

	if (!devs || devs->unknown || !devs->count)
		return "[]";
	if (devs->json)
		return devs->json;
	array = devices_to_json(devs);
	if (array)
		devs->json = strdup(json_object_to_json_string_ext(
		    array, JSON_C_TO_STRING_PLAIN));
	json_object_put(array);
	return devs->json;
}

void devices_encode(struct described_devices *devs)
{
	/* A lost set's LVs come without a set: nothing fixed to encode. */
	if (!devs || devs->unknown ||
	    !(devs->set.set.flags & SNAPSET_SET_ARMED))
		return;
	devices_text(devs);
	if (!devs->set.text[0])
		set_fixed_encode(&devs->set.set, &devs->set);
}
