// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the daemon's report of a shutdown, as its line on
 * stderr reads when no journal takes it: a set that froze says how long
 * writes were held, one that did not says nothing of a freeze.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../userspace/common/format.h"
#include "../userspace/daemon/daemon.h"
#include "kselftest_harness.h"

/* The line report_shutdown() writes for @s, in @line. */
static void report_line(const struct snapset_set_info *s, char *line,
			size_t size)
{
	struct snapset_event ev = { .type = SNAPSET_EVENT_SHUTDOWN, .set = *s };
	FILE *saved = stderr, *out = fmemopen(line, size, "w");

	line[0] = '\0';
	if (!out)
		return;
	unsetenv("JOURNAL_STREAM");
	stderr = out;
	report_shutdown(&ev, 0, "", 0);
	stderr = saved;
	fclose(out);
}

TEST(shutdown_says_how_long_writes_were_held)
{
	struct snapset_set_info s = {
		.name = "nightly",
		.flags = SNAPSET_SET_ARMED | SNAPSET_SET_TERMINATED |
			 SNAPSET_SET_COMPLETED | SNAPSET_SET_EXIT_STATUS,
		.reason = SNAPSET_REASON_CLOSE,
	};
	char line[512];

	report_line(&s, line, sizeof(line));
	EXPECT_NE(NULL, strstr(line, ": complete (reason close, exit status "
				     "0)\n"))
	TH_LOG("%s", line);
	s.freeze_count = 2;
	s.freeze_end = SNAPSET_FREEZE_END_THAWED;
	s.freeze_hold_ns = 182400000;
	report_line(&s, line, sizeof(line));
	EXPECT_NE(NULL, strstr(line, ": complete (reason close, exit status "
				     "0; froze 2 filesystems, writes held "
				     "182.4 ms)\n"))
	TH_LOG("%s", line);
	s.freeze_count = 1;
	report_line(&s, line, sizeof(line));
	EXPECT_NE(NULL, strstr(line, "; froze 1 filesystem, writes held "))
	TH_LOG("%s", line);
}

TEST_HARNESS_MAIN
