// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit test of packaging/snapset.service against the daemon's own
 * defaults: systemd must never SIGKILL an lvremove the daemon waits for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../userspace/common/format.h"
#include "../userspace/daemon/config.h"
#include "kselftest_harness.h"

/* The value of @key= in the unit file, or "" if it is not set. */
static void unit_value(const char *key, char *out, size_t size)
{
	char line[512];
	size_t keylen = strlen(key);
	FILE *f;

	*out = '\0';
	f = fopen(SNAPSET_SOURCE "/packaging/snapset.service", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, keylen) && line[keylen] == '=')
			snprintf(out, size, "%.*s",
				 (int)strcspn(line + keylen + 1, "\n"),
				 line + keylen + 1);
	fclose(f);
}

/* SIGTERM to the daemon alone: it stops lvm itself, never with SIGKILL. */
TEST(sigterm_goes_to_the_daemon_alone)
{
	char value[64];

	unit_value("KillMode", value, sizeof(value));
	EXPECT_STREQ("mixed", value);
}

/*
 * systemd's SIGKILL after TimeoutStopSec must come after the longest
 * stop by default: an lvremove at its deadline, then its writers.
 */
TEST(stop_timeout_outlasts_the_deadlines)
{
	struct daemon_options opts;
	char value[64];
	long ms;

	config_init(&opts);
	unit_value("TimeoutStopSec", value, sizeof(value));
	ASSERT_EQ(0, parse_duration(value, &ms))
	{
		TH_LOG("TimeoutStopSec=%s: not seconds", value);
	}
	EXPECT_LT(opts.lvremove_deadline_ms + opts.writer_deadline_ms, ms);
}

TEST_HARNESS_MAIN
