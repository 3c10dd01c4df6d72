// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's verdict: reads the series the bench programs printed
 * (one JSON object per line, each with its "series" name), puts each
 * figure of snapset beside its baseline from the same boot, prints the
 * table, writes the metrics as a JSON array, and exits 1 when a target
 * is missed or a targeted figure is missing.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* snapset's figure over its baseline's: the ratio, at most @target. */
struct metric {
	const char *name;
	const char *unit;
	const char *series, *field;
	const char *baseline, *baseline_field;
	double target; /* 0: reported, no target */
};

/*
 * Fan-out to @n writers (bench/fanout), the daemon against the reference
 * epoll notifier: the time to the last writer at p50 no more than the
 * reference's, half its system calls per writer notified.
 */
#define FANOUT_METRIC(n, what, field, target)                        \
	{                                                            \
		"fan-out to " n ", " what, "us", "fanout-" n, field, \
		    "fanout-ref-" n, field, target                   \
	}
#define FANOUT_METRICS(n)                                                    \
	FANOUT_METRIC(n, "last writer, p50", "p50_us", 1.0),                 \
	    FANOUT_METRIC(n, "last writer, p99", "p99_us", 0),               \
	    FANOUT_METRIC(n, "first writer, p50", "first_p50_us", 0),        \
	    FANOUT_METRIC(n, "first writer, p99", "first_p99_us", 0),        \
	{                                                                    \
		"fan-out to " n ", syscalls per writer", "sys", "fanout-" n, \
		    "syscalls_per_writer", "fanout-ref-" n,                  \
		    "syscalls_per_writer", 0.5                               \
	}

static const struct metric metrics[] = {
	{ "kill to writer, p50", "us", "chain", "p50_us", "pidfd", "p50_us",
	  1.5 },
	{ "kill to writer, p99", "us", "chain", "p99_us", "pidfd", "p99_us",
	  2.0 },
	{ "kill to writer, max", "us", "chain", "max_us", "pidfd", "max_us",
	  0 },
	{ "kill to writer's socket readable, p50", "us", "chain-readable",
	  "p50_us", "pidfd", "p50_us", 0 },
	{ "kill to writer's socket readable, p99", "us", "chain-readable",
	  "p99_us", "pidfd", "p99_us", 0 },
	{ "kill to agent, p50", "us", "agent", "p50_us", "pidfd", "p50_us",
	  1.2 },
	{ "kill to agent, p99", "us", "agent", "p99_us", "pidfd", "p99_us", 0 },
	{ "pidfd over a pipe wakeup, p50", "us", "pidfd", "p50_us", "pipe",
	  "p50_us", 0 },
	{ "kill to writer against a 1 s poll, p50", "us", "chain", "p50_us",
	  "poll-1s", "p50_us", 0 },
	{ "kill to writer against a 5 s poll, p50", "us", "chain", "p50_us",
	  "poll-5s", "p50_us", 0 },
	FANOUT_METRICS("1"),
	FANOUT_METRICS("100"),
	FANOUT_METRICS("1000"),
	/* Scale (bench/scale.c): 10,000 live armed sets against 1,000. */
	{ "create+arm 10k sets / 1k", "ms", "scale-10000", "create_arm_ms",
	  "scale-1000", "create_arm_ms", 11 },
	{ "list 10k sets / 1k", "ms", "scale-10000", "list_ms", "scale-1000",
	  "list_ms", 11 },
	{ "terminate (close) 10k sets / 1k", "ms", "scale-10000",
	  "terminate_ms", "scale-1000", "terminate_ms", 11 },
	{ "agent drain 10k records / 1k", "ms", "scale-10000", "drain_ms",
	  "scale-1000", "drain_ms", 11 },
	{ "4 devices: create+add+arm 10k / 1k", "ms", "scale-10000",
	  "create_arm_dev_ms", "scale-1000", "create_arm_dev_ms", 11 },
	{ "4 devices: list 10k sets / 1k", "ms", "scale-10000", "list_dev_ms",
	  "scale-1000", "list_dev_ms", 11 },
	{ "4 devices: terminate 10k / 1k", "ms", "scale-10000",
	  "terminate_dev_ms", "scale-1000", "terminate_dev_ms", 11 },
	{ "4 devices: agent drain 10k / 1k", "ms", "scale-10000",
	  "drain_dev_ms", "scale-1000", "drain_dev_ms", 11 },
	/* Kernel memory against the budget (scale-budget). */
	{ "memory per live armed set", "B", "scale-10000", "set_bytes",
	  "scale-budget", "set_bytes", 1 },
	{ "memory per device of a live set", "B", "scale-10000", "device_bytes",
	  "scale-budget", "device_bytes", 1 },
	{ "memory per pending record", "B", "scale-1000", "record_bytes",
	  "scale-budget", "record_bytes", 1 },
	{ "memory per device of a pending record", "B", "scale-1000",
	  "record_device_bytes", "scale-budget", "device_bytes", 1 },
	{ "memory per live set with 4 devices", "B", "scale-10000",
	  "set_dev_bytes", "scale-budget", "set_bytes", 0 },
	{ "memory per /dev/snapset fd, no set", "B", "scale-10000",
	  "open_bytes", "scale-budget", "set_bytes", 0 },
};

/* The killed run's LV: its release against an lvremove by hand. */
static const struct metric release_metrics[] = {
	{ "killed run's LV gone, p50", "us", "release", "p50_us", "lvremove",
	  "p50_us", 1.2 },
	{ "killed run's LV gone, p99", "us", "release", "p99_us", "lvremove",
	  "p99_us", 1.2 },
	{ "killed run's LV gone, max", "us", "release", "max_us", "lvremove",
	  "max_us", 0 },
};

/*
 * Writes held while @n LVM snapshots are made (bench/freeze_hold.sh):
 * snapset run --freeze against a script's fsfreeze -f, lvcreate,
 * fsfreeze -u. Reported, no target.
 */
#define HOLD_METRIC(n, lvs, what, field)                                      \
	{                                                                     \
		"writes held, " lvs ", " what, "us", "freeze-hold-" n, field, \
		    "fsfreeze-" n, field, 0                                   \
	}
#define HOLD_METRICS(n, lvs)                  \
	HOLD_METRIC(n, lvs, "p50", "p50_us"), \
	    HOLD_METRIC(n, lvs, "max", "max_us")

static const struct metric hold_metrics[] = {
	HOLD_METRICS("1", "1 LV"),
	HOLD_METRICS("2", "2 LVs"),
	HOLD_METRICS("4", "4 LVs"),
};

/*
 * A figure with no baseline, against a bound of its own: what the
 * daemon does at idle has nothing to be compared with but nothing.
 */
struct absolute {
	const char *name;
	const char *unit;
	const char *series, *field;
	bool bounded;
	double most; /* when bounded */
};

static const struct absolute absolutes[] = {
	{ "daemon at idle, wakeups", "", "idle", "wakeups", true, 0 },
	{ "daemon at idle, system calls", "", "idle", "syscalls", true, 0 },
	{ "daemon at idle, iou-wrk threads", "", "idle", "iou_wrk_threads",
	  true, 0 },
	{ "daemon at idle, context switches", "", "idle", "context_switches",
	  false, 0 },
	{ "daemon at idle, resident memory", "KiB", "idle", "rss_kib", false,
	  0 },
};

/* The series read, by name. */
static struct json_object *series;

static int series_read(FILE *in)
{
	char *line = NULL;
	size_t cap = 0;
	struct json_object *obj, *name;
	int lineno = 0;

	series = json_object_new_object();
	while (getline(&line, &cap, in) > 0) {
		lineno++;
		obj = json_tokener_parse(line);
		if (!obj || !json_object_object_get_ex(obj, "series", &name)) {
			fprintf(stderr,
				"bench report: line %d: not a series: %s",
				lineno, line);
			json_object_put(obj);
			free(line);
			return -EINVAL;
		}
		json_object_object_add(series, json_object_get_string(name),
				       obj);
	}
	free(line);
	return 0;
}

/* A series' figure, or NAN when that series did not run. */
static double figure(const char *name, const char *field)
{
	struct json_object *s, *value;

	if (!json_object_object_get_ex(series, name, &s) ||
	    !json_object_object_get_ex(s, field, &value))
		return NAN;
	return json_object_get_double(value);
}

static struct json_object *metric_json(const struct metric *m, double value,
				       double base, bool pass)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(m->name));
	json_object_object_add(o, "unit", json_object_new_string(m->unit));
	json_object_object_add(o, "snapset", json_object_new_double(value));
	json_object_object_add(o, "baseline",
			       json_object_new_string(m->baseline));
	json_object_object_add(o, "baseline_value",
			       isnan(base) ? NULL
					   : json_object_new_double(base));
	json_object_object_add(
	    o, "ratio",
	    isnan(base) ? NULL : json_object_new_double(value / base));
	json_object_object_add(
	    o, "target", m->target ? json_object_new_double(m->target) : NULL);
	json_object_object_add(
	    o, "pass", m->target ? json_object_new_boolean(pass) : NULL);
	return o;
}

/* One row of the table and of @out; false when its target is missed. */
static bool metric_report(const struct metric *m, struct json_object *out,
			  bool targets)
{
	double value = figure(m->series, m->field);
	double base = figure(m->baseline, m->baseline_field);
	bool pass = !m->target || value / base <= m->target;
	char target[16] = "";

	if (isnan(value) || (isnan(base) && m->target)) {
		printf("%-40s %s or %s not measured\n", m->name, m->series,
		       m->baseline);
		return !targets || !m->target;
	}
	/* A reported figure whose baseline could not run on this kernel. */
	if (isnan(base)) {
		printf("%-40s %10.1f %-3s %10s %s not measured\n", m->name,
		       value, m->unit, "", m->baseline);
		json_object_array_add(out, metric_json(m, value, base, true));
		return true;
	}
	if (m->target)
		snprintf(target, sizeof(target), "<= %.2f", m->target);
	printf("%-40s %10.1f %-3s %10.1f %-8s %8.3f %-8s %s\n", m->name, value,
	       m->unit, base, m->baseline, value / base, target,
	       !m->target ? ""
	       : pass	  ? "met"
			  : "MISSED");
	json_object_array_add(out, metric_json(m, value, base, pass));
	return pass || !targets;
}

static struct json_object *absolute_json(const struct absolute *a, double value,
					 bool pass)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(a->name));
	json_object_object_add(o, "unit", json_object_new_string(a->unit));
	json_object_object_add(o, "snapset", json_object_new_double(value));
	json_object_object_add(o, "baseline", NULL);
	json_object_object_add(o, "baseline_value", NULL);
	json_object_object_add(o, "ratio", NULL);
	json_object_object_add(
	    o, "target", a->bounded ? json_object_new_double(a->most) : NULL);
	json_object_object_add(
	    o, "pass", a->bounded ? json_object_new_boolean(pass) : NULL);
	return o;
}

/* One row, its figure against its bound; false when the bound is passed. */
static bool absolute_report(const struct absolute *a, struct json_object *out,
			    bool targets)
{
	double value = figure(a->series, a->field);
	bool pass = !a->bounded || value <= a->most;
	char target[16] = "";

	if (isnan(value)) {
		printf("%-40s %s not measured\n", a->name, a->series);
		return !targets || !a->bounded;
	}
	if (a->bounded)
		snprintf(target, sizeof(target), "<= %g", a->most);
	printf("%-40s %10.1f %-3s %10s %-8s %8s %-8s %s\n", a->name, value,
	       a->unit, "", "(none)", "", target,
	       !a->bounded ? ""
	       : pass	   ? "met"
			   : "MISSED");
	json_object_array_add(out, absolute_json(a, value, pass));
	return pass || !targets;
}

static void __attribute__((noreturn)) usage(int status)
{
	fputs("Usage: report [--no-targets] OUTPUT.json < SERIES\n",
	      status ? stderr : stdout);
	exit(status);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "no-targets", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct json_object *out;
	bool targets = true, met = true;
	int opt;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == 'n')
			targets = false;
		else
			usage(opt == 'h' ? 0 : 2);
	}
	if (optind != argc - 1)
		usage(2);
	if (series_read(stdin))
		return 2;
	out = json_object_new_array();
	printf("%-40s %14s %19s %8s %s\n", "metric", "snapset", "baseline",
	       "ratio", "target");
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		met &= metric_report(&metrics[i], out, targets);
	for (size_t i = 0; i < sizeof(absolutes) / sizeof(absolutes[0]); i++)
		met &= absolute_report(&absolutes[i], out, targets);
	for (size_t i = 0;
	     i < sizeof(release_metrics) / sizeof(release_metrics[0]); i++)
		met &= metric_report(&release_metrics[i], out, targets);
	for (size_t i = 0; i < sizeof(hold_metrics) / sizeof(hold_metrics[0]);
	     i++)
		met &= metric_report(&hold_metrics[i], out, targets);
	if (json_object_to_file_ext(argv[optind], out,
				    JSON_C_TO_STRING_PRETTY)) {
		fprintf(stderr, "bench report: %s: %s\n", argv[optind],
			json_util_get_last_err());
		return 2;
	}
	json_object_put(out);
	json_object_put(series);
	return met ? 0 : 1;
}
