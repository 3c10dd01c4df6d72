// SPDX-License-Identifier: GPL-2.0
/*
 * Start-up reconciliation: an LV tagged "snapset" whose set is neither
 * live nor pending was left by a requester killed before arm, a host that
 * crashed, or a module reloaded. Its record is gone, so it is released
 * here and reported as lost. LVs are listed before sets: a set is created
 * before its LVs, so an LV listed first has its set in the list after,
 * unless that set is gone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/format.h"
#include "../common/lvm.h"
#include "../common/module.h"
#include "daemon.h"

struct lost_lv {
	struct daemon *d;
	char set_id[40];
};

static void lost_released(struct lv_release *r, int result, const char *message)
{
	struct lost_lv *lost = lv_release_owner(r);

	report_lost(lost->set_id, lv_release_label(r), result, message);
	lost->d->jobs--;
	free(lost);
}

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

static void release_lost(struct daemon *d, const struct snapset_lv *lv)
{
	struct lost_lv *lost = malloc(sizeof(*lost));
	char label[260];
	int ret = lost ? 0 : -ENOMEM;

	snprintf(label, sizeof(label), "%s/%s", lv->vg, lv->lv);
	if (!ret) {
		lost->d = d;
		memcpy(lost->set_id, lv->set_id, sizeof(lost->set_id));
		ret = lv_release_start(d, lv->uuid, label, lost_released, lost);
	}
	/* Counted like a record's release: stopping waits for it. */
	if (!ret)
		d->jobs++;
	if (ret) {
		report_lost(lv->set_id, label, ret, strerror(-ret));
		free(lost);
	}
}

int reconcile(struct daemon *d)
{
	struct snapset_lv *lvs;
	struct lvm_error err;
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
	for (size_t i = 0; i < n; i++)
		if (!known_set(sets, len, lvs[i].set_id))
			release_lost(d, &lvs[i]);
	free(sets);
	free(lvs);
	return 0;
}
