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
#include <string.h>
#include <unistd.h>

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

int freeze_open(struct run_state *st)
{
	const struct run_options *opts = st->opts;
	int fd;

	while (st->nfreeze_fds < opts->nfreeze) {
		fd = open(opts->freeze[st->nfreeze_fds],
			  O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return run_fail(st, -errno, "--freeze %s: %s",
					opts->freeze[st->nfreeze_fds],
					strerror(errno));
		st->freeze_fds[st->nfreeze_fds++] = fd;
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
	default:
		return strerror(-err);
	}
}

int freeze_begin(struct run_state *st)
{
	const struct run_options *opts = st->opts;
	char dirs[512];
	int ret;

	if (!opts->nfreeze)
		return 0;
	ret = module_freeze(st->set_fd, st->freeze_fds, opts->nfreeze,
			    (unsigned int)opts->freeze_timeout_ms);
	if (ret) {
		freeze_dirs(opts, dirs, sizeof(dirs));
		/* The module does not say which: all or nothing. */
		return run_fail(st, ret, "--freeze %s: %s%s", dirs,
				opts->nfreeze > 1 ? "one of them: " : "",
				freeze_error(ret));
	}
	st->frozen = true;
	/* stderr may be a file on a frozen filesystem: said after the thaw. */
	run_output_hold();
	run_step(st, "writes held to %u filesystem%s", opts->nfreeze,
		 opts->nfreeze == 1 ? "" : "s");
	return 0;
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
	run_output_release();
	if (!thawed)
		run_step(st, "writes released after %.1f ms",
			 (double)st->thaw.freeze_hold_ns / 1e6);
	if (ret || !thawed)
		return ret;
	freeze_dirs(st->opts, dirs, sizeof(dirs));
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
