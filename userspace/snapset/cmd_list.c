// SPDX-License-Identifier: GPL-2.0
/*
 * snapset list [--json] [DEV]: live sets and pending records; with DEV,
 * the set that holds that device (the answer to an unexplained EBUSY).
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
    "Usage: snapset list [--json] [DEV]\n"
    "\n"
    "List live snapshot sets and shutdown records not yet delivered.\n"
    "With DEV, list only the set that holds that block device.\n"
    "\n"
    "  --json   a JSON array of sets\n";

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

static void print_text(const struct snapset_event *ev, bool *header)
{
	const struct snapset_set_info *s = &ev->set;
	char id[ID_STR_LEN], created[TIME_STR_LEN], name[NAME_ESCAPED_LEN];

	if (!*header) {
		printf("%-36s  %-20s  %-8s  %-9s  %-24s  %s\n", "ID", "NAME",
		       "STATE", "OWNER", "CREATED", "DEVICES");
		*header = true;
	}
	id_format(s->id, id);
	time_format(s->create_realtime, created);
	display_escape(s->name, sizeof(s->name), name, sizeof(name));
	printf("%-36s  %-20s  %-8s  %-9u  %-24s  %u\n", id,
	       name[0] ? name : "-", event_name(ev->type), s->owner_tgid,
	       created, s->ndevices);
	for (__u32 i = 0; i < s->ndevices; i++)
		print_device(snapset_event_device(ev, i));
}

/* Prints the records (only those holding @want when given); how many. */
static int print_records(const void *buf, size_t len, bool json,
			 const struct wanted *want)
{
	struct json_object *array = json_object_new_array();
	const struct snapset_event *ev;
	bool header = false;
	size_t off = 0;
	int shown = 0;

	while ((ev = record_next(buf, len, &off))) {
		if (want && !holds(ev, want))
			continue;
		shown++;
		if (json)
			json_object_array_add(array, record_described(ev));
		else
			print_text(ev, &header);
	}
	if (json)
		puts(json_object_to_json_string_ext(array,
						    JSON_C_TO_STRING_PRETTY));
	json_object_put(array);
	return shown;
}

int list_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dev_path = NULL;
	struct wanted want = { 0 };
	bool json = false;
	struct stat st = { 0 };
	size_t len = 0;
	void *buf;
	int opt, fd, ret, shown;

	while ((opt = cli_getopt(argc, argv, options)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		default:
			return cli_other_option(argv, opt, usage);
		}
	}
	if (optind < argc)
		dev_path = argv[optind++];
	if (optind < argc)
		return cli_usage_error(argv[0], argv[optind],
				       "unexpected argument");
	if (dev_path && stat(dev_path, &st)) {
		fprintf(stderr, "snapset list: %s: %s\n", dev_path,
			strerror(errno));
		return EXIT_RUNTIME;
	}
	if (dev_path && !S_ISBLK(st.st_mode)) {
		fprintf(stderr, "snapset list: %s: not a block device\n",
			dev_path);
		return EXIT_RUNTIME;
	}

	fd = cli_open_module(argv[0]);
	if (fd < 0)
		return EXIT_RUNTIME;
	ret = module_list(fd, &buf, &len);
	close(fd);
	if (ret)
		return cli_module_error(argv[0], ret);
	want.dev = st.st_rdev;
	want.diskseq = device_diskseq(major(want.dev), minor(want.dev));
	shown = print_records(buf, len, json, dev_path ? &want : NULL);
	free(buf);
	if (dev_path && !shown) {
		fprintf(stderr, "snapset list: %s: held by no snapshot set\n",
			dev_path);
		return EXIT_RUNTIME;
	}
	return EXIT_SUCCESS;
}
