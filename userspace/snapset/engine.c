// SPDX-License-Identifier: GPL-2.0
/*
 * Engines seen through sysfs, libdevmapper and lvm2.
 */
#include <errno.h>
#include <libdevmapper.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "../common/device.h"
#include "engine.h"

const char *engine_name(enum engine_kind kind)
{
	static const char *const names[] = {
		[ENGINE_OTHER] = "block device",
		[ENGINE_LOOP] = "loop",
		[ENGINE_DM] = "dm",
		[ENGINE_LVM] = "lvm",
	};

	return names[kind];
}

/* The dm device's first target type and its deferred-remove flag. */
static int dm_inspect(dev_t rdev, struct engine_info *info)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_TABLE);
	char *type = NULL, *params;
	const char *uuid;
	uint64_t start, length;
	struct dm_info dmi;
	int ret = -EIO;

	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_major(dmt, major(rdev)) ||
	    !dm_task_set_minor(dmt, minor(rdev)) || !dm_task_run(dmt) ||
	    !dm_task_get_info(dmt, &dmi) || !dmi.exists)
		goto out;
	info->deferred_remove = dmi.deferred_remove;
	uuid = dm_task_get_uuid(dmt) ?: "";
	/* LVM's parts of an LV: "LVM-" + VG and LV uuids + "-cow", "-real" */
	info->lvm_internal = !strncmp(uuid, "LVM-", 4) && strlen(uuid) > 68;
	dm_get_next_target(dmt, NULL, &start, &length, &type, &params);
	snprintf(info->dm_target, sizeof(info->dm_target), "%s",
		 type ? type : "");
	ret = 0;
out:
	dm_task_destroy(dmt);
	/* libdevmapper keeps /dev/mapper/control open, inheritable. */
	dm_lib_release();
	return ret;
}

/*
 * The snapshot target's status: "USED/SIZE METADATA" in sectors, USED
 * counting the metadata chunks too (full at USED == SIZE), or "Invalid"
 * once the COW overflowed ("Overflow" while merging).
 */
static int cow_parse(const char *status, struct engine_cow *cow)
{
	unsigned long long data, size, metadata;

	memset(cow, 0, sizeof(*cow));
	if (!strcmp(status, "Invalid") || !strcmp(status, "Overflow")) {
		cow->invalid = true;
		return 0;
	}
	if (sscanf(status, "%llu/%llu %llu", &data, &size, &metadata) != 3)
		return -EIO;
	cow->size = size << 9;
	cow->used = data << 9;
	return 0;
}

int engine_cow_usage(dev_t rdev, struct engine_cow *cow)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_STATUS);
	char *type = NULL, *status = NULL;
	uint64_t start, length;
	int ret = -ENODATA;

	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_major(dmt, major(rdev)) ||
	    !dm_task_set_minor(dmt, minor(rdev)) || !dm_task_run(dmt)) {
		ret = -EIO;
		goto out;
	}
	dm_get_next_target(dmt, NULL, &start, &length, &type, &status);
	if (type && status && !strcmp(type, "snapshot"))
		ret = cow_parse(status, cow);
out:
	dm_task_destroy(dmt);
	dm_lib_release();
	return ret;
}

/* Set by losetup -d on a held loop device, or at attach. */
static bool loop_autoclear(dev_t rdev)
{
	char path[64], value[8];

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/loop/autoclear",
		 major(rdev), minor(rdev));
	return !sysfs_read(path, value, sizeof(value)) && !strcmp(value, "1");
}

int engine_inspect(dev_t rdev, struct engine_info *info, struct lvm_error *err)
{
	struct device_desc desc;
	int ret;

	memset(info, 0, sizeof(*info));
	err->message[0] = '\0';
	ret = device_describe(major(rdev), minor(rdev), 0, &desc);
	if (ret)
		return ret;
	snprintf(info->node, sizeof(info->node), "%s", desc.node);
	if (!strcmp(desc.engine, "loop")) {
		info->kind = ENGINE_LOOP;
		info->snapshot = true;
		info->deferred_remove = loop_autoclear(rdev);
		return 0;
	}
	if (!desc.dm_name[0])
		return 0;
	ret = dm_inspect(rdev, info);
	if (ret)
		return ret;
	if (strcmp(desc.engine, "lvm") || info->lvm_internal) {
		info->kind = ENGINE_DM;
		info->snapshot =
		    !info->lvm_internal && !strcmp(info->dm_target, "snapshot");
		return 0;
	}
	info->kind = ENGINE_LVM;
	snprintf(info->vg, sizeof(info->vg), "%s", desc.vg);
	snprintf(info->lv, sizeof(info->lv), "%s", desc.lv);
	ret = lv_info_get(info->vg, info->lv, &info->lv_info, err);
	info->snapshot = !ret && info->lv_info.origin[0];
	return ret;
}

static int loop_set_autoclear(int fd, bool on)
{
	struct loop_info64 li;

	if (ioctl(fd, LOOP_GET_STATUS64, &li))
		return -errno;
	if (on)
		li.lo_flags |= LO_FLAGS_AUTOCLEAR;
	else
		li.lo_flags &= ~LO_FLAGS_AUTOCLEAR;
	return ioctl(fd, LOOP_SET_STATUS64, &li) ? -errno : 0;
}

/*
 * dm keeps the device, usable, until its last close, then removes it;
 * or, with @on false, cancels that.
 */
static int dm_defer_remove(int fd, bool on)
{
	struct dm_task *dmt;
	struct stat st;
	int ret = -EIO;

	if (fstat(fd, &st))
		return -errno;
	dmt = dm_task_create(on ? DM_DEVICE_REMOVE : DM_DEVICE_TARGET_MSG);
	if (!dmt)
		return -ENOMEM;
	if (dm_task_set_major(dmt, major(st.st_rdev)) &&
	    dm_task_set_minor(dmt, minor(st.st_rdev)) &&
	    (on ? dm_task_deferred_remove(dmt)
		: dm_task_set_sector(dmt, 0) &&
		      dm_task_set_message(dmt, "@cancel_deferred_remove")) &&
	    dm_task_run(dmt))
		ret = 0;
	dm_task_destroy(dmt);
	dm_lib_release();
	return ret;
}

int engine_set_release(int fd, const struct engine_info *info, bool on)
{
	switch (info->kind) {
	case ENGINE_LOOP:
		return loop_set_autoclear(fd, on);
	case ENGINE_DM:
		return dm_defer_remove(fd, on);
	default:
		return 0;
	}
}
