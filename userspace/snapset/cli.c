// SPDX-License-Identifier: GPL-2.0
/*
 * The table of subcommands and the program's usage text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/module.h"
#include "cli.h"
#include "commands.h"

static int help_main(int argc, char **argv);

static const struct snapset_command commands[] = {
	{ "run", "run a backup command with a snapshot set", run_main },
	{ "complete", "mark the set of the enclosing run complete",
	  complete_main },
	{ "list", "live sets and pending records", list_main },
	{ "watch", "the module's events as they happen", watch_main },
	{ "delete", "end a set, or discard a pending record", delete_main },
	{ "status", "the daemon, its writers and recent sets", status_main },
	{ "cleanup", "remove snapshots whose set is gone", cleanup_main },
	{ "daemon", "release, tell writers, report ended sets", daemon_main },
	{ "writer", "run a command for every backup event", writer_main },
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
	/* help's own help is the program's: it lists what help takes. */
	if (argc == 2 && strcmp(argv[1], "--help")) {
		const struct snapset_command *cmd = cli_find_command(argv[1]);
		char *help_argv[] = { argv[1], "--help", NULL };

		if (!cmd) {
			fprintf(stderr, "snapset help: %s: unknown command\n",
				argv[1]);
			return EXIT_USAGE;
		}
		if (cmd->run != help_main)
			return cmd->run(2, help_argv);
	}
	cli_usage(stdout);
	return EXIT_SUCCESS;
}

int cli_getopt(int argc, char **argv, const struct option *options)
{
	return getopt_long(argc, argv, ":", options, NULL);
}

int cli_usage_error(const char *cmd, const char *object, const char *cause)
{
	fprintf(stderr, "snapset %s: %s: %s (see snapset %s --help)\n", cmd,
		object, cause, cmd);
	return EXIT_USAGE;
}

int cli_other_option(char **argv, int opt, const char *usage)
{
	if (opt == 'h') {
		fputs(usage, stdout);
		return EXIT_SUCCESS;
	}
	return cli_usage_error(argv[0], argv[optind - 1],
			       opt == ':' ? "needs a value" : "unknown option");
}

int cli_parse_count(const char *text, unsigned long *value)
{
	char *end;

	errno = 0;
	*value = strtoul(text, &end, 10);
	if (errno || end == text || *end || *value == 0 || text[0] == '-')
		return -EINVAL;
	return 0;
}

static bool module_missing(int err)
{
	return err == -ENOENT || err == -ENODEV || err == -ENXIO;
}

const char *cli_open_cause(int err)
{
	return module_missing(err)
		   ? "no such device (is the module loaded? modprobe snapset)"
		   : strerror(-err);
}

void cli_open_error(const char *cmd, int err)
{
	/* A missing module is not one command's failure: the program's. */
	if (module_missing(err))
		fprintf(stderr, "snapset: %s: %s\n", SNAPSET_DEV_PATH,
			cli_open_cause(err));
	else
		fprintf(stderr, "snapset %s: %s: %s\n", cmd, SNAPSET_DEV_PATH,
			cli_open_cause(err));
}

int cli_open_module(const char *cmd)
{
	int fd = module_open();

	if (fd < 0) {
		cli_open_error(cmd, fd);
		return -1;
	}
	return fd;
}

int cli_module_error(const char *cmd, int err)
{
	fprintf(stderr, "snapset %s: %s: %s\n", cmd, SNAPSET_DEV_PATH,
		strerror(-err));
	return EXIT_RUNTIME;
}
