/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a block device is built on, from sysfs: the devices a dm or md
 * device maps (slaves), a partition's disk, and the filesystem that holds
 * a loop device's backing file, down to the disks.
 */
#ifndef SNAPSET_COMMON_DEVICE_STACK_H
#define SNAPSET_COMMON_DEVICE_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How many devices and files deep a walk goes: stacks are not cycles. */
#define DEVICE_STACK_DEPTH_MAX 16

/*
 * Whether the block device @top is built on the device @under (as
 * st_dev names a filesystem's), seen under @sysfs ("/sys"), @top itself
 * aside. If so, @how says through what, from @top down: "dm-3 over
 * loop0 over /var/tmp/pv.img" (a file on @under's filesystem), or
 * "sda1 in sda" for a partition.
 */
bool device_built_on(const char *sysfs, dev_t top, dev_t under, char *how,
		     size_t size);

#endif
