// SPDX-License-Identifier: GPL-2.0
/*
 * snapset delete SET-ID | --all | --pending SET-ID: an administrator ends
 * a live set (its devices are released and its record queued, as if its
 * owner had closed it), or discards a shutdown record nobody will deliver.
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
    "Usage: snapset delete SET-ID\n"
    "       snapset delete --all\n"
    "       snapset delete --pending SET-ID\n"
    "\n"
    "End a live snapshot set now (its devices are released and writers\n"
    "are told), every live set, or discard a pending shutdown record\n"
    "without delivering it.\n";

static void report(const char *id, int err, bool pending)
{
	if (err == -ENOENT)
		fprintf(stderr, "snapset delete: %s: no such %s\n", id,
			pending ? "pending record" : "live set");
	else
		fprintf(stderr, "snapset delete: %s: %s\n", id, strerror(-err));
}

/* Terminates every live set; 0, or the first error after trying all. */
static int delete_all(int fd)
{
	const struct snapset_event *ev;
	size_t len = 0, off = 0;
	int ret, first = 0;
	void *buf;

	ret = module_list(fd, &buf, &len);
	if (ret) {
		cli_module_error("delete", ret);
		return ret;
	}
	while ((ev = record_next(buf, len, &off))) {
		char id[ID_STR_LEN];

		if (ev->type != SNAPSET_RECORD_LIVE)
			continue;
		ret = module_terminate(fd, ev->set.id);
		/* Gone meanwhile: that is what we wanted. */
		if (ret && ret != -ENOENT) {
			id_format(ev->set.id, id);
			report(id, ret, false);
			first = first ?: ret;
		}
	}
	free(buf);
	return first;
}

int delete_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "pending", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool all = false, pending = false;
	__u8 id[SNAPSET_ID_LEN];
	int opt, fd, ret;

	while ((opt = cli_getopt(argc, argv, options)) != -1) {
		switch (opt) {
		case 'a':
			all = true;
			break;
		case 'p':
			pending = true;
			break;
		default:
			return cli_other_option(argv, opt, usage);
		}
	}
	if (all && (pending || optind < argc))
		return cli_usage_error(argv[0], "--all",
				       "takes no SET-ID and no --pending");
	if (!all && optind + 1 != argc)
		return cli_usage_error(argv[0], "SET-ID",
				       "give exactly one, or --all");
	if (!all && id_parse(argv[optind], id))
		return cli_usage_error(argv[0], argv[optind],
				       "not a set id (a UUID)");

	fd = cli_open_module(argv[0]);
	if (fd < 0)
		return EXIT_RUNTIME;
	if (all) {
		ret = delete_all(fd);
	} else {
		ret =
		    pending ? module_discard(fd, id) : module_terminate(fd, id);
		if (ret)
			report(argv[optind], ret, pending);
	}
	close(fd);
	return ret ? EXIT_RUNTIME : EXIT_SUCCESS;
}
