// SPDX-License-Identifier: GPL-2.0
/*
 * A block device's stack walked down through sysfs: slaves (dm, md), a
 * partition's disk, a loop device's backing file and the device of the
 * filesystem that holds it.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "device.h"
#include "device_stack.h"

struct stack_walk {
	const char *sysfs;
	dev_t under;
	char *how;
	size_t size;
};

/* "MAJ:MIN" in the sysfs file @path as a dev_t; false if none. */
static bool dev_file_read(const char *path, dev_t *dev)
{
	unsigned int maj, min;
	char value[32];

	if (sysfs_read(path, value, sizeof(value)) ||
	    sscanf(value, "%u:%u", &maj, &min) != 2)
		return false;
	*dev = makedev(maj, min);
	return true;
}

/* @used characters of @w->how kept, @sep and @text appended: the length. */
static size_t how_append(const struct stack_walk *w, size_t used,
			 const char *sep, const char *text)
{
	int n;

	if (used >= w->size)
		return used;
	n = snprintf(w->how + used, w->size - used, "%s%s", used ? sep : "",
		     text);
	return n < 0 ? used : used + (size_t)n;
}

/* The kernel's name of @dev, the link /sys/dev/block/MAJ:MIN points to. */
static void dev_name(const char *sys, dev_t dev, char *out, size_t size)
{
	char target[256];
	ssize_t n = readlink(sys, target, sizeof(target) - 1);

	if (n <= 0) {
		snprintf(out, size, "%u:%u", major(dev), minor(dev));
		return;
	}
	target[n] = '\0';
	snprintf(out, size, "%s",
		 strrchr(target, '/') ? strrchr(target, '/') + 1 : target);
}

static bool walk(const struct stack_walk *w, dev_t dev, const char *sep,
		 size_t used, unsigned int depth);

/* A loop device's backing file, and the filesystem that holds it. */
static bool walk_backing_file(const struct stack_walk *w, const char *sys,
			      size_t used, unsigned int depth)
{
	char path[512], file[PATH_MAX];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/loop/backing_file", sys);
	if (sysfs_read(path, file, sizeof(file)) || stat(file, &sb))
		return false;
	used = how_append(w, used, " over ", file);
	return sb.st_dev == w->under ||
	       walk(w, sb.st_dev, " on ", used, depth + 1);
}

/* The devices a dm or md device maps. */
static bool walk_slaves(const struct stack_walk *w, const char *sys,
			size_t used, unsigned int depth)
{
	char path[PATH_MAX];
	struct dirent *d;
	bool found = false;
	dev_t slave;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/slaves", sys);
	dir = opendir(path);
	while (dir && !found && (d = readdir(dir))) {
		snprintf(path, sizeof(path), "%s/slaves/%s/dev", sys,
			 d->d_name);
		found = d->d_name[0] != '.' && dev_file_read(path, &slave) &&
			walk(w, slave, " over ", used, depth + 1);
	}
	if (dir)
		closedir(dir);
	return found;
}

/* Whether @dev, or what it is built on, is @w->under. */
static bool walk(const struct stack_walk *w, dev_t dev, const char *sep,
		 size_t used, unsigned int depth)
{
	char sys[256], path[512], name[NAME_MAX + 1];
	dev_t disk;

	snprintf(sys, sizeof(sys), "%s/dev/block/%u:%u", w->sysfs, major(dev),
		 minor(dev));
	dev_name(sys, dev, name, sizeof(name));
	used = how_append(w, used, sep, name);
	if (depth && dev == w->under)
		return true;
	if (depth >= DEVICE_STACK_DEPTH_MAX)
		return false;
	/* A partition is its disk's: ".." of the partition's directory. */
	snprintf(path, sizeof(path), "%s/partition", sys);
	if (!access(path, F_OK)) {
		snprintf(path, sizeof(path), "%s/../dev", sys);
		return dev_file_read(path, &disk) &&
		       walk(w, disk, " in ", used, depth + 1);
	}
	return walk_backing_file(w, sys, used, depth) ||
	       walk_slaves(w, sys, used, depth);
}

bool device_built_on(const char *sysfs, dev_t top, dev_t under, char *how,
		     size_t size)
{
	const struct stack_walk w = { sysfs, under, how, size };

	if (size)
		how[0] = '\0';
	return walk(&w, top, "", 0, 0);
}
