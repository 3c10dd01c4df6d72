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
	bool deferred_remove;	/* dm: already scheduled for removal */
	char dm_target[32];	/* dm: the first target's type */
	char vg[128];		/* lvm */
	char lv[128];		/* lvm */
	struct lv_info lv_info; /* lvm */
};

/*
 * What is behind @rdev. A device is proven a snapshot when it is a loop
 * device, a dm device whose table is a snapshot or thin target, or an
 * LVM LV that has an origin. -errno; LVM's words in @err.
 */
int engine_inspect(dev_t rdev, struct engine_info *info, struct lvm_error *err);

/*
 * Arms the engine's own release at the last close: autoclear on a loop
 * device, deferred remove on a dm device. A no-op for LVM and others.
 */
int engine_arm_release(int fd, const struct engine_info *info);

/* "loop", "dm", "lvm" or "block device", for messages. */
const char *engine_name(enum engine_kind kind);

#endif
