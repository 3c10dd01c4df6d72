// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the one rule the daemon and snapset cleanup share:
 * which device of a record is removed, and by which LV uuid.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../userspace/common/module.h"
#include "kselftest_harness.h"

#define LVM_DM_UUID \
	"LVM-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"

static struct snapset_device_info device(const char *dm_uuid, __u32 flags)
{
	struct snapset_device_info dev = { .major = 253, .flags = flags };

	strncpy(dev.dm_uuid, dm_uuid, sizeof(dev.dm_uuid) - 1);
	return dev;
}

TEST(auto_release_lv_goes_by_its_uuid)
{
	struct snapset_device_info dev = device(LVM_DM_UUID, 0);
	char uuid[LV_UUID_LEN];

	ASSERT_EQ(0, record_device_lv_uuid(&dev, uuid));
	EXPECT_STREQ("A1b2C3-d4E5-f6G7-h8I9-j0K1-l2M3-n4O5p6", uuid);
}

TEST(persistent_lv_stays)
{
	struct snapset_device_info dev =
	    device(LVM_DM_UUID, SNAPSET_DEVICE_PERSISTENT);
	char uuid[LV_UUID_LEN];

	EXPECT_EQ(-ENOENT, record_device_lv_uuid(&dev, uuid));
}

/* Loop devices and plain dm go with their engine, not by lvremove. */
TEST(device_other_than_lvm_stays)
{
	struct snapset_device_info loop = device("", 0),
				   crypt = device("CRYPT-LUKS2-0a1b-root", 0);
	char uuid[LV_UUID_LEN];

	EXPECT_EQ(-ENOENT, record_device_lv_uuid(&loop, uuid));
	EXPECT_EQ(-ENOENT, record_device_lv_uuid(&crypt, uuid));
}

/*
 * A record is not trusted: a dm uuid that fills its field without a NUL,
 * the last bytes of the buffer, is read no further than the LV uuid in
 * it (here the page after the record is unreadable).
 */
TEST(dm_uuid_without_its_nul_is_read_within_its_field)
{
	long page = sysconf(_SC_PAGESIZE);
	char *pages = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct snapset_device_info *dev;
	char uuid[LV_UUID_LEN];

	ASSERT_NE(MAP_FAILED, pages);
	ASSERT_EQ(0, mprotect(pages + page, page, PROT_NONE));
	dev = (void *)(pages + page - sizeof(*dev));
	*dev = device(LVM_DM_UUID, 0);
	memset(dev->dm_uuid + strlen(LVM_DM_UUID), '-',
	       sizeof(dev->dm_uuid) - strlen(LVM_DM_UUID));
	ASSERT_EQ(0, record_device_lv_uuid(dev, uuid));
	EXPECT_STREQ("A1b2C3-d4E5-f6G7-h8I9-j0K1-l2M3-n4O5p6", uuid);
	munmap(pages, 2 * page);
}

TEST_HARNESS_MAIN
