// SPDX-License-Identifier: GPL-2.0
/*
 * snapset run's input: bad specs leave nothing behind (no set, no record,
 * no device held, no autoclear or deferred remove armed), and what proves
 * a device-mapper device a snapshot.
 */
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "dm_util.h"
#include "requester.h"

/* Bad input: a clear error, status 125, and nothing left anywhere. */
FIXTURE(bad_input)
{
	struct loopdev a, b;
	long sets_live, pending;
};

FIXTURE_SETUP(bad_input)
{
	if (access(snapset_bin(), X_OK))
		SKIP(return, "%s: not built", snapset_bin());
	discard_all_pending();
	if (loop_attach(&self->a, 8 << 20) || loop_attach(&self->b, 8 << 20))
		SKIP(return, "no loop devices");
	ASSERT_EQ(0, sh("mkfs.ext4 -q -L snapset-twin -U "
			"0b0e7c6d-5a7e-4b8e-9d61-0123456789ab %s && "
			"dd if=%s of=%s bs=1M status=none",
			self->a.path, self->a.path, self->b.path));
	self->sets_live = sysfs_counter("sets_live");
	self->pending = sysfs_counter("pending");
}

FIXTURE_TEARDOWN(bad_input)
{
	loop_detach(&self->a);
	loop_detach(&self->b);
}

static void expect_nothing_left(struct __test_metadata *_metadata,
				FIXTURE_DATA(bad_input) * self,
				const struct run_result *res, const char *why)
{
	EXPECT_EQ(125, res->status);
	EXPECT_NE(NULL, strstr(res->err, why));
	/* One line: no warning about a missing daemon before it. */
	EXPECT_EQ(strchr(res->err, '\n'), res->err + strlen(res->err) - 1)
	{
		TH_LOG("%s", res->err);
	}
	EXPECT_EQ(self->sets_live, sysfs_counter("sets_live"));
	EXPECT_EQ(self->pending, sysfs_counter("pending"));
	/* Not held and no autoclear armed: detaching works at once. */
	EXPECT_TRUE(loop_bound(&self->a));
	EXPECT_TRUE(loop_bound(&self->b));
	EXPECT_FALSE(loop_autoclear(&self->a));
	EXPECT_FALSE(loop_autoclear(&self->b));
}

TEST_F_TIMEOUT(bad_input, regular_file, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--snapshot", "/etc/passwd", "--",
				 "true", NULL));
	expect_nothing_left(_metadata, self, &res,
			    "/etc/passwd: not a block device");
}

TEST_F_TIMEOUT(bad_input, missing_path, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--snapshot", "/dev/nonexistent", "--",
				 "true", NULL));
	expect_nothing_left(_metadata, self, &res,
			    "/dev/nonexistent: No such file or directory");
}

TEST_F_TIMEOUT(bad_input, unmatched_uuid, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--snapshot",
				 "UUID=00000000-0000-0000-0000-000000000000",
				 "--", "true", NULL));
	expect_nothing_left(_metadata, self, &res, "no device has it");
}

/* A copy of a filesystem has its UUID, as a snapshot has its origin's. */
TEST_F_TIMEOUT(bad_input, ambiguous_uuid, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--snapshot",
				 "UUID=0b0e7c6d-5a7e-4b8e-9d61-0123456789ab",
				 "--", "true", NULL));
	expect_nothing_left(_metadata, self, &res, "2 devices match");
	EXPECT_NE(NULL, strstr(res.err, self->a.path));
	EXPECT_NE(NULL, strstr(res.err, self->b.path));
}

TEST_F_TIMEOUT(bad_input, same_device_twice, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0,
		  snapset_run(&res, "--snapshot", self->a.path, "--persistent",
			      self->a.path, "--", "true", NULL));
	expect_nothing_left(_metadata, self, &res, "the same device as");
}

/* The good specs before a typo are opened, but nothing is armed. */
TEST_F_TIMEOUT(bad_input, typo_in_the_last_spec, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->a.path, "--snapshot",
				 self->b.path, "--snapshot", "/dev/lop0", "--",
				 "true", NULL));
	expect_nothing_left(_metadata, self, &res, "/dev/lop0:");
}

TEST_F_TIMEOUT(bad_input, mount_of_a_device_not_in_the_set, RUN_TIMEOUT)
{
	char spec[64];
	struct run_result res;

	snprintf(spec, sizeof(spec), "%s=/tmp", self->b.path);
	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->a.path, "--mount",
				 spec, "--", "true", NULL));
	expect_nothing_left(_metadata, self, &res, "not a device of this set");
}

TEST_F_TIMEOUT(bad_input, mount_on_a_missing_directory, RUN_TIMEOUT)
{
	char spec[96];
	struct run_result res;

	snprintf(spec, sizeof(spec), "%s=/tmp/snapset-none-%d", self->a.path,
		 getpid());
	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->a.path, "--mount",
				 spec, "--", "true", NULL));
	expect_nothing_left(_metadata, self, &res, ": no such directory");
}

/* Whoever can write a component of DIR must not redirect the mount. */
TEST_F_TIMEOUT(bad_input, mount_through_a_symlink, RUN_TIMEOUT)
{
	char link[64], spec[96];
	struct run_result res;

	snprintf(link, sizeof(link), "/tmp/snapset-link-%d", getpid());
	ASSERT_EQ(0, symlink("/tmp", link));
	snprintf(spec, sizeof(spec), "%s=%s", self->a.path, link);
	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->a.path, "--mount",
				 spec, "--", "true", NULL));
	unlink(link);
	expect_nothing_left(_metadata, self, &res,
			    ": has a symlink in its path");
}

/* Released at the end, it would vanish from under whoever uses it. */
TEST_F_TIMEOUT(bad_input, mounted_device_is_refused, RUN_TIMEOUT)
{
	char dir[64];
	struct run_result res;

	/* A space, which mountinfo shows as \040: named as it is. */
	snprintf(dir, sizeof(dir), "/tmp/snapset used-%d", getpid());
	ASSERT_EQ(0,
		  sh("modprobe -q ext4; mkdir -p '%s' && mount -o ro %s '%s'",
		     dir, self->a.path, dir));
	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->a.path, "--", "true",
				 NULL));
	sh("umount '%s'; rmdir '%s'", dir, dir);
	expect_nothing_left(_metadata, self, &res,
			    ": mounted on /tmp/snapset used-");
}

TEST_F_TIMEOUT(bad_input, exclusively_opened_device_is_refused, RUN_TIMEOUT)
{
	int fd = open(self->a.path, O_RDONLY | O_EXCL | O_CLOEXEC);
	struct run_result res;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->a.path, "--", "true",
				 NULL));
	close(fd);
	expect_nothing_left(_metadata, self, &res,
			    ": in use (opened exclusively by another program)");
}

/* Another set's device is that set's to release, whatever the flags. */
TEST_F_TIMEOUT(bad_input, device_of_another_live_set, RUN_TIMEOUT)
{
	char ready[64], *argv[] = { (char *)snapset_bin(),
				    "run",
				    "--persistent",
				    self->a.path,
				    "--",
				    "sh",
				    "-c",
				    "touch \"$READY\" && exec sleep 1000",
				    NULL };
	struct run_result res, res2;
	pid_t pid;

	snprintf(ready, sizeof(ready), "/tmp/snapset-ready-%d", getpid());
	unlink(ready);
	setenv("READY", ready, 1);
	pid = spawn(argv, -1);
	ASSERT_LT(0, pid);
	ASSERT_TRUE(wait_for_file(ready));
	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->a.path, "--", "true",
				 NULL));
	ASSERT_EQ(0, snapset_run(&res2, "--persistent", self->a.path, "--",
				 "true", NULL));
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	unlink(ready);
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, ": already in set "));
	EXPECT_EQ(125, res2.status);
	EXPECT_NE(NULL, strstr(res2.err, ": already in set "));
	EXPECT_FALSE(loop_autoclear(&self->a));
}

TEST_F_TIMEOUT(bad_input, no_command_is_a_usage_error, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->a.path, NULL));
	EXPECT_EQ(2, res.status);
	EXPECT_NE(NULL, strstr(res.err, "COMMAND: missing"));
	EXPECT_EQ(self->sets_live, sysfs_counter("sets_live"));
	EXPECT_TRUE(loop_bound(&self->a));
}

TEST_F_TIMEOUT(bad_input, require_daemon_without_one, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0, sysfs_counter("agent"));
	ASSERT_EQ(0, snapset_run(&res, "--require-daemon", "--snapshot",
				 self->a.path, "--", "true", NULL));
	expect_nothing_left(_metadata, self, &res,
			    "no snapset daemon is running (--require-daemon)");
}

/* PARTUUID= finds a partition, which no set holds: said so, plainly. */
TEST_F_TIMEOUT(bad_input, partition_by_partuuid, RUN_TIMEOUT)
{
	char line[128];
	struct run_result res;

	if (sh("command -v sfdisk >/dev/null"))
		SKIP(return, "no sfdisk");
	ASSERT_EQ(0, sh("truncate -s 8M /tmp/snapset-gpt && printf 'label: "
			"gpt\\nsize=4M, uuid=%s\\n' | sfdisk -q "
			"/tmp/snapset-gpt",
			"3c1e9a52-7d4b-4f0e-a6c8-5b2d9e1f0a77"));
	ASSERT_EQ(0, sh_line(line, sizeof(line),
			     "losetup -P -f --show /tmp/snapset-gpt"));
	ASSERT_EQ(0,
		  snapset_run(&res, "--persistent",
			      "PARTUUID=3c1e9a52-7d4b-4f0e-a6c8-5b2d9e1f0a77",
			      "--", "true", NULL));
	sh("losetup -d %s; rm -f /tmp/snapset-gpt", line);
	expect_nothing_left(_metadata, self, &res, "p1 is a partition");
}

/*
 * Plain device-mapper: a dm snapshot target is proven a snapshot and is
 * removed at its last close (deferred remove); a linear one needs --force.
 */
FIXTURE(dm)
{
	struct loopdev origin, cow;
	char snap[32], linear[32];
	char snap_path[32], linear_path[32];
	long sets_live;
};

FIXTURE_SETUP(dm)
{
	if (access(snapset_bin(), X_OK))
		SKIP(return, "%s: not built", snapset_bin());
	if (lvm_prepare())
		SKIP(return, "no device-mapper");
	if (loop_attach(&self->origin, 8 << 20) ||
	    loop_attach(&self->cow, 4 << 20))
		SKIP(return, "no loop devices");
	snprintf(self->snap, sizeof(self->snap), "snapset-snap-%d", getpid());
	snprintf(self->linear, sizeof(self->linear), "snapset-lin-%d",
		 getpid());
	ASSERT_EQ(0, sh("dmsetup create %s --table '0 16384 snapshot %s %s N "
			"8' && dmsetup create %s --table '0 8192 linear %s 0'",
			self->snap, self->origin.path, self->cow.path,
			self->linear, self->cow.path));
	ASSERT_EQ(
	    0, dm_path(self->snap, self->snap_path, sizeof(self->snap_path)));
	ASSERT_EQ(0, dm_path(self->linear, self->linear_path,
			     sizeof(self->linear_path)));
	self->sets_live = sysfs_counter("sets_live");
	discard_all_pending();
}

FIXTURE_TEARDOWN(dm)
{
	sh("dmsetup remove %s >/dev/null 2>&1; dmsetup remove %s >/dev/null "
	   "2>&1",
	   self->snap, self->linear);
	loop_detach(&self->origin);
	loop_detach(&self->cow);
	discard_all_pending();
}

TEST_F_TIMEOUT(dm, snapshot_target_is_removed_after_the_set, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->snap_path, "--",
				 "true", NULL));
	EXPECT_EQ(0, res.status);
	EXPECT_TRUE(wait_dm_gone(self->snap));
	EXPECT_TRUE(dm_exists(self->linear));
}

TEST_F_TIMEOUT(dm, linear_target_needs_force, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->linear_path, "--",
				 "true", NULL));
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, "has a linear table"));
	EXPECT_EQ(self->sets_live, sysfs_counter("sets_live"));
	EXPECT_TRUE(dm_exists(self->linear));
	/* Asked for, it is released like a snapshot. */
	ASSERT_EQ(0, snapset_run(&res, "--force", "--snapshot",
				 self->linear_path, "--", "true", NULL));
	EXPECT_EQ(0, res.status);
	EXPECT_TRUE(wait_dm_gone(self->linear));
}

/* The loop device under a dm table must not be set to autoclear. */
TEST_F_TIMEOUT(dm, device_held_by_dm_is_refused, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->origin.path, "--",
				 "true", NULL));
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, ": held by dm-"));
	EXPECT_NE(NULL, strstr(res.err, self->snap));
	EXPECT_EQ(self->sets_live, sysfs_counter("sets_live"));
	EXPECT_FALSE(loop_autoclear(&self->origin));
}

/* A plain dm thin device may be an origin: only --force releases it. */
TEST_F_TIMEOUT(dm, thin_target_needs_force, RUN_TIMEOUT)
{
	char pool[32], thin[32], thin_path[32], dev[32];
	struct loopdev meta, data;
	struct run_result res;

	if (loop_attach(&meta, 4 << 20) || loop_attach(&data, 8 << 20))
		SKIP(return, "no loop devices");
	snprintf(pool, sizeof(pool), "snapset-pool-%d", getpid());
	snprintf(thin, sizeof(thin), "snapset-thin-%d", getpid());
	ASSERT_EQ(0, sh("dmsetup create %s --table '0 16384 thin-pool %s %s "
			"128 0' && dmsetup message %s 0 'create_thin 0'",
			pool, meta.path, data.path, pool));
	ASSERT_EQ(0, dm_path(pool, dev, sizeof(dev)));
	ASSERT_EQ(
	    0, sh("dmsetup create %s --table '0 16384 thin %s 0'", thin, dev));
	ASSERT_EQ(0, dm_path(thin, thin_path, sizeof(thin_path)));
	ASSERT_EQ(
	    0, snapset_run(&res, "--snapshot", thin_path, "--", "true", NULL));
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, "is thin: a snapshot or an origin"));
	EXPECT_EQ(self->sets_live, sysfs_counter("sets_live"));
	EXPECT_TRUE(dm_exists(thin));
	sh("dmsetup remove %s; dmsetup remove %s", thin, pool);
	loop_detach(&meta);
	loop_detach(&data);
}

/* Scheduled for removal already: holding it would only delay that. */
TEST_F_TIMEOUT(dm, device_already_deferred_is_refused, RUN_TIMEOUT)
{
	int fd = open(self->snap_path, O_RDONLY | O_CLOEXEC);
	struct run_result res;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sh("dmsetup remove --deferred %s", self->snap));
	ASSERT_EQ(0, snapset_run(&res, "--snapshot", self->snap_path, "--",
				 "true", NULL));
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, "already scheduled for removal"));
	EXPECT_EQ(self->sets_live, sysfs_counter("sets_live"));
	close(fd);
	EXPECT_TRUE(wait_dm_gone(self->snap));
}

/* A typo after a good dm spec: its deferred remove is never armed. */
TEST_F_TIMEOUT(dm, typo_arms_no_deferred_remove, RUN_TIMEOUT)
{
	struct run_result res;

	ASSERT_EQ(0,
		  snapset_run(&res, "--snapshot", self->snap_path, "--snapshot",
			      "/dev/dm-typo", "--", "true", NULL));
	EXPECT_EQ(125, res.status);
	EXPECT_EQ(0, sh("dmsetup info %s | grep -q '^State: *ACTIVE$' && "
			"! dmsetup info %s | grep -qi deferred",
			self->snap, self->snap));
}

TEST_HARNESS_MAIN
