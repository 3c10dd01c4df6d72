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

/*
 * A record whose release failed is told and reported, then kept pending
 * and its release retried, at these intervals, until it is done.
 */
#define RETRY_FIRST_MS 5000L
#define RETRY_MAX_MS (15 * 60 * 1000L)

struct record_job {
	struct daemon *d;
	struct snapset_event *rec;
	struct described_devices *devices; /* described before the release */
	unsigned int pending;		   /* releases still running */
	unsigned int failed;
	unsigned int retryable; /* failures a later try may mend */
	bool lost;		/* found by its LVs' tags: no record */
	bool quiet;		/* lost, told before: its release is retried */
	bool dissolved;		/* never armed: its tagged LVs only */
	bool retrying;		/* told and reported: its release is left */
	long retry_ms;
	struct op retry_op;
	struct __kernel_timespec retry_in;
	char release_error[640]; /* the first failure's words */
};

static void job_free(struct record_job *job)
{
	struct daemon *d = job->d;
	bool unrecorded = job->lost || job->dissolved;

	d->jobs--;
	devices_put(job->devices);
	free(job->rec);
	free(job);
	/* A reconciliation waits until no such LV is being removed. */
	if (unrecorded && --d->unrecorded_jobs == 0 && d->reconcile_wanted)
		reconcile_start(d);
}

/* Whether the lost set @id was told already, and its release failed. */
static bool lost_failed_before(struct daemon *d, const __u8 id[SNAPSET_ID_LEN])
{
	for (size_t i = 0; i < d->nlost_failed; i++)
		if (!memcmp(d->lost_failed[i], id, SNAPSET_ID_LEN))
			return true;
	return false;
}

/*
 * Remembered for this daemon's life: overflows may reconcile again and
 * again, and an LV in use must not be announced lost each time.
 */
static void lost_failed_remember(struct record_job *job)
{
	struct daemon *d = job->d;
	__u8(*grown)[SNAPSET_ID_LEN];

	grown = realloc(d->lost_failed, (d->nlost_failed + 1) * sizeof(*grown));
	if (!grown)
		return; /* told again, if found again: no worse */
	d->lost_failed = grown;
	memcpy(grown[d->nlost_failed++], job->rec->set.id, SNAPSET_ID_LEN);
}

/* The record goes: the module forgets it, and so does the daemon. */
static void ack_record(struct record_job *job, const char *set)
{
	int ret;

	live_set_acknowledged(job->d, job->rec->set.id);
	reconcile_handled(job->d, job->rec->set.id);
	ret = module_ack(job->d->agent_fd, job->rec->set.id);
	if (ret)
		report_note("%s: cannot acknowledge its record: %s", set,
			    strerror(-ret));
}

/*
 * Its release failed: the record stays pending (status and the pending
 * gauge show it), and the release is tried again later. A stopping
 * daemon does not wait for that: the next one tries.
 */
static void retry_later(struct record_job *job, const char *set)
{
	job->retry_ms = job->retry_ms ? job->retry_ms * 2 : RETRY_FIRST_MS;
	if (job->retry_ms > RETRY_MAX_MS)
		job->retry_ms = RETRY_MAX_MS;
	report_note("%s: its release failed: tried again in %ld s, its record "
		    "pending until then",
		    set, job->retry_ms / 1000);
	job->retrying = true;
	job->failed = job->retryable = 0;
	job->d->jobs--;
	job->retry_op = (struct op){ OP_RECORD_RETRY, job };
	ms_to_timespec(job->retry_ms, &job->retry_in);
	io_uring_prep_timeout(daemon_sqe(job->d, &job->retry_op),
			      &job->retry_in, 0, 0);
}

/*
 * The writers answered (or @interrupted: the daemon stopped before they
 * could). A record is acknowledged only after a whole delivery and a
 * whole release: one cut short stays pending and the next daemon
 * delivers it again; one whose release failed is retried.
 */
static void acknowledge(void *owner, unsigned int writers_failed,
			const char *writers_told, bool interrupted)
{
	struct record_job *job = owner;
	char set[SET_LABEL_LEN];

	set_label(job->rec->set.name, sizeof(job->rec->set.name),
		  job->rec->set.id, set, sizeof(set));
	if (interrupted && !job->lost) {
		report_note("%s: stopping before its writers were told: left "
			    "for the next daemon",
			    set);
		job_free(job);
		return;
	}
	if (job->lost && job->failed)
		lost_failed_remember(job);
	report_shutdown(job->rec, job->failed, writers_told, writers_failed);
	history_add(job->d, job->rec, job->failed ? job->release_error : NULL,
		    writers_failed);
	/* A lost set has no record: its LVs are found again at a start. */
	if (job->retryable && !job->lost) {
		metrics_shutdown(job->d, job->rec);
		retry_later(job, set);
		return;
	}
	if (!job->lost)
		ack_record(job, set);
	/* After the acknowledgement: the pending gauge counts it no more. */
	metrics_shutdown(job->d, job->rec);
	job_free(job);
}

/* A retried release is over: the record goes, or waits longer. */
static void retried(struct record_job *job)
{
	char set[SET_LABEL_LEN];

	set_label(job->rec->set.name, sizeof(job->rec->set.name),
		  job->rec->set.id, set, sizeof(set));
	if (job->retryable) {
		retry_later(job, set);
		return;
	}
	report_note("%s: released at last; its record is acknowledged", set);
	ack_record(job, set);
	metrics_write(job->d);
	job_free(job);
}

/* A lost set told before: only a success is worth a line. */
static void lost_retried(struct record_job *job)
{
	char set[SET_LABEL_LEN];

	set_label(job->rec->set.name, sizeof(job->rec->set.name),
		  job->rec->set.id, set, sizeof(set));
	if (!job->failed)
		report_note("%s: the LVs of this lost set are released at last",
			    set);
	job_free(job);
}

/* The release is over: the writers are told, then the record goes. */
static void deliver(struct record_job *job)
{
	struct described_devices *devices;

	/* No record, no shutdown: writers heard its abort, if it had one. */
	if (job->dissolved) {
		job_free(job);
		return;
	}
	if (job->retrying) {
		retried(job);
		return;
	}
	if (job->quiet) {
		lost_retried(job);
		return;
	}
	/* Handed over first: the writers' answers may free the job at once. */
	devices = job->devices;
	job->devices = NULL;
	notice_send(job->d, PROTO_KIND_SHUTDOWN, job->rec, devices, acknowledge,
		    job);
}

/* Reports one release's outcome; a failure is counted and kept. */
static void release_outcome(struct record_job *job, const char *label,
			    int result, const char *message)
{
	/* Most sets that end before their arm made no LV: nothing to say. */
	if ((result != -ENOENT || !job->dissolved) && !job->quiet)
		report_release(job->rec, label, result, message);
	if (!result || result == -ENOENT)
		return;
	if (!job->failed++)
		snprintf(job->release_error, sizeof(job->release_error),
			 "%s: %s", label, message);
	/* Left alone on purpose (not root's, no snapshot): no retry mends it.
	 */
	if (result != -EPERM && result != -ESRCH)
		job->retryable++;
	if (!job->quiet)
		metrics_release_failure(job->d, "lvm");
}

static void released(struct lv_release *r, int result, const char *message)
{
	struct record_job *job = lv_release_owner(r);

	release_outcome(job, lv_release_label(r), result, message);
	if (--job->pending == 0)
		deliver(job);
}

/* Starts an lvremove; its outcome comes to released(). */
static void release_lv(struct record_job *job,
		       const struct lv_release_spec *spec)
{
	int ret = lv_release_start(job->d, spec, released, job);

	if (ret)
		release_outcome(job, spec->label, ret, strerror(-ret));
	else
		job->pending++;
}

/*
 * Every snapshot LV tagged for the job's set: those of a tombstone (its
 * devices were dropped) or of a set that ended before its arm (run
 * killed between lvcreate and arm, or after it closed the set and
 * before it removed them). None is no failure.
 */
static void release_tagged(struct record_job *job)
{
	char id[ID_STR_LEN], label[64];

	id_format(job->rec->set.id, id);
	snprintf(label, sizeof(label), "LVs tagged " LVM_SNAPSET_TAG ":%s", id);
	release_lv(job, &(struct lv_release_spec){ .by = LV_BY_SET_TAG,
						   .key = id,
						   .label = label,
						   .may_be_gone = true });
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
	return !sysfs_read(path, value, sizeof(value)) &&
	       !strncmp(value, dev->dm_uuid, sizeof(dev->dm_uuid)) &&
	       device_info_is(dev, dev->major, dev->minor,
			      device_diskseq(dev->major, dev->minor));
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
 * at the recorded number (removed by run without a daemon, by an
 * administrator or by a daemon killed meanwhile, deactivated, its minor
 * reused) is looked for by uuid, and gone already when LVM knows no
 * snapshot with it (one that is no snapshot is left alone, as ever).
 */
static void release_device(struct record_job *job,
			   const struct snapset_device_info *dev)
{
	char uuid[LV_UUID_LEN], label[260];

	if (record_device_lv_uuid(dev, uuid))
		return;
	if (still_recorded(dev))
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
		release_lv(job,
			   &(struct lv_release_spec){ .by = LV_BY_UUID,
						      .key = uuid,
						      .label = label,
						      .may_be_gone = true });
}

/* Starts the release of every LVM snapshot of the record. */
static void release_step(struct record_job *job)
{
	const struct snapset_event *ev = job->rec;

	for (__u32 i = 0; i < ev->set.ndevices; i++)
		release_device(job, snapset_event_device(ev, i));
	if ((ev->set.flags & SNAPSET_SET_TOMBSTONE) && ev->set.owner_uid == 0)
		release_tagged(job);
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
	release_step(job);
	job_started(job);
}

/*
 * Whether the job's record still waits: an administrator may discard it
 * (snapset delete) rather than wait for a release that cannot succeed.
 */
static bool still_pending(struct record_job *job)
{
	char set[SET_LABEL_LEN];
	size_t len;
	void *buf;
	bool held;

	if (module_list(job->d->agent_fd, &buf, &len))
		return true; /* cannot tell: the next try asks again */
	held = records_hold_set(buf, len, job->rec->set.id);
	free(buf);
	if (!held) {
		set_label(job->rec->set.name, sizeof(job->rec->set.name),
			  job->rec->set.id, set, sizeof(set));
		report_note("%s: its record was discarded: its release is no "
			    "longer retried",
			    set);
	}
	return held;
}

void records_retry(struct daemon *d, struct op *op)
{
	struct record_job *job = op->owner;

	d->jobs++;
	if (d->stopping || !still_pending(job)) {
		job_free(job);
		return;
	}
	job->pending = 1;
	release_step(job);
	job_started(job);
}

void records_dissolved_release(struct daemon *d, const struct snapset_event *ev)
{
	struct record_job *job = job_new(d, ev);

	if (!job) {
		report_note("out of memory: LVs of a set that ended before its "
			    "arm wait for a restart");
		return;
	}
	job->dissolved = true;
	d->unrecorded_jobs++;
	release_tagged(job);
	job_started(job);
}

void records_dissolved(struct daemon *d, const struct snapset_event *ev)
{
	/* Whoever removes its LVs, it is not lost: reconciliation knows. */
	reconcile_handled(d, ev->set.id);
	if (d->stopping || ev->set.owner_uid != 0)
		return;
	/*
	 * A requester that exited without closing its set removes nothing
	 * more; one that closed it, or saw it deleted, removes what it made
	 * (run does), unless it is killed first: what is left goes once it
	 * has exited.
	 */
	if (ev->set.reason == SNAPSET_REASON_EXIT ||
	    ev->set.reason == SNAPSET_REASON_RELEASED)
		records_dissolved_release(d, ev);
	else
		owner_watch(d, ev);
}

struct record_job *lost_set_start(struct daemon *d,
				  const __u8 id[SNAPSET_ID_LEN])
{
	struct snapset_event ev;
	struct record_job *job;

	record_init(&ev, SNAPSET_EVENT_SHUTDOWN);
	/* Not armed: whether it was, no one can tell any more. */
	ev.set.flags = SNAPSET_SET_TERMINATED;
	ev.set.reason = SNAPSET_REASON_LOST;
	memcpy(ev.set.id, id, SNAPSET_ID_LEN);
	job = job_new(d, &ev);
	if (job) {
		job->lost = true;
		job->quiet = lost_failed_before(d, id);
		d->unrecorded_jobs++;
	}
	return job;
}

void lost_set_release(struct record_job *job, const struct snapset_lv *lv)
{
	char label[260];

	/* Out of memory: released all the same, told to every writer. */
	devices_add_lost(&job->devices, lv);
	snprintf(label, sizeof(label), "%s/%s", lv->vg, lv->lv);
	release_lv(job, &(struct lv_release_spec){ .by = LV_BY_UUID,
						   .key = lv->uuid,
						   .label = label });
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
