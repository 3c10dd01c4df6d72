// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for `snapset run`'s command line: the input split on
 * NUL bytes into arguments, parsed as run parses them. Either a usage
 * error, -EINVAL with a message, or options within their bounds: 1 to 64
 * devices, valid LVM and set names, absolute directories, durations
 * above 0 where given, a freeze of at most 60 s, and a COMMAND. Each
 * device spec is then read as a tag, as run resolves it.
 */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../userspace/common/lvm.h"
#include "../../userspace/common/spec.h"
#include "../../userspace/snapset/run.h"

#define ARGS_MAX 256

static void check_lvm(const struct run_options *o)
{
	for (unsigned int i = 0; i < o->nlvm; i++) {
		const struct run_lvm_snapshot *s = &o->lvm[i];

		assert(lvm_name_valid(s->vg) && lvm_name_valid(s->origin));
		assert(!s->size || s->size[0]);
		for (unsigned int j = 0; j < i; j++)
			assert(strcmp(s->vg, o->lvm[j].vg) ||
			       strcmp(s->origin, o->lvm[j].origin));
	}
}

/* A spec is a tag with a value, or else a path: never both, nor neither. */
static void check_spec(const char *spec)
{
	struct spec_matches m;
	const char *eq = strchr(spec, '=');
	int ret = spec_find(spec, NULL, 0, &m);

	assert(spec[0]);
	if (spec_is_tag(spec) && eq[1])
		assert(ret == -ENOENT);
	else
		assert(ret == -EINVAL);
	assert(m.count == 0);
}

static void check_parsed(const struct run_options *o, char **argv, int argc)
{
	unsigned int devices = o->nlvm + o->ndevices;

	assert(devices >= 1 && devices <= SNAPSET_MAX_DEVICES);
	assert(o->nmounts <= SNAPSET_MAX_DEVICES);
	assert(o->nfreeze <= SNAPSET_MAX_FREEZE);
	assert(!o->nfreeze || o->nlvm);
	assert(o->command > argv && o->command < argv + argc);
	assert(!o->name || set_name_valid(o->name));
	assert(o->timeout_ms >= 0 && o->kill_after_ms >= 0);
	assert(!o->kill_after_ms || o->timeout_ms);
	assert(o->freeze_timeout_ms >= 0 &&
	       o->freeze_timeout_ms <= SNAPSET_FREEZE_TIMEOUT_MAX_MS);
	assert(!o->freeze_timeout_ms || o->nfreeze);
	check_lvm(o);
	for (unsigned int i = 0; i < o->ndevices; i++)
		check_spec(o->devices[i].spec);
	for (unsigned int i = 0; i < o->nmounts; i++) {
		assert(o->mounts[i].device[0] && o->mounts[i].dir[0] == '/');
		assert(
		    strnlen(o->mounts[i].device, sizeof(o->mounts[i].device)) <
		    sizeof(o->mounts[i].device));
	}
	for (unsigned int i = 0; i < o->nfreeze; i++)
		assert(o->freeze[i][0] == '/');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *argv[ARGS_MAX + 2] = { "run" };
	char error[RUN_ARGS_ERROR_LEN] = "";
	struct run_options opts;
	int argc = 1, ret;

	memcpy(text, data, size);
	text[size] = '\0';
	for (char *arg = text; argc <= ARGS_MAX && arg <= text + size;
	     arg += strlen(arg) + 1)
		argv[argc++] = arg;
	argv[argc] = NULL;
	optind = 0;
	ret = run_args_parse(argc, argv, &opts, error);
	if (ret == 0)
		check_parsed(&opts, argv, argc);
	else if (ret != RUN_ARGS_HELP)
		assert(ret == -EINVAL && error[0] &&
		       strlen(error) < sizeof(error));
	free(text);
	return 0;
}
