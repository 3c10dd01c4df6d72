// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the metrics file under a flood of refused writer
 * connections: each refusal is counted, but the file is not rewritten
 * for each; they go out with the next regular write, or once a second.
 * The daemon's ring is driven here as its loop drives it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sanitizers.h"
#if TESTS_UNDER_ASAN
#include <sanitizer/lsan_interface.h>
#endif

#include "../userspace/daemon/daemon.h"
#include "daemon_step.h"
#include "kselftest_harness.h"

#define REFUSALS 20

FIXTURE(metrics)
{
	char dir[64];
	struct daemon_options opts;
	struct daemon d;
	unsigned int writes; /* file writes started */
};

/*
 * Runs the ring until no file write is running and, with @until_timer,
 * the refusals' timeout has fired: -ETIME when nothing came in time.
 */
static int run(FIXTURE_DATA(metrics) * self, bool until_timer)
{
	int kind;

	while (self->d.jobs || until_timer) {
		kind = daemon_step(&self->d, 10000, NULL);
		if (kind < 0)
			return kind;
		if (kind == OP_METRICS) {
			until_timer = false;
			self->writes += self->d.jobs;
		}
	}
	return 0;
}

/* @what, then the write it started (if any) counted and waited for. */
#define COUNTED(self, what)                       \
	do {                                      \
		what;                             \
		(self)->writes += (self)->d.jobs; \
		ASSERT_EQ(0, run(self, false));   \
	} while (0)

/* Whether the file at @path has the line @want (with its newline). */
static bool has_line(const char *path, const char *want)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	while (f && !found && getline(&line, &cap, f) > 0)
		found = !strcmp(line, want);
	free(line);
	if (f)
		fclose(f);
	return found;
}

FIXTURE_SETUP(metrics)
{
	if (geteuid())
		SKIP(return, "needs root (a root-owned metrics directory)");
	snprintf(self->dir, sizeof(self->dir), "/tmp/snapset-metrics-%d",
		 getpid());
	ASSERT_EQ(0, mkdir(self->dir, 0755));
	snprintf(self->opts.metrics_path, sizeof(self->opts.metrics_path),
		 "%s/snapset.prom", self->dir);
	self->d.opts = &self->opts;
	self->d.files_event_fd = -1;
	self->d.history = json_object_new_array();
	ASSERT_EQ(0, io_uring_queue_init(16, &self->d.ring, 0));
	ASSERT_EQ(0, files_init(&self->d));
	files_read_event(&self->d);
	COUNTED(self, ASSERT_EQ(0, metrics_init(&self->d)));
	ASSERT_EQ(1, self->writes);
	self->writes = 0;
}

FIXTURE_TEARDOWN(metrics)
{
	char cmd[128];

	if (geteuid())
		return;
	files_free(&self->d);
	metrics_free(&self->d);
	io_uring_queue_exit(&self->d.ring);
	json_object_put(self->d.history);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	system(cmd);
}

TEST_F(metrics, refusals_are_written_once_a_second)
{
	/* Each of them waited for, as a slow flood would be. */
	for (int i = 0; i < REFUSALS; i++)
		COUNTED(self, metrics_refused(&self->d, "full"));
	/* Past a second since the start's write, the first one writes. */
	EXPECT_GE(1, self->writes);
	ASSERT_EQ(0, run(self, true));
	EXPECT_GE(2, self->writes);
	EXPECT_TRUE(has_line(self->opts.metrics_path,
			     "snapset_writer_connections_refused_total"
			     "{reason=\"full\"} 20\n"));
}

TEST_F(metrics, refusals_go_with_the_next_write)
{
	for (int i = 0; i < 3; i++)
		COUNTED(self, metrics_refused(&self->d, "not_allowed"));
	COUNTED(self, metrics_release_failure(&self->d, "lvm"));
	EXPECT_TRUE(has_line(self->opts.metrics_path,
			     "snapset_writer_connections_refused_total"
			     "{reason=\"not_allowed\"} 3\n"));
	/* The timeout finds them written: no second write. */
	ASSERT_EQ(0, run(self, true));
	EXPECT_GE(2, self->writes);
	EXPECT_EQ(0, self->d.jobs);
}

/*
 * Refused in the last second before a stop: the timer would come too
 * late (the loop ends with its jobs), so the stop writes them.
 */
TEST_F(metrics, refusals_before_a_stop_are_written)
{
	for (int i = 0; i < 2; i++)
		COUNTED(self, metrics_refused(&self->d, "full"));
	COUNTED(self, daemon_stop(&self->d));
	EXPECT_TRUE(has_line(self->opts.metrics_path,
			     "snapset_writer_connections_refused_total"
			     "{reason=\"full\"} 2\n"));
	/* And one refused while stopping: at once. */
	COUNTED(self, metrics_refused(&self->d, "full"));
	EXPECT_TRUE(has_line(self->opts.metrics_path,
			     "snapset_writer_connections_refused_total"
			     "{reason=\"full\"} 3\n"));
}

/*
 * The daemon frees its metrics as it exits: every series with them, or
 * LeakSanitizer reports them there (make sanitize-build).
 */
TEST_F(metrics, free_leaves_nothing_behind)
{
#if TESTS_UNDER_ASAN
	COUNTED(self, metrics_release_failure(&self->d, "lvm"));
	COUNTED(self, metrics_delivery(&self->d, "db", 0, true));
	metrics_free(&self->d);
	EXPECT_EQ(NULL, self->d.metrics);
	EXPECT_EQ(0, __lsan_do_recoverable_leak_check());
#else
	SKIP(return, "needs LeakSanitizer (make sanitize-build)");
#endif
}

TEST_HARNESS_MAIN
