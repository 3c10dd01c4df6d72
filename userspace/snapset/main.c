// SPDX-License-Identifier: GPL-2.0
/*
 * snapset: the one program of the project. main() parses the global
 * options, finds the subcommand and reports its error once.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include "cli.h"
#include "versions.h"

static const struct option global_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{}
};

int main(int argc, char **argv)
{
	const struct snapset_command *cmd;
	int opt;

	opterr = 0;
	/* '+' stops at the subcommand: its options are its own. */
	while ((opt = getopt_long(argc, argv, "+hV", global_options, NULL)) !=
	       -1) {
		switch (opt) {
		case 'h':
			cli_usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			return versions_print();
		default:
			fprintf(stderr,
				"snapset: %s: unknown option (see snapset "
				"--help)\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind == argc) {
		cli_usage(stderr);
		return EXIT_USAGE;
	}

	cmd = cli_find_command(argv[optind]);
	if (!cmd) {
		fprintf(stderr,
			"snapset: %s: unknown command (see snapset --help)\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	optind = 0; /* the subcommand's getopt starts afresh */
	return cmd->run(argc, argv);
}
