// SPDX-License-Identifier: GPL-2.0
/*
 * snapset writer --name NAME [--match SPEC]... [--timeout DUR] -- COMMAND:
 * a writer for scripts, on libsnapset. COMMAND runs once per event with
 * the event in its environment and in a JSON file; its exit status is
 * the acknowledgement. The writer runs until it is stopped (or --count
 * events), reconnecting while the daemon restarts.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <snapset/writer.h>

#include "../common/device.h"
#include "../common/format.h"
#include "../lib/protocol.h"
#include "cli.h"
#include "commands.h"
#include "writer_command.h"

static const char writer_usage[] =
    "Usage: snapset writer --name NAME [--match SPEC]... [--timeout DUR]\n"
    "                      [--count N] [--socket PATH] -- COMMAND [ARG]...\n"
    "\n"
    "Be an application writer: run COMMAND for every BackupComplete,\n"
    "abort and BackupShutdown the daemon sends; COMMAND's exit status is\n"
    "the acknowledgement (0 ok, anything else an error the daemon\n"
    "reports). COMMAND gets SNAPSET_EVENT, SNAPSET_ID, SNAPSET_NAME,\n"
    "SNAPSET_COMPLETED, SNAPSET_REASON, SNAPSET_SIGNAL,\n"
    "SNAPSET_EXIT_STATUS, SNAPSET_DEVICES and SNAPSET_EVENT_FILE.\n"
    "\n"
    "  --name NAME      the writer's name in reports\n"
    "  --match SPEC     only sets with a snapshot of SPEC: a device (its\n"
    "                   filesystem UUID, or its LV), UUID=, LABEL= or\n"
    "                   LV=VG/LV; may be repeated\n"
    "  --timeout DUR    stop COMMAND (SIGTERM, SIGKILL 5s later) after DUR\n"
    "  --count N        exit after N events\n"
    "  --socket PATH    the daemon's socket (" SNAPSET_WRITER_SOCKET ")\n";

struct writer_options {
	const char *name;
	const char *match[PROTO_MATCH_MAX + 1];
	unsigned int nmatch;
	long timeout_ms; /* 0: none */
	unsigned long count;
	const char *socket;
	char **command;
	char match_text[PROTO_MATCH_MAX][PROTO_MATCH_LEN + 1];
};

/*
 * A device given to --match: its filesystem UUID (a snapshot carries
 * its origin's), or its LV when it holds no filesystem.
 */
static const char *match_device(const char *path, char *out, size_t size)
{
	struct device_desc desc;
	struct stat st;
	int len;

	if (stat(path, &st) || !S_ISBLK(st.st_mode))
		return "not a block device";
	if (device_describe(major(st.st_rdev), minor(st.st_rdev), 0, &desc))
		return "cannot be described";
	if (desc.uuid[0])
		len = snprintf(out, size, "UUID=%s", desc.uuid);
	else if (desc.lv[0])
		len = snprintf(out, size, "LV=%.*s/%.*s", 120, desc.vg, 120,
			       desc.lv);
	else
		return "has no filesystem UUID and is no LV";
	return (size_t)len < size ? NULL : "too long a name";
}

static const char *add_match(struct writer_options *o, const char *spec)
{
	char *slot = o->match_text[o->nmatch];
	const char *why = NULL;

	if (o->nmatch == PROTO_MATCH_MAX)
		return "too many --match (at most 16)";
	if (spec[0] == '/')
		why = match_device(spec, slot, PROTO_MATCH_LEN + 1);
	else if (strlen(spec) > PROTO_MATCH_LEN || !proto_match_valid(spec))
		why = "not a device, UUID=..., LABEL=... or LV=VG/LV";
	else
		strcpy(slot, spec);
	if (!why)
		o->match[o->nmatch++] = slot;
	return why;
}

static const struct option writer_options[] = {
	{ "name", required_argument, NULL, 'n' },
	{ "match", required_argument, NULL, 'm' },
	{ "timeout", required_argument, NULL, 't' },
	{ "count", required_argument, NULL, 'c' },
	{ "socket", required_argument, NULL, 's' },
	{ "help", no_argument, NULL, 'h' },
	{}
};

/* What is wrong with one option's value, or NULL. */
static const char *parse_option(struct writer_options *o, int opt,
				const char *arg)
{
	switch (opt) {
	case 'n':
		o->name = arg;
		return proto_name_valid(arg)
			   ? NULL
			   : "not a name (1 to 63 of A-Z a-z 0-9 . _ : @ + -)";
	case 'm':
		return add_match(o, arg);
	case 't':
		return parse_duration(arg, &o->timeout_ms) || !o->timeout_ms
			   ? "not a duration above 0 (e.g. 30, 1.5s, 10m)"
			   : NULL;
	case 'c':
		return cli_parse_count(arg, &o->count) ? "not a count above 0"
						       : NULL;
	default:
		o->socket = arg;
		return NULL;
	}
}

/* True to go on; false with the exit status in @status. */
static bool parse_args(int argc, char **argv, struct writer_options *o,
		       int *status)
{
	const char *why;
	int opt;

	while ((opt = cli_getopt(argc, argv, writer_options)) != -1) {
		if (opt == 0 || !strchr("nmtcs", opt)) {
			*status = cli_other_option(argv, opt, writer_usage);
			return false;
		}
		why = parse_option(o, opt, optarg);
		if (why) {
			*status = cli_usage_error("writer", optarg, why);
			return false;
		}
	}
	if (!o->name || optind == argc) {
		*status = cli_usage_error(
		    "writer", o->name ? "COMMAND" : "--name", "is missing");
		return false;
	}
	o->command = argv + optind;
	return true;
}

int writer_main(int argc, char **argv)
{
	struct writer_options o = { .socket = SNAPSET_WRITER_SOCKET };
	const struct snapset_writer_event *ev;
	struct snapset_writer *w;
	unsigned long handled = 0;
	char error[PROTO_TEXT_MAX];
	int ret;

	if (!parse_args(argc, argv, &o, &ret))
		return ret;
	ret = snapset_writer_connect(o.socket, o.name, o.match, &w);
	if (ret) {
		fprintf(stderr, "snapset writer: %s: %s\n", o.socket,
			ret == -ENOENT || ret == -ECONNREFUSED
			    ? "no daemon listens (is snapset daemon running?)"
			: ret == -EACCES ? "the daemon does not allow this user"
					 : strerror(-ret));
		return EXIT_RUNTIME;
	}
	while (!o.count || handled < o.count) {
		ret = snapset_writer_next(w, &ev, -1);
		if (ret)
			break;
		ret = snapset_writer_ack(w, ev,
					 writer_command(ev, o.command,
							o.timeout_ms, error,
							sizeof(error)),
					 error);
		/*
		 * Gone before the ack: a daemon that stopped leaves the record
		 * to the next, which sends it again; one that ran on counted
		 * it failed.
		 */
		if (ret && ret != -ENOTCONN)
			break;
		handled++;
	}
	snapset_writer_close(w);
	if (ret && ret != -ENOTCONN) {
		fprintf(stderr, "snapset writer: %s: %s\n", o.socket,
			strerror(-ret));
		return EXIT_RUNTIME;
	}
	return EXIT_SUCCESS;
}
