// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus textfile metrics (for node_exporter's textfile collector),
 * rewritten through the ring after every change (refused connections,
 * which anyone allowed to connect can cause, at most once a second).
 * Labels are set names, writer names with the uid that connected (a
 * writer picks its own name: the uid says who picked it) and engines,
 * never set ids: ids would make a new series per backup. Writers'
 * series are bounded. Counters count since the daemon started, as
 * Prometheus counters do; the last complete time per name is seeded
 * from the history so that an alert on it survives a restart.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/device.h"
#include "../common/format.h"
#include "daemon.h"

/* Delivery series kept apart; past them, new writers share one. */
#define DELIVERY_SERIES_MAX 128
/* Refusals alone rewrite the file at most this often. */
#define REFUSED_WRITE_MS 1000

struct sample {
	struct sample *next;
	const char *metric;
	char labels[320]; /* name="value",... escaped */
	double value;
};

struct metrics {
	struct sample *samples;
	long long written_at; /* CLOCK_MONOTONIC ms of the last write */
	bool unwritten;	      /* refusals counted since */
	bool timer_armed;     /* their write is due at this timeout */
	struct op timer_op;
	struct __kernel_timespec timer;
};

struct metric_help {
	const char *name;
	const char *type;
	const char *help;
};

enum metric {
	M_SETS_ACTIVE,
	M_PENDING,
	M_WRITERS,
	M_TERMINATED,
	M_INCOMPLETE,
	M_LAST_COMPLETE,
	M_DELIVERIES,
	M_RELEASE_FAILURES,
	M_REFUSED,
	M_START_TIME,
	M_COUNT,
};

static const struct metric_help helps[M_COUNT] = {
	[M_SETS_ACTIVE] = { "snapset_sets_active", "gauge",
			    "Snapshot sets alive now." },
	{ "snapset_pending_records", "gauge",
	  "Shutdown records not acknowledged yet." },
	{ "snapset_writers_connected", "gauge", "Registered writers." },
	{ "snapset_sets_terminated_total", "counter",
	  "Sets that ended, by name and reason." },
	{ "snapset_sets_incomplete_total", "counter",
	  "Sets that ended without BackupComplete, by name." },
	{ "snapset_last_complete_timestamp_seconds", "gauge",
	  "When a set of this name last ended after BackupComplete." },
	{ "snapset_writer_deliveries_total", "counter",
	  "Events delivered to writers, by writer, uid and result." },
	{ "snapset_release_failures_total", "counter",
	  "Snapshots that could not be released, by engine." },
	{ "snapset_writer_connections_refused_total", "counter",
	  "Connections to the writer socket refused, by reason." },
	{ "snapset_daemon_start_time_seconds", "gauge",
	  "When the daemon started." },
};

/* A Prometheus label value: backslash, quote and newline escaped. */
static void label_escape(const char *value, char *out, size_t size)
{
	size_t o = 0;

	for (; *value && o + 3 < size; value++) {
		if (*value == '\\' || *value == '"' || *value == '\n')
			out[o++] = '\\';
		out[o++] = *value == '\n' ? 'n' : *value;
	}
	out[o] = '\0';
}

static struct sample *find(struct daemon *d, const char *metric,
			   const char *labels)
{
	for (struct sample *s = d->metrics->samples; s; s = s->next)
		if (s->metric == metric && !strcmp(s->labels, labels))
			return s;
	return NULL;
}

static unsigned int series(struct daemon *d, const char *metric)
{
	unsigned int n = 0;

	for (struct sample *s = d->metrics->samples; s; s = s->next)
		n += s->metric == metric;
	return n;
}

static struct sample *sample(struct daemon *d, const char *metric,
			     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The sample of @metric with these labels, made at 0 if new. */
static struct sample *sample(struct daemon *d, const char *metric,
			     const char *fmt, ...)
{
	struct sample *s, **p = &d->metrics->samples;
	char labels[sizeof(s->labels)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(labels, sizeof(labels), fmt, ap);
	va_end(ap);
	s = find(d, metric, labels);
	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s) {
		static struct sample lost; /* out of memory: counts nowhere */
		return &lost;
	}
	s->metric = metric;
	strcpy(s->labels, labels);
	while (*p)
		p = &(*p)->next;
	*p = s;
	return s;
}

static void set_name(const struct snapset_set_info *s, char *out, size_t size)
{
	char name[SNAPSET_NAME_LEN + 1];

	snprintf(name, sizeof(name), "%.*s", (int)sizeof(s->name), s->name);
	label_escape(name, out, size);
}

static void complete_seen(struct daemon *d, const char *name, double when)
{
	struct sample *s =
	    sample(d, helps[M_LAST_COMPLETE].name, "name=\"%s\"", name);

	if (when > s->value)
		s->value = when;
}

/* Seeds the last complete times from the history. */
static void seed_from_history(struct daemon *d)
{
	for (size_t i = 0; i < json_object_array_length(d->history); i++) {
		struct json_object *e =
		    json_object_array_get_idx(d->history, i);
		struct json_object *completed, *name, *ended;
		struct tm tm = { 0 };
		char escaped[256];

		if (!json_object_object_get_ex(e, "completed", &completed) ||
		    !json_object_get_boolean(completed) ||
		    !json_object_object_get_ex(e, "name", &name) ||
		    !json_object_object_get_ex(e, "ended_at", &ended) ||
		    !strptime(json_object_get_string(ended),
			      "%Y-%m-%dT%H:%M:%S", &tm))
			continue;
		label_escape(json_object_get_string(name), escaped,
			     sizeof(escaped));
		complete_seen(d, escaped, (double)timegm(&tm));
	}
}

int metrics_init(struct daemon *d)
{
	int ret;

	d->metrics = calloc(1, sizeof(*d->metrics));
	if (!d->metrics)
		return -ENOMEM;
	d->metrics->timer_op = (struct op){ OP_METRICS, NULL };
	if (!d->opts->metrics_path[0])
		return 0;
	/* node_exporter reads it as its own user. */
	ret = file_job_new(d, d->opts->metrics_path, 0644, &d->metrics_file);
	if (ret)
		return ret == -ENOMEM ? ret : 0;
	sample(d, helps[M_START_TIME].name, "%s", "")->value =
	    (double)(d->started_realtime / 1000000000ULL);
	seed_from_history(d);
	metrics_write(d);
	return 0;
}

void metrics_free(struct daemon *d)
{
	if (!d->metrics)
		return;
	while (d->metrics->samples) {
		struct sample *s = d->metrics->samples;

		d->metrics->samples = s->next;
		free(s);
	}
	free(d->metrics);
	d->metrics = NULL;
}

void metrics_shutdown(struct daemon *d, const struct snapset_event *rec)
{
	const struct snapset_set_info *s = &rec->set;
	char name[256];

	set_name(s, name, sizeof(name));
	sample(d, helps[M_TERMINATED].name, "name=\"%s\",reason=\"%s\"", name,
	       reason_name(s->reason))
	    ->value++;
	if (!(s->flags & SNAPSET_SET_COMPLETED))
		sample(d, helps[M_INCOMPLETE].name, "name=\"%s\"", name)
		    ->value++;
	else
		complete_seen(d, name,
			      (double)(s->end_realtime / 1000000000ULL));
	metrics_write(d);
}

void metrics_delivery(struct daemon *d, const char *writer, uid_t uid, bool ok)
{
	const char *metric = helps[M_DELIVERIES].name;
	const char *result = ok ? "ok" : "error";
	char labels[sizeof(((struct sample *)0)->labels)];

	snprintf(labels, sizeof(labels),
		 "writer=\"%s\",uid=\"%u\",result=\"%s\"", writer, uid, result);
	if (!find(d, metric, labels) &&
	    series(d, metric) >= DELIVERY_SERIES_MAX)
		snprintf(labels, sizeof(labels),
			 "writer=\"(other)\",uid=\"\",result=\"%s\"", result);
	sample(d, metric, "%s", labels)->value++;
	metrics_write(d);
}

/*
 * Each refusal is counted at once, but a flood of them must not cost a
 * file rewrite (a thread, an fsync) each: they are written with the
 * next write, or by a timeout once REFUSED_WRITE_MS have passed since
 * the last one.
 */
void metrics_refused(struct daemon *d, const char *reason)
{
	struct metrics *m = d->metrics;
	long long wait = m->written_at + REFUSED_WRITE_MS - monotonic_ms();

	sample(d, helps[M_REFUSED].name, "reason=\"%s\"", reason)->value++;
	if (!d->metrics_file)
		return;
	/* Stopping: the loop ends with the jobs in hand, not the timer. */
	if (wait <= 0 || d->stopping) {
		metrics_write(d);
		return;
	}
	m->unwritten = true;
	if (m->timer_armed)
		return;
	m->timer_armed = true;
	ms_to_timespec(wait, &m->timer);
	io_uring_prep_timeout(daemon_sqe(d, &m->timer_op), &m->timer, 0, 0);
}

void metrics_event(struct daemon *d)
{
	d->metrics->timer_armed = false;
	if (d->metrics->unwritten)
		metrics_write(d);
}

void metrics_stop(struct daemon *d)
{
	if (d->metrics->unwritten)
		metrics_write(d);
}

void metrics_release_failure(struct daemon *d, const char *engine)
{
	sample(d, helps[M_RELEASE_FAILURES].name, "engine=\"%s\"", engine)
	    ->value++;
	metrics_write(d);
}

static double module_counter(const char *name)
{
	char path[96], value[32];

	snprintf(path, sizeof(path), "/sys/class/misc/snapset/%s", name);
	return sysfs_read(path, value, sizeof(value)) ? 0 : atof(value);
}

static void print_metric(FILE *out, struct daemon *d,
			 const struct metric_help *h)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", h->name, h->help, h->name,
		h->type);
	for (struct sample *s = d->metrics->samples; s; s = s->next)
		if (s->metric == h->name)
			fprintf(out,
				s->labels[0] ? "%s{%s} %.17g\n"
					     : "%s%s %.17g\n",
				h->name, s->labels, s->value);
}

void metrics_write(struct daemon *d)
{
	char *text = NULL;
	size_t size;
	FILE *out;

	if (!d->metrics_file)
		return;
	d->metrics->written_at = monotonic_ms();
	d->metrics->unwritten = false;
	sample(d, helps[M_SETS_ACTIVE].name, "%s", "")->value =
	    module_counter("sets_live");
	sample(d, helps[M_PENDING].name, "%s", "")->value =
	    module_counter("pending");
	sample(d, helps[M_WRITERS].name, "%s", "")->value = writers_count(d);
	out = open_memstream(&text, &size);
	if (!out)
		return;
	for (size_t i = 0; i < M_COUNT; i++)
		print_metric(out, d, &helps[i]);
	if (fclose(out)) {
		free(text);
		return;
	}
	file_job_write(d->metrics_file, text);
}
