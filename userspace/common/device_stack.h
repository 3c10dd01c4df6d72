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
 * What loop device @dev, named @name by the kernel, reads: the device of
 * the filesystem holding its file (@fs_dev) and, for a loop over a block
 * device, that device (@rdev, else 0); 0, or -errno if it cannot tell.
 */
typedef int device_loop_backing_fn(dev_t dev, const char *name, dev_t *fs_dev,
				   dev_t *rdev);

/*
 * The kernel's answer (LOOP_GET_STATUS64 on /dev/@name, that node only
 * if it is @dev's): of the file the loop device holds open, so a file
 * deleted or renamed since still answers, and one put in its place
 * does not.
 */
device_loop_backing_fn device_loop_backing;

/*
 * Whether the block device @top is built on the device @under (as
 * st_dev names a filesystem's), seen under @sysfs ("/sys"), loop devices
 * asked through @loop_backing, @top itself aside: 1 if so, 0 if not, and
 * -errno when it cannot be told (a loop device that does not answer, a
 * stack deeper than DEVICE_STACK_DEPTH_MAX). @how says through what,
 * from @top down: "dm-3 over loop0 over /var/tmp/pv.img" (a file on
 * @under's filesystem), or "sda1 in sda" for a partition; for -errno, as
 * far as the walk went.
 */
int device_built_on(const char *sysfs, device_loop_backing_fn *loop_backing,
		    dev_t top, dev_t under, char *how, size_t size);

/*
 * Why device_built_on() could not tell, for a message: its -ELOOP is a
 * stack deeper than the walk goes, not a symbolic link.
 */
const char *device_stack_strerror(int err);

#endif
