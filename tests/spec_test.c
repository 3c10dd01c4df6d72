// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of device specs resolved with libblkid, on filesystem
 * images: a unique LABEL or UUID, none, and two images with the same
 * LABEL and UUID, as a snapshot has its origin's, which must be refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../userspace/common/spec.h"
#include "kselftest_harness.h"

#define TWIN_UUID "7d0c1e4a-2b3c-4d5e-8f90-a1b2c3d4e5f6"

FIXTURE(images)
{
	char dir[64];
	char *nodes[3];
};

static int make_image(const char *path, const char *mkfs_args)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "truncate -s 8M %s && mkfs.ext4 -q -F %s %s >/dev/null 2>&1",
		 path, mkfs_args, path);
	return system(cmd);
}

FIXTURE_SETUP(images)
{
	strcpy(self->dir, "/tmp/snapset-spec-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	for (int i = 0; i < 3; i++)
		ASSERT_LT(0,
			  asprintf(&self->nodes[i], "%s/img%d", self->dir, i));
	if (system("command -v mkfs.ext4 >/dev/null"))
		SKIP(return, "no mkfs.ext4");
	ASSERT_EQ(0, make_image(self->nodes[0], "-L origin -U " TWIN_UUID));
	/* A copy of the origin, as a snapshot is one. */
	ASSERT_EQ(0, make_image(self->nodes[1], "-L origin -U " TWIN_UUID));
	ASSERT_EQ(0, make_image(self->nodes[2], "-L other"));
}

FIXTURE_TEARDOWN(images)
{
	for (int i = 0; i < 3; i++) {
		unlink(self->nodes[i]);
		free(self->nodes[i]);
	}
	rmdir(self->dir);
}

TEST_F(images, unique_label_resolves)
{
	struct spec_matches m;

	ASSERT_EQ(0, spec_find("LABEL=other", self->nodes, 3, &m));
	EXPECT_EQ(1, m.count);
	EXPECT_STREQ(self->nodes[2], m.path[0]);
}

TEST_F(images, ambiguous_label_is_refused_naming_both)
{
	struct spec_matches m;

	EXPECT_EQ(-ENOTUNIQ, spec_find("LABEL=origin", self->nodes, 3, &m));
	EXPECT_EQ(2, m.count);
	EXPECT_STREQ(self->nodes[0], m.path[0]);
	EXPECT_STREQ(self->nodes[1], m.path[1]);
	EXPECT_EQ(-ENOTUNIQ, spec_find("UUID=" TWIN_UUID, self->nodes, 3, &m));
}

TEST_F(images, uuid_resolves_once_the_twin_is_gone)
{
	struct spec_matches m;

	ASSERT_EQ(0, spec_find("UUID=" TWIN_UUID, self->nodes + 1, 2, &m));
	EXPECT_STREQ(self->nodes[1], m.path[0]);
	/* UUIDs match in either case; labels do not. */
	ASSERT_EQ(0, spec_find("UUID=7D0C1E4A-2B3C-4D5E-8F90-A1B2C3D4E5F6",
			       self->nodes + 1, 2, &m));
	EXPECT_EQ(-ENOENT, spec_find("LABEL=OTHER", self->nodes, 3, &m));
}

TEST_F(images, no_match_is_enoent)
{
	struct spec_matches m;

	EXPECT_EQ(-ENOENT, spec_find("LABEL=none", self->nodes, 3, &m));
	EXPECT_EQ(0, m.count);
	EXPECT_EQ(-ENOENT,
		  spec_find("UUID=00000000-0000-0000-0000-000000000000",
			    self->nodes, 3, &m));
	/* An image without a partition table has no PARTUUID. */
	EXPECT_EQ(-ENOENT,
		  spec_find("PARTUUID=" TWIN_UUID, self->nodes, 3, &m));
}

TEST_F(images, unreadable_nodes_are_skipped)
{
	char *nodes[] = { "/nonexistent/img", self->nodes[2] };
	struct spec_matches m;

	ASSERT_EQ(0, spec_find("LABEL=other", nodes, 2, &m));
	EXPECT_STREQ(self->nodes[2], m.path[0]);
}

TEST(tags_and_paths)
{
	struct spec_matches m;

	EXPECT_TRUE(spec_is_tag("UUID=x"));
	EXPECT_TRUE(spec_is_tag("LABEL=x"));
	EXPECT_TRUE(spec_is_tag("PARTUUID=x"));
	EXPECT_FALSE(spec_is_tag("/dev/sda1"));
	EXPECT_FALSE(spec_is_tag("uuid=x"));
	EXPECT_FALSE(spec_is_tag("PARTLABEL=x"));
	EXPECT_EQ(-EINVAL, spec_find("/dev/sda1", NULL, 0, &m));
	EXPECT_EQ(-EINVAL, spec_find("LABEL=", NULL, 0, &m));
}

TEST_HARNESS_MAIN
