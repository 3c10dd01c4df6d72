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
	char release_error[640]; /* the first failure's words */
};

static void acknowledge(void *owner, unsigned int writers_failed)
{
	struct record_job *job = owner;
	char id[ID_STR_LEN];
	int ret;

	report_shutdown(job->rec, job->failed, writers_failed);
	history_add(job->d, job->rec, job->failed ? job->release_error : NULL,
		    writers_failed);
	metrics_shutdown(job->d, job->rec);
	live_set_ended(job->d, job->rec->set.id);
	ret = module_ack(job->d->agent_fd, job->rec->set.id);
	if (ret) {
		id_format(job->rec->set.id, id);
		report_note("set %s: cannot acknowledge its record: %s", id,
			    strerror(-ret));
	}
	job->d->jobs--;
	free(job->rec);
	free(job);
}

/* The release is over: the writers are told, then the record goes. */
static void deliver(struct record_job *job)
{
	notice_send(job->d, PROTO_KIND_SHUTDOWN, job->rec, job->devices,
		    acknowledge, job);
}

static void release_failed(struct record_job *job, const char *label,
			   const char *message)
{
	if (!job->failed++)
		snprintf(job->release_error, sizeof(job->release_error),
			 "%s: %s", label, message);
	metrics_release_failure(job->d, "lvm");
}

static void released(struct lv_release *r, int result, const char *message)
{
	struct record_job *job = lv_release_owner(r);

	report_release(job->rec, lv_release_label(r), result, message);
	if (result && result != -ENOENT)
		release_failed(job, lv_release_label(r), message);
	if (--job->pending == 0)
		deliver(job);
}

/*
 * Whether the device at the record's number is still the one recorded:
 * same dm uuid and diskseq. -ENOENT when no device has the number.
 */
static int still_recorded(const struct snapset_device_info *dev)
{
	char path[96], value[160];

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/dm/uuid", dev->major,
		 dev->minor);
	if (sysfs_read(path, value, sizeof(value)))
		return -ENOENT;
	if (strncmp(value, dev->dm_uuid, sizeof(dev->dm_uuid)))
		return -ESTALE;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/diskseq", dev->major,
		 dev->minor);
	if (!sysfs_read(path, value, sizeof(value)) &&
	    strtoull(value, NULL, 10) != dev->diskseq)
		return -ESTALE;
	return 0;
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

/* Starts the release of one auto-release LVM device of the record. */
static void release_device(struct record_job *job,
			   const struct snapset_device_info *dev)
{
	char uuid[40], label[260];
	int ret;

	if ((dev->flags & SNAPSET_DEVICE_PERSISTENT) ||
	    lvm_uuid_from_dm(dev->dm_uuid, uuid, sizeof(uuid)))
		return;
	ret = still_recorded(dev);
	if (!ret)
		device_label(dev, label, sizeof(label));
	else
		snprintf(label, sizeof(label), "%u:%u", dev->major, dev->minor);
	if (ret == -ENOENT) {
		/* By run without a daemon, or by an administrator. */
		report_release(job->rec, label, ret, "gone already");
		return;
	}
	if (ret) {
		report_release(job->rec, label, ret,
			       "another device has its number now: left alone");
		release_failed(job, label,
			       "another device has its number now: left alone");
		return;
	}
	ret = lv_release_start(job->d, uuid, label, released, job);
	if (ret) {
		report_release(job->rec, label, ret, strerror(-ret));
		release_failed(job, label, strerror(-ret));
		return;
	}
	job->pending++;
}

static void record_start(struct daemon *d, const struct snapset_event *ev)
{
	struct record_job *job = calloc(1, sizeof(*job));

	if (!job || !(job->rec = malloc(ev->size))) {
		free(job);
		report_note("out of memory: a record waits for a restart");
		return;
	}
	memcpy(job->rec, ev, ev->size);
	job->d = d;
	d->jobs++;
	/* A loop device is gone by now: described at arm, if it was seen. */
	job->devices = live_set_devices(d, ev->set.id) ?: devices_describe(ev);
	/* Held while starting, so a release finishing at once cannot go on. */
	job->pending = 1;
	for (__u32 i = 0; i < ev->set.ndevices; i++)
		release_device(job, &ev->devices[i]);
	if (--job->pending == 0)
		deliver(job);
}

void records_received(struct daemon *d, const void *buf, size_t len)
{
	const struct snapset_event *ev;
	size_t off = 0;

	while ((ev = record_next(buf, len, &off)))
		if (ev->type == SNAPSET_EVENT_SHUTDOWN)
			record_start(d, ev);
}
