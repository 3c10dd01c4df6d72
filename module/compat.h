/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel APIs that differ between the kernels the module builds for:
 * reading a struct fd, and opening and closing a block device as a
 * handle.
 */
#ifndef SNAPSET_COMPAT_H
#define SNAPSET_COMPAT_H

#include <linux/blkdev.h>
#include <linux/err.h>
#include <linux/file.h>

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

#endif /* SNAPSET_COMPAT_H */
