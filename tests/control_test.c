// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the control channel's messages as run and complete
 * read them from their peer: the one valid message of each kind, and
 * what the fuzzer (tests/fuzz/control_fuzz.c) found taken for one: an
 * empty message for the peer's hangup, a reply longer than a reply, a
 * result that is no errno.
 */
#include <errno.h>
#include <limits.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../userspace/snapset/control.h"
#include "kselftest_harness.h"

FIXTURE(channel)
{
	int fds[2]; /* [0] the end read here, [1] the peer's */
};

FIXTURE_SETUP(channel)
{
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET, 0, self->fds));
}

FIXTURE_TEARDOWN(channel)
{
	close(self->fds[0]);
	if (self->fds[1] >= 0)
		close(self->fds[1]);
}

static void peer_sends_msg(struct __test_metadata *_metadata, int fd,
			   const void *msg, size_t len)
{
	ASSERT_EQ((ssize_t)len, send(fd, msg, len, 0));
}

#define peer_sends(self, msg, len) \
	peer_sends_msg(_metadata, (self)->fds[1], msg, len)

TEST_F(channel, request_is_read_and_the_hangup_is_the_end)
{
	struct control_request req = { CONTROL_VERSION, CONTROL_COMPLETE };

	peer_sends(self, &req, sizeof(req));
	EXPECT_EQ(CONTROL_COMPLETE, control_request_recv(self->fds[0]));
	EXPECT_EQ(-EAGAIN, control_request_recv(self->fds[0]));
	close(self->fds[1]);
	self->fds[1] = -1;
	EXPECT_EQ(0, control_request_recv(self->fds[0]));
}

/* Read as the end, it left run deaf to every later request. */
TEST_F(channel, empty_message_is_refused_not_the_end)
{
	struct control_request req = { CONTROL_VERSION, CONTROL_COMPLETE };

	peer_sends(self, "", 0);
	EXPECT_EQ(-EPROTO, control_request_recv(self->fds[0]));
	peer_sends(self, &req, sizeof(req));
	EXPECT_EQ(CONTROL_COMPLETE, control_request_recv(self->fds[0]));
}

TEST_F(channel, request_of_another_shape_is_refused)
{
	struct control_request other_op = { CONTROL_VERSION, 2 };
	struct control_request other_version = { 2, CONTROL_COMPLETE };
	char longer[16] = { CONTROL_VERSION, 0, 0, 0, CONTROL_COMPLETE };

	peer_sends(self, &other_op, sizeof(other_op));
	EXPECT_EQ(-EPROTO, control_request_recv(self->fds[0]));
	peer_sends(self, &other_version, sizeof(other_version));
	EXPECT_EQ(-EPROTO, control_request_recv(self->fds[0]));
	peer_sends(self, longer, sizeof(longer));
	EXPECT_EQ(-EPROTO, control_request_recv(self->fds[0]));
	peer_sends(self, longer, 3);
	EXPECT_EQ(-EPROTO, control_request_recv(self->fds[0]));
}

TEST_F(channel, reply_result_is_read)
{
	struct control_reply ok = { CONTROL_VERSION, 0 };
	struct control_reply full = { CONTROL_VERSION, -ENOSPC };

	peer_sends(self, &ok, sizeof(ok));
	EXPECT_EQ(0, control_reply_recv(self->fds[0]));
	peer_sends(self, &full, sizeof(full));
	EXPECT_EQ(-ENOSPC, control_reply_recv(self->fds[0]));
}

/*
 * complete reports -result with strerror(): INT_MIN overflowed, and a
 * positive result read as a failure with "Unknown error -5".
 */
TEST_F(channel, reply_whose_result_is_no_errno_is_refused)
{
	static const int32_t results[] = { INT_MIN, -4096, 1, INT_MAX };
	char longer[16] = { CONTROL_VERSION };

	for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
		struct control_reply reply = { CONTROL_VERSION, results[i] };

		peer_sends(self, &reply, sizeof(reply));
		EXPECT_EQ(-EPROTO, control_reply_recv(self->fds[0]));
	}
	/* Cut to a reply's size, it was taken for a success. */
	peer_sends(self, longer, sizeof(longer));
	EXPECT_EQ(-EPROTO, control_reply_recv(self->fds[0]));
}

TEST_HARNESS_MAIN
