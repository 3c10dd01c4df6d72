// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of snapset writer's COMMAND runner: its exit status
 * is the answer, and --timeout stops it, however long the timeout.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../userspace/snapset/writer_command.h"
#include "kselftest_harness.h"

static const struct snapset_writer_event event = {
	.kind = SNAPSET_WRITER_BACKUP_SHUTDOWN,
	.set_id = "5b0f3c1e-8d7a-4b59-9a1f-2c6e0f7d1a33",
	.set_name = "nightly",
	.reason = "exit",
	.exit_status = -1,
	.armed_at = "",
	.ended_at = "",
	.json = "{}",
};

static int run(const char *script, long timeout_ms, char *error)
{
	char *command[] = { "sh", "-c", (char *)script, NULL };

	error[0] = '\0';
	return writer_command(&event, command, timeout_ms, error, 256);
}

TEST(exit_status_is_the_answer)
{
	char error[256];

	EXPECT_EQ(0, run("[ \"$SNAPSET_NAME\" = nightly ]", 0, error));
	EXPECT_EQ(EIO, run("exit 3", 0, error));
	EXPECT_STREQ("sh: exit status 3", error);
}

TEST(a_timeout_stops_command)
{
	char error[256];

	EXPECT_EQ(ETIMEDOUT, run("exec sleep 600", 100, error));
	EXPECT_STREQ("sh: stopped after 100 ms", error);
}

/*
 * 2^32 ms (about 50 days) is 0 once cut to poll()'s int: COMMAND was
 * stopped at once. It must run to its end.
 */
TEST(a_timeout_beyond_an_int_is_kept)
{
	char error[256];

	EXPECT_EQ(0, run("exit 0", 1L << 32, error));
	EXPECT_STREQ("", error);
}

TEST_HARNESS_MAIN
