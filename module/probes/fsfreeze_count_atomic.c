// SPDX-License-Identifier: GPL-2.0
/* 6.8: a block device's freeze count became an atomic_t. */
#include <linux/blkdev.h>

int snapset_probe(struct block_device *bdev);
int snapset_probe(struct block_device *bdev)
{
	return atomic_read(&bdev->bd_fsfreeze_count);
}
