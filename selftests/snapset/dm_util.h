/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Device-mapper devices in selftests: their nodes, open counts and
 * suspension, and a task caught putting a block device.
 */
#ifndef SNAPSET_SELFTEST_DM_UTIL_H
#define SNAPSET_SELFTEST_DM_UTIL_H

#include "util.h"

/* /dev/dm-N of the dm device @name. */
static inline int dm_path(const char *name, char *path, size_t size)
{
	char cmd[320], minor[16];

	snprintf(cmd, sizeof(cmd),
		 "dmsetup info -c --noheadings -o minor %s 2>/dev/null", name);
	if (sh_line(minor, sizeof(minor), cmd))
		return -1;
	snprintf(path, size, "/dev/dm-%d", atoi(minor));
	return 0;
}

static inline bool dm_exists(const char *name)
{
	return sh("dmsetup info %s >/dev/null 2>&1", name) == 0;
}

/*
 * Resumes dm device @name once the test has ended: a device left
 * suspended would hang every later scan of block devices.
 */
static inline int dm_resume_at_exit(const char *name)
{
	return sh_at_exit("dmsetup resume \"$0\" >/dev/null 2>&1", name);
}

/* How many times dm device @name is open; -1 on error. */
static inline int dm_open_count(const char *name)
{
	char cmd[320], count[16];

	snprintf(cmd, sizeof(cmd),
		 "dmsetup info -c --noheadings -o open %s 2>/dev/null", name);
	if (sh_line(count, sizeof(count), cmd))
		return -1;
	return atoi(count);
}

/*
 * Makes the last put of dm device @name (at @path) block until the device
 * is resumed. 6.1's blkdev_put() syncs the device when its closer is the
 * last opener; so while a holder (a set) keeps the device open, a few KiB
 * are written through a write-only open that is then closed (not the
 * last: no sync, the pages stay dirty), and the device is suspended
 * without lockfs (with it, dm freezes and syncs first). The holder's put,
 * now the last, waits in the sync for the resume. 0, or -1.
 */
static inline int dm_suspend_dirty(const char *name, const char *path)
{
	char buf[16384];
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	memset(buf, 0x5a, sizeof(buf));
	if (write(fd, buf, sizeof(buf)) != sizeof(buf)) {
		close(fd);
		return -1;
	}
	if (close(fd))
		return -1;
	return sh("dmsetup suspend --nolockfs %s", name) ? -1 : 0;
}

/* Whether the stack file at @path shows a block device put (6.1, 6.8+). */
static inline bool stack_in_bdev_put(const char *path)
{
	char line[256];
	bool found = false;
	FILE *f = fopen(path, "r");

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, "] blkdev_put+") ||
			strstr(line, "] bdev_release+");
	if (f)
		fclose(f);
	return found;
}

/* Whether some task sleeps in a block device put, by its kernel stack. */
static inline bool task_in_bdev_put(void)
{
	DIR *procs = opendir("/proc");
	struct dirent *p, *t;
	bool found = false;

	while (procs && !found && (p = readdir(procs))) {
		char path[600];
		DIR *tasks;

		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task", p->d_name);
		tasks = opendir(path);
		while (tasks && !found && (t = readdir(tasks))) {
			if (t->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/task/%s/stack",
				 p->d_name, t->d_name);
			found = stack_in_bdev_put(path);
		}
		if (tasks)
			closedir(tasks);
	}
	if (procs)
		closedir(procs);
	return found;
}

/* Waits up to @timeout_ms for a task blocked in a block device put. */
static inline bool wait_task_in_bdev_put(int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		if (task_in_bdev_put())
			return true;
		usleep(20000);
	}
	return false;
}

static inline bool wait_dm_gone(const char *name)
{
	for (int i = 0; i < 500; i++) {
		if (!dm_exists(name))
			return true;
		usleep(10000);
	}
	return false;
}

#endif
