/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The open files limit a process raises for itself and gives back to the
 * programs it runs.
 */
#ifndef SNAPSET_COMMON_FILES_LIMIT_H
#define SNAPSET_COMMON_FILES_LIMIT_H

#include <sys/resource.h>

/*
 * Raises the soft RLIMIT_NOFILE to @want, or as near as the hard limit
 * lets it; @got is the soft limit after, also on failure. 0 or -errno.
 */
int files_limit_raise(rlim_t want, rlim_t *got);

/*
 * In a child between fork() and exec(): the soft limit this process was
 * started with. Async-signal-safe.
 */
void files_limit_restore(void);

#endif
