/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's loop one completion at a time, for host tests that drive
 * its ring: each completion goes through daemon_dispatch(), as in the
 * daemon, so the tests follow its handling of every op kind.
 */
#ifndef SNAPSET_TESTS_DAEMON_STEP_H
#define SNAPSET_TESTS_DAEMON_STEP_H

#include "../userspace/daemon/daemon.h"

/*
 * Submits what is queued and handles the next completion within @wait_ms
 * milliseconds: the kind of its op and, in @res if not NULL, its result
 * (read first, the op may be gone once handled); -ETIME when none came.
 */
static inline int daemon_step(struct daemon *d, long wait_ms, int *res)
{
	struct __kernel_timespec wait;
	struct io_uring_cqe *cqe;
	int kind, ret;

	ms_to_timespec(wait_ms, &wait);
	io_uring_submit(&d->ring);
	ret = io_uring_wait_cqe_timeout(&d->ring, &cqe, &wait);
	if (ret)
		return ret;
	kind = ((struct op *)io_uring_cqe_get_data(cqe))->kind;
	if (res)
		*res = cqe->res;
	daemon_dispatch(d, cqe);
	io_uring_cqe_seen(&d->ring, cqe);
	daemon_round_end(d);
	return kind;
}

#endif
