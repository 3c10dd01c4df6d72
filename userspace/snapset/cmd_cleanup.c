// SPDX-License-Identifier: GPL-2.0
/*
 * snapset cleanup [--dry-run] [--pending]: the administrator's
 * reconciliation, for hosts where no daemon runs. Every LV tagged
 * "snapset" whose set (its "snapset:<id>" tag) is neither live nor
 * pending is removed, as the daemon does at its start; LVs of live sets
 * and pending records, LVs that are no snapshots and untagged LVs are
 * left alone. With --pending, the pending records are released and
 * acknowledged too, as the daemon does (but with no writer to tell).
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
    "Usage: snapset cleanup [--dry-run] [--pending]\n"
    "\n"
    "Remove every snapshot LV tagged snapset whose set is neither live\n"
    "nor pending: what a requester killed before arm, a crash or a module\n"
    "reload left, and what the daemon removes at its start.\n"
    "\n"
    "  --dry-run   say what would be done, do nothing\n"
    "  --pending   also release and acknowledge pending records, when no\n"
    "              daemon runs (no writer is told)\n";

/* The module's live sets and pending records; -errno, reported. */
static int module_sets(int fd, void **sets, size_t *len)
{
	int ret = module_list_whole(fd, sets, len);

	if (ret == -EPROTO)
		fprintf(stderr,
			"snapset cleanup: %s: records this program cannot "
			"read (is the module newer or older?)\n",
			SNAPSET_DEV_PATH);
	else if (ret)
		cli_module_error("cleanup", ret);
	return ret;
}

/* Removes one lost LV, or says it would; -errno when it could not. */
static int remove_lost(const struct snapset_lv *lv, bool dry_run)
{
	struct lvm_error err;
	int ret = dry_run ? lv_lookup(lv->uuid, &err)
			  : lv_remove_by_uuid(lv->uuid, &err);

	/* Removed since it was listed: by a daemon, an administrator. */
	if (ret == -ENOENT) {
		printf("%s/%s: gone already\n", lv->vg, lv->lv);
		return 0;
	}
	if (ret == -ESRCH) {
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

/* Removes the record's snapshot LVs, as the daemon would; -errno. */
static int release_record(const struct snapset_event *rec, const char *set)
{
	struct lvm_error err = { "" };
	char uuid[LV_UUID_LEN], id[ID_STR_LEN];
	int ret = 0;

	for (__u32 i = 0; i < rec->set.ndevices && !ret; i++) {
		const struct snapset_device_info *dev =
		    snapset_event_device(rec, i);

		if (!record_device_lv_uuid(dev, uuid))
			ret = lv_remove_by_uuid(uuid, &err);
		/*
		 * Gone already (run removed it, or an administrator), or no
		 * snapshot: left alone, as the daemon does.
		 */
		if (ret == -ENOENT || ret == -ESRCH)
			ret = 0;
	}
	id_format(rec->set.id, id);
	/* A tombstone's devices were dropped: its LVs carry its id. */
	if (!ret && (rec->set.flags & SNAPSET_SET_TOMBSTONE))
		ret = lv_remove_tagged(id, &err);
	if (ret)
		fprintf(stderr, "snapset cleanup: %s: cannot release: %s\n",
			set, err.message[0] ? err.message : strerror(-ret));
	return ret;
}

/* One pending record: released and acknowledged; -errno if it stays. */
static int ack_record(int fd, const struct snapset_event *rec, bool dry_run)
{
	char set[SET_LABEL_LEN];
	int ret;

	set_label(rec->set.name, sizeof(rec->set.name), rec->set.id, set,
		  sizeof(set));
	/* Root removes only what root asked to, as the daemon. */
	if (rec->set.owner_uid != 0) {
		printf("%s: left pending: the set is not root's\n", set);
		return 0;
	}
	if (dry_run) {
		printf("%s: would be released and acknowledged\n", set);
		return 0;
	}
	ret = release_record(rec, set);
	if (ret)
		return ret;
	ret = module_ack(fd, rec->set.id);
	if (ret) {
		fprintf(stderr, "snapset cleanup: %s: cannot acknowledge: %s\n",
			set, strerror(-ret));
		return ret;
	}
	printf("%s: released and acknowledged (no writer was told)\n", set);
	return 0;
}

/*
 * --pending: the pending records in @sets, as the delivery agent, which
 * a running daemon is (then the module says EBUSY).
 */
static int ack_pending(int fd, const void *sets, size_t len, bool dry_run)
{
	const struct snapset_event *ev;
	size_t off = 0;
	int ret = dry_run ? 0 : module_subscribe(fd, SNAPSET_SUBSCRIBE_AGENT);

	if (ret == -EBUSY) {
		fprintf(stderr, "snapset cleanup: --pending: a daemon runs: it "
				"releases and acknowledges records itself\n");
		return ret;
	}
	if (ret) {
		cli_module_error("cleanup", ret);
		return ret;
	}
	while ((ev = record_next(sets, len, &off)))
		if (ev->type == SNAPSET_RECORD_PENDING &&
		    ack_record(fd, ev, dry_run))
			ret = -EIO;
	return ret;
}

static const struct option cleanup_options[] = {
	{ "dry-run", no_argument, NULL, 'n' },
	{ "pending", no_argument, NULL, 'p' },
	{ "help", no_argument, NULL, 'h' },
	{}
};

int cleanup_main(int argc, char **argv)
{
	bool dry_run = false, pending = false;
	struct snapset_lv *lvs;
	struct lvm_error err;
	int opt, ret, fd;
	size_t n, len;
	void *sets;

	while ((opt = cli_getopt(argc, argv, cleanup_options)) != -1) {
		if (opt == 'n')
			dry_run = true;
		else if (opt == 'p')
			pending = true;
		else
			return cli_other_option(argv, opt, cleanup_usage);
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
	fd = cli_open_module("cleanup");
	ret = fd < 0 ? -ENODEV : module_sets(fd, &sets, &len);
	if (!ret) {
		ret = clean(lvs, n, sets, len, dry_run);
		if (pending && ack_pending(fd, sets, len, dry_run))
			ret = -EIO;
		free(sets);
	}
	if (fd >= 0)
		close(fd);
	free(lvs);
	return ret ? EXIT_RUNTIME : EXIT_SUCCESS;
}
