// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's reports: structured journal entries (sd_journal_send, a
 * MESSAGE_ID per kind of message and SNAPSET_* fields) when its stderr
 * goes to the journal, one line on stderr otherwise. Names from records
 * are escaped.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include "../common/format.h"
#include "../common/module.h"
#include "../lib/protocol.h"
#include "daemon.h"

/* MESSAGE_IDs: stable, for journalctl MESSAGE_ID=... */
#define MSG_SHUTDOWN "5e7a1c0d9b2f4e61a3c8d0f4b6e29a17"
#define MSG_INCOMPLETE "c1f04b7e2a9d4c38b5e6a0d9f3127b48"
#define MSG_RELEASE "8d3b6f1a0c5e4729b1a4e7c2d9f06e35"
#define MSG_RELEASE_FAILED "f2a9c4e61b7d4f03a8e5c1b0d6973e24"
#define MSG_LOST "3b8e0d2f7c1a4b96a5d4f9e8c2071d63"
#define MSG_WRITERS_TOLD "0d5c7e21b94f4a6c8e13f7a2b5d9c480"
#define MSG_WRITER_FAILED "6f0b2c8e41d94a7389c5e1f2a7d03b56"

static bool to_journal(void)
{
	/* systemd sets it when stderr is connected to the journal. */
	return getenv("JOURNAL_STREAM") != NULL;
}

/* "reason exit, signal 9" */
static void ending(const struct snapset_set_info *s, char *out, size_t size)
{
	int n = snprintf(out, size, "reason %s", reason_name(s->reason));

	if (s->flags & SNAPSET_SET_SIGNAL)
		snprintf(out + n, size - n, ", signal %u", s->signal);
	else if (s->flags & SNAPSET_SET_EXIT_STATUS)
		snprintf(out + n, size - n, ", exit status %u", s->exit_status);
}

/* "; froze 2 filesystems, writes held 182.4 ms", after @out's text. */
static void freeze_said(const struct snapset_set_info *s, char *out,
			size_t size)
{
	size_t len = strlen(out);

	if (!s->freeze_count || s->freeze_end == SNAPSET_FREEZE_END_NONE)
		return;
	snprintf(out + len, size - len,
		 "; froze %u filesystem%s, writes held %.1f ms",
		 s->freeze_count, s->freeze_count == 1 ? "" : "s",
		 (double)s->freeze_hold_ns / 1e6);
}

/*
 * ": owner killed by signal 9 (SIGKILL)": why a set that did not complete
 * ended, in an administrator's words, after the record's own terms.
 */
static void cause(const struct snapset_set_info *s, char *out, size_t size)
{
	bool by_signal = s->flags & SNAPSET_SET_SIGNAL;

	out[0] = '\0';
	if (s->flags & SNAPSET_SET_COMPLETED)
		return;
	if (s->reason == SNAPSET_REASON_EXIT && by_signal)
		snprintf(out, size, ": owner killed by signal %u (SIG%s)",
			 s->signal, sigabbrev_np(s->signal) ?: "?");
	else if (s->reason == SNAPSET_REASON_EXIT)
		snprintf(out, size, ": owner exited without completing it");
	else if (s->reason == SNAPSET_REASON_ABORT)
		snprintf(out, size, ": aborted by its owner");
	else if (s->reason == SNAPSET_REASON_ADMIN)
		snprintf(out, size, ": ended by an administrator");
	else if (s->reason == SNAPSET_REASON_LOST)
		snprintf(out, size,
			 ": found only by its tagged LVs, its record lost");
}

/* Journal fields, each "NAME=value", sent together. */
struct fields {
	struct iovec iov[12];
	char text[12][384];
	int n;
};

static void field_add(struct fields *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void field_add(struct fields *f, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (f->n == (int)(sizeof(f->iov) / sizeof(f->iov[0])))
		return;
	va_start(ap, fmt);
	len = vsnprintf(f->text[f->n], sizeof(f->text[0]), fmt, ap);
	va_end(ap);
	f->iov[f->n].iov_base = f->text[f->n];
	f->iov[f->n].iov_len = strnlen(f->text[f->n], (size_t)len);
	f->n++;
}

/*
 * "; its release failed; 2 writers failed; writers told: a, b": the
 * failures first, where a journal field's bound never cuts them.
 */
static void outcomes(const char *writers_told, unsigned int failed,
		     unsigned int writers_failed, char *out, size_t size)
{
	int n = snprintf(out, size, "%s", failed ? "; its release failed" : "");

	if (writers_failed)
		n += snprintf(out + n, size - n, "; %u writer%s failed",
			      writers_failed, writers_failed == 1 ? "" : "s");
	if (*writers_told)
		snprintf(out + n, size - n, "; writers told: %s", writers_told);
}

void report_shutdown(const struct snapset_event *rec, unsigned int failed,
		     const char *writers_told, unsigned int writers_failed)
{
	const struct snapset_set_info *s = &rec->set;
	bool completed = s->flags & SNAPSET_SET_COMPLETED;
	char set[SET_LABEL_LEN], how[128], id[ID_STR_LEN],
	    name[NAME_ESCAPED_LEN], ends[WRITERS_TOLD_LEN + 96], why[64];
	const char *what =
	    completed ? "complete" : "ended without BackupComplete";
	struct fields f = { .n = 0 };

	set_label(rec->set.name, sizeof(rec->set.name), rec->set.id, set,
		  sizeof(set));
	ending(s, how, sizeof(how));
	cause(s, why, sizeof(why));
	outcomes(writers_told, failed, writers_failed, ends, sizeof(ends));
	/* Past the module's bound: devices unknown, LVs wait for a start. */
	if (s->flags & SNAPSET_SET_TOMBSTONE)
		strcat(how, "; a tombstone, its devices not kept");
	freeze_said(s, how, sizeof(how));
	if (!to_journal()) {
		fprintf(stderr, "snapset daemon: %s: %s (%s)%s%s\n", set, what,
			how, why, ends);
		return;
	}
	id_format(s->id, id);
	name_escape(s->name, sizeof(s->name), name, sizeof(name));
	field_add(&f, "MESSAGE=%s: %s (%s)%s%s", set, what, how, why, ends);
	field_add(&f, "MESSAGE_ID=%s",
		  completed			     ? MSG_SHUTDOWN
		  : s->reason == SNAPSET_REASON_LOST ? MSG_LOST
						     : MSG_INCOMPLETE);
	field_add(&f, "PRIORITY=%d",
		  completed && !failed && !writers_failed ? LOG_INFO : LOG_ERR);
	field_add(&f, "SNAPSET_SET_ID=%s", id);
	field_add(&f, "SNAPSET_SET_NAME=%s", name);
	field_add(&f, "SNAPSET_COMPLETED=%d", completed);
	field_add(&f, "SNAPSET_REASON=%s", reason_name(s->reason));
	/* Only what the record has: a killed set has no exit status. */
	if (s->flags & SNAPSET_SET_SIGNAL)
		field_add(&f, "SNAPSET_SIGNAL=%u", s->signal);
	if (s->flags & SNAPSET_SET_EXIT_STATUS)
		field_add(&f, "SNAPSET_EXIT_STATUS=%u", s->exit_status);
	if (*writers_told)
		field_add(&f, "SNAPSET_WRITERS_TOLD=%s", writers_told);
	sd_journal_sendv(f.iov, f.n);
}

void report_release(const struct snapset_event *rec, const char *lv, int result,
		    const char *message)
{
	char set[SET_LABEL_LEN], id[ID_STR_LEN];
	bool ok = !result || result == -ENOENT;

	set_label(rec->set.name, sizeof(rec->set.name), rec->set.id, set,
		  sizeof(set));
	if (!to_journal()) {
		fprintf(stderr, "snapset daemon: %s: %s: %s%s\n", set, lv,
			ok ? "" : "release failed: ", message);
		return;
	}
	id_format(rec->set.id, id);
	sd_journal_send("MESSAGE=%s: %s: %s%s", set, lv,
			ok ? "" : "release failed: ", message, "MESSAGE_ID=%s",
			ok ? MSG_RELEASE : MSG_RELEASE_FAILED, "PRIORITY=%d",
			ok ? LOG_INFO : LOG_ERR, "SNAPSET_SET_ID=%s", id,
			"SNAPSET_DEVICE=%s", lv, NULL);
}

void report_told(const char *set_label, const char *set_id, const char *kind,
		 const char *writers_told)
{
	if (!to_journal()) {
		fprintf(stderr, "snapset daemon: %s: %s: writers told: %s\n",
			set_label, kind, writers_told);
		return;
	}
	sd_journal_send("MESSAGE=%s: %s: writers told: %s", set_label, kind,
			writers_told, "MESSAGE_ID=%s", MSG_WRITERS_TOLD,
			"PRIORITY=%d", LOG_INFO, "SNAPSET_SET_ID=%s", set_id,
			"SNAPSET_WRITERS_TOLD=%s", writers_told, NULL);
}

void report_writer_failed(const char *set_label, const char *set_id,
			  const char *kind, const char *writer,
			  const char *message)
{
	char escaped[4 * PROTO_TEXT_MAX + 1];

	/* A writer's words are untrusted text: escaped like names. */
	text_escape(message ?: "", PROTO_TEXT_MAX, escaped, sizeof(escaped));
	if (!to_journal()) {
		fprintf(stderr,
			"snapset daemon: %s: %s: writer %s: failed: %s\n",
			set_label, kind, writer, escaped);
		return;
	}
	sd_journal_send("MESSAGE=%s: %s: writer %s: failed: %s", set_label,
			kind, writer, escaped, "MESSAGE_ID=%s",
			MSG_WRITER_FAILED, "PRIORITY=%d", LOG_ERR,
			"SNAPSET_SET_ID=%s", set_id, "SNAPSET_WRITER=%s",
			writer, "SNAPSET_WRITER_RESULT=error", NULL);
}

void report_note(const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (to_journal())
		sd_journal_send("MESSAGE=%s", text, "PRIORITY=%d", LOG_NOTICE,
				NULL);
	else
		fprintf(stderr, "snapset daemon: %s\n", text);
}
