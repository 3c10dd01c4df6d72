// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of snapset status without a daemon to answer: exit 3
 * when none listens (text and --json, which once crashed), exit 4 with
 * its own words when one listens but this user may not ask it.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../selftests/snapset/program.h"
#include "kselftest_harness.h"

#define SETPRIV "/usr/bin/setpriv"

FIXTURE(status)
{
	char dir[64];
	char socket[96];
};

FIXTURE_SETUP(status)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/snapset-status-%d",
		 getpid());
	ASSERT_EQ(0, mkdir(self->dir, 0700));
	snprintf(self->socket, sizeof(self->socket), "%s/writer.sock",
		 self->dir);
}

FIXTURE_TEARDOWN(status)
{
	unlink(self->socket);
	rmdir(self->dir);
}

static int status(const char *socket, bool json, struct run_result *res)
{
	char *argv[] = { "snapset",
			 "status",
			 "--socket",
			 (char *)socket,
			 json ? "--json" : NULL,
			 NULL };

	return run_capture(SNAPSET_BIN, argv, res);
}

TEST_F(status, no_daemon_is_exit_3)
{
	struct run_result res;

	ASSERT_EQ(0, status(self->socket, false, &res));
	EXPECT_EQ(3, res.status);
	EXPECT_TRUE(starts_with(res.out, "daemon: not running (nothing "
					 "listens on /tmp/snapset-status-"));
}

TEST_F(status, no_daemon_json_is_an_object_and_exit_3)
{
	struct json_object *obj, *daemon;
	struct run_result res;

	ASSERT_EQ(0, status(self->socket, true, &res));
	EXPECT_EQ(3, res.status);
	obj = json_tokener_parse(res.out);
	ASSERT_NE(NULL, obj);
	EXPECT_TRUE(json_object_object_get_ex(obj, "daemon", &daemon));
	EXPECT_EQ(NULL, daemon);
	EXPECT_TRUE(json_object_object_get_ex(obj, "daemon_error", &daemon));
	EXPECT_TRUE(starts_with(json_object_get_string(daemon), "not running"));
	json_object_put(obj);
}

/* A daemon listens where this user may not connect: exit 4, not 3. */
TEST_F(status, user_not_allowed_is_exit_4)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char *argv[] = { SETPRIV,	   "--reuid=65534", "--regid=65534",
			 "--clear-groups", SNAPSET_BIN,	    "status",
			 "--socket",	   self->socket,    NULL };
	struct run_result res;
	int fd;

	if (access(SETPRIV, X_OK) || getuid() != 0)
		SKIP(return, "needs root and setpriv");
	strcpy(addr.sun_path, self->socket);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&addr, sizeof(addr)));
	ASSERT_EQ(0, listen(fd, 1));
	ASSERT_EQ(0, chmod(self->socket, 0600));
	ASSERT_EQ(0, chmod(self->dir, 0755));
	ASSERT_EQ(0, run_capture(SETPRIV, argv, &res));
	EXPECT_EQ(4, res.status);
	EXPECT_NE(NULL, strstr(res.out, "this user may not ask the daemon"))
	{
		TH_LOG("stdout: %s", res.out);
	}
	close(fd);
}

TEST_HARNESS_MAIN
