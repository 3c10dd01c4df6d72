// SPDX-License-Identifier: GPL-2.0
/*
 * The module's events as a watcher sees them: a set armed (its devices
 * described while they are there), BackupComplete and abort (told to the
 * writers as they happen). The watcher queue is bounded: what it misses
 * is logged, and only these notices are lost with it. Shutdowns come
 * through the agent's lossless cursor, never from here.
 */
#include "../common/format.h"
#include "../common/module.h"
#include "../lib/protocol.h"
#include "daemon.h"

static void watch_event(struct daemon *d, const struct snapset_event *ev)
{
	struct json_object *devices;

	switch (ev->type) {
	case SNAPSET_EVENT_ARMED:
		live_set_armed(d, ev);
		return;
	case SNAPSET_EVENT_COMPLETE:
	case SNAPSET_EVENT_ABORT:
		devices = live_set_devices(d, ev->set.id);
		notice_send(d,
			    ev->type == SNAPSET_EVENT_COMPLETE
				? PROTO_KIND_COMPLETE
				: PROTO_KIND_ABORT,
			    ev, devices ?: json_object_new_array(), NULL, NULL);
		return;
	case SNAPSET_EVENT_OVERFLOW:
		report_note("missed %llu module events: some BackupComplete "
			    "or abort notices were not sent",
			    (unsigned long long)ev->missed);
		return;
	default:
		return;
	}
}

void watch_received(struct daemon *d, const void *buf, size_t len)
{
	const struct snapset_event *ev;
	size_t off = 0;

	while ((ev = record_next(buf, len, &off)))
		watch_event(d, ev);
}
