// SPDX-License-Identifier: GPL-2.0
/*
 * Block devices described from sysfs and udev's database, or libblkid
 * where no udev runs.
 */
#include <blkid/blkid.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <libdevmapper.h>
#include <limits.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "format.h"

/* Where udevd keeps its database, and the socket it listens on. */
#define UDEV_DIR "/run/udev"

int sysfs_read(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "re");
	char line[PATH_MAX + 1];
	int ret = 0;

	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f))
		ret = -EIO;
	fclose(f);
	line[ret ? 0 : strcspn(line, "\n")] = '\0';
	text_copy(out, size, line);
	return ret;
}

static void copy_tag(blkid_probe probe, const char *name, char *out,
		     size_t size)
{
	const char *value;

	if (!blkid_probe_lookup_value(probe, name, &value, NULL))
		text_copy(out, size, value);
}

int device_probe_ids(const char *node, struct device_ids *ids)
{
	blkid_probe probe = blkid_new_probe_from_filename(node);

	memset(ids, 0, sizeof(*ids));
	if (!probe)
		return errno ? -errno : -EIO;
	blkid_probe_enable_superblocks(probe, 1);
	blkid_probe_set_superblocks_flags(
	    probe, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID | BLKID_SUBLKS_LABEL);
	blkid_probe_enable_partitions(probe, 1);
	blkid_probe_set_partitions_flags(probe, BLKID_PARTS_ENTRY_DETAILS);
	/* Ambivalent or empty devices have no ids, which is no error. */
	if (blkid_do_safeprobe(probe) == 0) {
		copy_tag(probe, "TYPE", ids->type, sizeof(ids->type));
		copy_tag(probe, "UUID", ids->uuid, sizeof(ids->uuid));
		copy_tag(probe, "LABEL", ids->label, sizeof(ids->label));
		copy_tag(probe, "PART_ENTRY_UUID", ids->partuuid,
			 sizeof(ids->partuuid));
	}
	blkid_free_probe(probe);
	return 0;
}

/* @value of udev's *_ENC properties, its "\xNN" escapes undone. */
static void udev_decode(const char *value, char *out, size_t size)
{
	char text[512], *o = text;

	while (*value && o < text + sizeof(text) - 1) {
		if (value[0] == '\\' && value[1] == 'x' &&
		    isxdigit((unsigned char)value[2]) &&
		    isxdigit((unsigned char)value[3])) {
			char hex[3] = { value[2], value[3], '\0' };

			*o++ = (char)strtol(hex, NULL, 16);
			value += 4;
		} else {
			*o++ = *value++;
		}
	}
	*o = '\0';
	text_copy(out, size, text);
}

/* One "E:KEY=VALUE" line of udev's database, if it is one we keep. */
static void udev_property(const char *line, struct device_ids *ids)
{
	static const struct {
		const char *key;
		size_t offset, size;
	} keys[] = {
		{ "E:ID_FS_TYPE=", offsetof(struct device_ids, type),
		  sizeof(ids->type) },
		/* The plain ID_FS_UUID and ID_FS_LABEL are mangled "safe". */
		{ "E:ID_FS_UUID_ENC=", offsetof(struct device_ids, uuid),
		  sizeof(ids->uuid) },
		{ "E:ID_FS_LABEL_ENC=", offsetof(struct device_ids, label),
		  sizeof(ids->label) },
		{ "E:ID_PART_ENTRY_UUID=",
		  offsetof(struct device_ids, partuuid),
		  sizeof(ids->partuuid) },
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strncmp(line, keys[i].key, strlen(keys[i].key)))
			udev_decode(line + strlen(keys[i].key),
				    (char *)ids + keys[i].offset, keys[i].size);
}

int device_udev_ids(const char *udev_dir, unsigned int major,
		    unsigned int minor, struct device_ids *ids)
{
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;

	memset(ids, 0, sizeof(*ids));
	snprintf(path, sizeof(path), "%s/data/b%u:%u", udev_dir, major, minor);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		udev_property(line, ids);
	}
	free(line);
	fclose(f);
	return 0;
}

/* Whether reading the device could hang: a suspended dm device. */
static bool suspended(const char *sys)
{
	char path[PATH_MAX], value[8];

	snprintf(path, sizeof(path), "%s/dm/suspended", sys);
	return !sysfs_read(path, value, sizeof(value)) && !strcmp(value, "1");
}

/*
 * TYPE, UUID and LABEL of what the device holds, as udev found them: the
 * daemon describes devices from its one loop, and reading a device can
 * hang (multipath queue_if_no_path, a loop file on a dead NFS mount).
 * Only where no udev runs (containers, the test guest) is the device
 * probed, unless it is a suspended dm device.
 */
static void describe_filesystem(unsigned int major, unsigned int minor,
				const char *sys, struct device_desc *desc)
{
	struct device_ids ids;
	char control[64];

	snprintf(control, sizeof(control), "%s/control", UDEV_DIR);
	if (device_udev_ids(UDEV_DIR, major, minor, &ids) &&
	    (!access(control, F_OK) || suspended(sys) ||
	     device_probe_ids(desc->node, &ids)))
		return;
	memcpy(desc->type, ids.type, sizeof(desc->type));
	memcpy(desc->uuid, ids.uuid, sizeof(desc->uuid));
	memcpy(desc->label, ids.label, sizeof(desc->label));
}

/* Copies @src to @out of @size bytes; -EINVAL when it is empty or too long. */
static int copy_name(const char *src, char *out, size_t size)
{
	size_t len = strlen(src);

	if (!len || len >= size)
		return -EINVAL;
	memcpy(out, src, len + 1);
	return 0;
}

/*
 * libdevmapper splits any string, reading a third part as a layer and a
 * lone trailing '-' as a character: only a name that libdevmapper builds
 * back unchanged from the two parts is a "VG-LV" name.
 */
int lvm_split_dm_name(const char *dm_name, char *vg, size_t vg_size, char *lv,
		      size_t lv_size)
{
	struct dm_pool *mem = dm_pool_create("snapset-name", 256);
	char *v, *l, *layer, *built;
	int ret = -EINVAL;

	if (!mem)
		return -ENOMEM;
	if (!dm_split_lvm_name(mem, dm_name, &v, &l, &layer)) {
		ret = -ENOMEM;
		goto out;
	}
	built = *layer ? NULL : dm_build_dm_name(mem, v, l, NULL);
	if (built && !strcmp(built, dm_name) && !copy_name(v, vg, vg_size) &&
	    !copy_name(l, lv, lv_size))
		ret = 0;
out:
	dm_pool_destroy(mem);
	return ret;
}

/*
 * A thick snapshot's origin: its table reads from the origin's hidden
 * "VG-LV-real" device, one of its slaves in sysfs. Thin snapshots keep
 * their origin in LVM's metadata only.
 */
static void thick_origin(const char *sys, struct device_desc *desc)
{
	char path[PATH_MAX], name[128], vg[128], lv[128];
	struct dirent *d;
	DIR *dir;
	size_t len;

	snprintf(path, sizeof(path), "%s/slaves", sys);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		snprintf(path, sizeof(path), "%s/slaves/%s/dm/name", sys,
			 d->d_name);
		if (d->d_name[0] == '.' || sysfs_read(path, name, sizeof(name)))
			continue;
		/* "VG-LV-real", the names' own dashes doubled. */
		len = strlen(name);
		if (len <= 5 || strcmp(name + len - 5, "-real"))
			continue;
		name[len - 5] = '\0';
		if (!lvm_split_dm_name(name, vg, sizeof(vg), lv, sizeof(lv)) &&
		    !strcmp(vg, desc->vg)) {
			snprintf(desc->origin, sizeof(desc->origin), "%s", lv);
			break;
		}
	}
	closedir(dir);
}

unsigned long long device_diskseq(unsigned int major, unsigned int minor)
{
	char path[64], seq[32];

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/diskseq", major,
		 minor);
	return sysfs_read(path, seq, sizeof(seq)) ? 0 : strtoull(seq, NULL, 10);
}

bool device_info_is(const struct snapset_device_info *d, unsigned int major,
		    unsigned int minor, unsigned long long diskseq)
{
	return d->major == major && d->minor == minor &&
	       (!diskseq || !d->diskseq || d->diskseq == diskseq);
}

int device_describe(unsigned int major, unsigned int minor,
		    unsigned long long diskseq, struct device_desc *desc)
{
	char sys[64], path[PATH_MAX], target[PATH_MAX], dm_uuid[160];
	unsigned long long now;
	const char *name;
	ssize_t len;

	memset(desc, 0, sizeof(*desc));
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", major, minor);
	len = readlink(sys, target, sizeof(target) - 1);
	if (len < 0)
		return -errno;
	target[len] = '\0';
	now = device_diskseq(major, minor);
	if (diskseq && now && now != diskseq)
		return -ESTALE;
	name = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	snprintf(desc->node, sizeof(desc->node), "/dev/%.32s", name);

	snprintf(path, sizeof(path), "%s/loop/backing_file", sys);
	if (!sysfs_read(path, desc->backing, sizeof(desc->backing)))
		strcpy(desc->engine, "loop");
	snprintf(path, sizeof(path), "%s/dm/name", sys);
	if (!sysfs_read(path, desc->dm_name, sizeof(desc->dm_name)))
		strcpy(desc->engine, "dm");
	snprintf(path, sizeof(path), "%s/dm/uuid", sys);
	if (desc->dm_name[0] && !sysfs_read(path, dm_uuid, sizeof(dm_uuid)) &&
	    !strncmp(dm_uuid, "LVM-", 4) &&
	    !lvm_split_dm_name(desc->dm_name, desc->vg, sizeof(desc->vg),
			       desc->lv, sizeof(desc->lv))) {
		strcpy(desc->engine, "lvm");
		thick_origin(sys, desc);
	}
	describe_filesystem(major, minor, sys, desc);
	return 0;
}

static void add_nonempty(struct json_object *obj, const char *key,
			 const char *value)
{
	if (value[0])
		json_add_string(obj, key, value);
}

void device_desc_to_json(const struct device_desc *desc,
			 struct json_object *obj)
{
	add_nonempty(obj, "node", desc->node);
	add_nonempty(obj, "type", desc->type);
	add_nonempty(obj, "uuid", desc->uuid);
	add_nonempty(obj, "label", desc->label);
	add_nonempty(obj, "engine", desc->engine);
	add_nonempty(obj, "backing_file", desc->backing);
	add_nonempty(obj, "dm_name", desc->dm_name);
	add_nonempty(obj, "vg", desc->vg);
	add_nonempty(obj, "lv", desc->lv);
	add_nonempty(obj, "origin", desc->origin);
}

/*
 * " KEY=VALUE" (" VALUE" without a key), if VALUE is not empty: labels,
 * file and dm names are anyone's bytes, escaped so that none reaches a
 * terminal as a control character.
 */
static void print_value(FILE *out, const char *key, const char *value,
			bool quoted)
{
	char escaped[4 * PATH_MAX + 1];

	if (!value[0])
		return;
	display_escape(value, PATH_MAX, escaped, sizeof(escaped));
	if (!key)
		fprintf(out, " %s", escaped);
	else
		fprintf(out, quoted ? " %s=\"%s\"" : " %s=%s", key, escaped);
}

static void print_lv(FILE *out, const char *key, const char *vg, const char *lv)
{
	char path[sizeof(((struct device_desc *)0)->vg) +
		  sizeof(((struct device_desc *)0)->lv)];

	snprintf(path, sizeof(path), "%s/%s", vg, lv);
	print_value(out, key, lv[0] ? path : "", false);
}

void device_desc_print(FILE *out, const struct device_desc *desc)
{
	print_value(out, NULL, desc->node, false);
	print_value(out, "TYPE", desc->type, false);
	print_value(out, "UUID", desc->uuid, false);
	print_value(out, "LABEL", desc->label, true);
	print_value(out, "loop", desc->backing, false);
	print_lv(out, "lvm", desc->vg, desc->lv);
	if (desc->origin[0])
		print_lv(out, "origin", desc->vg, desc->origin);
	else
		print_value(out, "dm", desc->dm_name, false);
}
