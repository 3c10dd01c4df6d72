// SPDX-License-Identifier: GPL-2.0
/*
 * snapset daemon: the delivery agent (userspace/daemon/).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/module.h"
#include "../daemon/config.h"
#include "../daemon/daemon.h"
#include "cli.h"
#include "commands.h"

static const char daemon_usage[] =
    "Usage: snapset daemon [--config FILE]\n"
    "\n"
    "Be the delivery agent: release the LVM snapshots of every set that\n"
    "ended (even when its requester was killed), tell every connected\n"
    "writer (BackupComplete, abort, BackupShutdown), report sets that\n"
    "ended without BackupComplete or whose release or delivery failed\n"
    "(journal, history, metrics), and acknowledge their records. At\n"
    "start, remove LVs tagged snapset whose set is neither live nor\n"
    "pending. Runs in the foreground until SIGTERM or SIGINT.\n"
    "\n"
    "  --config FILE   instead of " CONFIG_DEFAULT_PATH "\n";

static const struct option daemon_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{}
};

int daemon_main(int argc, char **argv)
{
	const char *config = CONFIG_DEFAULT_PATH;
	struct daemon_options opts;
	char error[CONFIG_ERROR_LEN];
	bool explicit = false;
	int opt, ret;

	while ((opt = cli_getopt(argc, argv, daemon_options)) != -1) {
		if (opt != 'c')
			return cli_other_option(argv, opt, daemon_usage);
		config = optarg;
		explicit = true;
	}
	if (optind < argc)
		return cli_usage_error("daemon", argv[optind],
				       "unexpected argument");
	config_init(&opts);
	if (config_load(&opts, config, explicit, error)) {
		fprintf(stderr, "snapset daemon: %s\n", error);
		return EXIT_RUNTIME;
	}
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
	if (ret == -ENOTSOCK) {
		fprintf(stderr,
			"snapset daemon: %s: not a socket of root's; "
			"not replaced\n",
			opts.socket_path);
		return EXIT_RUNTIME;
	}
	if (ret) {
		fprintf(stderr, "snapset daemon: %s\n", strerror(-ret));
		return EXIT_RUNTIME;
	}
	return EXIT_SUCCESS;
}
