/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a block device is, for people deciding what to do with it: its
 * filesystem (udev's database, or libblkid) and its engine (from sysfs: a loop
 * device and its backing file, or a device-mapper device and its name and
 * uuid).
 */
#ifndef SNAPSET_COMMON_DEVICE_H
#define SNAPSET_COMMON_DEVICE_H

#include <json-c/json.h>
#include <linux/snapset.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The first line of a sysfs file, without its newline; -errno on failure. */
int sysfs_read(const char *path, char *out, size_t size);

/* What libblkid finds on a device; "" for anything it does not. */
struct device_ids {
	char type[32];
	char uuid[64];
	char label[128];
	char partuuid[64];
};

/* Probes @node (a block device or an image file); -errno if unreadable. */
int device_probe_ids(const char *node, struct device_ids *ids);
/*
 * What udev's own probe found for MAJOR:MINOR, from its database under
 * @udev_dir ("/run/udev") without touching the device; -ENOENT when udev
 * has no entry for it.
 */
int device_udev_ids(const char *udev_dir, unsigned int major,
		    unsigned int minor, struct device_ids *ids);

struct device_desc {
	char node[64];	   /* /dev/NAME, or "" when gone */
	char type[32];	   /* filesystem TYPE, or "" */
	char uuid[64];	   /* filesystem UUID, or "" */
	char label[128];   /* filesystem LABEL, or "" */
	char engine[8];	   /* "loop", "dm", "lvm" or "" */
	char backing[256]; /* loop: backing file */
	char dm_name[128]; /* dm: name */
	char vg[128];	   /* lvm: volume group */
	char lv[128];	   /* lvm: logical volume */
	char origin[128];  /* lvm: the origin LV in the same VG, or "" */
};

/*
 * Describes MAJOR:MINOR as it is now, if it is still the disk with
 * @diskseq (minors are reused; 0 checks nothing); -ESTALE when another
 * disk took the number, -errno when none has it. Where udev runs, the
 * filesystem comes from udev's database and the device is never opened,
 * so a hung device cannot stall the caller (the daemon's loop).
 */
int device_describe(unsigned int major, unsigned int minor,
		    unsigned long long diskseq, struct device_desc *desc);

/* The diskseq of the disk at MAJOR:MINOR now; 0 when none is known. */
unsigned long long device_diskseq(unsigned int major, unsigned int minor);
/*
 * Whether recorded device @d is the disk MAJOR:MINOR with @diskseq (from
 * device_diskseq()): the number alone is reused, by the next loop attach
 * or dm device. A diskseq of 0 on either side (a kernel without them)
 * leaves the number to decide.
 */
bool device_info_is(const struct snapset_device_info *d, unsigned int major,
		    unsigned int minor, unsigned long long diskseq);

/*
 * Splits an LVM device-mapper name, "VG-LV" with each '-' inside a name
 * doubled, into its two names (libdevmapper's dm_split_lvm_name()):
 * -EINVAL when it is not exactly two such names, or one does not fit.
 */
int lvm_split_dm_name(const char *dm_name, char *vg, size_t vg_size, char *lv,
		      size_t lv_size);

/*
 * The description's non-empty fields as " /dev/NAME TYPE=... LABEL=..."
 * for a terminal: every value escaped (display_escape()).
 */
void device_desc_print(FILE *out, const struct device_desc *desc);

/* Adds the description's non-empty fields to @obj. */
void device_desc_to_json(const struct device_desc *desc,
			 struct json_object *obj);

#endif
