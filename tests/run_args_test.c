// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of snapset run's command line: durations, exit status
 * lists, the options parsed into struct run_options, and the usage
 * errors (exit 2, one line naming the option and the cause). Nothing here
 * needs the module; `snapset complete` outside run is checked too.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../selftests/snapset/program.h"
#include "../userspace/common/format.h"
#include "../userspace/snapset/cli.h"
#include "../userspace/snapset/run.h"
#include "kselftest_harness.h"

TEST(durations_as_timeout_has_them)
{
	static const struct {
		const char *text;
		long ms;
	} good[] = {
		{ "10", 10000 },  { "1.5s", 1500 },  { "0.25", 250 },
		{ "5m", 300000 }, { "2h", 7200000 }, { "1d", 86400000 },
		{ "0", 0 },	  { "0.0001s", 1 },
	};
	static const char *const bad[] = {
		"",    "s",   "-1",  "10x",  "1ss",
		"1 s", "inf", "nan", "0x10", "1e400",
	};
	long ms;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ms = -1;
		EXPECT_EQ(0, parse_duration(good[i].text, &ms))
		{
			TH_LOG("%s", good[i].text);
		}
		EXPECT_EQ(good[i].ms, ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, parse_duration(bad[i], &ms))
		{
			TH_LOG("%s", bad[i]);
		}
	}
}

TEST(status_lists_and_ranges)
{
	bool statuses[256];

	ASSERT_EQ(0, parse_status_list("0,24,100-102", statuses));
	for (int s = 0; s < 256; s++)
		EXPECT_EQ(s == 0 || s == 24 || (s >= 100 && s <= 102),
			  statuses[s]);
	ASSERT_EQ(0, parse_status_list("255", statuses));
	EXPECT_TRUE(statuses[255]);
	EXPECT_FALSE(statuses[0]);
	EXPECT_EQ(-EINVAL, parse_status_list("", statuses));
	EXPECT_EQ(-EINVAL, parse_status_list("256", statuses));
	EXPECT_EQ(-EINVAL, parse_status_list("3-1", statuses));
	EXPECT_EQ(-EINVAL, parse_status_list("1,", statuses));
	EXPECT_EQ(-EINVAL, parse_status_list("-1", statuses));
	EXPECT_EQ(-EINVAL, parse_status_list("1-", statuses));
	EXPECT_EQ(-EINVAL, parse_status_list("a", statuses));
	/* A bad list changes nothing. */
	EXPECT_TRUE(statuses[255]);
}

/* Parses @argv (NULL-terminated) as `snapset run` would. */
static bool parse(char **argv, struct run_options *opts, int *status)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	optind = 0;
	return run_parse_args(argc, argv, opts, status);
}

TEST(every_option_is_parsed)
{
	char mount[] = "UUID=a-b=/mnt/snap";
	char *argv[] = { "run",
			 "--lvm-snapshot",
			 "vg0/root:10G",
			 "--lvm-snapshot",
			 "vg0/thin",
			 "--snapshot",
			 "LABEL=data",
			 "--persistent",
			 "/dev/sdb1",
			 "--freeze",
			 "/",
			 "--freeze",
			 "/home",
			 "--freeze-timeout",
			 "20s",
			 "--mount",
			 mount,
			 "--name",
			 "nightly-root",
			 "--timeout",
			 "2h",
			 "--kill-after",
			 "30s",
			 "--complete-on",
			 "0,1",
			 "--force",
			 "--require-daemon",
			 "-v",
			 "--json",
			 "--",
			 "borg",
			 "create",
			 "--stats",
			 NULL };
	struct run_options opts;
	int status = -1;

	ASSERT_TRUE(parse(argv, &opts, &status));
	ASSERT_EQ(2, opts.nlvm);
	EXPECT_STREQ("vg0", opts.lvm[0].vg);
	EXPECT_STREQ("root", opts.lvm[0].origin);
	EXPECT_STREQ("10G", opts.lvm[0].size);
	EXPECT_STREQ("thin", opts.lvm[1].origin);
	EXPECT_EQ(NULL, opts.lvm[1].size);
	ASSERT_EQ(2, opts.ndevices);
	EXPECT_STREQ("LABEL=data", opts.devices[0].spec);
	EXPECT_FALSE(opts.devices[0].persistent);
	EXPECT_TRUE(opts.devices[1].persistent);
	ASSERT_EQ(1, opts.nmounts);
	EXPECT_STREQ("UUID=a-b", opts.mounts[0].device);
	EXPECT_STREQ("/mnt/snap", opts.mounts[0].dir);
	ASSERT_EQ(2, opts.nfreeze);
	EXPECT_STREQ("/", opts.freeze[0]);
	EXPECT_STREQ("/home", opts.freeze[1]);
	EXPECT_EQ(20000, opts.freeze_timeout_ms);
	EXPECT_STREQ("nightly-root", opts.name);
	EXPECT_EQ(7200000, opts.timeout_ms);
	EXPECT_EQ(30000, opts.kill_after_ms);
	EXPECT_TRUE(opts.complete_on[0] && opts.complete_on[1]);
	EXPECT_FALSE(opts.complete_on[2]);
	EXPECT_TRUE(opts.force && opts.require_daemon);
	EXPECT_TRUE(opts.verbose && opts.json);
	EXPECT_STREQ("borg", opts.command[0]);
	EXPECT_STREQ("--stats", opts.command[2]);
	EXPECT_EQ(NULL, opts.command[3]);
}

/* ps shows run's arguments as given: --mount's value is copied. */
TEST(mount_leaves_argv_alone)
{
	char mount[] = "vg0/root=/mnt/snap";
	char *argv[] = { "run",		"--lvm-snapshot",
			 "vg0/root:1G", "--mount",
			 mount,		"--",
			 "true",	NULL };
	struct run_options opts;
	int status;

	ASSERT_TRUE(parse(argv, &opts, &status));
	EXPECT_STREQ("vg0/root=/mnt/snap", mount);
	EXPECT_STREQ("vg0/root", opts.mounts[0].device);
	EXPECT_STREQ("/mnt/snap", opts.mounts[0].dir);
}

TEST(set_names_as_the_module_takes_them)
{
	char long_name[65];

	EXPECT_TRUE(set_name_valid("nightly-root_2.0:a@b+c"));
	EXPECT_FALSE(set_name_valid(""));
	EXPECT_FALSE(set_name_valid("nightly root"));
	EXPECT_FALSE(set_name_valid("bad/name"));
	EXPECT_FALSE(set_name_valid("caf\xc3\xa9"));
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[64] = '\0';
	EXPECT_FALSE(set_name_valid(long_name));
	long_name[63] = '\0';
	EXPECT_TRUE(set_name_valid(long_name));
}

TEST(command_options_are_command_s)
{
	char *argv[] = { "run",	      "--snapshot", "/dev/loop0", "tar",
			 "--timeout", "x",	    NULL };
	struct run_options opts;
	int status;

	ASSERT_TRUE(parse(argv, &opts, &status));
	EXPECT_STREQ("tar", opts.command[0]);
	EXPECT_EQ(0, opts.timeout_ms);
	EXPECT_TRUE(opts.complete_on[0]);
}

/* The binary itself: each mistake is one line on stderr, status 2. */
static void expect_usage_error(struct __test_metadata *_metadata,
			       char *const argv[], const char *line)
{
	struct run_result res;

	ASSERT_EQ(0, run_capture(SNAPSET_BIN, argv, &res));
	EXPECT_EQ(2, res.status);
	EXPECT_STREQ(line, res.err);
	EXPECT_STREQ("", res.out);
}

TEST(usage_errors_name_the_option_and_the_cause)
{
	static const struct {
		const char *args[8];
		const char *line;
	} cases[] = {
		{ { "--lvm-snapshot", "vg0", "--", "true" },
		  "snapset run: vg0: not VG/LV or VG/LV:SIZE (see snapset run "
		  "--help)\n" },
		{ { "--lvm-snapshot", "vg0/root:", "--", "true" },
		  "snapset run: vg0/root:: not VG/LV or VG/LV:SIZE (see "
		  "snapset run --help)\n" },
		{ { "--snapshot", "/dev/a", "--timeout", "soon", "--", "true" },
		  "snapset run: soon: not a duration (e.g. 30, 1.5s, 10m, 2h, "
		  "1d) (see snapset run --help)\n" },
		{ { "--snapshot", "/dev/a", "--mount", "/dev/a", "--", "true" },
		  "snapset run: /dev/a: not DEV=/DIR (see snapset run "
		  "--help)\n" },
		{ { "--lvm-snapshot", "vg0/root:1G", "--lvm-snapshot",
		    "vg0/root:2G", "--", "true" },
		  "snapset run: vg0/root:2G: the same origin twice (see "
		  "snapset run --help)\n" },
		{ { "--snapshot", "/dev/a", "--timeout", "0", "--", "true" },
		  "snapset run: 0: must be more than 0 (see snapset run "
		  "--help)\n" },
		{ { "--snapshot", "/dev/a", "--timeout", "1", "--kill-after",
		    "0s", "--", "true" },
		  "snapset run: 0s: must be more than 0 (see snapset run "
		  "--help)\n" },
		{ { "--snapshot", "/dev/a", "--complete-on", "0,x", "--",
		    "true" },
		  "snapset run: 0,x: not a list of exit statuses 0-255 (e.g. "
		  "0,1 or 0-2) (see snapset run --help)\n" },
		{ { "--snapshot", "/dev/a", "--freeze", "/", "--", "true" },
		  "snapset run: --freeze: needs --lvm-snapshot (see snapset "
		  "run --help)\n" },
		{ { "--lvm-snapshot", "vg0/root", "--freeze", "home", "--",
		    "true" },
		  "snapset run: home: not an absolute path (see snapset run "
		  "--help)\n" },
		{ { "--lvm-snapshot", "vg0/root", "--freeze", "/",
		    "--freeze-timeout", "61s", "--", "true" },
		  "snapset run: 61s: at most 60s (see snapset run --help)\n" },
		{ { "--lvm-snapshot", "vg0/root", "--freeze-timeout", "5s",
		    "--", "true" },
		  "snapset run: --freeze-timeout: needs --freeze (see snapset "
		  "run --help)\n" },
		{ { "--", "true" },
		  "snapset run: no devices (--lvm-snapshot, --snapshot, "
		  "--persistent) (see snapset run --help)\n" },
		{ { "--snapshot", "/dev/a" },
		  "snapset run: COMMAND: missing (see snapset run --help)\n" },
		{ { "--snapshot", "/dev/a", "--kill-after", "1", "--", "true" },
		  "snapset run: --kill-after: needs --timeout (see snapset run "
		  "--help)\n" },
		{ { "--snapshot" },
		  "snapset run: --snapshot: needs a value (see snapset run "
		  "--help)\n" },
		{ { "--snapshots", "/dev/a", "--", "true" },
		  "snapset run: --snapshots: unknown option (see snapset run "
		  "--help)\n" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[12] = { "snapset", "run" };

		for (int a = 0; a < 8 && cases[i].args[a]; a++)
			argv[a + 2] = (char *)cases[i].args[a];
		expect_usage_error(_metadata, argv, cases[i].line);
	}
}

/*
 * Names checked before anything is done: a set's by the module's rule,
 * VG and LV names by LVM's (one starting with '-' would reach lvm as an
 * option).
 */
TEST(bad_names_are_usage_errors)
{
	static const struct {
		const char *option, *value, *cause;
	} cases[] = {
		{ "--name", "",
		  "a set name is 1 to 63 letters, digits and "
		  "-_.:@+" },
		{ "--name", "nightly root", NULL },
		{ "--name", "bad/name", NULL },
		{ "--lvm-snapshot", "vg0/-root",
		  "not an LVM name (letters, digits and +_.-, not first -)" },
		{ "--lvm-snapshot", "--help/root:1G", NULL },
	};
	const char *cause = NULL;
	char line[160];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = { "snapset",
				 "run",
				 (char *)cases[i].option,
				 (char *)cases[i].value,
				 "--persistent",
				 "/dev/a",
				 "--",
				 "true",
				 NULL };

		cause = cases[i].cause ?: cause;
		snprintf(line, sizeof(line),
			 "snapset run: %s: %s (see snapset run --help)\n",
			 cases[i].value[0] ? cases[i].value : cases[i].option,
			 cause);
		expect_usage_error(_metadata, argv, line);
	}
}

TEST(too_many_devices)
{
	char *argv[2 + 2 * 65 + 3] = { "snapset", "run" };
	struct run_result res;
	int n = 2;

	for (int i = 0; i < 65; i++) {
		argv[n++] = "--snapshot";
		argv[n++] = "/dev/a";
	}
	argv[n++] = "true";
	ASSERT_EQ(0, run_capture(SNAPSET_BIN, argv, &res));
	EXPECT_EQ(2, res.status);
	EXPECT_NE(NULL, strstr(res.err, "more devices than a set holds (64)"));
}

TEST(run_help)
{
	char *argv[] = { "snapset", "run", "--help", NULL };
	struct run_result res;

	ASSERT_EQ(0, run_capture(SNAPSET_BIN, argv, &res));
	EXPECT_EQ(0, res.status);
	EXPECT_TRUE(starts_with(res.out, "Usage: snapset run "));
	EXPECT_NE(NULL, strstr(res.out, "--lvm-snapshot VG/LV[:SIZE]"));
}

TEST(complete_outside_run_is_refused)
{
	char *argv[] = { "snapset", "complete", NULL };
	struct run_result res;

	unsetenv("SNAPSET_CONTROL_FD");
	ASSERT_EQ(0, run_capture(SNAPSET_BIN, argv, &res));
	EXPECT_EQ(1, res.status);
	EXPECT_STREQ("snapset complete: not run by snapset run "
		     "(SNAPSET_CONTROL_FD is not set)\n",
		     res.err);
	setenv("SNAPSET_CONTROL_FD", "0", 1);
	ASSERT_EQ(0, run_capture(SNAPSET_BIN, argv, &res));
	EXPECT_EQ(1, res.status);
	EXPECT_STREQ("snapset complete: SNAPSET_CONTROL_FD=0: not snapset "
		     "run's control channel\n",
		     res.err);
	unsetenv("SNAPSET_CONTROL_FD");
}

TEST_HARNESS_MAIN
