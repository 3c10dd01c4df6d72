// SPDX-License-Identifier: GPL-2.0
/*
 * A block device's stack walked down through sysfs: slaves (dm, md), a
 * partition's disk, a loop device's backing file and the device of the
 * filesystem that holds it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "device.h"
#include "device_stack.h"

struct stack_walk {
	const char *sysfs;
	device_loop_backing_fn *loop_backing;
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

static int walk(const struct stack_walk *w, dev_t dev, const char *sep,
		size_t used, unsigned int depth);

int device_loop_backing(dev_t dev, const char *name, dev_t *fs_dev, dev_t *rdev)
{
	struct loop_info64 info;
	char path[PATH_MAX];
	struct stat sb;
	int fd, ret = 0;

	/* Only the device's own node is opened: no link, nothing else. */
	snprintf(path, sizeof(path), "/dev/%s", name);
	if (lstat(path, &sb))
		return -errno;
	if (!S_ISBLK(sb.st_mode) || sb.st_rdev != dev)
		return -ENODEV;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb))
		ret = -errno;
	else if (!S_ISBLK(sb.st_mode) || sb.st_rdev != dev)
		ret = -ENODEV; /* replaced between the two looks */
	else if (ioctl(fd, LOOP_GET_STATUS64, &info))
		ret = -errno;
	close(fd);
	if (ret)
		return ret;
	/* The kernel's encoding of a dev_t is glibc's (huge_encode_dev). */
	*fs_dev = (dev_t)info.lo_device;
	*rdev = (dev_t)info.lo_rdevice;
	return 0;
}

/*
 * A loop device's backing file, and the filesystem that holds it, or the
 * block device it reads: 0 for a device that is no loop device. sysfs's
 * path of the file is for the message only: the file may have been
 * deleted, renamed, or another put in its place since.
 */
static int walk_backing_file(const struct stack_walk *w, const char *sys,
			     const char *name, dev_t dev, size_t used,
			     unsigned int depth)
{
	char path[512], file[PATH_MAX];
	dev_t fs_dev = 0, rdev = 0;
	int ret;

	snprintf(path, sizeof(path), "%s/loop", sys);
	if (access(path, F_OK))
		return 0;
	snprintf(path, sizeof(path), "%s/loop/backing_file", sys);
	if (sysfs_read(path, file, sizeof(file)))
		snprintf(file, sizeof(file), "?");
	ret = w->loop_backing(dev, name, &fs_dev, &rdev);
	if (ret) {
		how_append(w, used, " over ", file);
		return ret;
	}
	if (rdev)
		return walk(w, rdev, " over ", used, depth + 1);
	used = how_append(w, used, " over ", file);
	return fs_dev == w->under ? 1
				  : walk(w, fs_dev, " on ", used, depth + 1);
}

/*
 * The devices a dm or md device maps: 1 if one is built on @w->under;
 * else the first that cannot be told, @w->how saying which.
 */
static int walk_slaves(const struct stack_walk *w, const char *sys, size_t used,
		       unsigned int depth)
{
	char path[PATH_MAX], *unknown_how = NULL;
	int found = 0, ret;
	struct dirent *d;
	dev_t slave;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/slaves", sys);
	dir = opendir(path);
	while (dir && found <= 0 && (d = readdir(dir))) {
		snprintf(path, sizeof(path), "%s/slaves/%s/dev", sys,
			 d->d_name);
		if (d->d_name[0] == '.' || !dev_file_read(path, &slave))
			continue;
		ret = walk(w, slave, " over ", used, depth + 1);
		if (ret < 0 && !found && w->size)
			unknown_how = strdup(w->how);
		if (ret > 0 || !found)
			found = ret;
	}
	if (dir)
		closedir(dir);
	/* A later slave's dead end wrote over the one that matters. */
	if (found < 0 && unknown_how)
		snprintf(w->how, w->size, "%s", unknown_how);
	free(unknown_how);
	return found;
}

/* Whether @dev, or what it is built on, is @w->under: 1, 0 or -errno. */
static int walk(const struct stack_walk *w, dev_t dev, const char *sep,
		size_t used, unsigned int depth)
{
	char sys[256], path[512], name[NAME_MAX + 1];
	dev_t disk;
	int ret;

	snprintf(sys, sizeof(sys), "%s/dev/block/%u:%u", w->sysfs, major(dev),
		 minor(dev));
	dev_name(sys, dev, name, sizeof(name));
	used = how_append(w, used, sep, name);
	if (depth && dev == w->under)
		return 1;
	if (depth >= DEVICE_STACK_DEPTH_MAX)
		return -ELOOP; /* the end unseen: not told */
	/* A partition is its disk's: ".." of the partition's directory. */
	snprintf(path, sizeof(path), "%s/partition", sys);
	if (!access(path, F_OK)) {
		snprintf(path, sizeof(path), "%s/../dev", sys);
		return dev_file_read(path, &disk)
			   ? walk(w, disk, " in ", used, depth + 1)
			   : -ENOENT;
	}
	ret = walk_backing_file(w, sys, name, dev, used, depth);
	return ret ? ret : walk_slaves(w, sys, used, depth);
}

int device_built_on(const char *sysfs, device_loop_backing_fn *loop_backing,
		    dev_t top, dev_t under, char *how, size_t size)
{
	const struct stack_walk w = { sysfs, loop_backing, under, how, size };

	if (size)
		how[0] = '\0';
	return walk(&w, top, "", 0, 0);
}

#define TEXT_OF(x) #x
#define NUMBER_TEXT(x) TEXT_OF(x)

const char *device_stack_strerror(int err)
{
	if (err == -ELOOP)
		return "the stack is deeper than " NUMBER_TEXT(
		    DEVICE_STACK_DEPTH_MAX) " devices";
	return strerror(-err);
}
