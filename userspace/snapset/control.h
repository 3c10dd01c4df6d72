/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control channel run hands down to COMMAND: one end of a
 * SOCK_SEQPACKET socket pair, its number in SNAPSET_CONTROL_FD. Inherited
 * descriptors reach every descendant and nothing else; the set's own fd
 * never leaves run.
 */
#ifndef SNAPSET_CONTROL_H
#define SNAPSET_CONTROL_H

#include <stdint.h>

#define CONTROL_FD_ENV "SNAPSET_CONTROL_FD"
#define CONTROL_VERSION 1

enum control_op {
	CONTROL_COMPLETE = 1, /* mark the set BackupComplete */
};

struct control_request {
	uint32_t version;
	uint32_t op;
};

struct control_reply {
	uint32_t version;
	int32_t result; /* 0 or -errno */
};

/*
 * run's side: the next request on @fd, without waiting. CONTROL_COMPLETE;
 * 0 when every copy of COMMAND's end is closed; -EPROTO for a message
 * that is no request (to be answered so); another -errno when there was
 * none to read.
 */
int control_request_recv(int fd);

/*
 * COMMAND's side: run's answer on @fd, its result (0 or -errno);
 * -EPROTO for a message that is no reply, or a result no errno.
 */
int control_reply_recv(int fd);

#endif
