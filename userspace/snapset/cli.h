/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SNAPSET_CLI_H
#define SNAPSET_CLI_H

#include <stdio.h>

/* Exit statuses shared by every subcommand but run (see docs). */
enum {
	EXIT_RUNTIME = 1,
	EXIT_USAGE = 2,
};

struct snapset_command {
	const char *name;
	const char *summary;
	/* argv[0] is the command's name; returns the exit status. */
	int (*run)(int argc, char **argv);
};

const struct snapset_command *cli_find_command(const char *name);
void cli_usage(FILE *out);

#endif
