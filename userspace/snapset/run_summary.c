// SPDX-License-Identifier: GPL-2.0
/*
 * What snapset run tells its user about a backup: each step with
 * --verbose, and at the end one line (or a JSON object with --json) with
 * the set, its snapshots, how full their COW space got, the time taken
 * and how the set ended. A full COW space is the one fact a backup must
 * not miss: dm drops such a snapshot, and what was read from it is bad.
 */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../common/format.h"
#include "run.h"

/*
 * While writes are held, stderr may be a file on a frozen filesystem:
 * what run says then waits here, and what does not fit is cut.
 */
static char held[8192];
static size_t held_len;
static bool holding;

static void run_vprint(const char *fmt, va_list ap)
{
	int n;

	if (!holding) {
		vfprintf(stderr, fmt, ap);
		return;
	}
	n = vsnprintf(held + held_len, sizeof(held) - held_len, fmt, ap);
	if (n > 0)
		held_len += (size_t)n < sizeof(held) - held_len
				? (size_t)n
				: sizeof(held) - 1 - held_len;
}

void run_print(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	run_vprint(fmt, ap);
	va_end(ap);
}

void run_output_hold(void)
{
	holding = true;
}

void run_output_release(void)
{
	holding = false;
	fwrite(held, 1, held_len, stderr);
	held_len = 0;
}

void run_step(const struct run_state *st, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!st->opts->verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	run_print("snapset run: %s\n", line);
}

void run_summary_collect(struct run_state *st)
{
	for (unsigned int i = 0; i < st->ndevs; i++) {
		struct run_dev *dev = &st->devs[i];
		/* Only dm has COW space: libdm is not asked about others. */
		bool dm = dev->engine.kind == ENGINE_DM ||
			  dev->engine.kind == ENGINE_LVM;

		dev->cow_read = dm && !dev->persistent &&
				!engine_cow_usage(dev->rdev, &dev->cow);
	}
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static const char *outcome_name(enum run_outcome outcome)
{
	switch (outcome) {
	case RUN_COMPLETED:
		return "completed";
	case RUN_ABORTED:
		return "aborted";
	default:
		return "failed";
	}
}

/* @bytes in binary units, one decimal: "64.0 MiB". */
static void size_format(unsigned long long bytes, char *out, size_t size)
{
	static const char *const units[] = { "B",   "KiB", "MiB",
					     "GiB", "TiB", "PiB" };
	double value = (double)bytes;
	unsigned int unit = 0;

	while (value >= 1024 && unit + 1 < sizeof(units) / sizeof(units[0])) {
		value /= 1024;
		unit++;
	}
	snprintf(out, size, "%.1f %s", value, units[unit]);
}

/* ", LABEL (64.0 MiB COW, 3.1% used)": one snapshot, for the line. */
static void snapshot_print(const struct run_dev *dev, bool first)
{
	char cow_size[32];

	fprintf(stderr, "%s%s", first ? "" : ", ", dev->label);
	if (!dev->cow_read)
		return;
	if (dev->cow.invalid) {
		fputs(" (COW space overflowed: snapshot invalidated)", stderr);
		return;
	}
	size_format(dev->cow.size, cow_size, sizeof(cow_size));
	fprintf(stderr, " (%s COW, %.1f%% used)", cow_size,
		dev->cow.size
		    ? 100.0 * (double)dev->cow.used / (double)dev->cow.size
		    : 0.0);
}

static void summary_line(const struct run_state *st)
{
	char set[SET_LABEL_LEN];
	unsigned int snapshots = 0, persistent = 0;

	run_set_label(st, set, sizeof(set));
	fprintf(stderr, "snapset run: %s %s in %.1f s (exit status %d)", set,
		outcome_name(st->outcome), seconds_since(&st->started),
		st->exit_status);
	for (unsigned int i = 0; i < st->ndevs; i++) {
		if (st->devs[i].persistent) {
			persistent++;
			continue;
		}
		if (!snapshots++)
			fputs("; snapshots: ", stderr);
		snapshot_print(&st->devs[i], snapshots == 1);
	}
	if (persistent)
		fprintf(stderr, "; %u persistent device%s", persistent,
			persistent == 1 ? "" : "s");
	if (st->thaw.freeze_count)
		fprintf(stderr, "; writes held %.1f ms",
			(double)st->thaw.freeze_hold_ns / 1e6);
	fputc('\n', stderr);
}

static struct json_object *device_json(const struct run_dev *dev)
{
	struct json_object *obj = json_object_new_object();

	json_object_object_add(obj, "device",
			       json_object_new_string(dev->label));
	json_object_object_add(
	    obj, "engine",
	    json_object_new_string(engine_name(dev->engine.kind)));
	json_object_object_add(obj, "persistent",
			       json_object_new_boolean(dev->persistent));
	json_object_object_add(obj, "created",
			       json_object_new_boolean(dev->created));
	if (!dev->cow_read)
		return obj;
	json_object_object_add(obj, "cow_size",
			       json_object_new_uint64(dev->cow.size));
	json_object_object_add(obj, "cow_used",
			       json_object_new_uint64(dev->cow.used));
	json_object_object_add(obj, "cow_invalid",
			       json_object_new_boolean(dev->cow.invalid));
	return obj;
}

static void summary_json(const struct run_state *st)
{
	struct json_object *obj = json_object_new_object();
	struct json_object *devices = json_object_new_array();
	const char *name = st->opts->name ? st->opts->name : "";

	json_object_object_add(
	    obj, "id",
	    st->id_text[0] ? json_object_new_string(st->id_text) : NULL);
	json_object_object_add(obj, "name", json_object_new_string(name));
	json_object_object_add(
	    obj, "outcome", json_object_new_string(outcome_name(st->outcome)));
	json_object_object_add(obj, "exit_status",
			       json_object_new_int(st->exit_status));
	json_object_object_add(
	    obj, "seconds",
	    json_object_new_double(seconds_since(&st->started)));
	for (unsigned int i = 0; i < st->ndevs; i++)
		json_object_array_add(devices, device_json(&st->devs[i]));
	json_object_object_add(obj, "devices", devices);
	/* As list --json has it; a failed thaw back froze nothing. */
	if (st->freeze_info.freeze_count ||
	    st->freeze_info.flags & SNAPSET_SET_THAW_FAILED)
		json_object_object_add(obj, "freeze",
				       freeze_info_to_json(&st->freeze_info));
	if (st->error[0])
		json_object_object_add(obj, "error",
				       json_object_new_string(st->error));
	puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
	json_object_put(obj);
}

void run_summary_print(const struct run_state *st)
{
	if (st->opts->json)
		summary_json(st);
	else if (st->outcome != RUN_NOT_ARMED)
		summary_line(st);
}
