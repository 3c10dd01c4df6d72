// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the daemon's configuration file: defaults, every
 * key, and the first bad line reported as FILE:LINE with what is wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../userspace/daemon/config.h"
#include "kselftest_harness.h"

FIXTURE(config)
{
	char path[64];
	struct daemon_options opts;
	char error[CONFIG_ERROR_LEN];
};

FIXTURE_SETUP(config)
{
	snprintf(self->path, sizeof(self->path), "/tmp/snapset-config-%d",
		 getpid());
	config_init(&self->opts);
}

FIXTURE_TEARDOWN(config)
{
	unlink(self->path);
}

static int load_bytes(FIXTURE_DATA(config) * self, const char *text, size_t len)
{
	FILE *f = fopen(self->path, "w");

	fwrite(text, 1, len, f);
	fclose(f);
	self->error[0] = '\0';
	return config_load(&self->opts, self->path, true, self->error);
}

static int load(FIXTURE_DATA(config) * self, const char *text)
{
	return load_bytes(self, text, strlen(text));
}

TEST_F(config, defaults_without_a_file)
{
	EXPECT_EQ(0, config_load(&self->opts, "/nonexistent/snapset.conf",
				 false, self->error));
	EXPECT_STREQ("/run/snapset/writer.sock", self->opts.socket_path);
	EXPECT_EQ(30000, self->opts.writer_deadline_ms);
	EXPECT_EQ(60000, self->opts.lvremove_deadline_ms);
	EXPECT_STREQ("/var/lib/snapset", self->opts.history_dir);
	EXPECT_EQ(100, self->opts.history_size);
	EXPECT_EQ(4096, self->opts.max_connections);
	EXPECT_EQ(0, self->opts.nallowed_uids);
	/* Off: a host without node_exporter's directory logs no error. */
	EXPECT_STREQ("", self->opts.metrics_path);
}

/*
 * The example configuration (packaging/snapset.conf) shows each key as
 * "#key = default": with every such line uncommented it loads, and sets
 * what config_init() does.
 */
TEST_F(config, the_example_shows_the_defaults)
{
	FILE *example = fopen(SNAPSET_SOURCE "/packaging/snapset.conf", "r");
	FILE *out = fopen(self->path, "w");
	struct daemon_options defaults;
	char line[256];
	int keys = 0;

	ASSERT_NE(NULL, example);
	ASSERT_NE(NULL, out);
	while (fgets(line, sizeof(line), example)) {
		bool key = line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' &&
			   strstr(line, " =");

		keys += key;
		fputs(key ? line + 1 : line, out);
	}
	fclose(example);
	fclose(out);
	EXPECT_EQ(9, keys);
	ASSERT_EQ(0, config_load(&self->opts, self->path, true, self->error))
	{
		TH_LOG("%s", self->error);
	}
	config_init(&defaults);
	EXPECT_STREQ(defaults.socket_path, self->opts.socket_path);
	EXPECT_EQ(defaults.writer_deadline_ms, self->opts.writer_deadline_ms);
	EXPECT_EQ(defaults.lvremove_deadline_ms,
		  self->opts.lvremove_deadline_ms);
	EXPECT_STREQ(defaults.history_dir, self->opts.history_dir);
	EXPECT_EQ(defaults.history_size, self->opts.history_size);
	EXPECT_STREQ(defaults.metrics_path, self->opts.metrics_path);
	EXPECT_EQ(0, self->opts.nallowed_uids);
	EXPECT_EQ(0, self->opts.nallowed_gids);
	EXPECT_EQ(defaults.max_connections, self->opts.max_connections);
}

TEST_F(config, a_missing_file_named_is_an_error)
{
	EXPECT_EQ(-ENOENT, config_load(&self->opts, "/nonexistent/x.conf", true,
				       self->error));
	EXPECT_STREQ("/nonexistent/x.conf: No such file or directory",
		     self->error);
}

TEST_F(config, every_key)
{
	ASSERT_EQ(0, load(self, "# comment\n"
				"[daemon]\n"
				"socket = /run/x.sock\n"
				"writer_deadline = 1.5s\n"
				"lvremove_deadline = 2m\n"
				"history_dir =\n"
				"history_size = 7\n"
				"metrics = /tmp/m.prom\n"
				"[writers]\n"
				"allow_users = root, 1000\n"
				"allow_groups = 0,65534\n"
				"max_connections = 1000\n"));
	EXPECT_STREQ("/run/x.sock", self->opts.socket_path);
	EXPECT_EQ(1500, self->opts.writer_deadline_ms);
	EXPECT_EQ(120000, self->opts.lvremove_deadline_ms);
	EXPECT_STREQ("", self->opts.history_dir);
	EXPECT_EQ(7, self->opts.history_size);
	EXPECT_STREQ("/tmp/m.prom", self->opts.metrics_path);
	ASSERT_EQ(2, self->opts.nallowed_uids);
	EXPECT_EQ(0, self->opts.allowed_uids[0]);
	EXPECT_EQ(1000, self->opts.allowed_uids[1]);
	ASSERT_EQ(2, self->opts.nallowed_gids);
	EXPECT_EQ(65534, self->opts.allowed_gids[1]);
	EXPECT_EQ(1000, self->opts.max_connections);
}

/* Each bad file, and the one line that says where and why. */
static const struct {
	const char *text;
	const char *error;
} bad[] = {
	{ "[daemon]\nwriter_deadline = soon\n",
	  ":2: [daemon] writer_deadline: not a duration above 0" },
	{ "[daemon]\nwriter_deadline = 0\n",
	  ":2: [daemon] writer_deadline: not a duration above 0" },
	{ "[daemon]\nsocket = relative.sock\n",
	  ":2: [daemon] socket: not an absolute path" },
	{ "[daemon]\nhistory_size = -1\n",
	  ":2: [daemon] history_size: not a number of entries" },
	{ "[daemon]\nhistory_size = 100001\n",
	  ":2: [daemon] history_size: not a number of entries" },
	{ "[daemon]\n\nsockets = /x\n", ":3: [daemon] sockets: unknown key" },
	{ "[deamon]\nsocket = /x\n", ":2: [deamon] socket: unknown section" },
	{ "[writers]\nallow_users = no-such-user-here\n",
	  ":2: [writers] allow_users: names no user" },
	{ "[writers]\nmax_connections = 31\n",
	  ":2: [writers] max_connections: not a number from 32 to 65536" },
	{ "[writers]\nmax_connections = 65537\n",
	  ":2: [writers] max_connections: not a number from 32 to 65536" },
	{ "[writers]\nallow_groups = no-such-group-here\n",
	  ":2: [writers] allow_groups: names no group" },
	{ "[daemon]\njust words\n", ":2: not a key = value line" },
	/* 2^32 + 1000: uid 1000 once wrapped. */
	{ "[writers]\nallow_users = 4294968296\n",
	  ":2: [writers] allow_users: a user id above 4294967294" },
	{ "[writers]\nallow_users = 4294967295\n",
	  ":2: [writers] allow_users: a user id above 4294967294" },
	{ "[writers]\nallow_groups = 99999999999999999999999\n",
	  ":2: [writers] allow_groups: a group id above 4294967294" },
};

TEST_F(config, bad_lines_are_named)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char expected[256];

		EXPECT_EQ(-EINVAL, load(self, bad[i].text));
		snprintf(expected, sizeof(expected), "%s%s", self->path,
			 bad[i].error);
		EXPECT_EQ(0, strncmp(self->error, expected, strlen(expected)))
		{
			TH_LOG("got \"%s\", expected \"%s\"", self->error,
			       expected);
		}
	}
}

/*
 * Debian's inih reads a line in 200-byte pieces, each parsed as a line:
 * the tail of a long comment must not set the socket.
 */
TEST_F(config, a_long_line_is_refused_not_split)
{
	char text[512], expected[256];

	snprintf(text, sizeof(text), "[daemon]\n# %0250d socket = /tmp/x\n", 0);
	EXPECT_EQ(-EINVAL, load(self, text));
	snprintf(expected, sizeof(expected), "%s:2: longer than 199 bytes",
		 self->path);
	EXPECT_STREQ(expected, self->error);
	EXPECT_STREQ("/run/snapset/writer.sock", self->opts.socket_path);
}

/*
 * inih sees a line end at a NUL byte: the rest of the line would vanish
 * ("socket = /x\0y" sets /x) or the line read as no key = value line.
 */
TEST_F(config, a_nul_byte_is_named_with_its_line)
{
	static const char text[] = "[daemon]\nhistory_size = 5\n"
				   "socket = /tmp/x\0/y\nhistory_size = 7\n";
	char expected[256];

	EXPECT_EQ(-EINVAL, load_bytes(self, text, sizeof(text) - 1));
	snprintf(expected, sizeof(expected), "%s:3: a NUL byte at column 16",
		 self->path);
	EXPECT_STREQ(expected, self->error);
	EXPECT_STREQ("/run/snapset/writer.sock", self->opts.socket_path);
}

/* 199 bytes fit, the last line with or without its newline. */
TEST_F(config, a_line_of_199_bytes_is_read)
{
	char text[512];
	int n;

	n = snprintf(text, sizeof(text), "[daemon]\nmetrics = /%0188d\n", 0);
	ASSERT_EQ(9 + 199 + 1, n);
	EXPECT_EQ(0, load(self, text));
	EXPECT_EQ(189, strlen(self->opts.metrics_path));
	text[n - 1] = '\0';
	EXPECT_EQ(0, load(self, text));
	EXPECT_EQ(189, strlen(self->opts.metrics_path));
}

TEST_HARNESS_MAIN
