// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of what writers' matches see of a lost set: its LVs
 * described by reconciliation carry their origin, so that --match
 * LV=VG/ORIGIN (what --match /dev/VG/ORIGIN becomes without a
 * filesystem) fires for the failure case too.
 */
#include <json-c/json.h>

#include "../userspace/common/lvm.h"
#include "../userspace/daemon/daemon.h"
#include "kselftest_harness.h"

TEST(lost_lv_matches_its_origin)
{
	struct snapset_lv lv = {
		.uuid = "Aa1-uuid",
		.vg = "vg0",
		.lv = "pgdata-snapset-0b7e2c1d",
		.origin = "pgdata",
		.set_id = "0b7e2c1d-5a4f-4e3b-9c8d-7f6e5d4c3b2a",
	};
	struct json_object *dev = lost_lv_describe(&lv);

	EXPECT_TRUE(device_matches(dev, "LV=vg0/pgdata"));
	EXPECT_TRUE(device_matches(dev, "LV=vg0/pgdata-snapset-0b7e2c1d"));
	EXPECT_FALSE(device_matches(dev, "LV=vg0/other"));
	EXPECT_FALSE(device_matches(dev, "LV=vg1/pgdata"));
	json_object_put(dev);
}

/* Inactive, or no snapshot: described by VG/LV alone, never by a guess. */
TEST(lost_lv_without_origin_matches_itself_only)
{
	struct snapset_lv lv = { .vg = "vg0", .lv = "plain" };
	struct json_object *dev = lost_lv_describe(&lv);

	EXPECT_TRUE(device_matches(dev, "LV=vg0/plain"));
	EXPECT_FALSE(json_object_object_get_ex(dev, "origin", NULL));
	json_object_put(dev);
}

TEST_HARNESS_MAIN
