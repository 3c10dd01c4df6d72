// SPDX-License-Identifier: GPL-2.0
/*
 * snapset run's command line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/format.h"
#include "../common/lvm.h"
#include "cli.h"
#include "run.h"

static const char run_usage[] =
    "Usage: snapset run [OPTION]... -- COMMAND [ARG]...\n"
    "\n"
    "Run COMMAND with a snapshot set whose devices live as long as this\n"
    "run; complete the set when COMMAND succeeds, abort it otherwise.\n"
    "\n"
    "  --lvm-snapshot VG/LV[:SIZE]  snapshot VG/LV into the set (thick with\n"
    "                               SIZE, thin without)\n"
    "  --snapshot DEV       add an existing snapshot, released at the end\n"
    "  --persistent DEV     add a device that outlives the set\n"
    "  --freeze DIR         hold writes to DIR's filesystem while the\n"
    "                       LVM snapshots are made (repeatable: frozen\n"
    "                       together, one consistent instant)\n"
    "  --freeze-timeout DUR thaw anyway after DUR (default 10s, at\n"
    "                       most 60s); the snapshots then fail\n"
    "  --mount DEV=DIR      mount a device of the set read-only on DIR\n"
    "                       (nosuid,nodev,noexec; DIR without symlinks)\n"
    "  --name NAME          name the set (letters, digits, -_.:@+)\n"
    "  --timeout DUR        send COMMAND SIGTERM after DUR (s, m, h, d)\n"
    "  --kill-after DUR     and SIGKILL DUR after that\n"
    "  --complete-on LIST   COMMAND's statuses that complete the set\n"
    "                       (default 0; e.g. 0,1 or 0-2)\n"
    "  --force              release devices not proven to be snapshots\n"
    "  --require-daemon     refuse to start without snapset daemon\n"
    "  -v, --verbose        print each step as it happens (stderr)\n"
    "  --json               print the summary as JSON (stdout), not a\n"
    "                       line on stderr\n"
    "  --help               show this help\n"
    "\n"
    "DEV is a path, UUID=, LABEL= or PARTUUID=. COMMAND gets SNAPSET_ID,\n"
    "SNAPSET_NAME and SNAPSET (run's own program, also on its PATH), and\n"
    "may run `snapset complete`. Exit status: COMMAND's; 125 snapset\n"
    "failed; 126 COMMAND not executable; 127 not found; 128+N COMMAND\n"
    "killed by signal N.\n";

enum {
	OPT_LVM = 1,
	OPT_SNAPSHOT,
	OPT_PERSISTENT,
	OPT_FREEZE,
	OPT_FREEZE_TIMEOUT,
	OPT_MOUNT,
	OPT_NAME,
	OPT_TIMEOUT,
	OPT_KILL_AFTER,
	OPT_COMPLETE_ON,
	OPT_FORCE,
	OPT_REQUIRE_DAEMON,
	OPT_JSON,
};

static const struct option run_options[] = {
	{ "lvm-snapshot", required_argument, NULL, OPT_LVM },
	{ "snapshot", required_argument, NULL, OPT_SNAPSHOT },
	{ "persistent", required_argument, NULL, OPT_PERSISTENT },
	{ "freeze", required_argument, NULL, OPT_FREEZE },
	{ "freeze-timeout", required_argument, NULL, OPT_FREEZE_TIMEOUT },
	{ "mount", required_argument, NULL, OPT_MOUNT },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "kill-after", required_argument, NULL, OPT_KILL_AFTER },
	{ "complete-on", required_argument, NULL, OPT_COMPLETE_ON },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "require-daemon", no_argument, NULL, OPT_REQUIRE_DAEMON },
	{ "verbose", no_argument, NULL, 'v' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{}
};

/* One status or range of a --complete-on list. */
static int parse_status_range(const char *text, char **end, int *lo, int *hi)
{
	long a, b;

	if (*text < '0' || *text > '9')
		return -EINVAL;
	a = strtol(text, end, 10);
	b = a;
	if (**end == '-') {
		text = *end + 1;
		if (*text < '0' || *text > '9')
			return -EINVAL;
		b = strtol(text, end, 10);
	}
	if (a > 255 || b > 255 || a > b)
		return -EINVAL;
	*lo = a;
	*hi = b;
	return 0;
}

int parse_status_list(const char *text, bool statuses[256])
{
	bool parsed[256] = { false };
	char *end;
	int lo, hi;

	for (;;) {
		if (parse_status_range(text, &end, &lo, &hi))
			return -EINVAL;
		for (int s = lo; s <= hi; s++)
			parsed[s] = true;
		if (!*end)
			break;
		if (*end != ',')
			return -EINVAL;
		text = end + 1;
	}
	memcpy(statuses, parsed, sizeof(parsed));
	return 0;
}

/* VG/LV[:SIZE]: -EINVAL for another shape, -EDOM for a bad LVM name. */
static int parse_lvm_snapshot(const char *text, struct run_lvm_snapshot *s)
{
	const char *slash = strchr(text, '/'), *colon = strchr(text, ':');
	size_t lv_len;

	if (!slash || slash == text || slash[1] == '\0' || slash[1] == ':' ||
	    strchr(slash + 1, '/') || (colon && colon < slash) ||
	    (colon && !colon[1]))
		return -EINVAL;
	lv_len = colon ? (size_t)(colon - slash - 1) : strlen(slash + 1);
	if ((size_t)(slash - text) >= sizeof(s->vg) ||
	    lv_len >= sizeof(s->origin))
		return -ENAMETOOLONG;
	memcpy(s->vg, text, slash - text);
	s->vg[slash - text] = '\0';
	memcpy(s->origin, slash + 1, lv_len);
	s->origin[lv_len] = '\0';
	s->size = colon ? colon + 1 : NULL;
	/* A name that starts with '-' would reach lvm as an option. */
	return lvm_name_valid(s->vg) && lvm_name_valid(s->origin) ? 0 : -EDOM;
}

/* The same origin twice would make two snapshots of one name. */
static const char *lvm_duplicate(const struct run_options *opts)
{
	const struct run_lvm_snapshot *last = &opts->lvm[opts->nlvm - 1];

	for (const struct run_lvm_snapshot *s = opts->lvm; s < last; s++)
		if (!strcmp(s->vg, last->vg) &&
		    !strcmp(s->origin, last->origin))
			return "the same origin twice";
	return NULL;
}

static int parse_mount(const char *text, struct run_mount *m)
{
	const char *eq = strrchr(text, '=');

	/* DEV may be UUID=...: the directory follows the last '='. */
	if (!eq || eq == text || eq[1] != '/')
		return -EINVAL;
	/* Copied: run's own argv stays as given, for ps. */
	if ((size_t)(eq - text) >= sizeof(m->device))
		return -ENAMETOOLONG;
	snprintf(m->device, sizeof(m->device), "%.*s", (int)(eq - text), text);
	m->dir = eq + 1;
	return 0;
}

/* The module's rule for set names: 1 to 63 of [A-Za-z0-9-_.:@+]. */
bool set_name_valid(const char *name)
{
	size_t len = strlen(name);

	return len && len < SNAPSET_NAME_LEN &&
	       strspn(name,
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789-_.:@+") == len;
}

/* A positive duration: 0 would mean "no timeout", never meant here. */
static const char *parse_timeout(const char *text, long *ms)
{
	if (parse_duration(text, ms))
		return "not a duration (e.g. 30, 1.5s, 10m, 2h, 1d)";
	return *ms ? NULL : "must be more than 0";
}

/* The module's bound: a freeze longer than a minute is a hung backup. */
static const char *parse_freeze_timeout(const char *text, long *ms)
{
	const char *cause = parse_timeout(text, ms);

	if (!cause && *ms > SNAPSET_FREEZE_TIMEOUT_MAX_MS)
		cause = "at most 60s";
	return cause;
}

static unsigned int device_count(const struct run_options *opts)
{
	return opts->nlvm + opts->ndevices;
}

/* Stores one option's value; a usage error's cause, or NULL. */
static const char *run_option(struct run_options *opts, int opt,
			      const char *arg)
{
	if ((opt == OPT_LVM || opt == OPT_SNAPSHOT || opt == OPT_PERSISTENT) &&
	    device_count(opts) == SNAPSET_MAX_DEVICES)
		return "more devices than a set holds (64)";
	switch (opt) {
	case OPT_LVM:
		switch (parse_lvm_snapshot(arg, &opts->lvm[opts->nlvm++])) {
		case 0:
			return lvm_duplicate(opts);
		case -EDOM:
			return "not an LVM name (letters, digits and +_.-, "
			       "not first -)";
		default:
			return "not VG/LV or VG/LV:SIZE";
		}
	case OPT_SNAPSHOT:
	case OPT_PERSISTENT:
		opts->devices[opts->ndevices].spec = arg;
		opts->devices[opts->ndevices++].persistent =
		    opt == OPT_PERSISTENT;
		return arg[0] ? NULL : "empty device";
	case OPT_FREEZE:
		if (opts->nfreeze == SNAPSET_MAX_FREEZE)
			return "more filesystems than a set freezes (16)";
		opts->freeze[opts->nfreeze++] = arg;
		return arg[0] == '/' ? NULL : "not an absolute path";
	case OPT_FREEZE_TIMEOUT:
		return parse_freeze_timeout(arg, &opts->freeze_timeout_ms);
	case OPT_MOUNT:
		if (opts->nmounts == SNAPSET_MAX_DEVICES)
			return "more mounts than a set has devices";
		return parse_mount(arg, &opts->mounts[opts->nmounts++])
			   ? "not DEV=/DIR"
			   : NULL;
	case OPT_NAME:
		opts->name = arg;
		return set_name_valid(arg) ? NULL
					   : "a set name is 1 to 63 letters, "
					     "digits and -_.:@+";
	case OPT_TIMEOUT:
		opts->timeout_text = arg;
		return parse_timeout(arg, &opts->timeout_ms);
	case OPT_KILL_AFTER:
		return parse_timeout(arg, &opts->kill_after_ms);
	case OPT_COMPLETE_ON:
		return parse_status_list(arg, opts->complete_on)
			   ? "not a list of exit statuses 0-255 (e.g. 0,1 "
			     "or 0-2)"
			   : NULL;
	case OPT_FORCE:
		opts->force = true;
		return NULL;
	case OPT_REQUIRE_DAEMON:
		opts->require_daemon = true;
		return NULL;
	case 'v':
		opts->verbose = true;
		return NULL;
	case OPT_JSON:
		opts->json = true;
		return NULL;
	}
	return NULL;
}

/* Why the options, each fine alone, cannot run together; or NULL. */
static const char *run_args_conflict(const struct run_options *opts)
{
	if (!device_count(opts))
		return "no devices (--lvm-snapshot, --snapshot, --persistent)";
	if (opts->kill_after_ms && !opts->timeout_ms)
		return "--kill-after: needs --timeout";
	/* The snapshots of existing devices were taken before run. */
	if (opts->nfreeze && !opts->nlvm)
		return "--freeze: needs --lvm-snapshot";
	if (opts->freeze_timeout_ms && !opts->nfreeze)
		return "--freeze-timeout: needs --freeze";
	return NULL;
}

int run_args_parse(int argc, char **argv, struct run_options *opts,
		   char error[RUN_ARGS_ERROR_LEN])
{
	const char *cause = NULL;
	int opt, index;

	memset(opts, 0, sizeof(*opts));
	opts->complete_on[0] = true;
	/* '+': COMMAND's own options are not ours, even without "--". */
	while ((opt = getopt_long(argc, argv, "+:v", run_options, &index)) !=
	       -1) {
		if (opt == 'h')
			return RUN_ARGS_HELP;
		if (opt == ':' || opt == '?') {
			snprintf(error, RUN_ARGS_ERROR_LEN, "%s: %s",
				 argv[optind - 1],
				 opt == ':' ? "needs a value"
					    : "unknown option");
			return -EINVAL;
		}
		cause = run_option(opts, opt, optarg);
		if (cause) {
			if (*optarg)
				snprintf(error, RUN_ARGS_ERROR_LEN, "%s: %s",
					 optarg, cause);
			else
				snprintf(error, RUN_ARGS_ERROR_LEN, "--%s: %s",
					 run_options[index].name, cause);
			return -EINVAL;
		}
	}
	cause = optind == argc ? "COMMAND: missing" : run_args_conflict(opts);
	if (cause) {
		snprintf(error, RUN_ARGS_ERROR_LEN, "%s", cause);
		return -EINVAL;
	}
	opts->command = argv + optind;
	return 0;
}

bool run_parse_args(int argc, char **argv, struct run_options *opts,
		    int *status)
{
	char error[RUN_ARGS_ERROR_LEN];
	int ret = run_args_parse(argc, argv, opts, error);

	if (ret == RUN_ARGS_HELP) {
		fputs(run_usage, stdout);
		*status = EXIT_SUCCESS;
	} else if (ret) {
		fprintf(stderr, "snapset run: %s (see snapset run --help)\n",
			error);
		*status = EXIT_USAGE;
	}
	return !ret;
}
