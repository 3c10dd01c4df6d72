/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SNAPSET_CLI_H
#define SNAPSET_CLI_H

#include <getopt.h>
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

/*
 * Subcommands' option parsing: long options only, ':' returned for a
 * missing value, '?' for an unknown option.
 */
int cli_getopt(int argc, char **argv, const struct option *options);
/*
 * What a subcommand does with an option it does not handle itself:
 * --help prints @usage (EXIT_SUCCESS); anything else is reported once
 * (EXIT_USAGE).
 */
int cli_other_option(char **argv, int opt, const char *usage);
/* "snapset CMD: OBJECT: CAUSE (see ...)"; returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *object, const char *cause);
/* A positive decimal number; -EINVAL otherwise. */
int cli_parse_count(const char *text, unsigned long *value);
/* Reports why /dev/snapset did not open (the missing-module message). */
void cli_open_error(const char *cmd, int err);
/* Why /dev/snapset did not open (module_open()'s -errno), in words. */
const char *cli_open_cause(int err);
/* Opens /dev/snapset, reporting why not; the fd or -1. */
int cli_open_module(const char *cmd);
/* Reports a failed call on /dev/snapset; returns EXIT_RUNTIME. */
int cli_module_error(const char *cmd, int err);

#endif
