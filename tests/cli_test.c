// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the program's command line: the command table, and
 * the binary's --help, --version and usage errors (exit 2, one line on
 * stderr naming what was wrong).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../userspace/snapset/cli.h"
#include "../userspace/common/module.h"
#include "../userspace/snapset/versions.h"
#include "../selftests/snapset/program.h"
#include "kselftest_harness.h"
#include "sanitizers.h"

static int run_snapset(char *const argv[], struct run_result *res)
{
	return run_capture(SNAPSET_BIN, argv, res);
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
	EXPECT_TRUE(starts_with(res.out, "snapset " SNAPSET_VERSION " (API "))
	{
		TH_LOG("--version said: %s", res.out);
	}
	/* The host cannot load the module. */
	EXPECT_NE(NULL, strstr(res.out, ")\nmodule not loaded\n"));
	EXPECT_STREQ("", res.err);
}

/* A module of another release is a warning; an unknown API is none. */
TEST(another_release_is_a_warning)
{
	struct versions v = { .module = SNAPSET_VERSION,
			      .module_api = SNAPSET_API };
	char text[256];

	EXPECT_FALSE(versions_differ(&v));
	v.module_api = -EACCES;
	EXPECT_FALSE(versions_differ(&v));
	versions_module_text(&v, text, sizeof(text));
	EXPECT_STREQ("module " SNAPSET_VERSION
		     " (API unknown: /dev/snapset: Permission denied)",
		     text);
	v.module_api = SNAPSET_API + 1;
	EXPECT_TRUE(versions_differ(&v));
	strcpy(v.module, "0.0.1");
	v.module_api = SNAPSET_API;
	EXPECT_TRUE(versions_differ(&v));
	versions_module_text(&v, text, sizeof(text));
	EXPECT_STREQ("module 0.0.1 (API 2)", text);
	v.module[0] = '\0';
	EXPECT_FALSE(versions_differ(&v));
	versions_module_text(&v, text, sizeof(text));
	EXPECT_STREQ("module not loaded", text);
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

TEST(help_of_help)
{
	char *argv[] = { "snapset", "help", "--help", NULL };
	char *by_option[] = { "snapset", "--help", NULL };
	struct run_result res, want;

	ASSERT_EQ(0, run_snapset(argv, &res));
	ASSERT_EQ(0, run_snapset(by_option, &want));
	EXPECT_EQ(0, res.status);
	EXPECT_STREQ("", res.err);
	EXPECT_STREQ(want.out, res.out);
}

TEST(help_of_unknown_command)
{
	char *argv[] = { "snapset", "help", "frobnicate", NULL };
	struct run_result res;

	ASSERT_EQ(0, run_snapset(argv, &res));
	EXPECT_EQ(EXIT_USAGE, res.status);
	EXPECT_STREQ("snapset help: frobnicate: unknown command\n", res.err);
}

TEST(missing_module_is_explained)
{
	char *argv[] = { "snapset", "list", NULL };
	struct run_result res;

	/* The host never has the module: /dev/snapset does not exist. */
	if (!access("/dev/snapset", F_OK))
		SKIP(return, "/dev/snapset exists here");
	ASSERT_EQ(0, run_snapset(argv, &res));
	EXPECT_EQ(1, res.status);
	EXPECT_STREQ("snapset: /dev/snapset: no such device (is the module "
		     "loaded? modprobe snapset)\n",
		     res.err);
}

/* --json has a summary for a run that never made its set, with why. */
TEST(run_json_says_why_no_set_was_made)
{
	char *argv[] = { "snapset",   "run", "--json", "--snapshot",
			 "/dev/null", "--",  "true",   NULL };
	struct json_object *summary, *value;
	struct run_result res;

	if (!access("/dev/snapset", F_OK))
		SKIP(return, "/dev/snapset exists here");
	ASSERT_EQ(0, run_snapset(argv, &res));
	EXPECT_EQ(125, res.status);
	summary = json_tokener_parse(res.out);
	ASSERT_NE(NULL, summary);
	ASSERT_TRUE(json_object_object_get_ex(summary, "id", &value));
	EXPECT_EQ(NULL, value);
	ASSERT_TRUE(json_object_object_get_ex(summary, "outcome", &value));
	EXPECT_STREQ("failed", json_object_get_string(value));
	ASSERT_TRUE(json_object_object_get_ex(summary, "error", &value));
	EXPECT_STREQ("/dev/snapset: no such device (is the module loaded? "
		     "modprobe snapset)",
		     json_object_get_string(value));
	json_object_put(summary);
}

/*
 * run opens devices through /proc/self/fd: without /proc (hidden here
 * by a tmpfs, in a mount namespace of this test's own) it says so
 * first, before it opens the module or creates anything.
 */
TEST(run_without_proc_says_so)
{
	char *argv[] = { "snapset", "run",  "--snapshot", "/dev/null",
			 "--",	    "true", NULL };
	struct run_result res;

	/* This test and the program are built alike (make sanitize-build). */
#if TESTS_UNDER_ASAN
	SKIP(return, "ASan's runtime needs /proc itself");
#endif
	if (geteuid() || unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("none", "/proc", "tmpfs", 0, NULL))
		SKIP(return, "no mount namespace of our own to hide /proc in");
	ASSERT_EQ(0, run_snapset(argv, &res));
	EXPECT_EQ(125, res.status);
	EXPECT_STREQ("snapset run: needs /proc mounted: /proc/self/fd: No "
		     "such file or directory\n",
		     res.err);
}

/* @argv is a usage error (exit 2) saying @err, or anything if NULL. */
static void expect_usage_error(struct __test_metadata *_metadata,
			       char *const argv[], const char *err)
{
	struct run_result res;

	ASSERT_EQ(0, run_snapset(argv, &res));
	EXPECT_EQ(EXIT_USAGE, res.status);
	if (err)
		EXPECT_STREQ(err, res.err);
}

TEST(subcommand_usage_errors_name_the_object)
{
	char *no_value[] = { "snapset", "watch", "--count", NULL };
	char *zero[] = { "snapset", "watch", "--count", "0", NULL };
	char *bad_id[] = { "snapset", "delete", "nope", NULL };
	char *all_and_id[] = { "snapset", "delete", "--all", "x", NULL };

	expect_usage_error(_metadata, no_value,
			   "snapset watch: --count: needs a value (see "
			   "snapset watch --help)\n");
	expect_usage_error(_metadata, zero, NULL);
	expect_usage_error(_metadata, bad_id,
			   "snapset delete: nope: not a set id (a UUID) (see "
			   "snapset delete --help)\n");
	expect_usage_error(_metadata, all_and_id, NULL);
}

/* -o is checked before the module is opened: the host has none. */
TEST(list_fields_are_checked_first)
{
	char *unknown[] = { "snapset", "list", "-o", "id,size", NULL };
	char *empty[] = { "snapset", "list", "--options=id,", NULL };
	char *with_json[] = { "snapset", "list", "-o", "id", "--json", NULL };

	expect_usage_error(_metadata, unknown,
			   "snapset list: -o: 'size': no such field (id, "
			   "name, state, owner, created, devices, held) (see "
			   "snapset list --help)\n");
	expect_usage_error(_metadata, empty,
			   "snapset list: -o: '': no such field (id, name, "
			   "state, owner, created, devices, held) (see snapset "
			   "list --help)\n");
	expect_usage_error(_metadata, with_json,
			   "snapset list: -o: not with --json, which has "
			   "every field (see snapset list --help)\n");
}

TEST(help_of_a_command_is_its_usage)
{
	char *argv[] = { "snapset", "help", "list", NULL };
	char *opt[] = { "snapset", "list", "--help", NULL };
	struct run_result a, b;

	ASSERT_EQ(0, run_snapset(argv, &a));
	ASSERT_EQ(0, run_snapset(opt, &b));
	EXPECT_EQ(0, a.status);
	EXPECT_TRUE(starts_with(a.out, "Usage: snapset list "));
	EXPECT_STREQ(a.out, b.out);
}

TEST_HARNESS_MAIN
