// SPDX-License-Identifier: GPL-2.0
/*
 * What writers are told: one notice per event (BackupComplete, abort,
 * BackupShutdown), queued to every writer whose match fits, finished
 * when the last of them answered or failed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/device.h"
#include "../common/format.h"
#include "../common/lvm.h"
#include "../lib/protocol.h"
#include "daemon.h"

/*
 * How long a starting daemon holds its notices: writers reconnect within
 * a second (libsnapset retries every second), and the records a dead
 * daemon left are the ones they must not miss. Releases do not wait.
 */
#define SETTLE_MS 2000

struct notice {
	struct notice *next_parked;
	struct daemon *d;
	const char *kind;
	struct json_object *set;
	struct json_object *devices;
	char label[SET_LABEL_LEN];
	unsigned int waiting; /* writers yet to answer */
	unsigned int failed;
	bool interrupted; /* the daemon stopped before every writer answered */
	bool tombstone;	  /* its devices were not kept */
	notice_done_fn done;
	void *owner;
};

/* The record's devices, each with what it is now, as JSON. */
struct json_object *devices_describe(const struct snapset_event *ev)
{
	struct json_object *obj = record_to_json(ev), *devices;
	struct device_desc desc;
	char id[ID_STR_LEN];

	json_object_object_get_ex(obj, "devices", &devices);
	json_object_get(devices);
	json_object_put(obj);
	id_format(ev->set.id, id);
	for (__u32 i = 0; i < ev->set.ndevices; i++) {
		const struct snapset_device_info *dev =
		    snapset_event_device(ev, i);

		if (device_describe(dev->major, dev->minor, dev->diskseq,
				    &desc))
			continue;
		/* A thin snapshot's origin, from the name run gave it. */
		if (desc.lv[0] && !desc.origin[0])
			lvm_snapshot_origin(desc.lv, id, desc.origin,
					    sizeof(desc.origin));
		device_desc_to_json(&desc,
				    json_object_array_get_idx(devices, i));
	}
	return devices;
}

struct json_object *lost_lv_describe(const struct snapset_lv *lv)
{
	struct json_object *dev = json_object_new_object();
	struct device_desc desc;

	/* Its filesystem's UUID and LABEL, which are its origin's. */
	if (lv->major && !device_describe(lv->major, lv->minor, 0, &desc))
		device_desc_to_json(&desc, dev);
	json_add_string(dev, "engine", "lvm");
	json_add_string(dev, "vg", lv->vg);
	json_add_string(dev, "lv", lv->lv);
	/* LVM's word: a thin snapshot's origin is in its metadata only. */
	if (lv->origin[0])
		json_add_string(dev, "origin", lv->origin);
	return dev;
}

static bool lv_equals(struct json_object *dev, const char *lv_key,
		      const char *vg_lv)
{
	const char *vg = json_member(dev, "vg", ""),
		   *lv = json_member(dev, lv_key, "");
	size_t vg_len = strlen(vg);

	return *vg && *lv && !strncmp(vg_lv, vg, vg_len) &&
	       vg_lv[vg_len] == '/' && !strcmp(vg_lv + vg_len + 1, lv);
}

bool device_matches(struct json_object *dev, const char *match)
{
	if (!strncmp(match, "UUID=", 5))
		return !strcasecmp(json_member(dev, "uuid", ""), match + 5);
	if (!strncmp(match, "LABEL=", 6))
		return !strcmp(json_member(dev, "label", ""), match + 6);
	if (!strncmp(match, "LV=", 3))
		return lv_equals(dev, "origin", match + 3) ||
		       lv_equals(dev, "lv", match + 3);
	return false;
}

static void notice_finish(struct notice *n)
{
	if (n->done)
		n->done(n->owner, n->failed, n->interrupted);
	json_object_put(n->set);
	json_object_put(n->devices);
	free(n);
}

/* The set's members of a record, as the wire carries them. */
static struct json_object *set_to_json(const struct snapset_event *ev)
{
	struct json_object *set = record_to_json(ev);

	json_object_object_del(set, "event");
	json_object_object_del(set, "seq");
	json_object_object_del(set, "devices");
	return set;
}

static void notice_queue(struct notice *n)
{
	/* Stopping: writers that were idle are gone, the next daemon tells. */
	if (n->d->stopping) {
		n->interrupted = true;
		notice_finish(n);
		return;
	}
	/* A tombstone's devices are unknown: no match can refuse it. */
	n->waiting = writers_queue(n->d, n, n->tombstone ? NULL : n->devices);
	if (!n->waiting) {
		notice_finish(n);
		return;
	}
	writers_pump(n->d);
}

void notice_send(struct daemon *d, const char *kind,
		 const struct snapset_event *ev, struct json_object *devices,
		 notice_done_fn done, void *owner)
{
	struct notice *n = calloc(1, sizeof(*n));

	if (!n) {
		json_object_put(devices);
		report_note("out of memory: writers miss an event");
		if (done)
			done(owner, 1, false);
		return;
	}
	*n =
	    (struct notice){ .d = d,
			     .kind = kind,
			     .set = set_to_json(ev),
			     .devices = devices,
			     .tombstone = ev->set.flags & SNAPSET_SET_TOMBSTONE,
			     .done = done,
			     .owner = owner };
	set_label(ev->set.name, sizeof(ev->set.name), ev->set.id, n->label,
		  sizeof(n->label));
	if (d->settling) {
		n->next_parked = d->parked;
		d->parked = n;
		return;
	}
	notice_queue(n);
}

static struct op settled_op = { OP_SETTLED, NULL };
static struct __kernel_timespec settle_time;

void notices_settle(struct daemon *d)
{
	d->settling = true;
	ms_to_timespec(SETTLE_MS, &settle_time);
	io_uring_prep_timeout(daemon_sqe(d, &settled_op), &settle_time, 0, 0);
}

/* Writers had their time to come back: the held notices go, oldest first. */
void notices_settled(struct daemon *d)
{
	struct notice *n, *oldest_first = NULL;

	d->settling = false;
	while ((n = d->parked)) {
		d->parked = n->next_parked;
		n->next_parked = oldest_first;
		oldest_first = n;
	}
	while ((n = oldest_first)) {
		oldest_first = n->next_parked;
		notice_queue(n);
	}
}

char *notice_message(struct notice *n, long long event)
{
	return proto_event(event, n->kind, json_object_get(n->set),
			   json_object_get(n->devices));
}

void notice_answered(struct notice *n, const char *writer, bool ok,
		     const char *message)
{
	/* Not the writer's failure: it is told again by the next daemon. */
	if (!ok && n->d->stopping)
		n->interrupted = true;
	else
		report_writer(n->label, json_member(n->set, "id", ""), n->kind,
			      writer, ok, message);
	if (!ok)
		n->failed++;
	if (--n->waiting == 0)
		notice_finish(n);
}
