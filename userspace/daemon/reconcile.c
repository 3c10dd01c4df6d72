// SPDX-License-Identifier: GPL-2.0
/*
 * Start-up reconciliation: an LV tagged "snapset" whose set is neither
 * live nor pending was left by a requester killed before arm, a host that
 * crashed, or a module reloaded. Its record is gone, so it is released
 * here and reported as lost. LVs are listed before sets: a set is created
 * before its LVs, so an LV listed first has its set in the list after,
 * unless that set is gone. The LVs of one lost set are one shutdown:
 * released, told to writers, reported, kept in the history.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/format.h"
#include "../common/lvm.h"
#include "../common/module.h"
#include "daemon.h"

/* Whether @id (text) names a live set or a pending record in @buf. */
static bool known_set(const void *buf, size_t len, const char *id)
{
	const struct snapset_event *ev;
	char text[ID_STR_LEN];
	size_t off = 0;

	while ((ev = record_next(buf, len, &off))) {
		id_format(ev->set.id, text);
		if (!strcasecmp(text, id))
			return true;
	}
	return false;
}

/*
 * Releases the LVs of one lost set, @lvs[@first] and those after it with
 * the same set id (each marked done), as one shutdown with reason lost.
 */
static void release_lost_set(struct daemon *d, struct snapset_lv *lvs, size_t n,
			     size_t first, bool *done)
{
	__u8 id[SNAPSET_ID_LEN];
	struct record_job *job;

	if (id_parse(lvs[first].set_id, id)) {
		report_note("%s/%s: tag snapset:%s names no set: left alone",
			    lvs[first].vg, lvs[first].lv, lvs[first].set_id);
		return;
	}
	job = lost_set_start(d, id);
	if (!job) {
		report_note("out of memory: lost LVs wait for a restart");
		return;
	}
	for (size_t i = first; i < n; i++)
		if (!done[i] && !strcasecmp(lvs[i].set_id, lvs[first].set_id)) {
			done[i] = true;
			lost_set_release(job, &lvs[i]);
		}
	lost_set_started(job);
}

int reconcile(struct daemon *d)
{
	struct snapset_lv *lvs;
	struct lvm_error err;
	bool *done;
	void *sets;
	size_t n, len;
	int ret;

	ret = lv_list_snapset(&lvs, &n, &err);
	if (ret) {
		free(lvs);
		report_note("reconciliation skipped: lvs: %s", err.message);
		return 0;
	}
	ret = module_list(d->agent_fd, &sets, &len);
	if (ret) {
		free(lvs);
		return ret;
	}
	done = calloc(n ?: 1, sizeof(*done));
	if (!done) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (!done[i] && !known_set(sets, len, lvs[i].set_id))
			release_lost_set(d, lvs, n, i, done);
	free(done);
out:
	free(sets);
	free(lvs);
	return ret;
}
