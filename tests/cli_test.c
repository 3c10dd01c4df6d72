// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the program's command line: the command table, and
 * the binary's --help, --version and usage errors (exit 2, one line on
 * stderr naming what was wrong).
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../userspace/snapset/cli.h"
#include "kselftest_harness.h"

struct run_result {
	int status;
	char out[4096];
	char err[4096];
};

static void slurp(int fd, char *buf, size_t size)
{
	ssize_t len = pread(fd, buf, size - 1, 0);

	buf[len > 0 ? len : 0] = '\0';
	close(fd);
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* Runs the built program with argv, capturing stdout and stderr. */
static int run_snapset(char *const argv[], struct run_result *res)
{
	posix_spawn_file_actions_t actions;
	int out = memfd_create("stdout", MFD_CLOEXEC);
	int err = memfd_create("stderr", MFD_CLOEXEC);
	int wstatus;
	pid_t pid;

	if (out < 0 || err < 0)
		return -1;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, out, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&actions, err, STDERR_FILENO);
	if (posix_spawn(&pid, SNAPSET_BIN, &actions, NULL, argv, environ))
		return -1;
	posix_spawn_file_actions_destroy(&actions);
	if (waitpid(pid, &wstatus, 0) != pid || !WIFEXITED(wstatus))
		return -1;
	res->status = WEXITSTATUS(wstatus);
	slurp(out, res->out, sizeof(res->out));
	slurp(err, res->err, sizeof(res->err));
	return 0;
}

TEST(find_command)
{
	const struct snapset_command *cmd = cli_find_command("help");

	ASSERT_NE(NULL, cmd);
	EXPECT_STREQ("help", cmd->name);
	EXPECT_EQ(NULL, cli_find_command("hel"));
	EXPECT_EQ(NULL, cli_find_command("helpx"));
	EXPECT_EQ(NULL, cli_find_command(""));
}

TEST(version)
{
	char *argv[] = { "snapset", "--version", NULL };
	struct run_result res;

	ASSERT_EQ(0, run_snapset(argv, &res));
	EXPECT_EQ(0, res.status);
	EXPECT_STREQ("snapset " SNAPSET_VERSION "\n", res.out);
	EXPECT_STREQ("", res.err);
}

TEST(help_goes_to_stdout)
{
	char *argv[] = { "snapset", "--help", NULL };
	struct run_result res;

	ASSERT_EQ(0, run_snapset(argv, &res));
	EXPECT_EQ(0, res.status);
	EXPECT_TRUE(starts_with(res.out, "Usage: snapset "));
	EXPECT_NE(NULL, strstr(res.out, "\n  help "));
	EXPECT_STREQ("", res.err);
}

TEST(help_command_matches_help_option)
{
	char *by_option[] = { "snapset", "--help", NULL };
	char *by_command[] = { "snapset", "help", NULL };
	struct run_result a, b;

	ASSERT_EQ(0, run_snapset(by_option, &a));
	ASSERT_EQ(0, run_snapset(by_command, &b));
	EXPECT_EQ(0, b.status);
	EXPECT_STREQ(a.out, b.out);
}

TEST(no_command_is_usage_error)
{
	char *argv[] = { "snapset", NULL };
	struct run_result res;

	ASSERT_EQ(0, run_snapset(argv, &res));
	EXPECT_EQ(EXIT_USAGE, res.status);
	EXPECT_STREQ("", res.out);
	EXPECT_TRUE(starts_with(res.err, "Usage: snapset "));
}

TEST(unknown_command_is_named)
{
	char *argv[] = { "snapset", "frobnicate", NULL };
	struct run_result res;

	ASSERT_EQ(0, run_snapset(argv, &res));
	EXPECT_EQ(EXIT_USAGE, res.status);
	EXPECT_STREQ("", res.out);
	EXPECT_STREQ(
	    "snapset: frobnicate: unknown command (see snapset --help)\n",
	    res.err);
}

TEST(unknown_option_is_usage_error)
{
	char *argv[] = { "snapset", "--frobnicate", NULL };
	struct run_result res;

	ASSERT_EQ(0, run_snapset(argv, &res));
	EXPECT_EQ(EXIT_USAGE, res.status);
	EXPECT_STREQ("", res.out);
	EXPECT_STREQ(
	    "snapset: --frobnicate: unknown option (see snapset --help)\n",
	    res.err);
}

TEST(help_of_unknown_command)
{
	char *argv[] = { "snapset", "help", "frobnicate", NULL };
	struct run_result res;

	ASSERT_EQ(0, run_snapset(argv, &res));
	EXPECT_EQ(EXIT_USAGE, res.status);
	EXPECT_STREQ("snapset help: frobnicate: unknown command\n", res.err);
}

TEST_HARNESS_MAIN
