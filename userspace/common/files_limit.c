// SPDX-License-Identifier: GPL-2.0
/*
 * A soft open files limit above 1024 is for this process only: programs
 * it runs may still use select(), whose sets end at 1024, or size tables
 * by the limit; systemd gives services 1024 soft for that reason.
 */
#include <errno.h>
#include <stdbool.h>

#include "files_limit.h"

static struct rlimit inherited;
static bool raised;

int files_limit_raise(rlim_t want, rlim_t *got)
{
	struct rlimit limit;

	*got = 0;
	if (getrlimit(RLIMIT_NOFILE, &limit))
		return -errno;
	*got = limit.rlim_cur;
	if (limit.rlim_cur >= want)
		return 0;
	if (!raised)
		inherited = limit;
	limit.rlim_cur = limit.rlim_max < want ? limit.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &limit))
		return -errno;
	raised = true;
	*got = limit.rlim_cur;
	return 0;
}

void files_limit_restore(void)
{
	if (raised)
		setrlimit(RLIMIT_NOFILE, &inherited);
}
