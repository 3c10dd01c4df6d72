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
 * st_dev names a filesystem's), seen under @sysfs ("/sys") with device
 * nodes in @devdir ("/dev"), @top itself aside: 1 if so, 0 if not, and
 * -errno when a loop device on the way reads a file that can be found
 * neither through its node nor by its name: whether it is cannot be
 * told. @how says through what, from @top down: "dm-3 over loop0 over
 * /var/tmp/pv.img" (a file on @under's filesystem), or "sda1 in sda" for
 * a partition; for -errno, as far as the walk went.
 */
int device_built_on(const char *sysfs, const char *devdir, dev_t top,
		    dev_t under, char *how, size_t size);

#endif
