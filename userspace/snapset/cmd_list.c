// SPDX-License-Identifier: GPL-2.0
/*
 * snapset list [--json | -o FIELDS] [--noheadings] [DEV]: live sets and
 * pending records; with DEV, the set that holds that device (the answer to
 * an unexplained EBUSY).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../common/device.h"
#include "../common/format.h"
#include "../common/lvm.h"
#include "../common/module.h"
#include "cli.h"
#include "commands.h"

static const char usage[] =
    "Usage: snapset list [--json | -o FIELDS] [--noheadings] [DEV]\n"
    "\n"
    "List live snapshot sets and shutdown records not yet delivered.\n"
    "With DEV, list only the set that holds that block device.\n"
    "\n"
    "  --json          a JSON array of sets\n"
    "  -o, --options FIELDS  only these columns, one line per set,\n"
    "                  comma-separated: id, name, state, owner, created,\n"
    "                  devices, held\n"
    "  --noheadings    no heading line\n";

/* A column of the text listing: its heading, width and value. */
struct field {
	const char *name;
	const char *heading;
	int width;
	void (*format)(const struct snapset_event *ev, char *out, size_t size);
};

static void format_id(const struct snapset_event *ev, char *out, size_t size)
{
	char id[ID_STR_LEN];

	id_format(ev->set.id, id);
	snprintf(out, size, "%s", id);
}

static void format_name(const struct snapset_event *ev, char *out, size_t size)
{
	display_escape(ev->set.name, sizeof(ev->set.name), out, size);
	if (!out[0])
		snprintf(out, size, "-");
}

static void format_state(const struct snapset_event *ev, char *out, size_t size)
{
	snprintf(out, size, "%s", event_name(ev->type));
}

static void format_owner(const struct snapset_event *ev, char *out, size_t size)
{
	snprintf(out, size, "%u", ev->set.owner_tgid);
}

static void format_created(const struct snapset_event *ev, char *out,
			   size_t size)
{
	char created[TIME_STR_LEN];

	time_format(ev->set.create_realtime, created);
	snprintf(out, size, "%s", created);
}

static void format_devices(const struct snapset_event *ev, char *out,
			   size_t size)
{
	snprintf(out, size, "%u", ev->set.ndevices);
}

/* How long its freeze held writes: "-" without one. */
static void format_held(const struct snapset_event *ev, char *out, size_t size)
{
	const struct snapset_set_info *s = &ev->set;

	/* A thaw that failed, at the deadline or inside a failed freeze. */
	if (s->flags & SNAPSET_SET_THAW_FAILED)
		snprintf(out, size, "failed");
	else if (!s->freeze_count)
		snprintf(out, size, "-");
	else if (s->freeze_end == SNAPSET_FREEZE_END_NONE)
		snprintf(out, size, "frozen");
	else if (s->freeze_end == SNAPSET_FREEZE_END_EXPIRED)
		snprintf(out, size, "expired");
	else
		snprintf(out, size, "%.1fms%s", (double)s->freeze_hold_ns / 1e6,
			 s->flags & SNAPSET_SET_FREEZE_FOREIGN ? "!" : "");
}

static const struct field fields[] = {
	{ "id", "ID", 36, format_id },
	{ "name", "NAME", 20, format_name },
	{ "state", "STATE", 8, format_state },
	{ "owner", "OWNER", 9, format_owner },
	{ "created", "CREATED", 24, format_created },
	{ "devices", "DEVICES", 7, format_devices },
	{ "held", "HELD", 9, format_held },
};

#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* The columns asked for, in order; all of them unless -o. */
struct columns {
	const struct field *field[NFIELDS * 2];
	size_t count;
	bool chosen;
	bool headings;
};

static const struct field *field_named(const char *name, size_t len)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (strlen(fields[i].name) == len &&
		    !strncmp(fields[i].name, name, len))
			return &fields[i];
	return NULL;
}

/* Parses -o's comma-separated list; else why not, in @cause. */
static int columns_parse(const char *list, struct columns *cols, char *cause,
			 size_t size)
{
	const size_t max = sizeof(cols->field) / sizeof(cols->field[0]);
	const char *name = list;

	cols->count = 0;
	cols->chosen = true;
	for (;;) {
		size_t len = strcspn(name, ",");
		const struct field *f = field_named(name, len);

		if (!f) {
			snprintf(cause, size,
				 "'%.*s': no such field (id, name, state, "
				 "owner, created, devices, held)",
				 (int)len, name);
			return -EINVAL;
		}
		if (cols->count == max) {
			snprintf(cause, size, "more than %zu fields", max);
			return -E2BIG;
		}
		cols->field[cols->count++] = f;
		if (!name[len])
			return 0;
		name += len + 1;
	}
}

static void columns_print(const struct columns *cols, const char *const *values)
{
	for (size_t i = 0; i < cols->count; i++) {
		bool last = i + 1 == cols->count;

		printf("%-*s%s", last ? 0 : cols->field[i]->width, values[i],
		       last ? "\n" : "  ");
	}
}

/* The device given as DEV: its number and the disk that has it now. */
struct wanted {
	dev_t dev;
	unsigned long long diskseq;
};

static bool holds(const struct snapset_event *ev, const struct wanted *want)
{
	for (__u32 i = 0; i < ev->set.ndevices; i++)
		if (device_info_is(snapset_event_device(ev, i),
				   major(want->dev), minor(want->dev),
				   want->diskseq))
			return true;
	return false;
}

/* What the recorded device is now, an LV's origin included. */
static int describe(const struct snapset_device_info *d,
		    struct device_desc *desc)
{
	struct lvm_error err;
	struct lv_info lv;
	int ret = device_describe(d->major, d->minor, d->diskseq, desc);

	if (!ret && desc->lv[0] && !lv_info_get(desc->vg, desc->lv, &lv, &err))
		snprintf(desc->origin, sizeof(desc->origin), "%s", lv.origin);
	return ret;
}

/* One indented line per device: identity, then what it is now. */
static void print_device(const struct snapset_device_info *d)
{
	struct device_desc desc;

	printf("    %u:%u diskseq %llu %s", d->major, d->minor,
	       (unsigned long long)d->diskseq,
	       d->flags & SNAPSET_DEVICE_PERSISTENT ? "persistent"
						    : "auto-release");
	if (describe(d, &desc)) {
		puts(" (gone)");
		return;
	}
	device_desc_print(stdout, &desc);
	putchar('\n');
}

/* The record as JSON, each device with what it is now. */
static struct json_object *record_described(const struct snapset_event *ev)
{
	struct json_object *obj = record_to_json(ev), *devices;
	struct device_desc desc;

	if (!json_object_object_get_ex(obj, "devices", &devices))
		return obj;
	for (__u32 i = 0; i < ev->set.ndevices; i++) {
		const struct snapset_device_info *d =
		    snapset_event_device(ev, i);

		if (!describe(d, &desc))
			device_desc_to_json(
			    &desc, json_object_array_get_idx(devices, i));
	}
	return obj;
}

static void print_headings(const struct columns *cols)
{
	const char *headings[NFIELDS * 2];

	for (size_t i = 0; i < cols->count; i++)
		headings[i] = cols->field[i]->heading;
	columns_print(cols, headings);
}

static void print_text(const struct snapset_event *ev,
		       const struct columns *cols)
{
	char text[NFIELDS * 2][NAME_ESCAPED_LEN];
	const char *values[NFIELDS * 2];

	for (size_t i = 0; i < cols->count; i++) {
		cols->field[i]->format(ev, text[i], sizeof(text[i]));
		values[i] = text[i];
	}
	columns_print(cols, values);
	if (cols->chosen)
		return;
	for (__u32 i = 0; i < ev->set.ndevices; i++)
		print_device(snapset_event_device(ev, i));
}

/* Prints the records (only those holding @want when given); how many. */
static int print_records(const void *buf, size_t len,
			 const struct columns *cols, const struct wanted *want)
{
	struct json_object *array = cols ? NULL : json_object_new_array();
	const struct snapset_event *ev;
	size_t off = 0;
	int shown = 0;

	while ((ev = record_next(buf, len, &off))) {
		if (want && !holds(ev, want))
			continue;
		if (!cols)
			json_object_array_add(array, record_described(ev));
		else if (!shown++ && cols->headings)
			print_headings(cols);
		if (cols)
			print_text(ev, cols);
	}
	if (array) {
		shown = json_object_array_length(array);
		puts(json_object_to_json_string_ext(array,
						    JSON_C_TO_STRING_PRETTY));
		json_object_put(array);
	}
	return shown;
}

/*
 * Parses the options into @cols and @json; false when list ends here, with
 * the exit status in @status (--help, or a usage error).
 */
static bool parse_options(int argc, char **argv, struct columns *cols,
			  bool *json, int *status)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "noheadings", no_argument, NULL, 'n' },
		{ "options", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char cause[128];
	int opt;

	/* lvm's short -o, beside the long options cli_getopt takes. */
	while ((opt = getopt_long(argc, argv, ":o:", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			*json = true;
			break;
		case 'n':
			cols->headings = false;
			break;
		case 'o':
			if (!columns_parse(optarg, cols, cause, sizeof(cause)))
				break;
			*status = cli_usage_error(argv[0], "-o", cause);
			return false;
		default:
			*status = cli_other_option(argv, opt, usage);
			return false;
		}
	}
	if (*json && cols->chosen) {
		*status = cli_usage_error(argv[0], "-o",
					  "not with --json, which has every "
					  "field");
		return false;
	}
	return true;
}

/* @want for the block device at @path; an exit status or 0. */
static int wanted_device(const char *path, struct wanted *want)
{
	struct stat st;

	if (stat(path, &st)) {
		fprintf(stderr, "snapset list: %s: %s\n", path,
			strerror(errno));
		return EXIT_RUNTIME;
	}
	if (!S_ISBLK(st.st_mode)) {
		fprintf(stderr, "snapset list: %s: not a block device\n", path);
		return EXIT_RUNTIME;
	}
	want->dev = st.st_rdev;
	want->diskseq = device_diskseq(major(want->dev), minor(want->dev));
	return 0;
}

int list_main(int argc, char **argv)
{
	struct columns cols = { .headings = true };
	const char *dev_path = NULL;
	struct wanted want = { 0 };
	bool json = false;
	size_t len = 0;
	void *buf;
	int fd, ret, shown;

	for (size_t i = 0; i < NFIELDS; i++)
		cols.field[cols.count++] = &fields[i];
	if (!parse_options(argc, argv, &cols, &json, &ret))
		return ret;
	if (optind < argc)
		dev_path = argv[optind++];
	if (optind < argc)
		return cli_usage_error(argv[0], argv[optind],
				       "unexpected argument");
	if (dev_path && (ret = wanted_device(dev_path, &want)))
		return ret;

	fd = cli_open_module(argv[0]);
	if (fd < 0)
		return EXIT_RUNTIME;
	ret = module_list(fd, &buf, &len);
	close(fd);
	if (ret)
		return cli_module_error(argv[0], ret);
	shown = print_records(buf, len, json ? NULL : &cols,
			      dev_path ? &want : NULL);
	free(buf);
	if (dev_path && !shown) {
		fprintf(stderr, "snapset list: %s: held by no snapshot set\n",
			dev_path);
		return EXIT_RUNTIME;
	}
	return EXIT_SUCCESS;
}
