// SPDX-License-Identifier: GPL-2.0
/*
 * What writers are told: one notice per event (BackupComplete, abort,
 * BackupShutdown), the set as the record has it and its described
 * devices, queued to every writer whose match fits, encoded for each
 * delivery as it goes out, finished when the last writer answered or
 * failed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/format.h"
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
	struct snapset_set_info set;
	struct described_devices *devices; /* NULL: none */
	char label[SET_LABEL_LEN];
	unsigned int waiting; /* writers yet to answer */
	unsigned int failed;
	unsigned int told, told_unnamed;
	char told_names[WRITERS_TOLD_LEN];
	bool interrupted; /* the daemon stopped before every writer answered */
	notice_done_fn done;
	void *owner;
};

/* "a, b and 3 more": the names that fit, then a count. */
static void told_text(const struct notice *n, char *out, size_t size)
{
	if (n->told_unnamed)
		snprintf(out, size, "%s and %u more", n->told_names,
			 n->told_unnamed);
	else
		snprintf(out, size, "%s", n->told_names);
}

/*
 * The writers' successes go in the event's one line, not a line each:
 * a shutdown told to a thousand writers is one journal entry, plus one
 * per failure.
 */
static void notice_finish(struct notice *n)
{
	char told[WRITERS_TOLD_LEN + 32], id[ID_STR_LEN];

	told_text(n, told, sizeof(told));
	if (n->done) {
		n->done(n->owner, n->failed, told, n->interrupted);
	} else if (n->told) {
		id_format(n->set.id, id);
		report_told(n->label, id, n->kind, told);
	}
	devices_put(n->devices);
	free(n);
}

bool notice_wanted(const struct notice *n, char *const *match)
{
	/*
	 * A tombstone's devices are unknown, as are those that could not
	 * be described: no match can refuse them.
	 */
	if (!match[0] || (n->set.flags & SNAPSET_SET_TOMBSTONE) ||
	    (n->devices && n->devices->unknown))
		return true;
	return devices_match(n->devices, match);
}

static void notice_queue(struct notice *n)
{
	/* @n may be freed by the pump: a send that ran out of memory. */
	struct daemon *d = n->d;

	/* Stopping: writers that were idle are gone, the next daemon tells. */
	if (d->stopping) {
		n->interrupted = true;
		notice_finish(n);
		return;
	}
	n->waiting = writers_queue(d, n);
	if (!n->waiting) {
		notice_finish(n);
		return;
	}
	writers_pump(d);
	/*
	 * The sends go now, not after the other completions at hand: the
	 * writers' news is what the daemon is for.
	 */
	daemon_submit_soon(d);
}

static struct op settled_op = { OP_SETTLED, NULL };
static struct __kernel_timespec settle_time;

/* Whether @n is held while writers reconnect (notices_settled lets go). */
static bool notice_park(struct daemon *d, struct notice *n)
{
	long long end = d->settle_end_ms, left;

	/* Settled (the daemon's usual state): no clock read, a system call. */
	if (!d->settling)
		return false;
	left = end - monotonic_ms();
	/*
	 * Time is up: settled, unless some are held still (their timer's
	 * completion not handled yet): then this one goes with them, after.
	 */
	if (end && left <= 0 && !d->parked) {
		d->settling = false;
		return false;
	}
	if (end && !d->parked) {
		ms_to_timespec(left, &settle_time);
		io_uring_prep_timeout(daemon_sqe(d, &settled_op), &settle_time,
				      0, 0);
	}
	n->next_parked = d->parked;
	d->parked = n;
	return true;
}

void notice_send(struct daemon *d, const char *kind,
		 const struct snapset_event *ev,
		 struct described_devices *devices, notice_done_fn done,
		 void *owner)
{
	struct notice *n = calloc(1, sizeof(*n));

	if (!n) {
		devices_put(devices);
		report_note("out of memory: writers miss an event");
		if (done)
			done(owner, 1, "", false);
		return;
	}
	*n = (struct notice){ .d = d,
			      .kind = kind,
			      .set = ev->set,
			      .devices = devices,
			      .done = done,
			      .owner = owner };
	set_label(ev->set.name, sizeof(ev->set.name), ev->set.id, n->label,
		  sizeof(n->label));
	if (!notice_park(d, n))
		notice_queue(n);
}

/*
 * Notices are held for SETTLE_MS from now. Their timer is armed by the
 * first one held: a daemon that has nothing to hold never wakes for it.
 */
void notices_settle(struct daemon *d)
{
	d->settling = true;
	d->settle_end_ms = monotonic_ms() + SETTLE_MS;
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

char *notice_message(const struct notice *n, long long event)
{
	/* Most of it was encoded at arm: only what the end brings is left. */
	char *set =
	    set_members_text(&n->set, n->devices ? &n->devices->set : NULL);
	const char *devices = devices_text(n->devices);
	/* Out of memory: the writer's delivery fails, never a null member. */
	char *text = set && devices
			 ? proto_event_text(event, n->kind, set, devices)
			 : NULL;

	free(set);
	return text;
}

static void told_add(struct notice *n, const char *writer)
{
	size_t used = strlen(n->told_names);

	n->told++;
	/* Names in the order they answered; " and N more" goes after. */
	if (used + strlen(writer) + 2 < sizeof(n->told_names) &&
	    !n->told_unnamed)
		snprintf(n->told_names + used, sizeof(n->told_names) - used,
			 "%s%s", used ? ", " : "", writer);
	else
		n->told_unnamed++;
}

/* One writer's outcome, counted; a failure reported at once. */
static void notice_outcome(struct notice *n, const char *writer, bool ok,
			   const char *message)
{
	char id[ID_STR_LEN];

	if (ok) {
		told_add(n, writer);
		return;
	}
	n->failed++;
	/* Not the writer's failure: it is told again by the next daemon. */
	if (n->d->stopping) {
		n->interrupted = true;
		return;
	}
	id_format(n->set.id, id);
	report_writer_failed(n->label, id, n->kind, writer, message);
}

void notice_answered(struct notice *n, const char *writer, bool ok,
		     const char *message)
{
	notice_outcome(n, writer, ok, message);
	if (--n->waiting == 0)
		notice_finish(n);
}

void notice_missed(struct notice *n, const char *writer)
{
	notice_outcome(n, writer, false, "out of memory: not queued");
}
