// SPDX-License-Identifier: GPL-2.0
/*
 * One shutdown record's way through the daemon: its devices described
 * while they are there, its LVM snapshots released first, then
 * BackupShutdown to the writers, then the report and the
 * acknowledgement that lets the module forget it. A record is
 * acknowledged only once all that is over, so a daemon killed before
 * sees it again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/device.h"
#include "../common/format.h"
#include "../common/lvm.h"
#include "../common/module.h"
#include "../lib/protocol.h"
#include "daemon.h"

struct record_job {
	struct daemon *d;
	struct snapset_event *rec;
	struct json_object *devices; /* as described before the release */
	unsigned int pending;	     /* releases still running */
	unsigned int failed;
	bool lost;		 /* found by its LVs' tags: no record */
	char release_error[640]; /* the first failure's words */
};

static void job_free(struct record_job *job)
{
	job->d->jobs--;
	free(job->rec);
	free(job);
}

/*
 * The writers answered (or @interrupted: the daemon stopped before they
 * could). A record is acknowledged only after a whole delivery: one cut
 * short stays pending and the next daemon delivers it again.
 */
static void acknowledge(void *owner, unsigned int writers_failed,
			bool interrupted)
{
	struct record_job *job = owner;
	char set[SET_LABEL_LEN];
	int ret = 0;

	set_label(job->rec->set.name, sizeof(job->rec->set.name),
		  job->rec->set.id, set, sizeof(set));
	if (interrupted && !job->lost) {
		report_note("%s: stopping before its writers were told: left "
			    "for the next daemon",
			    set);
		job_free(job);
		return;
	}
	report_shutdown(job->rec, job->failed, writers_failed);
	history_add(job->d, job->rec, job->failed ? job->release_error : NULL,
		    writers_failed);
	if (!job->lost) {
		live_set_acknowledged(job->d, job->rec->set.id);
		reconcile_acknowledged(job->d, job->rec->set.id);
		ret = module_ack(job->d->agent_fd, job->rec->set.id);
	}
	if (ret)
		report_note("%s: cannot acknowledge its record: %s", set,
			    strerror(-ret));
	/* After the acknowledgement: the pending gauge counts it no more. */
	metrics_shutdown(job->d, job->rec);
	job_free(job);
}

/* The release is over: the writers are told, then the record goes. */
static void deliver(struct record_job *job)
{
	notice_send(job->d, PROTO_KIND_SHUTDOWN, job->rec, job->devices,
		    acknowledge, job);
}

/* Reports one release's outcome; a failure is counted and kept. */
static void release_outcome(struct record_job *job, const char *label,
			    int result, const char *message)
{
	report_release(job->rec, label, result, message);
	if (!result || result == -ENOENT)
		return;
	if (!job->failed++)
		snprintf(job->release_error, sizeof(job->release_error),
			 "%s: %s", label, message);
	metrics_release_failure(job->d, "lvm");
}

static void released(struct lv_release *r, int result, const char *message)
{
	struct record_job *job = lv_release_owner(r);

	release_outcome(job, lv_release_label(r), result, message);
	if (--job->pending == 0)
		deliver(job);
}

/*
 * Starts lvremove of the snapshot LV with @uuid (lvs's form); with
 * @may_be_gone, finding none is no failure.
 */
static void release_lv(struct record_job *job, const char *uuid,
		       const char *label, bool may_be_gone)
{
	int ret =
	    lv_release_start(job->d, uuid, label, may_be_gone, released, job);

	if (ret)
		release_outcome(job, label, ret, strerror(-ret));
	else
		job->pending++;
}

/*
 * Whether the device at the record's number is still the one recorded:
 * same dm uuid and diskseq (minors are reused).
 */
static bool still_recorded(const struct snapset_device_info *dev)
{
	char path[96], value[160];

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/dm/uuid", dev->major,
		 dev->minor);
	if (sysfs_read(path, value, sizeof(value)) ||
	    strncmp(value, dev->dm_uuid, sizeof(dev->dm_uuid)))
		return false;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/diskseq", dev->major,
		 dev->minor);
	return sysfs_read(path, value, sizeof(value)) ||
	       strtoull(value, NULL, 10) == dev->diskseq;
}

/* "VG/LV" of the recorded device while it is there, "MAJOR:MINOR" else. */
static void device_label(const struct snapset_device_info *dev, char *label,
			 size_t size)
{
	char path[96], name[128], vg[128], lv[128];

	snprintf(label, size, "%u:%u", dev->major, dev->minor);
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/dm/name", dev->major,
		 dev->minor);
	if (!sysfs_read(path, name, sizeof(name)) &&
	    !lvm_split_dm_name(name, vg, sizeof(vg), lv, sizeof(lv)))
		snprintf(label, size, "%s/%s", vg, lv);
}

/*
 * Starts the release of one auto-release LVM device of the record. The
 * LV uuid in the record names it, wherever its device is: one no longer
 * at the recorded number (removed by run without a daemon or by an
 * administrator, deactivated, its minor reused) is looked for by uuid,
 * and gone already when LVM knows it no more.
 */
static void release_device(struct record_job *job,
			   const struct snapset_device_info *dev)
{
	char uuid[40], label[260];
	bool there;

	if ((dev->flags & SNAPSET_DEVICE_PERSISTENT) ||
	    lvm_uuid_from_dm(dev->dm_uuid, uuid, sizeof(uuid)))
		return;
	there = still_recorded(dev);
	if (there)
		device_label(dev, label, sizeof(label));
	else
		snprintf(label, sizeof(label), "%u:%u", dev->major, dev->minor);
	/*
	 * A user the administrator let open /dev/snapset may add any device
	 * it can read: root removes only what root asked to.
	 */
	if (job->rec->set.owner_uid != 0)
		release_outcome(job, label, -EPERM,
				"the set is not root's: left alone");
	else
		release_lv(job, uuid, label, !there);
}

/* A job for @ev (copied); held until job_started(). */
static struct record_job *job_new(struct daemon *d,
				  const struct snapset_event *ev)
{
	struct record_job *job = calloc(1, sizeof(*job));

	if (!job || !(job->rec = malloc(ev->size))) {
		free(job);
		return NULL;
	}
	memcpy(job->rec, ev, ev->size);
	job->d = d;
	d->jobs++;
	/* Held while starting, so a release finishing at once cannot go on. */
	job->pending = 1;
	return job;
}

static void job_started(struct record_job *job)
{
	if (--job->pending == 0)
		deliver(job);
}

static void record_start(struct daemon *d, const struct snapset_event *ev)
{
	struct record_job *job = job_new(d, ev);

	if (!job) {
		report_note("out of memory: a record waits for a restart");
		return;
	}
	/* A loop device is gone by now: described at arm, if it was seen. */
	job->devices = live_set_ending(d, ev) ?: devices_describe(ev);
	for (__u32 i = 0; i < ev->set.ndevices; i++)
		release_device(job, snapset_event_device(ev, i));
	job_started(job);
}

struct record_job *lost_set_start(struct daemon *d,
				  const __u8 id[SNAPSET_ID_LEN])
{
	struct snapset_event ev;
	struct record_job *job;

	record_init(&ev, SNAPSET_EVENT_SHUTDOWN);
	ev.set.flags = SNAPSET_SET_ARMED | SNAPSET_SET_TERMINATED;
	ev.set.reason = SNAPSET_REASON_LOST;
	memcpy(ev.set.id, id, SNAPSET_ID_LEN);
	job = job_new(d, &ev);
	if (job) {
		job->lost = true;
		job->devices = json_object_new_array();
	}
	return job;
}

void lost_set_release(struct record_job *job, const struct snapset_lv *lv)
{
	struct json_object *dev = json_object_new_object();
	char label[260];

	json_add_string(dev, "engine", "lvm");
	json_add_string(dev, "vg", lv->vg);
	json_add_string(dev, "lv", lv->lv);
	json_object_array_add(job->devices, dev);
	snprintf(label, sizeof(label), "%s/%s", lv->vg, lv->lv);
	release_lv(job, lv->uuid, label, false);
}

void lost_set_started(struct record_job *job)
{
	job_started(job);
}

void records_received(struct daemon *d, const void *buf, size_t len)
{
	const struct snapset_event *ev;
	size_t off = 0;

	while ((ev = record_next(buf, len, &off)))
		if (ev->type == SNAPSET_EVENT_SHUTDOWN)
			record_start(d, ev);
	if (off != len)
		report_note("a record from the module this program cannot read "
			    "was skipped (is the module newer or older?)");
}
