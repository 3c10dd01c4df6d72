// SPDX-License-Identifier: GPL-2.0
/*
 * The administrator's commands against the real module: snapset list
 * (which set holds a device), snapset delete (terminate, --all, discard a
 * pending record), snapset watch, and --version naming the loaded
 * module. The program is build/snapset from
 * the project's root, or $SNAPSET_BIN.
 */
#include <json-c/json.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "kselftest_harness.h"
#include "program.h"
#include "util.h"

static void id_text(const __u8 id[SNAPSET_ID_LEN], char out[37])
{
	const char *fmt = "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
			  "%02x%02x%02x%02x%02x%02x";

	snprintf(out, 37, fmt, id[0], id[1], id[2], id[3], id[4], id[5], id[6],
		 id[7], id[8], id[9], id[10], id[11], id[12], id[13], id[14],
		 id[15]);
}

/* The object for set @id in `snapset list --json` output, or NULL. */
static struct json_object *find_set(struct json_object *array, const char *id)
{
	for (size_t i = 0; i < json_object_array_length(array); i++) {
		struct json_object *set = json_object_array_get_idx(array, i);
		struct json_object *field;

		if (json_object_object_get_ex(set, "id", &field) &&
		    !strcmp(json_object_get_string(field), id))
			return set;
	}
	return NULL;
}

static const char *field(struct json_object *obj, const char *key)
{
	struct json_object *value;

	return json_object_object_get_ex(obj, key, &value)
		   ? json_object_get_string(value)
		   : "";
}

/* Whether `snapset list DEV` said that no set holds DEV, as it should. */
static bool held_by_none(const struct run_result *res, const char *dev)
{
	char want[128];

	snprintf(want, sizeof(want),
		 "snapset list: %s: held by no snapshot set\n", dev);
	if (res->status == 1 && !strcmp(want, res->err))
		return true;
	fprintf(stderr, "# status %d, said: %s", res->status, res->err);
	return false;
}

FIXTURE(admin)
{
	struct loopdev loop, other;
	__u8 id[SNAPSET_ID_LEN];
	char idtext[37];
	int set;
};

FIXTURE_SETUP(admin)
{
	if (access(snapset_bin(), X_OK))
		SKIP(return, "%s: not built", snapset_bin());
	if (loop_attach(&self->loop, 4 << 20) ||
	    loop_attach(&self->other, 4 << 20))
		SKIP(return, "no loop devices");
	discard_all_pending();
	self->set = set_new("nightly-root", self->id);
	ASSERT_LE(0, self->set);
	ASSERT_EQ(0, set_add_path(self->set, self->loop.path, O_RDONLY, 0));
	ASSERT_EQ(0, ioctl_err(self->set, SNAPSET_IOC_ARM, NULL));
	id_text(self->id, self->idtext);
}

FIXTURE_TEARDOWN(admin)
{
	close(self->set);
	loop_detach(&self->loop);
	loop_detach(&self->other);
	discard_all_pending();
}

TEST_F_TIMEOUT(admin, list_json_shows_the_live_set, 300)
{
	char *argv[] = { "snapset", "list", "--json", NULL };
	struct json_object *array, *set, *devices;
	struct run_result res;
	char devno[24];
	struct stat st;

	char mkfs[128];
	struct json_object *dev;

	/* Read through the set's own reference: the device is ours too. */
	snprintf(mkfs, sizeof(mkfs), "mkfs.ext4 -q -F -L snaplabel %s",
		 self->loop.path);
	ASSERT_EQ(0, system(mkfs));
	ASSERT_EQ(0, run_capture(snapset_bin(), argv, &res));
	ASSERT_EQ(0, res.status);
	array = json_tokener_parse(res.out);
	ASSERT_NE(NULL, array);
	set = find_set(array, self->idtext);
	ASSERT_NE(NULL, set);
	EXPECT_STREQ("nightly-root", field(set, "name"));
	EXPECT_STREQ("live", field(set, "event"));
	EXPECT_STREQ("true", field(set, "armed"));
	ASSERT_TRUE(json_object_object_get_ex(set, "devices", &devices));
	ASSERT_EQ(1, json_object_array_length(devices));
	ASSERT_EQ(0, stat(self->loop.path, &st));
	snprintf(devno, sizeof(devno), "%u:%u", major(st.st_rdev),
		 minor(st.st_rdev));
	dev = json_object_array_get_idx(devices, 0);
	EXPECT_STREQ(devno, field(dev, "devno"));
	EXPECT_STREQ(self->loop.path, field(dev, "node"));
	EXPECT_STREQ("loop", field(dev, "engine"));
	EXPECT_STREQ("ext4", field(dev, "type"));
	EXPECT_STREQ("snaplabel", field(dev, "label"));
	EXPECT_NE(0, strlen(field(dev, "uuid")));
	json_object_put(array);
}

TEST_F_TIMEOUT(admin, list_dev_names_the_set_that_holds_it, 300)
{
	char *held[] = { "snapset", "list", self->loop.path, NULL };
	char *free_dev[] = { "snapset", "list", self->other.path, NULL };
	struct run_result res;

	ASSERT_EQ(0, run_capture(snapset_bin(), held, &res));
	EXPECT_EQ(0, res.status);
	EXPECT_NE(NULL, strstr(res.out, self->idtext));
	EXPECT_NE(NULL, strstr(res.out, "nightly-root"));

	ASSERT_EQ(0, run_capture(snapset_bin(), free_dev, &res));
	EXPECT_TRUE(held_by_none(&res, self->other.path));
}

/* lvs-style columns for scripts: the ones asked for, in that order. */
TEST_F_TIMEOUT(admin, list_prints_the_fields_asked_for, 300)
{
	char *bare[] = { "snapset",	 "list",	  "-o", "state,id,name",
			 "--noheadings", self->loop.path, NULL };
	char *headed[] = { "snapset", "list", "--options=devices,id",
			   self->loop.path, NULL };
	struct run_result res;
	char want[128];

	ASSERT_EQ(0, run_capture(snapset_bin(), bare, &res));
	EXPECT_EQ(0, res.status);
	snprintf(want, sizeof(want), "live      %s  nightly-root\n",
		 self->idtext);
	EXPECT_STREQ(want, res.out);

	ASSERT_EQ(0, run_capture(snapset_bin(), headed, &res));
	EXPECT_EQ(0, res.status);
	snprintf(want, sizeof(want), "DEVICES  ID\n1        %s\n",
		 self->idtext);
	EXPECT_STREQ(want, res.out);
}

/*
 * A label is anyone's bytes: `snapset list` shows a control sequence in
 * one escaped, never raw to the terminal.
 */
TEST_F_TIMEOUT(admin, list_escapes_a_label_with_controls, 300)
{
	char *argv[] = { "snapset", "list", self->loop.path, NULL };
	struct run_result res;

	ASSERT_EQ(0, sh("mkfs.ext4 -q -F -L \"$(printf 'a\\033[2Jb')\" %s",
			self->loop.path));
	ASSERT_EQ(0, run_capture(snapset_bin(), argv, &res));
	EXPECT_EQ(0, res.status);
	EXPECT_EQ(NULL, strchr(res.out, '\033'));
	EXPECT_NE(NULL, strstr(res.out, "LABEL=\"a\\x1b[2Jb\""));
}

/*
 * Where udev runs, a device's filesystem is described from udev's
 * database, never by reading the device: a hung one (multipath with
 * queue_if_no_path, a loop file on a dead NFS mount) would stall the
 * daemon's loop. The guest has no udev: a database made up here, whose
 * label differs from the one on disk, shows where the description came
 * from.
 */
TEST_F_TIMEOUT(admin, list_describes_from_udev_without_reading, 300)
{
	char *argv[] = { "snapset", "list", "--json", NULL };
	struct json_object *array, *set, *devices, *dev;
	struct run_result res;
	struct stat st;
	int ret;

	if (!access("/run/udev", F_OK))
		SKIP(return, "udev runs here: its database is not ours");
	ASSERT_EQ(0, sh("mkfs.ext4 -q -F -L ondisk %s", self->loop.path));
	ASSERT_EQ(0, stat(self->loop.path, &st));
	ASSERT_EQ(0, sh("mkdir -p /run/udev/data && touch /run/udev/control && "
			"printf 'E:ID_FS_TYPE=ext4\\nE:ID_FS_LABEL_ENC="
			"from\\\\x20udev\\n' > /run/udev/data/b%u:%u",
			major(st.st_rdev), minor(st.st_rdev)));
	ret = run_capture(snapset_bin(), argv, &res);
	sh("rm -rf /run/udev");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, res.status);
	array = json_tokener_parse(res.out);
	set = find_set(array, self->idtext);
	ASSERT_NE(NULL, set);
	ASSERT_TRUE(json_object_object_get_ex(set, "devices", &devices));
	dev = json_object_array_get_idx(devices, 0);
	EXPECT_STREQ("ext4", field(dev, "type"));
	EXPECT_STREQ("from udev", field(dev, "label"));
	/* udev gave no UUID, and the device was not probed for one. */
	EXPECT_STREQ("", field(dev, "uuid"));
	json_object_put(array);
}

/*
 * A pending record of a loop device that was detached since, its number
 * taken by a new attach, is not about the device now there: `list DEV`
 * matches on the disk's identity (diskseq), not its number alone.
 */
TEST_F_TIMEOUT(admin, list_dev_skips_a_stale_record_of_its_number, 300)
{
	char *argv[] = { "snapset", "list", self->loop.path, NULL };
	char backing[64];
	struct run_result res;

	close(self->set);
	self->set = -1;
	ASSERT_EQ(1, pending_count(self->id));
	ASSERT_EQ(0, run_capture(snapset_bin(), argv, &res));
	EXPECT_EQ(0, res.status);
	EXPECT_NE(NULL, strstr(res.out, self->idtext));

	ASSERT_EQ(0, loop_detach(&self->loop));
	ASSERT_TRUE(wait_until_unbound(&self->loop));
	snprintf(backing, sizeof(backing), "/tmp/snapset-admin-%d", getpid());
	ASSERT_EQ(0, sh("truncate -s 4M %s && losetup %s %s && rm %s", backing,
			self->loop.path, backing, backing));
	ASSERT_EQ(0, run_capture(snapset_bin(), argv, &res));
	EXPECT_TRUE(held_by_none(&res, self->loop.path));
}

TEST_F_TIMEOUT(admin, delete_terminates_then_discards_the_record, 300)
{
	char *del[] = { "snapset", "delete", self->idtext, NULL };
	char *discard[] = { "snapset", "delete", "--pending", self->idtext,
			    NULL };
	struct pollfd pfd = { .fd = self->set, .events = POLLIN };
	struct run_result res;
	char want[128];

	ASSERT_EQ(0, run_capture(snapset_bin(), del, &res));
	EXPECT_EQ(0, res.status);
	ASSERT_EQ(1, poll(&pfd, 1, EVENT_TIMEOUT_MS));
	EXPECT_TRUE(pfd.revents & POLLHUP);
	EXPECT_EQ(1, pending_count(self->id));

	ASSERT_EQ(0, run_capture(snapset_bin(), del, &res));
	EXPECT_EQ(1, res.status);
	snprintf(want, sizeof(want), "snapset delete: %s: no such live set\n",
		 self->idtext);
	EXPECT_STREQ(want, res.err);

	ASSERT_EQ(0, run_capture(snapset_bin(), discard, &res));
	EXPECT_EQ(0, res.status);
	EXPECT_EQ(0, pending_count(self->id));
	ASSERT_EQ(0, run_capture(snapset_bin(), discard, &res));
	EXPECT_EQ(1, res.status);
}

TEST_F_TIMEOUT(admin, delete_all_ends_every_live_set, 300)
{
	char *argv[] = { "snapset", "delete", "--all", NULL };
	struct pollfd pfd[2] = { { .fd = self->set, .events = POLLIN },
				 { .events = POLLIN } };
	struct run_result res;

	pfd[1].fd = set_new("second", NULL);
	ASSERT_LE(0, pfd[1].fd);
	ASSERT_EQ(0, run_capture(snapset_bin(), argv, &res));
	EXPECT_EQ(0, res.status);
	EXPECT_EQ(2, poll(pfd, 2, EVENT_TIMEOUT_MS));
	EXPECT_EQ(0, sysfs_counter("sets_live"));
	close(pfd[1].fd);
}

TEST_F_TIMEOUT(admin, watch_json_prints_events_in_order, 300)
{
	char *argv[] = { "snapset", "watch", "--json", "--count", "3", NULL };
	const char *expected[] = { "created", "armed", "shutdown" };
	struct run_result res;
	char *line, *save;
	pid_t pid;
	int i = 0;

	/* The events come from a child once the watcher has subscribed. */
	long before = sysfs_counter("subscribers");

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd;

		for (int tries = 0; sysfs_counter("subscribers") == before;
		     tries++)
			if (tries == 3000)
				_exit(1);
			else
				usleep(10000);
		fd = set_new("watched", NULL);
		if (fd < 0 || ioctl(fd, SNAPSET_IOC_ARM, NULL))
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(0, run_capture(snapset_bin(), argv, &res));
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	EXPECT_EQ(0, res.status);
	for (line = strtok_r(res.out, "\n", &save); line && i < 3;
	     line = strtok_r(NULL, "\n", &save), i++) {
		struct json_object *ev = json_tokener_parse(line);

		ASSERT_NE(NULL, ev);
		EXPECT_STREQ(expected[i], field(ev, "event"));
		EXPECT_STREQ("watched", field(ev, "name"));
		json_object_put(ev);
	}
	EXPECT_EQ(3, i);
}

/*
 * --version names the loaded module and the API it answers; status,
 * with the module of the program's own build, warns of nothing.
 */
TEST(version_names_the_loaded_module)
{
	char *version[] = { "snapset", "--version", NULL };
	char *status[] = { "snapset", "status", "--socket", "/nonexistent",
			   NULL };
	char module[64] = "", want[128];
	struct run_result res;
	FILE *f = fopen("/sys/module/snapset/version", "r");

	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(module, sizeof(module), f));
	fclose(f);
	module[strcspn(module, "\n")] = '\0';
	snprintf(want, sizeof(want), "\nmodule %s (API %d)\n", module,
		 SNAPSET_API);
	ASSERT_EQ(0, run_capture(snapset_bin(), version, &res));
	EXPECT_EQ(0, res.status);
	EXPECT_TRUE(starts_with(res.out, "snapset "));
	EXPECT_NE(NULL, strstr(res.out, want))
	{
		TH_LOG("--version said: %s", res.out);
	}
	ASSERT_EQ(0, run_capture(snapset_bin(), status, &res));
	EXPECT_EQ(3, res.status);
	EXPECT_EQ(NULL, strstr(res.out, "warning:"))
	{
		TH_LOG("status said: %s", res.out);
	}
}

TEST_HARNESS_MAIN
