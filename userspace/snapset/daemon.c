// SPDX-License-Identifier: GPL-2.0
/*
 * snapset daemon: the delivery agent (userspace/daemon/).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/module.h"
#include "../daemon/daemon.h"
#include "cli.h"
#include "commands.h"

static const char daemon_usage[] =
    "Usage: snapset daemon\n"
    "\n"
    "Be the delivery agent: release the LVM snapshots of every set that\n"
    "ended (even when its requester was killed), report sets that ended\n"
    "without BackupComplete, and acknowledge their records. At start,\n"
    "remove LVs tagged snapset whose set is neither live nor pending.\n"
    "Runs in the foreground until SIGTERM or SIGINT.\n";

static const struct option daemon_options[] = {
	{ "help", no_argument, NULL, 'h' }, {}
};

int daemon_main(int argc, char **argv)
{
	const struct daemon_options opts = { .lvremove_deadline_ms = 60000 };
	int opt, ret;

	opt = cli_getopt(argc, argv, daemon_options);
	if (opt != -1)
		return cli_other_option(argv, opt, daemon_usage);
	if (optind < argc)
		return cli_usage_error("daemon", argv[optind],
				       "unexpected argument");
	ret = daemon_run(&opts);
	if (ret == -ENOENT || ret == -ENODEV || ret == -ENXIO) {
		cli_open_error("daemon", ret);
		return EXIT_RUNTIME;
	}
	if (ret == -EBUSY) {
		fprintf(stderr,
			"snapset daemon: %s: another delivery agent "
			"(snapset daemon) is running\n",
			SNAPSET_DEV_PATH);
		return EXIT_RUNTIME;
	}
	if (ret) {
		fprintf(stderr, "snapset daemon: %s\n", strerror(-ret));
		return EXIT_RUNTIME;
	}
	return EXIT_SUCCESS;
}
