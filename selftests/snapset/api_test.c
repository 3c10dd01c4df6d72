// SPDX-License-Identifier: GPL-2.0
/*
 * Every operation of the UAPI and every documented errno: bad arguments,
 * wrong states, bad devices, unprivileged callers.
 */
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "util.h"

TEST(api_reports_version_and_limits)
{
	struct snapset_api api = { .size = sizeof(api), .api = SNAPSET_API };
	int fd = snapset_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl_err(fd, SNAPSET_IOC_API, &api));
	EXPECT_EQ(SNAPSET_API, api.api);
	EXPECT_EQ(SNAPSET_MAX_DEVICES, api.max_devices);
	EXPECT_LT(0, api.max_pending);
	EXPECT_TRUE(api.ioctls & (1ULL << _IOC_NR(SNAPSET_IOC_LIST)));
	EXPECT_TRUE(api.available & SNAPSET_FEATURE_COMPAT32);
	EXPECT_EQ(0, api.features);
	close(fd);
}

/* The handshake: a version or a feature the module lacks is refused. */
TEST(api_grants_what_it_has_and_refuses_the_rest)
{
	struct snapset_api api = { .size = sizeof(api),
				   .api = SNAPSET_API,
				   .features = SNAPSET_FEATURE_COMPAT32 };
	int fd = snapset_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl_err(fd, SNAPSET_IOC_API, &api));
	EXPECT_EQ(SNAPSET_FEATURE_COMPAT32, api.features);
	EXPECT_TRUE(api.available & SNAPSET_FEATURE_COMPAT32);
	EXPECT_LE(api.max_pending, api.max_records);

	api.features = 1ULL << 63;
	EXPECT_EQ(EINVAL, ioctl_err(fd, SNAPSET_IOC_API, &api));
	EXPECT_EQ(0, api.features);
	EXPECT_TRUE(api.available & SNAPSET_FEATURE_COMPAT32);

	api.features = 0;
	api.api = SNAPSET_API + 1;
	EXPECT_EQ(EINVAL, ioctl_err(fd, SNAPSET_IOC_API, &api));
	EXPECT_EQ(SNAPSET_API, api.api);
	close(fd);
}

/*
 * Size-first arguments: an older, smaller struct works (what it lacks is
 * neither read nor written), a larger one works when the tail the module
 * does not know is zero and is E2BIG otherwise, and a size below the
 * first version is EINVAL. Nothing is left behind by a refused create.
 */
/* Records give their own layout; ARM and COMPLETE take no argument. */
TEST(records_say_their_layout)
{
	struct snapset_api api = { .size = sizeof(api), .api = SNAPSET_API };
	int watcher = subscribe(0), fd, info;
	union event_buf ev;

	ASSERT_LE(0, watcher);
	fd = snapset_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl_err(fd, SNAPSET_IOC_API, &api));
	info = sizeof(struct snapset_device_info);
	EXPECT_EQ(sizeof(struct snapset_event) + SNAPSET_MAX_DEVICES * info,
		  api.max_record_size);
	close(fd);
	fd = set_new("layout", NULL);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, read_event(watcher, &ev, sizeof(ev)));
	EXPECT_EQ(SNAPSET_EVENT_CREATED, ev.ev.type);
	EXPECT_EQ(sizeof(struct snapset_event), ev.ev.header_size);
	EXPECT_LE(SNAPSET_EVENT_SIZE_VER0, ev.ev.header_size);
	EXPECT_EQ(SNAPSET_DEVICE_INFO_SIZE_VER0, ev.ev.device_size);
	EXPECT_EQ(ev.ev.header_size, ev.ev.size);
	EXPECT_EQ(EINVAL, ioctl_err(fd, SNAPSET_IOC_ARM, &api));
	EXPECT_EQ(EINVAL, ioctl_err(fd, SNAPSET_IOC_COMPLETE, &api));
	close(fd);
	close(watcher);
}

TEST(arguments_carry_their_size)
{
	struct snapset_api api = { .size = SNAPSET_API_SIZE_VER0,
				   .api = SNAPSET_API,
				   .max_records = 12345 };
	struct {
		struct snapset_create create;
		__u8 tail[8];
	} big = { .create.size = sizeof(big) };
	__u8 zero[SNAPSET_ID_LEN] = {};
	int fd = snapset_open(), other = snapset_open(), sets;

	ASSERT_LE(0, fd);
	ASSERT_LE(0, other);
	/* The first version of the struct: @max_records is not written. */
	ASSERT_EQ(0, ioctl_err(fd, SNAPSET_IOC_API, &api));
	EXPECT_EQ(SNAPSET_API, api.api);
	EXPECT_LT(0, api.max_pending);
	EXPECT_EQ(12345, api.max_records);
	api.size = SNAPSET_API_SIZE_VER0 - 8;
	EXPECT_EQ(EINVAL, ioctl_err(fd, SNAPSET_IOC_API, &api));
	api.size = 1 << 20;
	EXPECT_EQ(E2BIG, ioctl_err(fd, SNAPSET_IOC_API, &api));

	sets = list_live(fd, NULL, NULL);
	ASSERT_LE(0, sets);
	big.tail[7] = 1;
	EXPECT_EQ(E2BIG, ioctl_err(other, SNAPSET_IOC_CREATE, &big));
	EXPECT_EQ(0, memcmp(zero, big.create.id, sizeof(zero)));
	EXPECT_EQ(sets, list_live(fd, NULL, NULL));
	big.tail[7] = 0;
	ASSERT_EQ(0, ioctl_err(other, SNAPSET_IOC_CREATE, &big));
	EXPECT_NE(0, memcmp(zero, big.create.id, sizeof(zero)));
	EXPECT_EQ(1, list_live(fd, big.create.id, NULL));
	close(other);
	close(fd);
}

TEST(unknown_ioctl_is_enotty)
{
	int fd = snapset_open();

	ASSERT_LE(0, fd);
	EXPECT_EQ(ENOTTY, ioctl_err(fd, _IO(SNAPSET_IOC_TYPE, 0x7f), NULL));
	EXPECT_EQ(ENOTTY, ioctl_err(fd, _IO('x', 1), NULL));
	close(fd);
}

TEST(opening_creates_nothing)
{
	long live = sysfs_counter("sets_live");
	int fd = snapset_open();

	ASSERT_LE(0, fd);
	EXPECT_EQ(live, sysfs_counter("sets_live"));
	close(fd);
	EXPECT_EQ(live, sysfs_counter("sets_live"));
}

TEST(create_validates_name_and_flags)
{
	struct snapset_create arg = { .size = sizeof(arg) };
	int fd = snapset_open();

	ASSERT_LE(0, fd);
	arg.flags = 1;
	EXPECT_EQ(EINVAL, ioctl_err(fd, SNAPSET_IOC_CREATE, &arg));
	arg.flags = 0;
	strcpy(arg.name, "bad name");
	EXPECT_EQ(EINVAL, ioctl_err(fd, SNAPSET_IOC_CREATE, &arg));
	memset(arg.name, 'a', sizeof(arg.name));
	EXPECT_EQ(EINVAL, ioctl_err(fd, SNAPSET_IOC_CREATE, &arg));
	memset(arg.name, 0, sizeof(arg.name));
	memset(arg.name, 'a', SNAPSET_NAME_LEN - 1);
	ASSERT_EQ(0, ioctl_err(fd, SNAPSET_IOC_CREATE, &arg));
	EXPECT_EQ(EBUSY, ioctl_err(fd, SNAPSET_IOC_CREATE, &arg));
	close(fd);
}

TEST(create_returns_distinct_ids)
{
	__u8 a[SNAPSET_ID_LEN], b[SNAPSET_ID_LEN], zero[SNAPSET_ID_LEN] = {};
	int fa = set_new("nightly-root", a), fb = set_new(NULL, b);

	ASSERT_LE(0, fa);
	ASSERT_LE(0, fb);
	EXPECT_NE(0, memcmp(a, zero, sizeof(a)));
	EXPECT_NE(0, memcmp(a, b, sizeof(a)));
	close(fa);
	close(fb);
}

TEST(set_operations_need_a_set)
{
	struct snapset_add add = { .size = sizeof(add), .fd = -1 };
	struct snapset_delete del = { .size = sizeof(del),
				      .flags = SNAPSET_DELETE_ALL };
	struct snapset_abort abort = { .size = sizeof(abort) };
	struct pollfd pfd = { .events = POLLIN };
	int fd = snapset_open();
	char buf[512];

	ASSERT_LE(0, fd);
	EXPECT_EQ(EBADFD, ioctl_err(fd, SNAPSET_IOC_ADD, &add));
	EXPECT_EQ(EBADFD, ioctl_err(fd, SNAPSET_IOC_ARM, NULL));
	EXPECT_EQ(EBADFD, ioctl_err(fd, SNAPSET_IOC_COMPLETE, NULL));
	EXPECT_EQ(EBADFD, ioctl_err(fd, SNAPSET_IOC_DELETE, &del));
	EXPECT_EQ(EBADFD, ioctl_err(fd, SNAPSET_IOC_ABORT, &abort));
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EBADFD, errno);
	pfd.fd = fd;
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLERR, pfd.revents);
	close(fd);
}

TEST(subscriber_cannot_create_and_set_cannot_subscribe)
{
	struct snapset_subscribe sub = { .size = sizeof(sub) };
	struct snapset_create create = { .size = sizeof(create) };
	int watcher = subscribe(0), set = set_new(NULL, NULL);

	ASSERT_LE(0, watcher);
	ASSERT_LE(0, set);
	EXPECT_EQ(EBUSY, ioctl_err(watcher, SNAPSET_IOC_CREATE, &create));
	EXPECT_EQ(EBUSY, ioctl_err(watcher, SNAPSET_IOC_SUBSCRIBE, &sub));
	EXPECT_EQ(EBUSY, ioctl_err(set, SNAPSET_IOC_SUBSCRIBE, &sub));
	close(watcher);
	watcher = snapset_open();
	sub.flags = 2;
	EXPECT_EQ(EINVAL, ioctl_err(watcher, SNAPSET_IOC_SUBSCRIBE, &sub));
	close(watcher);
	close(set);
}

FIXTURE(device)
{
	struct loopdev loop;
	int set;
};

FIXTURE_SETUP(device)
{
	int err = loop_attach(&self->loop, 4 << 20);

	if (err)
		SKIP(return, "no loop device: %s", strerror(err));
	self->set = set_new("api", NULL);
	ASSERT_LE(0, self->set);
}

FIXTURE_TEARDOWN(device)
{
	close(self->set);
	loop_detach(&self->loop);
	discard_all_pending();
}

TEST_F(device, add_refuses_what_is_not_a_readable_block_device)
{
	struct snapset_add arg = { .size = sizeof(arg) };
	int fd;

	arg.fd = 9999;
	EXPECT_EQ(EBADF, ioctl_err(self->set, SNAPSET_IOC_ADD, &arg));
	EXPECT_EQ(ENOTBLK,
		  set_add_path(self->set, "/proc/self/status", O_RDONLY, 0));
	EXPECT_EQ(ENOTBLK, set_add_path(self->set, SNAPSET_DEV, O_RDONLY, 0));
	EXPECT_EQ(EBADF, set_add_path(self->set, self->loop.path, O_PATH, 0));
	EXPECT_EQ(EBADF, set_add_path(self->set, self->loop.path, O_WRONLY, 0));

	fd = open(self->loop.path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	arg.fd = fd;
	arg.flags = 1U << 7;
	EXPECT_EQ(EINVAL, ioctl_err(self->set, SNAPSET_IOC_ADD, &arg));
	arg.flags = 0;
	arg.reserved = 1;
	EXPECT_EQ(EINVAL, ioctl_err(self->set, SNAPSET_IOC_ADD, &arg));
	close(fd);
}

TEST_F(device, add_twice_is_eexist_even_through_another_node)
{
	char node[] = "/tmp/snapset-node-XXXXXX";
	struct stat st;

	ASSERT_EQ(0, set_add_path(self->set, self->loop.path, O_RDONLY, 0));
	EXPECT_EQ(EEXIST,
		  set_add_path(self->set, self->loop.path, O_RDONLY, 0));
	EXPECT_EQ(EEXIST, set_add_path(self->set, self->loop.path, O_RDWR,
				       SNAPSET_DEVICE_PERSISTENT));

	/* A node made with mknod in tmpfs names the same device. */
	ASSERT_EQ(0, stat(self->loop.path, &st));
	ASSERT_LE(0, mkstemp(node));
	unlink(node);
	ASSERT_EQ(0, mknod(node, S_IFBLK | 0600, st.st_rdev));
	EXPECT_EQ(EEXIST, set_add_path(self->set, node, O_RDONLY, 0));
	unlink(node);
}

/* A loop device whose file starts with an MBR holding one partition. */
static int partitioned_loop(struct loopdev *loop, char *part, size_t size)
{
	unsigned char mbr[512] = {};
	struct loop_config config = { .info.lo_flags = LO_FLAGS_PARTSCAN };
	int ctl, file, dev, err = 0;

	mbr[446 + 4] = 0x83;	  /* Linux */
	mbr[446 + 8 + 1] = 0x08;  /* first LBA 2048 */
	mbr[446 + 12 + 1] = 0x08; /* 2048 sectors */
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
	strcpy(loop->backing, "/tmp/snapset-part-XXXXXX");
	file = mkstemp(loop->backing);
	if (file < 0 || ftruncate(file, 4 << 20) ||
	    pwrite(file, mbr, sizeof(mbr), 0) != sizeof(mbr))
		return errno;
	unlink(loop->backing);
	ctl = loop_control();
	loop->index = ctl < 0 ? -1 : ioctl(ctl, LOOP_CTL_GET_FREE);
	if (loop->index < 0)
		return errno;
	close(ctl);
	snprintf(loop->path, sizeof(loop->path), "/dev/loop%d", loop->index);
	dev = open(loop->path, O_RDWR | O_CLOEXEC);
	config.fd = file;
	if (dev < 0 || ioctl(dev, LOOP_CONFIGURE, &config))
		err = errno;
	close(dev);
	close(file);
	snprintf(part, size, "%sp1", loop->path);
	for (int i = 0; !err && access(part, F_OK) && i < 100; i++)
		usleep(10000);
	return err;
}

TEST_F(device, add_refuses_a_partition)
{
	struct loopdev whole;
	char part[40];

	ASSERT_EQ(0, partitioned_loop(&whole, part, sizeof(part)));
	EXPECT_EQ(EINVAL, set_add_path(self->set, part, O_RDONLY, 0));
	EXPECT_EQ(0, set_add_path(self->set, whole.path, O_RDONLY, 0));
	close(self->set);
	self->set = snapset_open();
	loop_detach(&whole);
}

TEST_F(device, add_refuses_an_unbound_loop)
{
	struct loopdev empty;

	ASSERT_EQ(0, loop_unbound(&empty));
	EXPECT_EQ(ENOMEDIUM, set_add_path(self->set, empty.path, O_RDONLY, 0));
}

TEST_F(device, wrong_states)
{
	struct snapset_delete del = { .size = sizeof(del) };
	struct snapset_abort abort = { .size = sizeof(abort) };
	struct stat st;

	ASSERT_EQ(0, stat(self->loop.path, &st));
	EXPECT_EQ(EINVAL, ioctl_err(self->set, SNAPSET_IOC_COMPLETE, NULL));
	ASSERT_EQ(0, set_add_path(self->set, self->loop.path, O_RDONLY, 0));
	ASSERT_EQ(0, ioctl_err(self->set, SNAPSET_IOC_ARM, NULL));
	EXPECT_EQ(EALREADY, ioctl_err(self->set, SNAPSET_IOC_ARM, NULL));
	EXPECT_EQ(EBUSY, set_add_path(self->set, self->loop.path, O_RDONLY, 0));

	del.major = major(st.st_rdev) + 1;
	EXPECT_EQ(ENOENT, ioctl_err(self->set, SNAPSET_IOC_DELETE, &del));
	del.flags = SNAPSET_DELETE_ALL;
	EXPECT_EQ(EINVAL, ioctl_err(self->set, SNAPSET_IOC_DELETE, &del));
	del.major = 0;
	del.flags = 1U << 5;
	EXPECT_EQ(EINVAL, ioctl_err(self->set, SNAPSET_IOC_DELETE, &del));

	ASSERT_EQ(0, ioctl_err(self->set, SNAPSET_IOC_COMPLETE, NULL));
	EXPECT_EQ(EALREADY, ioctl_err(self->set, SNAPSET_IOC_COMPLETE, NULL));
	EXPECT_EQ(EALREADY, ioctl_err(self->set, SNAPSET_IOC_ABORT, &abort));
}

TEST_F(device, abort_validates_its_status)
{
	struct snapset_abort abort = { .size = sizeof(abort) };

	abort.flags = SNAPSET_ABORT_EXIT_STATUS | SNAPSET_ABORT_SIGNAL;
	EXPECT_EQ(EINVAL, ioctl_err(self->set, SNAPSET_IOC_ABORT, &abort));
	abort.flags = SNAPSET_ABORT_EXIT_STATUS;
	abort.exit_status = 256;
	EXPECT_EQ(EINVAL, ioctl_err(self->set, SNAPSET_IOC_ABORT, &abort));
	abort.flags = SNAPSET_ABORT_SIGNAL;
	abort.exit_status = 0;
	EXPECT_EQ(EINVAL, ioctl_err(self->set, SNAPSET_IOC_ABORT, &abort));
	abort.signal = 65;
	EXPECT_EQ(EINVAL, ioctl_err(self->set, SNAPSET_IOC_ABORT, &abort));
	abort.flags = 0;
	abort.signal = 9;
	EXPECT_EQ(EINVAL, ioctl_err(self->set, SNAPSET_IOC_ABORT, &abort));
}

TEST_F(device, abort_takes_signals_up_to_64)
{
	struct snapset_abort abort = { .size = sizeof(abort),
				       .flags = SNAPSET_ABORT_SIGNAL };
	union event_buf ev;
	__u8 id[SNAPSET_ID_LEN];
	int watcher = subscribe(0), set = set_new("rt-signal", id);

	ASSERT_LE(0, watcher);
	ASSERT_LE(0, set);
	/* 1-64 are the signals (SIGRTMAX is 64), not 1-63. */
	abort.signal = 65;
	EXPECT_EQ(EINVAL, ioctl_err(set, SNAPSET_IOC_ABORT, &abort));
	abort.signal = 0;
	EXPECT_EQ(EINVAL, ioctl_err(set, SNAPSET_IOC_ABORT, &abort));
	abort.signal = 64;
	EXPECT_EQ(0, ioctl_err(set, SNAPSET_IOC_ABORT, &abort));
	ASSERT_TRUE(wait_event_for(watcher, SNAPSET_EVENT_ABORT, id, &ev));
	EXPECT_TRUE(ev.ev.set.flags & SNAPSET_SET_SIGNAL);
	EXPECT_EQ(64, ev.ev.set.signal);
	close(set);
	close(watcher);
}

TEST_F(device, add_to_an_armed_set_is_ebusy_before_the_device_is_opened)
{
	struct loopdev empty;

	ASSERT_EQ(0, ioctl_err(self->set, SNAPSET_IOC_ARM, NULL));
	/*
	 * An unbound loop device fails the open's size check (ENOMEDIUM):
	 * the state must be checked first, without touching the device.
	 */
	ASSERT_EQ(0, loop_unbound(&empty));
	EXPECT_EQ(EBUSY, set_add_path(self->set, empty.path, O_RDONLY, 0));
}

TEST_F(device, everything_after_abort_is_eshutdown)
{
	struct snapset_abort abort = { .size = sizeof(abort),
				       .flags = SNAPSET_ABORT_SIGNAL,
				       .signal = 15 };
	struct snapset_delete del = { .size = sizeof(del),
				      .flags = SNAPSET_DELETE_ALL };
	struct pollfd pfd = { .fd = self->set, .events = POLLIN };

	ASSERT_EQ(0, set_add_path(self->set, self->loop.path, O_RDONLY, 0));
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(0, ioctl_err(self->set, SNAPSET_IOC_ABORT, &abort));
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_TRUE(pfd.revents & POLLHUP);
	EXPECT_EQ(ESHUTDOWN,
		  set_add_path(self->set, self->loop.path, O_RDONLY, 0));
	EXPECT_EQ(ESHUTDOWN, ioctl_err(self->set, SNAPSET_IOC_ARM, NULL));
	EXPECT_EQ(ESHUTDOWN, ioctl_err(self->set, SNAPSET_IOC_COMPLETE, NULL));
	EXPECT_EQ(ESHUTDOWN, ioctl_err(self->set, SNAPSET_IOC_DELETE, &del));
	EXPECT_EQ(ESHUTDOWN, ioctl_err(self->set, SNAPSET_IOC_ABORT, &abort));
}

TEST_F(device, set_is_limited_to_max_devices)
{
	struct loopdev loops[SNAPSET_MAX_DEVICES];
	int i, attached = 0;

	/* The fixture's device is the first of the set. */
	ASSERT_EQ(0, set_add_path(self->set, self->loop.path, O_RDONLY, 0));
	for (i = 1; i < SNAPSET_MAX_DEVICES; i++) {
		ASSERT_EQ(0, loop_attach(&loops[i], 1 << 20));
		attached = i;
		ASSERT_EQ(0,
			  set_add_path(self->set, loops[i].path, O_RDONLY, 0));
	}
	ASSERT_EQ(0, loop_attach(&loops[0], 1 << 20));
	EXPECT_EQ(ENOSPC, set_add_path(self->set, loops[0].path, O_RDONLY, 0));
	close(self->set);
	self->set = snapset_open();
	loop_detach(&loops[0]);
	for (i = 1; i <= attached; i++)
		loop_detach(&loops[i]);
}

static int drop_to_userns_root(void)
{
	/* Root in a new user namespace has no CAP_SYS_ADMIN here. */
	return unshare(CLONE_NEWUSER);
}

static int drop_to_nobody(void)
{
	return setgid(65534) || setuid(65534);
}

/* In a child that gave up its privilege: are the admin ioctls EPERM? */
static int admin_ioctls_refused(int fd, int (*drop)(void))
{
	struct snapset_subscribe sub = { .size = sizeof(sub) };
	struct snapset_target target = { .size = sizeof(target) };
	int status, ok = 1;
	pid_t pid = fork();

	if (pid < 0)
		return 0;
	if (pid == 0) {
		if (drop())
			_exit(2);
		ok &= ioctl_err(fd, SNAPSET_IOC_SUBSCRIBE, &sub) == EPERM;
		ok &= ioctl_err(fd, SNAPSET_IOC_TERMINATE, &target) == EPERM;
		ok &= ioctl_err(fd, SNAPSET_IOC_DISCARD, &target) == EPERM;
		ok &= ioctl_err(fd, SNAPSET_IOC_ACK, &target) == EPERM;
		_exit(ok ? 0 : 1);
	}
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

TEST(unprivileged_callers_are_refused)
{
	int fd = snapset_open();

	ASSERT_LE(0, fd);
	EXPECT_TRUE(admin_ioctls_refused(fd, drop_to_userns_root));
	EXPECT_TRUE(admin_ioctls_refused(fd, drop_to_nobody));
	close(fd);
}

/*
 * A file opened for reading may look (api, list, subscribe) but not
 * change anything: no set, no terminate, no discard, even as root.
 */
TEST(read_only_file_cannot_create_terminate_or_discard)
{
	struct snapset_create create = { .size = sizeof(create) };
	struct snapset_api api = { .size = sizeof(api), .api = SNAPSET_API };
	__u8 live_id[SNAPSET_ID_LEN], done_id[SNAPSET_ID_LEN];
	int ro = open(SNAPSET_DEV, O_RDONLY | O_CLOEXEC);
	int live, done, sets, watcher;
	size_t used = 0;
	void *buf;

	ASSERT_LE(0, ro);
	sets = list_live(ro, NULL, NULL);
	ASSERT_LE(0, sets);
	EXPECT_EQ(EBADF, ioctl_err(ro, SNAPSET_IOC_CREATE, &create));
	EXPECT_EQ(sets, list_live(ro, NULL, NULL));

	/* A live set to terminate, a pending record to discard. */
	live = set_new("ro-live", live_id);
	ASSERT_LE(0, live);
	done = armed_set(NULL, "ro-done", done_id);
	ASSERT_LE(0, done);
	close(done);
	ASSERT_EQ(1, pending_count(done_id));
	EXPECT_EQ(EBADF, terminate(ro, live_id));
	EXPECT_EQ(EBADF, discard(ro, done_id));
	EXPECT_EQ(1, list_live(ro, live_id, NULL));
	EXPECT_EQ(1, pending_count(done_id));

	EXPECT_EQ(0, ioctl_err(ro, SNAPSET_IOC_API, &api));
	buf = list_records_fd(ro, &used);
	EXPECT_TRUE(buf != NULL);
	EXPECT_LT(0, used);
	free(buf);
	/* Subscribing makes the file a reader: a file of its own. */
	watcher = open(SNAPSET_DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, watcher);
	EXPECT_EQ(0, ioctl_err(watcher, SNAPSET_IOC_SUBSCRIBE,
			       &(struct snapset_subscribe){ .size = 8 }));
	close(watcher);
	/* A write-only file could never read what it subscribed to. */
	watcher = open(SNAPSET_DEV, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, watcher);
	EXPECT_EQ(EBADF, ioctl_err(watcher, SNAPSET_IOC_SUBSCRIBE,
				   &(struct snapset_subscribe){ .size = 8 }));
	close(watcher);

	close(live);
	close(ro);
	ro = snapset_open();
	EXPECT_EQ(0, discard(ro, done_id));
	close(ro);
}

/* An unprivileged process's view of the device, opened to everyone. */
FIXTURE(open_to_all)
{
	int root_set;
	__u8 root_id[SNAPSET_ID_LEN];
};

FIXTURE_SETUP(open_to_all)
{
	/* Back to 0600 even when the harness kills the test at its timeout. */
	ASSERT_EQ(0, sh_at_exit("chmod 0600 \"$0\"", SNAPSET_DEV));
	ASSERT_EQ(0, chmod(SNAPSET_DEV, 0666));
	self->root_set = set_new("root-owned", self->root_id);
	ASSERT_LE(0, self->root_set);
}

FIXTURE_TEARDOWN(open_to_all)
{
	chmod(SNAPSET_DEV, 0600);
	close(self->root_set);
}

/* What a child saw in its own list (a report over a pipe). */
struct list_view {
	int err;		 /* where it failed: a line number, or 0 */
	__u8 id[SNAPSET_ID_LEN]; /* the set it created */
	pid_t self;		 /* its pid, as it sees it */
	int own, other;		 /* live entries of its set, of the test's */
	__u32 own_tgid, other_tgid;
};

/* Makes a set, lists, reports @view on @report and holds it until @go. */
static void create_list_and_hold(const __u8 other[SNAPSET_ID_LEN], int report,
				 int go)
{
	struct snapset_set_info info = {};
	struct list_view view = { .self = getpid() };
	int set = set_new("child", view.id), fd = snapset_open();
	char c;

	if (set < 0 || fd < 0) {
		view.err = __LINE__;
	} else {
		view.own = list_live(fd, view.id, &info);
		view.own_tgid = info.owner_tgid;
		memset(&info, 0, sizeof(info));
		view.other = list_live(fd, other, &info);
		view.other_tgid = info.owner_tgid;
	}
	if (write(report, &view, sizeof(view)) != sizeof(view))
		_exit(1);
	/* Until the test has looked too (end of file if it failed). */
	if (read(go, &c, 1) < 0)
		_exit(1);
	_exit(0);
}

static int drop_to_nobody_ids(void)
{
	return setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	       setresuid(65534, 65534, 65534);
}

TEST_F(open_to_all, unprivileged_list_shows_only_its_own_sets)
{
	struct snapset_set_info info = {};
	struct list_view view = {};
	int report[2], go[2], status;
	pid_t pid;

	ASSERT_EQ(0, pipe2(report, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(report[0]);
		close(go[1]);
		close(self->root_set);
		if (drop_to_nobody_ids())
			_exit(2);
		create_list_and_hold(self->root_id, report[1], go[0]);
	}
	close(report[1]);
	close(go[0]);
	ASSERT_EQ(sizeof(view), read(report[0], &view, sizeof(view)));
	ASSERT_EQ(0, view.err);
	/* Its own set, and not root's: another owner's is none of its. */
	EXPECT_EQ(1, view.own);
	EXPECT_EQ(0, view.other);
	/* Root sees both. */
	EXPECT_EQ(1, list_live(self->root_set, self->root_id, NULL));
	EXPECT_EQ(1, list_live(self->root_set, view.id, &info));
	EXPECT_EQ(pid, info.owner_tgid);
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(report[0]);
	close(go[1]);
}

TEST(list_pids_are_in_the_readers_pid_namespace)
{
	struct snapset_set_info info = {};
	struct list_view view = {};
	__u8 root_id[SNAPSET_ID_LEN];
	int report[2], pids[2], go[2], status, root_set;
	pid_t pid, inner;

	root_set = set_new("outside", root_id);
	ASSERT_LE(0, root_set);
	ASSERT_EQ(0, pipe2(report, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(pids, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(report[0]);
		close(pids[0]);
		close(go[1]);
		close(root_set);
		/* The next child is pid 1 of a new pid namespace. */
		if (unshare(CLONE_NEWPID))
			_exit(3);
		inner = fork();
		if (inner == 0)
			create_list_and_hold(root_id, report[1], go[0]);
		/* Its pid here, in the initial namespace. */
		if (inner < 0 ||
		    write(pids[1], &inner, sizeof(inner)) != sizeof(inner))
			_exit(2);
		if (waitpid(inner, &status, 0) != inner)
			_exit(2);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 2);
	}
	close(report[1]);
	close(pids[1]);
	close(go[0]);
	if (read(pids[0], &inner, sizeof(inner)) != sizeof(inner)) {
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
			SKIP(return, "no pid namespaces");
		ASSERT_TRUE(0);
	}
	ASSERT_EQ(sizeof(view), read(report[0], &view, sizeof(view)));
	ASSERT_EQ(0, view.err);
	ASSERT_EQ(1, view.self);
	EXPECT_EQ(1, view.own);
	EXPECT_EQ(1, view.own_tgid);
	/* The test's own set: its owner has no pid in there. */
	EXPECT_EQ(1, view.other);
	EXPECT_EQ(0, view.other_tgid);
	/* From the initial namespace, the same set has the global pid. */
	EXPECT_EQ(1, list_live(root_set, view.id, &info));
	EXPECT_EQ(inner, info.owner_tgid);
	info.owner_tgid = 0;
	EXPECT_EQ(1, list_live(root_set, root_id, &info));
	EXPECT_EQ(getpid(), info.owner_tgid);
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(report[0]);
	close(pids[0]);
	close(go[1]);
	close(root_set);
}

TEST(admin_operations_on_unknown_ids_are_enoent)
{
	struct snapset_target target = { .size = sizeof(target) };
	int fd = snapset_open();

	ASSERT_LE(0, fd);
	memset(target.id, 0xee, sizeof(target.id));
	EXPECT_EQ(ENOENT, ioctl_err(fd, SNAPSET_IOC_TERMINATE, &target));
	EXPECT_EQ(ENOENT, ioctl_err(fd, SNAPSET_IOC_DISCARD, &target));
	target.flags = 1;
	EXPECT_EQ(EINVAL, ioctl_err(fd, SNAPSET_IOC_TERMINATE, &target));
	close(fd);
}

TEST_HARNESS_MAIN
