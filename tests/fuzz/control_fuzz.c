// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the control channel between `snapset run` and
 * `snapset complete`: any bytes, sent as one message over a
 * SOCK_SEQPACKET pair as the peer would, read by run as a request and by
 * complete as a reply. Each is either the one valid message or refused
 * with -EPROTO; a reply's result is 0 or an errno; an empty message is
 * no hangup, and the peer's close is.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../userspace/snapset/control.h"

/* Sends @data to @fd's peer, and reads it back with @recv_message. */
static int exchange(const int fds[2], const uint8_t *data, size_t size,
		    int (*recv_message)(int fd))
{
	assert(send(fds[1], data, size, MSG_NOSIGNAL) == (ssize_t)size);
	return recv_message(fds[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_request req = { 0 };
	struct control_reply reply = { 0 };
	int fds[2], ret;

	/* More than a socket's buffer takes is no message anyone can send. */
	if (size > 65536)
		return 0;
	assert(!socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds));
	memcpy(&req, data, size < sizeof(req) ? size : sizeof(req));
	memcpy(&reply, data, size < sizeof(reply) ? size : sizeof(reply));

	ret = exchange(fds, data, size, control_request_recv);
	if (size == sizeof(req) && req.version == CONTROL_VERSION &&
	    req.op == CONTROL_COMPLETE)
		assert(ret == CONTROL_COMPLETE);
	else
		assert(ret == -EPROTO);

	ret = exchange(fds, data, size, control_reply_recv);
	if (size == sizeof(reply) && reply.version == CONTROL_VERSION &&
	    reply.result <= 0 && reply.result >= -4095)
		assert(ret == reply.result);
	else
		assert(ret == -EPROTO);

	/* Nothing left, then the end. */
	assert(control_request_recv(fds[0]) == -EAGAIN);
	close(fds[1]);
	assert(control_request_recv(fds[0]) == 0);
	close(fds[0]);
	return 0;
}
