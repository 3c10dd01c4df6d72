// SPDX-License-Identifier: GPL-2.0
/*
 * The table of subcommands and the program's usage text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int help_main(int argc, char **argv);

static const struct snapset_command commands[] = {
	{ "help", "show this help, or a command's", help_main },
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

const struct snapset_command *cli_find_command(const char *name)
{
	for (size_t i = 0; i < COMMAND_COUNT; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

void cli_usage(FILE *out)
{
	fputs("Usage: snapset [--help] [--version] COMMAND [ARG]...\n"
	      "\n"
	      "Snapshot sets whose block devices live as long as the backup\n"
	      "that owns them.\n"
	      "\n"
	      "Commands:\n",
	      out);
	for (size_t i = 0; i < COMMAND_COUNT; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name,
			commands[i].summary);
}

static int help_main(int argc, char **argv)
{
	if (argc > 2) {
		fprintf(stderr, "snapset help: %s: unexpected argument\n",
			argv[2]);
		return EXIT_USAGE;
	}
	if (argc == 2 && !cli_find_command(argv[1])) {
		fprintf(stderr, "snapset help: %s: unknown command\n", argv[1]);
		return EXIT_USAGE;
	}
	cli_usage(stdout);
	return EXIT_SUCCESS;
}
