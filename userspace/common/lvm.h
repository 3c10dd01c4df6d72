/* SPDX-License-Identifier: GPL-2.0 */
/*
 * LVM through the lvm2 command line (LVM has no stable C API): what an LV
 * is, snapshots created tagged as snapset's, and removal by LV uuid.
 */
#ifndef SNAPSET_COMMON_LVM_H
#define SNAPSET_COMMON_LVM_H

#include <stddef.h>

/* Every LV snapset creates carries this tag, and "snapset:<set id>". */
#define LVM_SNAPSET_TAG "snapset"

struct lv_info {
	char uuid[64];	    /* as lvs prints it, with dashes */
	char origin[128];   /* "" when the LV is no snapshot */
	char segtype[32];   /* "linear", "snapshot", "thin", ... */
	unsigned int major; /* of the active dm device */
	unsigned int minor;
};

/* lvm's own words when a command fails: its first line on stderr. */
struct lvm_error {
	char message[256];
};

/* What VG/LV is; -ENOENT when LVM does not know it or its VG. */
int lv_info_get(const char *vg, const char *lv, struct lv_info *info,
		struct lvm_error *err);

/*
 * Creates @name as a snapshot of @vg/@origin, tagged for the set
 * @set_uuid: thick with @size (an lvcreate -L size), thin when @size is
 * NULL.
 */
int lv_snapshot_create(const char *vg, const char *origin, const char *name,
		       const char *size, const char *set_uuid,
		       struct lvm_error *err);

/*
 * Removes the LV whose uuid is @uuid, retrying with backoff while it is
 * in use (udev and blkid probe new devices); -ENOENT when none has it,
 * -EBUSY when it stayed in use.
 */
int lv_remove_by_uuid(const char *uuid, struct lvm_error *err);

#endif
