// SPDX-License-Identifier: GPL-2.0
/*
 * The history: one entry per set that ended, newest last, at most
 * history_size of them, kept in HISTORY_FILE under the history directory
 * (replaced atomically through the ring, so it survives restarts and a
 * crash mid-write leaves the previous one). It also answers snapset
 * status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/format.h"
#include "../lib/protocol.h"
#include "daemon.h"

#define HISTORY_FILE "history.json"
/* Entries snapset status shows. */
#define STATUS_HISTORY 10

int history_load(struct daemon *d)
{
	char path[300];
	struct json_object *old;
	size_t n;
	int ret;

	d->history = json_object_new_array();
	if (!d->opts->history_dir[0] || !d->opts->history_size)
		return 0;
	/* Delivery matters more than its record: go on without one. */
	if (mkdir(d->opts->history_dir, 0755) && errno != EEXIST) {
		report_note("%s: %s; no history is kept", d->opts->history_dir,
			    strerror(errno));
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%s", d->opts->history_dir,
		 HISTORY_FILE);
	/* Backups' names and owners: not for every user to read. */
	ret = file_job_new(d, path, 0640, &d->history_file);
	if (ret)
		return ret == -ENOMEM ? ret : 0;
	old = json_object_from_file(path);
	if (!old) {
		if (access(path, F_OK) == 0)
			report_note("%s: unreadable, starting a new history",
				    path);
		return 0;
	}
	if (!json_object_is_type(old, json_type_array)) {
		report_note("%s: not a JSON array, starting a new history",
			    path);
		json_object_put(old);
		return 0;
	}
	n = json_object_array_length(old);
	for (size_t i = n > d->opts->history_size ? n - d->opts->history_size
						  : 0;
	     i < n; i++) {
		struct json_object *e = json_object_array_get_idx(old, i);

		/* Only entries: a hand-edited file may hold anything. */
		if (json_object_is_type(e, json_type_object))
			json_object_array_add(d->history, json_object_get(e));
	}
	json_object_put(old);
	return 0;
}

/* The record's set as JSON, with what the daemon did about it. */
static struct json_object *entry(const struct snapset_event *rec,
				 const char *release_error,
				 unsigned int writers_failed)
{
	struct json_object *obj = record_to_json(rec);
	bool ok = (rec->set.flags & SNAPSET_SET_COMPLETED) && !release_error &&
		  !writers_failed;

	json_object_object_del(obj, "event");
	json_object_object_del(obj, "seq");
	json_add_string(obj, "release", release_error ?: "ok");
	json_add_int(obj, "writers_failed", writers_failed);
	json_add_string(obj, "result", ok ? "ok" : "error");
	return obj;
}

void history_add(struct daemon *d, const struct snapset_event *rec,
		 const char *release_error, unsigned int writers_failed)
{
	size_t n;

	if (!d->opts->history_size)
		return;
	json_object_array_add(d->history,
			      entry(rec, release_error, writers_failed));
	n = json_object_array_length(d->history);
	if (n > d->opts->history_size)
		json_object_array_del_idx(d->history, 0,
					  n - d->opts->history_size);
	if (d->history_file)
		file_job_write(d->history_file,
			       strdup(json_object_to_json_string_ext(
				   d->history, JSON_C_TO_STRING_PRETTY)));
}

static struct json_object *daemon_status(struct daemon *d)
{
	struct json_object *obj = json_object_new_object();
	char started[TIME_STR_LEN];

	time_format(d->started_realtime, started);
	json_add_int(obj, "pid", getpid());
	json_add_string(obj, "version", SNAPSET_VERSION);
	json_add_string(obj, "started", started);
	json_add_string(obj, "socket", d->opts->socket_path);
	json_add_int(obj, "writer_deadline_ms", d->opts->writer_deadline_ms);
	json_add_int(obj, "lvremove_deadline_ms",
		     d->opts->lvremove_deadline_ms);
	json_add_string(obj, "history",
			d->history_file ? d->opts->history_dir : "");
	json_add_string(obj, "metrics", d->opts->metrics_path);
	json_add_int(obj, "jobs", d->jobs);
	return obj;
}

/* An entry without its devices, counted instead: status stays small. */
static struct json_object *entry_summary(struct json_object *entry)
{
	struct json_object *obj = json_object_new_object();

	json_object_object_foreach(entry, key, value)
	{
		if (strcmp(key, "devices"))
			json_object_object_add(obj, key,
					       json_object_get(value));
		else
			json_add_int(obj, "ndevices",
				     json_object_array_length(value));
	}
	return obj;
}

static char *status_text(struct daemon *d, bool full)
{
	struct json_object *obj = json_object_new_object(), *recent;
	size_t n = json_object_array_length(d->history);
	char *text;

	recent = json_object_new_array();
	for (size_t i = n > STATUS_HISTORY ? n - STATUS_HISTORY : 0;
	     full && i < n; i++)
		json_object_array_add(
		    recent,
		    entry_summary(json_object_array_get_idx(d->history, i)));
	json_add_string(obj, "type", "status");
	json_object_object_add(obj, "daemon", daemon_status(d));
	json_object_object_add(obj, "writers", writers_status(d, full));
	json_object_object_add(obj, "history", recent);
	text =
	    strdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
	json_object_put(obj);
	return text;
}

/* Within a message's bound: without match lists and history if need be. */
char *status_message(struct daemon *d)
{
	char *text = status_text(d, true);

	if (text && strlen(text) > PROTO_MESSAGE_MAX) {
		free(text);
		text = status_text(d, false);
	}
	return text;
}
