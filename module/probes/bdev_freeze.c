// SPDX-License-Identifier: GPL-2.0
/* 6.8: freeze_bdev() and thaw_bdev() became bdev_freeze() and bdev_thaw(). */
#include <linux/blkdev.h>

int snapset_probe(struct block_device *bdev);
int snapset_probe(struct block_device *bdev)
{
	return bdev_freeze(bdev) ?: bdev_thaw(bdev);
}
