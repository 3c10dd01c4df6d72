/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The engines behind a block device, for run's release decisions: whether
 * a device is provably a snapshot, and engine-level auto-release (loop
 * autoclear, device-mapper deferred remove). LVM LVs are released with
 * lvremove instead: removing their dm device would leave LVM's metadata
 * behind.
 */
#ifndef SNAPSET_ENGINE_H
#define SNAPSET_ENGINE_H

#include <stdbool.h>
#include <sys/types.h>

#include "../common/lvm.h"

enum engine_kind {
	ENGINE_OTHER,
	ENGINE_LOOP,
	ENGINE_DM,
	ENGINE_LVM,
};

struct engine_info {
	enum engine_kind kind;
	char node[64];		/* /dev/NAME */
	bool snapshot;		/* proven: see engine_inspect() */
	bool deferred_remove;	/* already set to go at its last close */
	bool lvm_internal;	/* dm: an LV's hidden part (-cow, -real, ...) */
	char dm_target[32];	/* dm: the first target's type */
	char vg[128];		/* lvm */
	char lv[128];		/* lvm */
	struct lv_info lv_info; /* lvm */
};

/*
 * What is behind @rdev. A device is proven a snapshot when it is a loop
 * device, a plain dm device whose table is a snapshot target, or an LVM
 * LV that has an origin (lvs says so). A plain dm thin device may as well
 * be an origin: dm cannot tell. A dm device with an LVM uuid that is no
 * LV (an LV's -cow, -real, -tpool part) is @lvm_internal, never a
 * snapshot. -errno; LVM's words in @err.
 */
int engine_inspect(dev_t rdev, struct engine_info *info, struct lvm_error *err);

/*
 * Arms (@on) or cancels the engine's own release at the last close:
 * autoclear on a loop device, deferred remove on a dm device. A no-op for
 * LVM and others.
 */
int engine_set_release(int fd, const struct engine_info *info, bool on);

/* A dm snapshot's copy-on-write space, as its target reports it. */
struct engine_cow {
	unsigned long long size; /* bytes */
	unsigned long long used; /* bytes, metadata included */
	bool invalid;		 /* overflowed: dm dropped the snapshot */
};

/*
 * How full the snapshot at @rdev is: -ENODATA when it has no COW space of
 * its own (a loop device, a thin snapshot, which takes from its pool).
 */
int engine_cow_usage(dev_t rdev, struct engine_cow *cow);

/* "loop", "dm", "lvm" or "block device", for messages. */
const char *engine_name(enum engine_kind kind);

#endif
