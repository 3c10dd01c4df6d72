// SPDX-License-Identifier: GPL-2.0
/*
 * snapset cleanup [--dry-run]: the administrator's reconciliation, for
 * hosts where no daemon runs. Every LV tagged "snapset" whose set (its
 * "snapset:<id>" tag) is neither live nor pending is removed, as the
 * daemon does at its start; LVs of live sets and pending records, LVs
 * that are no snapshots and untagged LVs are left alone.
 *
 * LVs are listed before sets: a set is created before its LVs, so an LV
 * listed first has its set in the list after, unless that set is gone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/format.h"
#include "../common/lvm.h"
#include "../common/module.h"
#include "cli.h"
#include "commands.h"

static const char cleanup_usage[] =
    "Usage: snapset cleanup [--dry-run]\n"
    "\n"
    "Remove every snapshot LV tagged snapset whose set is neither live\n"
    "nor pending: what a requester killed before arm, a crash or a module\n"
    "reload left, and what the daemon removes at its start.\n"
    "\n"
    "  --dry-run   say what would be removed, remove nothing\n";

/* The module's live sets and pending records; -errno, reported. */
static int module_sets(void **sets, size_t *len)
{
	int fd = cli_open_module("cleanup"), ret;

	if (fd < 0)
		return -ENODEV;
	ret = module_list(fd, sets, len);
	close(fd);
	if (ret)
		cli_module_error("cleanup", ret);
	/* A set it could not read would be taken for lost: fail closed. */
	if (!ret && !records_whole(*sets, *len)) {
		fprintf(stderr,
			"snapset cleanup: %s: records this program cannot "
			"read (is the module newer or older?)\n",
			SNAPSET_DEV_PATH);
		free(*sets);
		ret = -EPROTO;
	}
	return ret;
}

/* Removes one lost LV, or says it would; -errno when it could not. */
static int remove_lost(const struct snapset_lv *lv, bool dry_run)
{
	struct lvm_error err;
	struct lv_info info;
	int ret;

	if (dry_run) {
		ret = lv_info_get(lv->vg, lv->lv, &info, &err);
		if (!ret && !info.origin[0])
			ret = -ENOENT;
	} else {
		ret = lv_remove_by_uuid(lv->uuid, &err);
	}
	if (ret == -ENOENT) {
		printf("%s/%s: left alone: not a snapshot\n", lv->vg, lv->lv);
		return 0;
	}
	if (ret) {
		fprintf(stderr, "snapset cleanup: %s/%s: cannot remove: %s\n",
			lv->vg, lv->lv,
			err.message[0] ? err.message : strerror(-ret));
		return ret;
	}
	printf("%s/%s: %s (set %s is neither live nor pending)\n", lv->vg,
	       lv->lv, dry_run ? "would be removed" : "removed", lv->set_id);
	return 0;
}

/* Each tagged LV against the module's sets; -errno if one failed. */
static int clean(const struct snapset_lv *lvs, size_t n, const void *sets,
		 size_t len, bool dry_run)
{
	__u8 id[SNAPSET_ID_LEN];
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		if (id_parse(lvs[i].set_id, id))
			printf("%s/%s: left alone: tag snapset:%s names no "
			       "set\n",
			       lvs[i].vg, lvs[i].lv, lvs[i].set_id);
		else if (records_hold_set(sets, len, id))
			printf("%s/%s: kept: set %s is live or pending\n",
			       lvs[i].vg, lvs[i].lv, lvs[i].set_id);
		else if (remove_lost(&lvs[i], dry_run))
			ret = -EIO;
	}
	return ret;
}

static const struct option cleanup_options[] = {
	{ "dry-run", no_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{}
};

int cleanup_main(int argc, char **argv)
{
	struct snapset_lv *lvs;
	struct lvm_error err;
	bool dry_run = false;
	size_t n, len;
	void *sets;
	int opt, ret;

	while ((opt = cli_getopt(argc, argv, cleanup_options)) != -1) {
		if (opt != 'n')
			return cli_other_option(argv, opt, cleanup_usage);
		dry_run = true;
	}
	if (optind < argc)
		return cli_usage_error("cleanup", argv[optind],
				       "unexpected argument");
	ret = lv_list_snapset(&lvs, &n, &err);
	if (ret) {
		fprintf(stderr, "snapset cleanup: lvs: %s\n",
			err.message[0] ? err.message : strerror(-ret));
		return EXIT_RUNTIME;
	}
	ret = module_sets(&sets, &len);
	if (!ret) {
		ret = clean(lvs, n, sets, len, dry_run);
		free(sets);
	}
	free(lvs);
	return ret ? EXIT_RUNTIME : EXIT_SUCCESS;
}
