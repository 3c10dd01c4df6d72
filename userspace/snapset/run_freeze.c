// SPDX-License-Identifier: GPL-2.0
/*
 * snapset run --freeze: writes to the named filesystems held while the
 * LVM snapshots are made, so that every snapshot of the set shows one
 * instant. The module freezes and thaws (SNAPSET_IOC_FREEZE, _THAW): it
 * thaws by itself at the deadline and when the set ends, so a run killed
 * in between never leaves a filesystem frozen.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/device_stack.h"
#include "../common/module.h"
#include "run.h"

/* "/, /home": the --freeze directories, for a message about them all. */
static void freeze_dirs(const struct run_options *opts, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned int i = 0; i < opts->nfreeze && used < size; i++)
		used += snprintf(out + used, size - used, "%s%s", i ? ", " : "",
				 opts->freeze[i]);
}

/*
 * Whether the device @top is stored on the filesystem of @under: 0 if
 * not; -EDEADLK if it is, and the error that says why it cannot be told
 * otherwise (a loop device whose file is gone), both refused.
 */
static int stored_on(dev_t top, dev_t under, char *how, size_t size)
{
	int ret = device_built_on(RUN_SYSFS, device_loop_backing, top, under,
				  how, size);

	return ret > 0 ? -EDEADLK : ret;
}

/*
 * The module freezes in device-number order, and cannot know that one
 * filesystem is stored on another (an LV whose PV is a loop device over a
 * file on /): frozen first, the lower one would block the upper one's
 * freeze in its sync for ever, and stay frozen. Refused before anything.
 */
static int freeze_stack_check(struct run_state *st)
{
	const struct run_options *opts = st->opts;
	char how[512];
	int ret;

	for (unsigned int i = 0; i < opts->nfreeze; i++)
		for (unsigned int j = 0; j < opts->nfreeze; j++) {
			if (st->freeze_devs[i] == st->freeze_devs[j])
				continue;
			ret = stored_on(st->freeze_devs[i], st->freeze_devs[j],
					how, sizeof(how));
			if (ret == -EDEADLK)
				return run_fail(
				    st, ret,
				    "--freeze %s: its filesystem is stored on "
				    "%s's (%s): freezing both would block "
				    "writes to %s for good; freeze %s alone",
				    opts->freeze[i], opts->freeze[j], how,
				    opts->freeze[j], opts->freeze[i]);
			if (ret)
				return run_fail(
				    st, ret,
				    "--freeze %s: cannot tell whether its "
				    "filesystem is stored on %s's (%s: %s), "
				    "which would block writes for good",
				    opts->freeze[i], opts->freeze[j], how,
				    device_stack_strerror(ret));
		}
	return 0;
}

int freeze_open(struct run_state *st)
{
	const struct run_options *opts = st->opts;
	const char *dir;
	struct stat sb;
	int fd;

	while (st->nfreeze_fds < opts->nfreeze) {
		dir = opts->freeze[st->nfreeze_fds];
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return run_fail(st, -errno, "--freeze %s: %s", dir,
					strerror(errno));
		st->freeze_fds[st->nfreeze_fds++] = fd;
		if (fstat(fd, &sb))
			return run_fail(st, -errno, "--freeze %s: %s", dir,
					strerror(errno));
		st->freeze_devs[st->nfreeze_fds - 1] = sb.st_dev;
	}
	return freeze_stack_check(st);
}

int freeze_origin_check(struct run_state *st, const struct run_lvm_snapshot *s,
			dev_t origin)
{
	const struct run_options *opts = st->opts;
	char how[512];
	int ret;

	for (unsigned int i = 0; i < opts->nfreeze; i++) {
		if (origin == st->freeze_devs[i])
			continue;
		ret = stored_on(origin, st->freeze_devs[i], how, sizeof(how));
		if (ret == -EDEADLK)
			return run_fail(
			    st, ret,
			    "--lvm-snapshot %s/%s: the origin is stored on "
			    "%s's filesystem (%s): lvcreate's writes to it "
			    "would wait for the thaw, and --freeze %s would "
			    "always expire; leave out --freeze %s",
			    s->vg, s->origin, opts->freeze[i], how,
			    opts->freeze[i], opts->freeze[i]);
		if (ret)
			return run_fail(
			    st, ret,
			    "--lvm-snapshot %s/%s: cannot tell whether the "
			    "origin is stored on %s's filesystem (%s: %s), "
			    "where --freeze %s would always expire",
			    s->vg, s->origin, opts->freeze[i], how,
			    device_stack_strerror(ret), opts->freeze[i]);
	}
	return 0;
}

/* The module holds what it froze: the directories are not needed. */
void freeze_close(struct run_state *st)
{
	while (st->nfreeze_fds)
		close(st->freeze_fds[--st->nfreeze_fds]);
}

static const char *freeze_error(int err)
{
	switch (err) {
	case -EBUSY:
		return "frozen already (fsfreeze, or another backup)";
	case -EOPNOTSUPP:
		return "not on a block device (tmpfs, proc, ...): nothing to "
		       "freeze";
	case -EALREADY:
		return "its block device's freeze would not freeze it (the "
		       "device is suspended, or in a freeze that no longer "
		       "holds it)";
	case -EPERM:
		return "freezing needs CAP_SYS_ADMIN";
	case -ENOTRECOVERABLE:
		return "a freeze failed, and the kernel then failed to thaw "
		       "a filesystem frozen before it (its log names it): it "
		       "may still be frozen";
	default:
		return strerror(-err);
	}
}

/*
 * Whether --freeze's @i-th directory is the first on its filesystem:
 * filesystems, not directories, are synced and counted.
 */
static bool freeze_first_of_fs(const struct run_state *st, unsigned int i)
{
	for (unsigned int j = 0; j < i; j++)
		if (st->freeze_devs[j] == st->freeze_devs[i])
			return false;
	return true;
}

static unsigned int freeze_count(const struct run_state *st)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < st->nfreeze_fds; i++)
		n += freeze_first_of_fs(st, i);
	return n;
}

/*
 * Dirty data written back before the freeze, whose own sync then has
 * little left: the hold, timed by the module from its freeze on, does
 * not include it, nor does the deadline.
 */
static int freeze_sync(struct run_state *st)
{
	long long start = monotonic_ms();

	for (unsigned int i = 0; i < st->nfreeze_fds; i++)
		if (freeze_first_of_fs(st, i) && syncfs(st->freeze_fds[i]))
			return run_fail(st, -errno,
					"--freeze %s: cannot write back its "
					"dirty data: %s",
					st->opts->freeze[i], strerror(errno));
	run_step(st, "dirty data written back in %lld ms",
		 monotonic_ms() - start);
	return 0;
}

/*
 * How the freeze ended, for the summary: the set as LIST has it, or, if
 * LIST fails, what THAW said (its errors have been said already).
 */
static void freeze_info_read(struct run_state *st)
{
	const struct snapset_event *ev;
	size_t len;
	void *list;

	st->freeze_info.freeze_count = st->thaw.freeze_count;
	st->freeze_info.freeze_end = st->thaw.freeze_end;
	st->freeze_info.freeze_hold_ns = st->thaw.freeze_hold_ns;
	if (module_list(st->set_fd, &list, &len))
		return;
	ev = record_of_set(list, len, st->id);
	if (ev && ev->type == SNAPSET_RECORD_LIVE)
		st->freeze_info = ev->set;
	free(list);
}

int freeze_begin(struct run_state *st)
{
	const struct run_options *opts = st->opts;
	unsigned int n = freeze_count(st);
	char dirs[512];
	int ret;

	if (!opts->nfreeze)
		return 0;
	ret = freeze_sync(st);
	if (ret)
		return ret;
	ret = module_freeze(st->set_fd, st->freeze_fds, opts->nfreeze,
			    (unsigned int)opts->freeze_timeout_ms);
	if (ret) {
		if (ret == -ENOTRECOVERABLE)
			freeze_info_read(st);
		freeze_dirs(opts, dirs, sizeof(dirs));
		/* The module does not say which: all or nothing. */
		return run_fail(st, ret, "--freeze %s: %s%s", dirs,
				opts->nfreeze > 1 ? "one of them: " : "",
				freeze_error(ret));
	}
	st->frozen = true;
	/* stderr may be a file on a frozen filesystem: said after the thaw. */
	run_output_hold();
	run_step(st, "writes held to %u filesystem%s", n, n == 1 ? "" : "s");
	return 0;
}

/*
 * A failed kernel thaw is named whatever failed before it (its error
 * kept in the message): a filesystem may still be frozen.
 */
static int freeze_thaw_failed(struct run_state *st, int ret, const char *dirs)
{
	char before[sizeof(st->error)];

	snprintf(before, sizeof(before), "%s", ret ? st->error : "");
	return run_fail(st, -EIO,
			"--freeze %s: the kernel failed to thaw one of them "
			"(its log names it): it may still be frozen; the set "
			"is not armed%s%s",
			dirs, ret ? "; before that: " : "", before);
}

/* Thaws (after @ret, the snapshots' result); the first error. */
int freeze_end(struct run_state *st, int ret)
{
	char dirs[512];
	int thawed;

	if (!st->frozen)
		return ret;
	thawed = module_thaw(st->set_fd, &st->thaw);
	st->frozen = false;
	freeze_info_read(st);
	run_output_release();
	if (!thawed)
		run_step(st, "writes released after %.1f ms",
			 (double)st->thaw.freeze_hold_ns / 1e6);
	freeze_dirs(st->opts, dirs, sizeof(dirs));
	if (thawed == -EIO)
		return freeze_thaw_failed(st, ret, dirs);
	if (ret || !thawed)
		return ret;
	if (thawed == -ETIMEDOUT)
		return run_fail(st, thawed,
				"--freeze %s: writes were held past the "
				"freeze's deadline and released before the "
				"snapshots were made: they are not of one "
				"instant, the set is not armed",
				dirs);
	if (thawed == -ESTALE)
		return run_fail(st, thawed,
				"--freeze %s: thawed by someone else (fsfreeze "
				"-u?) while the snapshots were made: they are "
				"not of one instant, the set is not armed",
				dirs);
	return run_fail(st, thawed, "--freeze %s: cannot thaw: %s", dirs,
			strerror(-thawed));
}
