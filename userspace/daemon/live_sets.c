// SPDX-License-Identifier: GPL-2.0
/*
 * What the daemon knows of each set between its arm and its end: its
 * devices, described while they are there (a loop device is gone by the
 * time its shutdown is read), and whether the writers were told its
 * backup-complete or abort.
 *
 * That notice comes from the watcher, the shutdown from the agent cursor,
 * and the two reads race. Whichever comes first for a set tells the
 * writers, so that they always hear complete or abort before the
 * shutdown: a record that finds nothing told tells it from what the
 * record holds, and the watcher's late copy is then dropped. A set is
 * forgotten once its record is acknowledged and the watcher has read past
 * its shutdown, after which no copy can come: the module numbers events
 * in order, and a watcher reads them in that order, an overflow leaving
 * out a run of them but never reordering.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/module.h"
#include "../lib/protocol.h"
#include "daemon.h"

struct live_set {
	struct live_set *next;
	__u8 id[SNAPSET_ID_LEN];
	struct described_devices *devices;
	__u64 shutdown_seq; /* its record's, once the agent read it; or 0 */
	bool told;	    /* its backup-complete or abort went out */
	bool acknowledged;
};

static struct live_set **live_set_find(struct daemon *d,
				       const __u8 id[SNAPSET_ID_LEN])
{
	struct live_set **p = &d->live_sets;

	while (*p && memcmp((*p)->id, id, SNAPSET_ID_LEN))
		p = &(*p)->next;
	return p;
}

/* The set with @id, a new one if it is not known. */
static struct live_set *live_set_get(struct daemon *d,
				     const __u8 id[SNAPSET_ID_LEN])
{
	struct live_set *set = *live_set_find(d, id);

	if (set)
		return set;
	set = calloc(1, sizeof(*set));
	if (!set)
		return NULL;
	memcpy(set->id, id, sizeof(set->id));
	set->next = d->live_sets;
	d->live_sets = set;
	return set;
}

/* Its devices from @ev, which lists them all, unless described already. */
static void live_set_describe(struct live_set *set,
			      const struct snapset_event *ev)
{
	/* Unknown for want of memory: perhaps there is some now. */
	if (set->devices && set->devices->unknown)
		set->devices = NULL;
	if (!set->devices)
		set->devices = devices_describe(ev);
	/* Now, not when the set ends: its shutdown's way is the short one. */
	devices_encode(set->devices);
}

static void live_set_free(struct live_set **p)
{
	struct live_set *set = *p;

	*p = set->next;
	devices_put(set->devices);
	free(set);
}

void live_set_armed(struct daemon *d, const struct snapset_event *ev)
{
	struct live_set *set = live_set_get(d, ev->set.id);

	/* Out of memory: described when its record comes. */
	if (!set)
		return;
	live_set_describe(set, ev);
	/*
	 * Listed at start, complete already: told by the daemon of the
	 * time, if any. Its shutdown says completed; no late complete.
	 */
	if (ev->set.flags & SNAPSET_SET_COMPLETED)
		set->told = true;
}

/* No devices if the set's arm was not seen: complete and abort list none. */
static void tell(struct daemon *d, struct live_set *set, const char *kind,
		 const struct snapset_event *ev)
{
	set->told = true;
	notice_send(d, kind, ev, devices_get(set->devices), NULL, NULL);
}

/* The watcher read @ev, a BackupComplete or an abort. */
void live_set_notice(struct daemon *d, const struct snapset_event *ev)
{
	struct live_set *set;

	/* Aborted before its arm: it has no record, and nothing to keep. */
	if (!(ev->set.flags & SNAPSET_SET_ARMED)) {
		notice_send(d, PROTO_KIND_ABORT, ev, NULL, NULL, NULL);
		return;
	}
	set = live_set_get(d, ev->set.id);
	if (!set) {
		report_note("out of memory: writers miss an event");
		return;
	}
	/* Told already, from the record that overtook it. */
	if (set->told || set->shutdown_seq)
		return;
	tell(d, set,
	     ev->type == SNAPSET_EVENT_COMPLETE ? PROTO_KIND_COMPLETE
						: PROTO_KIND_ABORT,
	     ev);
}

/* @rec's set as it was when its backup completed: not yet ended. */
static void as_completed(const struct snapset_event *rec,
			 struct snapset_event *ev)
{
	record_init(ev, SNAPSET_EVENT_COMPLETE);
	ev->set = rec->set;
	ev->set.flags &= ~(SNAPSET_SET_TERMINATED | SNAPSET_SET_EXIT_STATUS |
			   SNAPSET_SET_SIGNAL | SNAPSET_SET_TOMBSTONE);
	ev->set.reason = SNAPSET_REASON_NONE;
	ev->set.exit_status = 0;
	ev->set.signal = 0;
	ev->set.ndevices = 0;
	ev->set.closer_tgid = 0;
	memset(ev->set.closer_comm, 0, sizeof(ev->set.closer_comm));
	ev->set.end_realtime = 0;
	ev->set.end_boottime = 0;
}

/*
 * The agent read @rec, the set's shutdown record: its complete or abort
 * is told first if the watcher has not told it. The set's devices, as
 * described while they were there, or NULL.
 */
struct described_devices *live_set_ending(struct daemon *d,
					  const struct snapset_event *rec)
{
	struct live_set *set = live_set_get(d, rec->set.id);
	struct snapset_event completed;

	if (!set)
		return NULL;
	live_set_describe(set, rec);
	set->shutdown_seq = rec->seq;
	if (!set->told && (rec->set.flags & SNAPSET_SET_COMPLETED)) {
		as_completed(rec, &completed);
		tell(d, set, PROTO_KIND_COMPLETE, &completed);
	} else if (!set->told && rec->set.reason == SNAPSET_REASON_ABORT) {
		/* Abort events are filled after the end: as the record. */
		tell(d, set, PROTO_KIND_ABORT, rec);
	}
	return devices_get(set->devices);
}

/* Forgets the sets that are done and that the watcher read past. */
static void live_sets_forget(struct daemon *d)
{
	for (struct live_set **p = &d->live_sets; *p;) {
		if ((*p)->acknowledged && (*p)->shutdown_seq <= d->watch_seq)
			live_set_free(p);
		else
			p = &(*p)->next;
	}
}

void live_set_acknowledged(struct daemon *d, const __u8 id[SNAPSET_ID_LEN])
{
	struct live_set *set = *live_set_find(d, id);

	if (!set)
		return;
	set->acknowledged = true;
	live_sets_forget(d);
}

void live_sets_watched(struct daemon *d, __u64 seq)
{
	if (seq <= d->watch_seq)
		return;
	d->watch_seq = seq;
	live_sets_forget(d);
}

void live_sets_free(struct daemon *d)
{
	while (d->live_sets)
		live_set_free(&d->live_sets);
}
