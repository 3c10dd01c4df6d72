/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel APIs that differ between the kernels the module builds for:
 * reading a struct fd, opening and closing a block device as a handle,
 * and freezing a filesystem through its block device.
 */
#ifndef SNAPSET_COMPAT_H
#define SNAPSET_COMPAT_H

#include <linux/blkdev.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>

#include "features.h"

/*
 * Where the kernel's API changed, the branch is chosen by a feature probe
 * run at build time (the files in probes/, whose results are in
 * features.h), never by the version number: distributions backport.
 * This header is the only place that knows.
 *
 *   SNAPSET_HAVE_FD_FILE                 6.12: struct fd read by fd_file()
 *   SNAPSET_HAVE_BDEV_FILE_OPEN_BY_DEV   6.9: a block device is a file
 *   SNAPSET_HAVE_BDEV_OPEN_BY_DEV        6.8: a struct bdev_handle
 *   SNAPSET_HAVE_BLK_OPEN_READ           6.5: blk_mode_t, holder ops
 *   SNAPSET_HAVE_BDEV_FREEZE             6.8: bdev_freeze(), bdev_thaw()
 *   SNAPSET_HAVE_FREEZE_HOLDER           6.6: freeze_super(sb, holder)
 *   SNAPSET_HAVE_FSFREEZE_COUNT_ATOMIC   6.8: bd_fsfreeze_count an atomic_t
 */
#ifndef SNAPSET_HAVE_FD_FILE
#define fd_file(f) ((f).file)
#endif

struct snapset_bdev {
#if defined(SNAPSET_HAVE_BDEV_FILE_OPEN_BY_DEV)
	struct file *file;
#elif defined(SNAPSET_HAVE_BDEV_OPEN_BY_DEV)
	struct bdev_handle *handle;
#else
	struct block_device *bdev;
#endif
};

/* A shared (non-exclusive) read reference: the device stays openable. */
static inline int snapset_bdev_open(dev_t dev, struct snapset_bdev *h)
{
#if defined(SNAPSET_HAVE_BDEV_FILE_OPEN_BY_DEV)
	h->file = bdev_file_open_by_dev(dev, BLK_OPEN_READ, NULL, NULL);
	return PTR_ERR_OR_ZERO(h->file);
#elif defined(SNAPSET_HAVE_BDEV_OPEN_BY_DEV)
	h->handle = bdev_open_by_dev(dev, BLK_OPEN_READ, NULL, NULL);
	return PTR_ERR_OR_ZERO(h->handle);
#elif defined(SNAPSET_HAVE_BLK_OPEN_READ)
	h->bdev = blkdev_get_by_dev(dev, BLK_OPEN_READ, NULL, NULL);
	return PTR_ERR_OR_ZERO(h->bdev);
#else
	h->bdev = blkdev_get_by_dev(dev, FMODE_READ, NULL);
	return PTR_ERR_OR_ZERO(h->bdev);
#endif
}

static inline struct block_device *snapset_bdev(const struct snapset_bdev *h)
{
#if defined(SNAPSET_HAVE_BDEV_FILE_OPEN_BY_DEV)
	return file_bdev(h->file);
#elif defined(SNAPSET_HAVE_BDEV_OPEN_BY_DEV)
	return h->handle->bdev;
#else
	return h->bdev;
#endif
}

static inline void snapset_bdev_close(struct snapset_bdev *h)
{
#if defined(SNAPSET_HAVE_BDEV_FILE_OPEN_BY_DEV)
	/* A plain fput() defers the put: the record must follow it. */
	__fput_sync(h->file);
#elif defined(SNAPSET_HAVE_BDEV_OPEN_BY_DEV)
	bdev_release(h->handle);
#elif defined(SNAPSET_HAVE_BLK_OPEN_READ)
	blkdev_put(h->bdev, NULL);
#else
	blkdev_put(h->bdev, FMODE_READ);
#endif
}

/*
 * The block device's freeze, counted in bd_fsfreeze_count: it nests, and
 * only the outermost freezes and thaws the filesystem (freeze.c says why
 * this one).
 */
static inline int snapset_bdev_freeze(struct block_device *bdev)
{
#ifdef SNAPSET_HAVE_BDEV_FREEZE
	return bdev_freeze(bdev);
#else
	return freeze_bdev(bdev);
#endif
}

static inline int snapset_bdev_thaw(struct block_device *bdev)
{
#ifdef SNAPSET_HAVE_BDEV_FREEZE
	return bdev_thaw(bdev);
#else
	return thaw_bdev(bdev);
#endif
}

/*
 * How many freezes the block device holds (bd_fsfreeze_count), read under
 * bd_fsfreeze_mutex as the kernel's own freeze and thaw do: 0 when the
 * last one thawed, whoever did.
 */
static inline int snapset_bdev_freeze_count(struct block_device *bdev)
{
	int count;

	mutex_lock(&bdev->bd_fsfreeze_mutex);
#ifdef SNAPSET_HAVE_FSFREEZE_COUNT_ATOMIC
	count = atomic_read(&bdev->bd_fsfreeze_count);
#else
	count = bdev->bd_fsfreeze_count;
#endif
	mutex_unlock(&bdev->bd_fsfreeze_mutex);
	return count;
}

/*
 * The holder the outermost block device freeze freezes and thaws @sb
 * with (6.8+: fs_bdev_freeze(), fs_bdev_thaw(); 6.6: freeze_bdev()).
 */
#if defined(SNAPSET_HAVE_BDEV_FREEZE)
#define SNAPSET_BDEV_HOLDER (FREEZE_HOLDER_USERSPACE | FREEZE_MAY_NEST)
#elif defined(SNAPSET_HAVE_FREEZE_HOLDER)
#define SNAPSET_BDEV_HOLDER FREEZE_HOLDER_USERSPACE
#endif

/*
 * Freezes @sb as the outermost block device freeze does (6.8+:
 * fs_bdev_freeze(); 6.1: freeze_bdev()), so that the block device's
 * thaw undoes exactly this.
 */
static inline int snapset_sb_freeze_as_bdev(struct super_block *sb)
{
#ifdef SNAPSET_HAVE_FREEZE_HOLDER
	if (sb->s_op->freeze_super)
		return sb->s_op->freeze_super(sb, SNAPSET_BDEV_HOLDER);
	return freeze_super(sb, SNAPSET_BDEV_HOLDER);
#else
	if (sb->s_op->freeze_super)
		return sb->s_op->freeze_super(sb);
	return freeze_super(sb);
#endif
}

/* Thaws @sb as the outermost block device thaw does: undoes the above. */
static inline int snapset_sb_thaw_as_bdev(struct super_block *sb)
{
#ifdef SNAPSET_HAVE_FREEZE_HOLDER
	if (sb->s_op->thaw_super)
		return sb->s_op->thaw_super(sb, SNAPSET_BDEV_HOLDER);
	return thaw_super(sb, SNAPSET_BDEV_HOLDER);
#else
	if (sb->s_op->thaw_super)
		return sb->s_op->thaw_super(sb);
	return thaw_super(sb);
#endif
}

#endif /* SNAPSET_COMPAT_H */
