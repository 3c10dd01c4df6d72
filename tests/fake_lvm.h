/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An lvm of the test's own: @script, written to DIR/lvm, bind-mounted
 * over /usr/sbin/lvm and /sbin/lvm in a mount namespace of the calling
 * process alone (each harness test runs in its own child), with
 * $FAKE_LVM_LOG naming @log for it to write its arguments to. The host's
 * LVM is never touched. -1 when the namespace cannot be had (not root),
 * or when neither path exists to bind over (lvm would come from $PATH).
 */
#ifndef SNAPSET_TESTS_FAKE_LVM_H
#define SNAPSET_TESTS_FAKE_LVM_H

#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static inline int fake_lvm(const char *dir, const char *script, const char *log)
{
	char path[96];
	bool bound = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/lvm", dir);
	f = fopen(path, "w");
	if (!f || fputs(script, f) < 0 || fclose(f) || chmod(path, 0755))
		return -1;
	setenv("FAKE_LVM_LOG", log, 1);
	if (geteuid() || unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -1;
	for (const char *lvm = "/usr/sbin/lvm"; lvm;
	     lvm = strcmp(lvm, "/sbin/lvm") ? "/sbin/lvm" : NULL) {
		if (access(lvm, F_OK))
			continue;
		if (mount(path, lvm, NULL, MS_BIND, NULL))
			return -1;
		bound = true;
	}
	/* Nothing to bind over: lvm from $PATH would be the host's. */
	return bound ? 0 : -1;
}

/* Unbinds the fake lvm (busy while bound) and removes DIR/lvm and @log. */
static inline void fake_lvm_remove(const char *dir, const char *log)
{
	char path[96];

	while (!umount2("/usr/sbin/lvm", MNT_DETACH) ||
	       !umount2("/sbin/lvm", MNT_DETACH))
		;
	snprintf(path, sizeof(path), "%s/lvm", dir);
	unlink(path);
	unlink(log);
	rmdir(dir);
}

#endif
