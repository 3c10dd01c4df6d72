// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of userspace/common/device.c: LVM device-mapper names
 * split into VG and LV, descriptions made from udev's database (a fake
 * one here), values cut on characters, identities matched, and what
 * descriptions become on the writer protocol and on a terminal.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../userspace/common/device.h"
#include "../userspace/lib/protocol.h"
#include "kselftest_harness.h"

/* 65 "é": 130 bytes, longer than a description's 127-byte label. */
static void long_label(char *out)
{
	out[0] = '\0';
	for (int i = 0; i < 65; i++)
		strcat(out, "\xc3\xa9");
}

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
	ASSERT_EQ(0, split("a----b-c--", vg, lv));
	EXPECT_STREQ("a--b", vg);
	EXPECT_STREQ("c-", lv);
}

TEST(malformed_lvm_names_are_refused)
{
	char vg[64], lv[64];

	EXPECT_EQ(-EINVAL, split("nodash", vg, lv));
	EXPECT_EQ(-EINVAL, split("only--doubled", vg, lv));
	EXPECT_EQ(-EINVAL, split("-lv", vg, lv));
	EXPECT_EQ(-EINVAL, split("vg-", vg, lv));
	EXPECT_EQ(-EINVAL, split("vg-l-v", vg, lv));
	EXPECT_EQ(-EINVAL, split("vg-lv-", vg, lv));
	EXPECT_EQ(-EINVAL, split("vg--", vg, lv));
	EXPECT_EQ(-EINVAL, split("-", vg, lv));
	EXPECT_EQ(-EINVAL, split("", vg, lv));
	EXPECT_EQ(-EINVAL,
		  lvm_split_dm_name("vg-abcdefgh", vg, sizeof(vg), lv, 4));
}

TEST(missing_device_is_enoent)
{
	struct device_desc desc;

	/* Major 0 is never a block device. */
	EXPECT_EQ(-ENOENT, device_describe(0, 12345, 1, &desc));
}

FIXTURE(udev)
{
	char dir[64];
};

FIXTURE_SETUP(udev)
{
	char path[96];

	strcpy(self->dir, "/tmp/snapset-udev-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(path, sizeof(path), "%s/data", self->dir);
	ASSERT_EQ(0, mkdir(path, 0700));
}

FIXTURE_TEARDOWN(udev)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	EXPECT_EQ(0, system(cmd));
}

static int write_db(const char *dir, const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/data/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* udev's encoded values are decoded; its "safe" mangled ones ignored. */
TEST_F(udev, ids_come_from_the_database)
{
	struct device_ids ids;

	ASSERT_EQ(0, write_db(self->dir, "b7:3",
			      "S:disk/by-uuid/0a1b\n"
			      "E:ID_FS_TYPE=ext4\n"
			      "E:ID_FS_UUID=0a1b-2c3d\n"
			      "E:ID_FS_UUID_ENC=0a1b-2c3d\n"
			      "E:ID_FS_LABEL=my_data\n"
			      "E:ID_FS_LABEL_ENC=my\\x20data\\x2fcaf\\xe9\n"
			      "E:ID_PART_ENTRY_UUID=3c1e\n"));
	ASSERT_EQ(0, device_udev_ids(self->dir, 7, 3, &ids));
	EXPECT_STREQ("ext4", ids.type);
	EXPECT_STREQ("0a1b-2c3d", ids.uuid);
	EXPECT_STREQ("my data/caf\xe9", ids.label);
	EXPECT_STREQ("3c1e", ids.partuuid);
	EXPECT_EQ(-ENOENT, device_udev_ids(self->dir, 7, 4, &ids));
	EXPECT_STREQ("", ids.type);
}

/* A label longer than the field is cut between characters. */
TEST_F(udev, long_label_is_cut_on_a_character)
{
	char label[160], line[200];
	struct device_ids ids;

	long_label(label);
	snprintf(line, sizeof(line), "E:ID_FS_LABEL_ENC=%s\n", label);
	ASSERT_EQ(0, write_db(self->dir, "b7:5", line));
	ASSERT_EQ(0, device_udev_ids(self->dir, 7, 5, &ids));
	EXPECT_EQ(126, strlen(ids.label));
	EXPECT_EQ(0, strncmp(label, ids.label, 126));
}

/* A sysfs value (a loop device's backing file) is cut on a character. */
TEST(sysfs_value_is_cut_on_a_character)
{
	char path[] = "/tmp/snapset-sysfs-XXXXXX", label[160], out[128];
	int fd = mkstemp(path);

	ASSERT_LE(0, fd);
	long_label(label);
	ASSERT_EQ(130, write(fd, label, 130));
	close(fd);
	ASSERT_EQ(0, sysfs_read(path, out, sizeof(out)));
	unlink(path);
	EXPECT_EQ(126, strlen(out));
}

/* The event's label as a writer parses it; "" when it is refused. */
static void parsed_label(const char *label, char *out, size_t size)
{
	struct json_object *devices = json_object_new_array(), *dev, *value;
	struct json_object *set = json_object_new_object();
	struct device_desc desc = { .engine = "loop" };
	struct proto_msg msg;
	char *text, why[256];

	snprintf(desc.label, sizeof(desc.label), "%s", label);
	dev = json_object_new_object();
	device_desc_to_json(&desc, dev);
	json_object_array_add(devices, dev);
	json_object_object_add(
	    set, "id",
	    json_object_new_string("12345678-9abc-def0-0123-456789abcdef"));
	text = proto_event(1, PROTO_KIND_SHUTDOWN, set, devices);
	out[0] = '\0';
	if (!proto_parse(text, strlen(text), PROTO_FROM_DAEMON, &msg, why,
			 sizeof(why))) {
		json_object_object_get_ex(msg.obj, "devices", &devices);
		if (json_object_object_get_ex(
			json_object_array_get_idx(devices, 0), "label", &value))
			snprintf(out, size, "%s",
				 json_object_get_string(value));
		proto_msg_free(&msg);
	}
	free(text);
}

/*
 * A Latin-1 label, or one cut inside a character, goes to writers as
 * valid UTF-8 (the odd bytes as U+FFFD) instead of silencing them.
 */
TEST(odd_labels_reach_writers_as_utf8)
{
	char out[512];

	parsed_label("caf\xe9", out, sizeof(out));
	EXPECT_STREQ("caf\xef\xbf\xbd", out);
	parsed_label("\xc3\xa9t\xc3", out, sizeof(out));
	EXPECT_STREQ("\xc3\xa9t\xef\xbf\xbd", out);
	parsed_label("caf\xc3\xa9", out, sizeof(out));
	EXPECT_STREQ("caf\xc3\xa9", out);
}

/*
 * A recorded device is the disk with its number only if the diskseq is
 * the same too: a stale record for an earlier loop attach is not it.
 */
TEST(recorded_device_is_matched_by_identity)
{
	struct snapset_device_info d = { .major = 7,
					 .minor = 3,
					 .diskseq = 17 };

	EXPECT_TRUE(device_info_is(&d, 7, 3, 17));
	EXPECT_FALSE(device_info_is(&d, 7, 3, 18));
	EXPECT_FALSE(device_info_is(&d, 7, 4, 17));
	/* A kernel without diskseq on either side: the number decides. */
	EXPECT_TRUE(device_info_is(&d, 7, 3, 0));
	d.diskseq = 0;
	EXPECT_TRUE(device_info_is(&d, 7, 3, 18));
	EXPECT_EQ(0, device_diskseq(0, 12345));
}

/* `snapset list` shows a device's strings escaped, never raw. */
TEST(description_printed_escaped)
{
	struct device_desc desc = { .node = "/dev/loop0",
				    .type = "ext4",
				    .label = "\x1b[2Jcaf\xc3\xa9\"",
				    .engine = "loop",
				    .backing = "/img/a\nb\xe9" };
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	ASSERT_NE(NULL, out);
	device_desc_print(out, &desc);
	fclose(out);
	EXPECT_STREQ(" /dev/loop0 TYPE=ext4 LABEL=\"\\x1b[2Jcaf\xc3\xa9\\x22\" "
		     "loop=/img/a\\x0ab\\xe9",
		     text);
	free(text);
}

TEST_HARNESS_MAIN
