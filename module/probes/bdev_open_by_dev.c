// SPDX-License-Identifier: GPL-2.0
/* 6.8 only: a block device is opened as a struct bdev_handle. */
#include <linux/blkdev.h>

struct bdev_handle *snapset_probe(dev_t dev);
struct bdev_handle *snapset_probe(dev_t dev)
{
	return bdev_open_by_dev(dev, BLK_OPEN_READ, NULL, NULL);
}
