// SPDX-License-Identifier: GPL-2.0
/*
 * The control channel's messages as each end reads them. Neither trusts
 * its peer: COMMAND may be any program, and SNAPSET_CONTROL_FD may name
 * a socket that is not run's.
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include "control.h"

/* The largest errno a result may carry, as the kernel's bound. */
#define CONTROL_ERRNO_MAX 4095

int control_request_recv(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };
	struct control_request req;
	ssize_t n = recv(fd, &req, sizeof(req), MSG_DONTWAIT | MSG_TRUNC);
	int ready;

	if (n < 0)
		return -errno;
	/*
	 * An empty message reads as the end does: the hangup tells. A signal
	 * (run's own, or a timer's) is no answer: asked again.
	 */
	if (n == 0) {
		do
			ready = poll(&pfd, 1, 0);
		while (ready < 0 && errno == EINTR);
		return ready == 1 && (pfd.revents & (POLLHUP | POLLRDHUP))
			   ? 0
			   : -EPROTO;
	}
	if (n != sizeof(req) || req.version != CONTROL_VERSION ||
	    req.op != CONTROL_COMPLETE)
		return -EPROTO;
	return CONTROL_COMPLETE;
}

int control_reply_recv(int fd)
{
	struct control_reply reply;
	ssize_t n = recv(fd, &reply, sizeof(reply), MSG_TRUNC);

	if (n < 0)
		return -errno;
	if (n != sizeof(reply) || reply.version != CONTROL_VERSION ||
	    reply.result > 0 || reply.result < -CONTROL_ERRNO_MAX)
		return -EPROTO;
	return reply.result;
}
