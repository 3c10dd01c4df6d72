// SPDX-License-Identifier: GPL-2.0
/*
 * The reference for bench/fanout: the conventional design of a notifier.
 * It holds the server ends of the writers' connections, waits with epoll
 * on the victim's pidfd, and on the death sends each writer the event
 * (the daemon's own bytes) with send(), then reads their acks with
 * recv() as epoll says they came. Nothing else: no record, no release.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fanout.h"

/* epoll's data for the pidfd; a connection's is its index. */
#define PIDFD_KEY UINT64_MAX

/* Ready ('r' on @ready_out) once the pidfd is watched, then the death. */
static void wait_death(int epfd, int victim, int ready_out)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = PIDFD_KEY };
	int pidfd = syscall(SYS_pidfd_open, victim, 0);

	if (pidfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, pidfd, &ev))
		die("reference: pidfd", errno);
	if (write(ready_out, "r", 1) != 1)
		die("reference: ready", EPIPE);
	while (epoll_wait(epfd, &ev, 1, -1) != 1 || ev.data.u64 != PIDFD_KEY)
		if (errno != EINTR)
			die("reference: epoll_wait", errno);
	close(pidfd); /* out of the epoll set with it */
}

/* The acks, one recv each, as epoll says they are there. */
static void read_acks(int epfd, const int *conns, unsigned int n)
{
	struct epoll_event evs[256];
	char ack[256];

	for (unsigned int acked = 0; acked < n;) {
		int k = epoll_wait(epfd, evs, 256, ACK_TIMEOUT_MS);

		if (k <= 0)
			die("reference: no ack", k ? errno : ETIMEDOUT);
		for (int i = 0; i < k; i++, acked++)
			if (recv(conns[evs[i].data.u64], ack, sizeof(ack), 0) <=
			    0)
				die("reference: recv", errno);
	}
}

void reference_run(const struct reference *r)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int epfd = epoll_create1(EPOLL_CLOEXEC), victim;

	if (epfd < 0)
		die("reference: epoll", errno);
	for (unsigned int i = 0; i < r->n; i++) {
		ev.data.u64 = i;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, r->conns[i], &ev))
			die("reference: epoll_ctl", errno);
	}
	while (read(r->victim_in, &victim, sizeof(victim)) == sizeof(victim) &&
	       victim) {
		wait_death(epfd, victim, r->ready_out);
		for (unsigned int i = 0; i < r->n; i++)
			if (send(r->conns[i], r->message, r->len,
				 MSG_NOSIGNAL) != (ssize_t)r->len)
				die("reference: send", errno);
		read_acks(epfd, r->conns, r->n);
		if (write(r->ready_out, "d", 1) != 1)
			die("reference: done", EPIPE);
	}
	_exit(0);
}
