// SPDX-License-Identifier: GPL-2.0
/* 6.5: blk_mode_t and holder ops in blkdev_get_by_dev(). */
#include <linux/blkdev.h>

struct block_device *snapset_probe(dev_t dev);
struct block_device *snapset_probe(dev_t dev)
{
	return blkdev_get_by_dev(dev, BLK_OPEN_READ, NULL, NULL);
}
