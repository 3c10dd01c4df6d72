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
			       json_object_new_double(base));
	json_object_object_add(o, "ratio",
			       json_object_new_double(value / base));
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

	if (isnan(value) || isnan(base)) {
		printf("%-40s %s or %s not measured\n", m->name, m->series,
		       m->baseline);
		return !targets || !m->target;
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
