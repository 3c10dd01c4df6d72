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
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define DEV_PATH "/dev/snapset"
#define MISC_MAJOR 10U

static int delete_module(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK);
}

static int load_module(const char *path)
{
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret;
}

static bool module_loaded(void)
{
	return access("/sys/module/snapset", F_OK) == 0;
}

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

	ASSERT_EQ(0, load_module(ko));
	EXPECT_EQ(0, access(DEV_PATH, F_OK));
}

TEST_HARNESS_MAIN
