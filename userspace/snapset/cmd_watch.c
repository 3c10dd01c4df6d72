// SPDX-License-Identifier: GPL-2.0
/*
 * snapset watch [--json] [--count N]: the module's events, one line each,
 * as they happen.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/format.h"
#include "../common/module.h"
#include "cli.h"
#include "commands.h"

static const char usage[] =
    "Usage: snapset watch [--json] [--count N]\n"
    "\n"
    "Print the module's events as they happen, one per line.\n"
    "\n"
    "  --json      one JSON object per line\n"
    "  --count N   exit after N events\n";

/* Enough for the largest record, several small ones at a time. */
#define WATCH_BUF_SIZE                       \
	(4 * (sizeof(struct snapset_event) + \
	      SNAPSET_MAX_DEVICES * sizeof(struct snapset_device_info)))

static void print_event(const struct snapset_event *ev, bool json)
{
	struct json_object *obj;

	if (!json) {
		record_print_line(stdout, ev);
		return;
	}
	obj = record_to_json(ev);
	puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
	json_object_put(obj);
}

/* Prints events until @count were seen (0: forever); 0 or -errno. */
static int watch(int fd, bool json, unsigned long count)
{
	static char buf[WATCH_BUF_SIZE];
	const struct snapset_event *ev;
	unsigned long seen = 0;

	for (;;) {
		ssize_t len = read(fd, buf, sizeof(buf));
		size_t off = 0;

		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			return len ? -errno : -ENODATA;
		while ((ev = record_next(buf, len, &off))) {
			print_event(ev, json);
			if (count && ++seen == count)
				return fflush(stdout) ? -errno : 0;
		}
		if (fflush(stdout))
			return -errno;
		if (off != (size_t)len)
			return -EBADMSG;
	}
}

int watch_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "count", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned long count = 0;
	bool json = false;
	int opt, fd, ret;

	while ((opt = cli_getopt(argc, argv, options)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'c':
			if (cli_parse_count(optarg, &count))
				return cli_usage_error(argv[0], "--count",
						       "not a positive number");
			break;
		default:
			return cli_other_option(argv, opt, usage);
		}
	}
	if (optind < argc)
		return cli_usage_error(argv[0], argv[optind],
				       "unexpected argument");

	fd = cli_open_module(argv[0]);
	if (fd < 0)
		return EXIT_RUNTIME;
	ret = module_subscribe(fd, 0);
	if (!ret)
		ret = watch(fd, json, count);
	close(fd);
	return ret ? cli_module_error(argv[0], ret) : EXIT_SUCCESS;
}
