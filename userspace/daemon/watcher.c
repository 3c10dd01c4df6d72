// SPDX-License-Identifier: GPL-2.0
/*
 * The module's events as a watcher sees them: a set armed (its devices
 * described while they are there), BackupComplete and abort (told to the
 * writers as they happen, unless the set's record overtook them). The
 * watcher queue is bounded: what it misses is logged, and a lost complete
 * or abort is told from the record instead. Shutdowns of armed sets come
 * through the agent's lossless cursor, never from here; a set that ended
 * before its arm has its shutdown here only, so after an overflow the
 * LVs such a set may have left are looked for by their tags.
 */
#include "../common/format.h"
#include "../common/module.h"
#include "daemon.h"

static void watch_event(struct daemon *d, const struct snapset_event *ev)
{
	switch (ev->type) {
	case SNAPSET_EVENT_ARMED:
		live_set_armed(d, ev);
		break;
	case SNAPSET_EVENT_COMPLETE:
	case SNAPSET_EVENT_ABORT:
		live_set_notice(d, ev);
		break;
	case SNAPSET_EVENT_SHUTDOWN:
		/* An armed set's comes through the agent's cursor. */
		if (!(ev->set.flags & SNAPSET_SET_ARMED))
			records_dissolved(d, ev);
		break;
	case SNAPSET_EVENT_OVERFLOW:
		report_note("missed %llu module events: some sets may have "
			    "been told of only at their shutdown",
			    (unsigned long long)ev->missed);
		/* A missed shutdown of a set never armed: its LVs by tag. */
		reconcile_start(d);
		return;
	default:
		break;
	}
	live_sets_watched(d, ev->seq);
}

void watch_received(struct daemon *d, const void *buf, size_t len)
{
	const struct snapset_event *ev;
	size_t off = 0;

	while ((ev = record_next(buf, len, &off)))
		watch_event(d, ev);
}
