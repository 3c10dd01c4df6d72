// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of userspace/common/device_stack.c on a fake sysfs
 * tree laid out as the kernel's: /dev/block/MAJ:MIN links to a device's
 * directory, which has "dev", "slaves/", "loop/backing_file" or, for a
 * partition, "partition" inside its disk's directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../userspace/common/device_stack.h"
#include "kselftest_harness.h"

static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/*
 * The kernel's answer for a loop device, faked: what its backing_file
 * in the fake tree names, looked up now (fake_root, the tree's root).
 */
static const char *fake_root;

static int fake_loop_backing(dev_t dev, const char *name, dev_t *fs_dev,
			     dev_t *rdev)
{
	char path[256], file[256];
	struct stat sb;
	FILE *f;

	snprintf(path, sizeof(path), "%s/dev/block/%u:%u/loop/backing_file",
		 fake_root, major(dev), minor(dev));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(file, sizeof(file), f))
		file[0] = '\0';
	fclose(f);
	file[strcspn(file, "\n")] = '\0';
	if (stat(file, &sb))
		return -errno;
	*fs_dev = sb.st_dev;
	*rdev = S_ISBLK(sb.st_mode) ? sb.st_rdev : 0;
	return 0;
}

FIXTURE(sysfs)
{
	char root[64];
	char file[96]; /* a loop device's backing file, on a real filesystem */
	dev_t file_dev;
};

FIXTURE_SETUP(sysfs)
{
	struct stat sb;
	int fd;

	strcpy(self->root, "/tmp/snapset-sysfs-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->root));
	fake_root = self->root;
	snprintf(self->file, sizeof(self->file), "%s/pv.img", self->root);
	fd = open(self->file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, stat(self->file, &sb));
	self->file_dev = sb.st_dev;
	ASSERT_EQ(0, sh("mkdir -p %s/dev/block %s/devices/virtual/block",
			self->root, self->root));
}

FIXTURE_TEARDOWN(sysfs)
{
	sh("rm -rf %s", self->root);
}

/* Device NAME at MAJ:MIN, under PARENT ("" for none: a disk). */
static int fake_dev(const char *root, const char *parent, const char *name,
		    unsigned int maj, unsigned int min)
{
	char dir[256];

	snprintf(dir, sizeof(dir), "devices/virtual/block/%s%s%s", parent,
		 parent[0] ? "/" : "", name);
	return sh("cd %s && mkdir -p %s/slaves && echo %u:%u > %s/dev && "
		  "ln -s ../../%s dev/block/%u:%u",
		  root, dir, maj, min, dir, dir, maj, min);
}

/* NAME, a device, maps SLAVE (both disks). */
static int fake_slave(const char *root, const char *name, const char *slave)
{
	return sh("ln -s ../../%s %s/devices/virtual/block/%s/slaves/%s", slave,
		  root, name, slave);
}

static int fake_loop(const char *root, const char *name, const char *file)
{
	return sh("mkdir %s/devices/virtual/block/%s/loop && echo %s > "
		  "%s/devices/virtual/block/%s/loop/backing_file",
		  root, name, file, root, name);
}

/* An LV's dm device, dm-3, over loop0 over @file. */
static int fake_lv(const char *root, const char *file)
{
	int ret = fake_dev(root, "", "dm-3", 253, 3);

	if (!ret)
		ret = fake_dev(root, "", "loop0", 7, 0);
	if (!ret)
		ret = fake_slave(root, "dm-3", "loop0");
	return ret ? ret : fake_loop(root, "loop0", file);
}

/* An LV's dm device over a loop device over a file on a filesystem. */
TEST_F(sysfs, dm_over_loop_over_a_file_is_found)
{
	char how[256];

	ASSERT_EQ(0, fake_lv(self->root, self->file));
	ASSERT_EQ(1, device_built_on(self->root, fake_loop_backing,
				     makedev(253, 3), self->file_dev, how,
				     sizeof(how)));
	EXPECT_EQ(0, strncmp(how, "dm-3 over loop0 over ", 21));
	EXPECT_STREQ(self->file, how + 21);
	/* Not on another device; and a device is not built on itself. */
	EXPECT_EQ(0, device_built_on(self->root, fake_loop_backing,
				     makedev(253, 3), makedev(8, 1), how,
				     sizeof(how)));
	EXPECT_EQ(0, device_built_on(self->root, fake_loop_backing,
				     makedev(253, 3), makedev(253, 3), how,
				     sizeof(how)));
	/* Nothing under a device sysfs does not know. */
	EXPECT_EQ(0,
		  device_built_on(self->root, fake_loop_backing, makedev(8, 0),
				  self->file_dev, how, sizeof(how)));
}

/* A partition's disk is what it is built on: loop1p1 in loop1. */
TEST_F(sysfs, a_partition_is_walked_through_its_disk)
{
	char how[256];

	ASSERT_EQ(0, fake_dev(self->root, "", "loop1", 7, 1));
	ASSERT_EQ(0, fake_dev(self->root, "loop1", "loop1p1", 259, 0));
	ASSERT_EQ(0, sh("echo 1 > %s/devices/virtual/block/loop1/loop1p1/"
			"partition",
			self->root));
	ASSERT_EQ(0, fake_loop(self->root, "loop1", self->file));
	ASSERT_EQ(1, device_built_on(self->root, fake_loop_backing,
				     makedev(259, 0), self->file_dev, how,
				     sizeof(how)));
	EXPECT_EQ(0, strncmp(how, "loop1p1 in loop1 over ", 22));
	EXPECT_STREQ(self->file, how + 22);
}

/* md over two disks, the second of them a dm device over the target. */
TEST_F(sysfs, every_slave_is_walked)
{
	char how[256];

	ASSERT_EQ(0, fake_dev(self->root, "", "md0", 9, 0));
	ASSERT_EQ(0, fake_dev(self->root, "", "sdb", 8, 16));
	ASSERT_EQ(0, fake_dev(self->root, "", "dm-1", 253, 1));
	ASSERT_EQ(0, fake_dev(self->root, "", "sda1", 8, 1));
	ASSERT_EQ(0, fake_slave(self->root, "md0", "sdb"));
	ASSERT_EQ(0, fake_slave(self->root, "md0", "dm-1"));
	ASSERT_EQ(0, fake_slave(self->root, "dm-1", "sda1"));
	ASSERT_EQ(1,
		  device_built_on(self->root, fake_loop_backing, makedev(9, 0),
				  makedev(8, 1), how, sizeof(how)));
	/* Whichever slave came first, a dead end leaves no name behind. */
	EXPECT_STREQ("md0 over dm-1 over sda1", how);
	EXPECT_EQ(0, device_built_on(self->root, fake_loop_backing,
				     makedev(253, 1), makedev(8, 16), how,
				     sizeof(how)));
}

/* dm-0 over dm-1 over ... over dm-N over sda1: found within the bound. */
static int fake_chain(const char *root, unsigned int n)
{
	char name[16], slave[16];
	int ret = fake_dev(root, "", "sda1", 8, 1);

	for (unsigned int i = 0; i <= n && !ret; i++) {
		snprintf(name, sizeof(name), "dm-%u", i);
		snprintf(slave, sizeof(slave), "dm-%u", i + 1);
		ret = fake_dev(root, "", name, 253, i);
		if (!ret)
			ret = fake_slave(root, name, i < n ? slave : "sda1");
	}
	return ret;
}

TEST_F(sysfs, the_walk_is_bounded)
{
	unsigned int n = DEVICE_STACK_DEPTH_MAX;
	char how[512];

	/* n + 1 dm devices: sda1 is n + 1 steps below dm-0. */
	ASSERT_EQ(0, fake_chain(self->root, n));
	EXPECT_EQ(1, device_built_on(self->root, fake_loop_backing,
				     makedev(253, 1), makedev(8, 1), how,
				     sizeof(how)));
	/* Its end unseen: whether it is cannot be told. */
	EXPECT_EQ(-ELOOP, device_built_on(self->root, fake_loop_backing,
					  makedev(253, 0), makedev(8, 1), how,
					  sizeof(how)));
	EXPECT_STREQ("the stack is deeper than 16 devices",
		     device_stack_strerror(-ELOOP));
	EXPECT_STREQ(strerror(ENOENT), device_stack_strerror(-ENOENT));
}

/* A cycle, which the kernel never makes, still ends. */
TEST_F(sysfs, a_cycle_ends)
{
	char how[256];

	ASSERT_EQ(0, fake_dev(self->root, "", "dm-0", 253, 0));
	ASSERT_EQ(0, fake_dev(self->root, "", "dm-1", 253, 1));
	ASSERT_EQ(0, fake_slave(self->root, "dm-0", "dm-1"));
	ASSERT_EQ(0, fake_slave(self->root, "dm-1", "dm-0"));
	EXPECT_EQ(-ELOOP, device_built_on(self->root, fake_loop_backing,
					  makedev(253, 0), makedev(8, 1), how,
					  sizeof(how)));
}

/*
 * A loop device that does not answer (here: its file is gone): whether
 * it is on the filesystem cannot be told, and the message says where.
 */
TEST_F(sysfs, a_loop_over_a_missing_file_is_unknown)
{
	char how[256];

	ASSERT_EQ(0, sh("rm %s", self->file));
	ASSERT_EQ(0, fake_lv(self->root, self->file));
	EXPECT_EQ(-ENOENT, device_built_on(self->root, fake_loop_backing,
					   makedev(253, 3), self->file_dev, how,
					   sizeof(how)));
	EXPECT_EQ(0, strncmp(how, "dm-3 over loop0 over ", 21));
	EXPECT_STREQ(self->file, how + 21);
}

/*
 * md over a loop device that does not answer and a disk that is a dead
 * end: cannot be told, and the message names the loop device, whichever
 * slave was walked last.
 */
TEST_F(sysfs, an_unknown_slave_is_the_one_named)
{
	char how[256];

	ASSERT_EQ(0, sh("rm %s", self->file));
	ASSERT_EQ(0, fake_dev(self->root, "", "md0", 9, 0));
	ASSERT_EQ(0, fake_dev(self->root, "", "loop0", 7, 0));
	ASSERT_EQ(0, fake_dev(self->root, "", "sdb", 8, 16));
	ASSERT_EQ(0, fake_loop(self->root, "loop0", self->file));
	ASSERT_EQ(0, fake_slave(self->root, "md0", "sdb"));
	ASSERT_EQ(0, fake_slave(self->root, "md0", "loop0"));
	EXPECT_EQ(-ENOENT,
		  device_built_on(self->root, fake_loop_backing, makedev(9, 0),
				  self->file_dev, how, sizeof(how)));
	EXPECT_EQ(0, strncmp(how, "md0 over loop0 over ", 20));
}

/* A loop over a block device is followed into that device. */
TEST_F(sysfs, a_loop_over_a_block_device_is_followed)
{
	char node[96], how[256];

	snprintf(node, sizeof(node), "%s/sda1", self->root);
	if (mknod(node, S_IFBLK | 0600, makedev(8, 1)) && errno == EPERM)
		SKIP(return, "mknod of a block device needs CAP_MKNOD");
	ASSERT_EQ(0, access(node, F_OK));
	ASSERT_EQ(0, fake_dev(self->root, "", "sda1", 8, 1));
	ASSERT_EQ(0, fake_lv(self->root, node));
	ASSERT_EQ(1, device_built_on(self->root, fake_loop_backing,
				     makedev(253, 3), makedev(8, 1), how,
				     sizeof(how)));
	EXPECT_STREQ("dm-3 over loop0 over sda1", how);
}

/* A message cut short, never overrun. */
TEST_F(sysfs, a_short_buffer_is_cut)
{
	char how[8];

	ASSERT_EQ(0, fake_lv(self->root, self->file));
	ASSERT_EQ(1, device_built_on(self->root, fake_loop_backing,
				     makedev(253, 3), self->file_dev, how,
				     sizeof(how)));
	EXPECT_STREQ("dm-3 ov", how);
}

TEST_HARNESS_MAIN
