// SPDX-License-Identifier: GPL-2.0
/*
 * The module's life: /dev/snapset exists as the contract says, can be
 * opened and closed, and pins the module while open.
 *
 * Runs as root in a guest with snapset.ko loaded; SNAPSET_KO names the
 * module file so the unload test can load it again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "util.h"

#define DEV_PATH SNAPSET_DEV
#define MISC_MAJOR 10U

TEST(module_is_loaded)
{
	ASSERT_TRUE(module_loaded());
}

TEST(device_is_root_only_misc_char_device)
{
	struct stat st;

	ASSERT_EQ(0, stat(DEV_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600U, st.st_mode & 07777);
	EXPECT_EQ(0U, st.st_uid);
	EXPECT_EQ(MISC_MAJOR, major(st.st_rdev));
}

TEST(open_close)
{
	int fd, fd2;

	fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	fd2 = open(DEV_PATH, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(0, close(fd2));
	EXPECT_EQ(0, close(fd));
}

TEST(device_is_not_seekable)
{
	int fd;

	fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, lseek(fd, 0, SEEK_SET));
	EXPECT_EQ(ESPIPE, errno);
	close(fd);
}

TEST(unload_refused_while_open)
{
	const char *ko = getenv("SNAPSET_KO");
	int fd;

	if (!ko)
		SKIP(return, "SNAPSET_KO is not set: no module file to reload");
	fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, delete_module("snapset"));
	EXPECT_EQ(EWOULDBLOCK, errno);
	EXPECT_TRUE(module_loaded());

	close(fd);
	ASSERT_EQ(0, delete_module("snapset"));
	EXPECT_FALSE(module_loaded());
	EXPECT_NE(0, access(DEV_PATH, F_OK));

	ASSERT_EQ(0, load_module(ko, ""));
	EXPECT_EQ(0, access(DEV_PATH, F_OK));
}

/* A set that is armed and closed: one pending record. */
static int pending_set(__u8 id[SNAPSET_ID_LEN])
{
	int fd = set_new("unload", id);

	if (fd < 0 || ioctl(fd, SNAPSET_IOC_ARM))
		return -1;
	return close(fd);
}

FIXTURE(reloadable)
{
	int unused;
};

FIXTURE_SETUP(reloadable)
{
	if (!getenv("SNAPSET_KO"))
		SKIP(return, "SNAPSET_KO is not set: no module file to reload");
	discard_all_pending();
}

FIXTURE_TEARDOWN(reloadable)
{
	discard_all_pending();
	/* Back to the defaults for whatever runs next. */
	if (!module_reload(""))
		TH_LOG("could not reload snapset with default parameters");
}

TEST_F_TIMEOUT(reloadable, unload_refused_while_records_pend, 300)
{
	__u8 id[SNAPSET_ID_LEN];
	int fd;

	ASSERT_EQ(0, pending_set(id));
	EXPECT_EQ(-1, delete_module("snapset"));
	EXPECT_EQ(EWOULDBLOCK, errno);
	fd = snapset_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, discard(fd, id));
	EXPECT_EQ(1, sysfs_counter("discarded"));
	close(fd);
	EXPECT_EQ(0, delete_module("snapset"));
}

TEST_F_TIMEOUT(reloadable, unload_right_after_a_killed_owner, 300)
{
	__u8 id[SNAPSET_ID_LEN];
	pid_t pid = owner_child(NULL, id, wait_forever);
	int fd;

	ASSERT_LT(0, pid);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	/* The record pins the module at once; nothing is lost to rmmod. */
	EXPECT_EQ(-1, delete_module("snapset"));
	EXPECT_EQ(EWOULDBLOCK, errno);
	EXPECT_EQ(1, pending_count(id));
	fd = snapset_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, discard(fd, id));
	close(fd);
	EXPECT_EQ(0, delete_module("snapset"));
}

TEST_F_TIMEOUT(reloadable, oldest_record_becomes_a_tombstone_past_the_bound,
	       300)
{
	__u8 ids[3][SNAPSET_ID_LEN];
	union event_buf rec;
	int agent, i;

	ASSERT_TRUE(module_reload("max_pending=2"));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pending_set(ids[i]));
	EXPECT_EQ(3, sysfs_counter("pending"));
	EXPECT_EQ(1, sysfs_counter("tombstoned"));

	agent = subscribe(SNAPSET_SUBSCRIBE_AGENT);
	ASSERT_LE(0, agent);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(sizeof(rec.ev),
			  read_event(agent, &rec, sizeof(rec.ev)));
		EXPECT_EQ(0, memcmp(ids[i], rec.ev.set.id, SNAPSET_ID_LEN));
		EXPECT_EQ(i == 0, !!(rec.ev.set.flags & SNAPSET_SET_TOMBSTONE));
		EXPECT_EQ(0, ack(agent, ids[i]));
	}
	EXPECT_EQ(0, sysfs_counter("pending"));
	close(agent);
}

TEST_F_TIMEOUT(reloadable, slow_watcher_gets_one_overflow_record, 300)
{
	const int sets = 10, events = 2 * sets, queue = 8;
	union event_buf batch[4];
	int watcher, i, got = 0, overflows = 0;
	__u64 missed = 0, next_seq = 0;

	ASSERT_TRUE(module_reload("watcher_queue=8"));
	watcher = subscribe(0);
	ASSERT_LE(0, watcher);
	for (i = 0; i < sets; i++) {
		int fd = set_new(NULL, NULL);

		ASSERT_LE(0, fd);
		close(fd);
	}
	ASSERT_EQ(0, fcntl(watcher, F_SETFL, O_NONBLOCK));
	for (;;) {
		ssize_t n = read(watcher, batch, sizeof(batch));
		char *p = (char *)batch;

		if (n < 0)
			break;
		for (; n > 0; n -= ((struct snapset_event *)p)->size,
			      p += ((struct snapset_event *)p)->size) {
			struct snapset_event *ev = (struct snapset_event *)p;

			/* No gap but the one the overflow record names. */
			if (next_seq)
				EXPECT_EQ(next_seq, ev->seq);
			if (ev->type == SNAPSET_EVENT_OVERFLOW) {
				overflows++;
				missed += ev->missed;
				next_seq = ev->seq + ev->missed;
			} else {
				got++;
				next_seq = ev->seq + 1;
			}
		}
	}
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(1, overflows);
	EXPECT_EQ(queue, got);
	EXPECT_EQ(events, got + missed);
	EXPECT_EQ(1, sysfs_counter("overflows"));
	close(watcher);
}

TEST_HARNESS_MAIN
