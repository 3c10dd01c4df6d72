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
#include "program.h"
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

	if (fd < 0 || ioctl(fd, SNAPSET_IOC_ARM, NULL))
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

/* 6.1 loads a module with a parameter it does not know, and says so. */
#define UNKNOWN_MAX_RECORDS "unknown parameter 'max_records'"

/*
 * Pending records are bounded, tombstones included: max_records caps armed
 * sets plus pending records, and ARM is refused with ENOSPC past it.
 */
TEST_F_TIMEOUT(reloadable, max_records_bounds_records_tombstones_included, 300)
{
	const int max_records = 64;
	__u8 id[SNAPSET_ID_LEN] = {}, refused[SNAPSET_ID_LEN] = {};
	int unknown = kmsg_count(UNKNOWN_MAX_RECORDS), warnings;
	int i, fd, err = 0, armed = 0, records = 0, live = 0;
	long pending, most = 0;
	struct loopdev loop;
	size_t used = 0, off;
	char *buf;

	ASSERT_LE(0, unknown);
	ASSERT_TRUE(module_reload("max_pending=1 max_records=64"));
	if (kmsg_count(UNKNOWN_MAX_RECORDS) != unknown) {
		TH_LOG("the module ignored max_records at load");
		ASSERT_TRUE(false);
	}
	err = loop_attach(&loop, 1 << 20);
	if (err)
		SKIP(return, "no loop device: %s", strerror(err));
	warnings = kmsg_count("tombstone");

	for (i = 0; i < 400 && !err; i++) {
		fd = set_new("bounded", id);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, set_add_path(fd, loop.path, O_RDONLY, 0));
		err = ioctl_err(fd, SNAPSET_IOC_ARM, NULL);
		/* A refused set ends as one never armed: no record. */
		close(fd);
		pending = sysfs_counter("pending");
		if (pending > most)
			most = pending;
		if (err)
			memcpy(refused, id, SNAPSET_ID_LEN);
		else
			armed++;
	}
	EXPECT_EQ(max_records, armed);
	EXPECT_EQ(ENOSPC, err);
	EXPECT_GE(max_records, most);
	/* From then on: the next one is refused too. */
	fd = set_new("bounded", NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_add_path(fd, loop.path, O_RDONLY, 0));
	EXPECT_EQ(ENOSPC, ioctl_err(fd, SNAPSET_IOC_ARM, NULL));
	close(fd);
	/* snapset run learns it at arm and says so, naming the bound. */
	{
		char *argv[] = { "snapset", "run",  "--snapshot", loop.path,
				 "--",	    "true", NULL };
		struct run_result res;

		ASSERT_EQ(0, run_capture(snapset_bin(), argv, &res));
		EXPECT_EQ(125, res.status);
		EXPECT_NE(NULL, strstr(res.err, "max_records"));
	}

	pending = sysfs_counter("pending");
	EXPECT_EQ(max_records, pending);
	EXPECT_EQ(pending - 1, sysfs_counter("tombstoned"));
	/* Every pending record is listed, none of a refused set. */
	buf = list_records(&used);
	ASSERT_NE(NULL, buf);
	for (off = 0; off < used;) {
		struct snapset_event *ev = (void *)(buf + off);

		if (ev->type == SNAPSET_RECORD_PENDING)
			records++;
		else if (ev->type == SNAPSET_RECORD_LIVE)
			live++;
		if (err)
			EXPECT_NE(0,
				  memcmp(ev->set.id, refused, SNAPSET_ID_LEN));
		off += ev->size;
	}
	free(buf);
	EXPECT_EQ(pending, records);
	EXPECT_EQ(0, live);
	/* The tombstone warning is rate limited. */
	EXPECT_GE(20, kmsg_count("tombstone") - warnings);
	loop_detach(&loop);
}

/* A hundred tombstones do not make a hundred kernel log lines. */
TEST_F_TIMEOUT(reloadable, tombstone_warnings_are_rate_limited, 300)
{
	const int sets = 100;
	__u8 id[SNAPSET_ID_LEN];
	int before, i;

	/* max_records, where the module knows it, lets every set arm. */
	ASSERT_TRUE(module_reload("max_pending=1 max_records=200"));
	before = kmsg_count("tombstone");
	ASSERT_LE(0, before);
	for (i = 0; i < sets; i++)
		ASSERT_EQ(0, pending_set(id));
	EXPECT_EQ(sets - 1, sysfs_counter("tombstoned"));
	EXPECT_GE(20, kmsg_count("tombstone") - before);
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
