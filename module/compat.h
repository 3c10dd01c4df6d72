/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Opening and closing a block device as a handle. The kernel API changed
 * in 6.5 (holder ops, blk_mode_t), 6.8 (struct bdev_handle) and 6.9 (a
 * struct file): this header is the only place that knows.
 */
#ifndef SNAPSET_COMPAT_H
#define SNAPSET_COMPAT_H

#include <linux/blkdev.h>
#include <linux/err.h>
#include <linux/version.h>

struct snapset_bdev {
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
	struct file *file;
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	struct bdev_handle *handle;
#else
	struct block_device *bdev;
#endif
};

/* A shared (non-exclusive) read reference: the device stays openable. */
static inline int snapset_bdev_open(dev_t dev, struct snapset_bdev *h)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
	h->file = bdev_file_open_by_dev(dev, BLK_OPEN_READ, NULL, NULL);
	return PTR_ERR_OR_ZERO(h->file);
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	h->handle = bdev_open_by_dev(dev, BLK_OPEN_READ, NULL, NULL);
	return PTR_ERR_OR_ZERO(h->handle);
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	h->bdev = blkdev_get_by_dev(dev, BLK_OPEN_READ, NULL, NULL);
	return PTR_ERR_OR_ZERO(h->bdev);
#else
	h->bdev = blkdev_get_by_dev(dev, FMODE_READ, NULL);
	return PTR_ERR_OR_ZERO(h->bdev);
#endif
}

static inline struct block_device *snapset_bdev(const struct snapset_bdev *h)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
	return file_bdev(h->file);
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	return h->handle->bdev;
#else
	return h->bdev;
#endif
}

static inline void snapset_bdev_close(struct snapset_bdev *h)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
	/* A plain fput() defers the put: the record must follow it. */
	__fput_sync(h->file);
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	bdev_release(h->handle);
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	blkdev_put(h->bdev, NULL);
#else
	blkdev_put(h->bdev, FMODE_READ);
#endif
}

#endif /* SNAPSET_COMPAT_H */
