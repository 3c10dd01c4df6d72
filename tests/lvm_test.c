// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of userspace/common/lvm.c that need no LVM: LV uuids
 * from dm uuids, the lvremove command line, what lvm's exit status and
 * output mean, LVs in the JSON reports lvs prints, and that lvm inherits
 * no descriptor and none of the daemon's raised open files limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../userspace/common/files_limit.h"
#include "../userspace/common/lvm.h"
#include "../userspace/common/lvm_command.h"
#include "fake_lvm.h"
#include "kselftest_harness.h"

#define VG_UUID "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

TEST(lv_uuid_from_dm_uuid)
{
	char uuid[40];

	ASSERT_EQ(0, lvm_uuid_from_dm("LVM-" VG_UUID
				      "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6",
				      uuid, sizeof(uuid)));
	EXPECT_STREQ("A1b2C3-d4E5-f6G7-h8I9-j0K1-l2M3-n4O5p6", uuid);
	/* Internal LVs carry a suffix. */
	ASSERT_EQ(0, lvm_uuid_from_dm("LVM-" VG_UUID
				      "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6-cow",
				      uuid, sizeof(uuid)));
	EXPECT_EQ(-EINVAL,
		  lvm_uuid_from_dm("CRYPT-LUKS2-xyz", uuid, sizeof(uuid)));
	EXPECT_EQ(-EINVAL, lvm_uuid_from_dm("LVM-short", uuid, sizeof(uuid)));
	EXPECT_EQ(-EINVAL, lvm_uuid_from_dm("LVM-" VG_UUID
					    "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6x",
					    uuid, sizeof(uuid)));
	EXPECT_EQ(-EINVAL, lvm_uuid_from_dm("LVM-" VG_UUID
					    "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6",
					    uuid, 20));
}

TEST(lvm_names_never_read_as_options)
{
	static const char *const good[] = { "vg0", "root_fs+.x-1" };
	static const char *const bad[] = { "",	 "-root", "--help", ".",
					   "..", "ro ot", "root$" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		EXPECT_TRUE(lvm_name_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_FALSE(lvm_name_valid(bad[i]));
}

/* What lvcreate says of sizes, and its warnings, are passed on. */
TEST(lvm_notices_are_kept)
{
	char out[256] = "";

	lvm_notices("  Reducing COW size 999.00 TiB down to maximum usable "
		    "size 20.00 MiB.\n  Logical volume \"s\" created.\n",
		    out, sizeof(out));
	lvm_notices("  WARNING: second\n  Volume group \"vg0\" not found\n",
		    out, sizeof(out));
	/* Asked for, with writes held: not news. */
	lvm_notices("  WARNING: This metadata update is NOT backed up.\n", out,
		    sizeof(out));
	EXPECT_STREQ("Reducing COW size 999.00 TiB down to maximum usable "
		     "size 20.00 MiB.\nWARNING: second\n",
		     out);
	/* What does not fit is left out whole, never cut. */
	out[0] = '\0';
	lvm_notices("WARNING: a long one\nWARNING: b\n", out, 12);
	EXPECT_STREQ("WARNING: b\n", out);
}

TEST(lvremove_selects_snapshots_only)
{
	char select[LVM_SELECT_LEN];
	const char *argv[LVM_REMOVE_ARGC];

	ASSERT_EQ(0, lvm_remove_argv("A1b2C3-d4E5-f6G7-h8I9-j0K1-l2M3n4-O5p6",
				     select, argv));
	EXPECT_STREQ("lvremove", argv[1]);
	EXPECT_STREQ("log/report_command_log=0", argv[4]);
	EXPECT_STREQ("lv_uuid=A1b2C3-d4E5-f6G7-h8I9-j0K1-l2M3n4-O5p6 && "
		     "lv_role=snapshot",
		     argv[6]);
	EXPECT_EQ(NULL, argv[7]);
}

#define UUID "A1b2C3-d4E5-f6G7-h8I9-j0K1-l2M3-n4O5p6"
/* lvs --reportformat json of lv_uuid,lv_role, as lvm 2.03.16 prints it. */
#define REPORT(rows)                                                    \
	"  {\n      \"report\": [\n          {\n              \"lv\": " \
	"[\n" rows "              ]\n          }\n      ]\n  }\n"
#define ROW(uuid, roles)                                                    \
	"                  {\"lv_uuid\":\"" uuid "\", \"lv_role\":\"" roles \
	"\"}\n"

/* What an lvs of UUID that exited 0 with @output on stdout says. */
static int lookup_ok(const char *output, struct lvm_error *err)
{
	return lvm_lookup_result(output, false, "", W_EXITCODE(0, 0), UUID,
				 err);
}

/*
 * An lvremove by uuid that removed nothing: lvs of that uuid tells
 * whether the LV is gone (no failure) or no snapshot (left alone, never
 * "gone already").
 */
TEST(lv_not_removed_is_gone_or_left_alone)
{
	struct lvm_error err;

	EXPECT_EQ(-ENOENT, lookup_ok(REPORT(""), &err));
	EXPECT_STREQ("no LV has uuid " UUID ": gone already", err.message);
	EXPECT_EQ(-ENOENT,
		  lookup_ok(REPORT(ROW("Zz9-other", "public,snapshot")), &err));
	EXPECT_EQ(
	    -ESRCH,
	    lookup_ok(REPORT(ROW(UUID, "public,origin,thickorigin")), &err));
	EXPECT_STREQ("LV with uuid " UUID " is not a snapshot: left alone",
		     err.message);
	EXPECT_EQ(-ESRCH, lookup_ok(REPORT(ROW(UUID, "public")), &err));
	EXPECT_EQ(0, lookup_ok(REPORT(ROW("Zz9-other", "public") "," ROW(
				   UUID, "snapshot,public")),
			       &err));
	/* A thin snapshot's role list: "snapshot" is a whole item. */
	EXPECT_EQ(
	    0,
	    lookup_ok(REPORT(ROW(UUID, "public,snapshot,thinsnapshot")), &err));
	EXPECT_EQ(
	    -ESRCH,
	    lookup_ok(REPORT(ROW(UUID, "public,thicksnapshot-ish")), &err));
	/* lvm 2.03.17's json_std: the list is an array. */
	EXPECT_EQ(0, lookup_ok("{\"report\":[{\"lv\":[{\"lv_uuid\":\"" UUID
			       "\",\"lv_role\":[\"public\",\"snapshot\"]}]}]}",
			       &err));
}

/*
 * The host's lvm.conf shapes lvs's reports (output_format, prefixes,
 * separator, columns_as_rows, list_item_separator): the lookup asks for
 * JSON with those settings forced, and what is no such report, or one
 * cut short, is "cannot tell", never "gone already".
 */
TEST(lv_lookup_is_independent_of_lvm_conf)
{
	static const char *const unreadable[] = {
		/* The text report, as it once was read. */
		"  " UUID " public,snapshot\n",
		/* report/prefixes=1 */
		"  LVM2_LV_UUID='" UUID "' LVM2_LV_ROLE='public,snapshot'\n",
		"",
		&REPORT(ROW(UUID, "public,snapshot"))[40],
	};
	const char *argv[LVM_LOOKUP_ARGC];
	char select[LVM_SELECT_LEN];
	struct lvm_error err;

	ASSERT_EQ(0, lvm_lookup_argv(UUID, select, argv));
	EXPECT_STREQ("lvs", argv[1]);
	/* A foreign VG (another system ID) is seen, not skipped as gone. */
	EXPECT_STREQ("--foreign", argv[2]);
	EXPECT_STREQ("--reportformat", argv[3]);
	EXPECT_STREQ("json", argv[4]);
	EXPECT_STREQ("--config", argv[5]);
	EXPECT_NE(NULL, strstr(argv[6], "report/list_item_separator=\",\""));
	EXPECT_STREQ("lv_uuid,lv_role", argv[8]);
	EXPECT_STREQ("lv_uuid=" UUID, argv[10]);
	EXPECT_EQ(NULL, argv[11]);
	EXPECT_STREQ("--foreign", lvm_list_snapset_argv[2]);
	EXPECT_STREQ("--config", lvm_list_snapset_argv[5]);

	for (size_t i = 0; i < sizeof(unreadable) / sizeof(*unreadable); i++) {
		EXPECT_EQ(-EIO, lookup_ok(unreadable[i], &err));
		EXPECT_STREQ("cannot tell whether snapshot LV " UUID " is "
			     "gone: lvs: lvm lvs printed no JSON report",
			     err.message);
	}
	/* Cut short: what fit may be whole rows, but not all of them. */
	EXPECT_EQ(-EIO, lvm_lookup_result(REPORT(""), true, "",
					  W_EXITCODE(0, 0), UUID, &err));
	EXPECT_STREQ("lvs output too long: cannot tell whether LV " UUID
		     " is gone",
		     err.message);
}

/*
 * lvs reads every VG: one it cannot read (a missing PV, a lock) fails
 * it with "not found", and may hold the LV. Its row decides; without
 * one, only an lvs that exited 0 says the LV is gone.
 */
TEST(lv_lookup_failure_is_never_gone_already)
{
	const char *vg9 = "  Volume group \"vg9\" not found\n";
	struct lvm_error err;

	EXPECT_EQ(-EIO, lvm_lookup_result(REPORT(""), false, vg9,
					  W_EXITCODE(5, 0), UUID, &err));
	EXPECT_STREQ("cannot tell whether snapshot LV " UUID " is gone: "
		     "lvs: Volume group \"vg9\" not found",
		     err.message);
	EXPECT_EQ(-EIO, lvm_lookup_result("", false, vg9, W_EXITCODE(5, 0),
					  UUID, &err));
	EXPECT_EQ(-EBUSY, lvm_lookup_result("", false,
					    "  LV vg/x in use: not "
					    "deactivating\n",
					    W_EXITCODE(5, 0), UUID, &err));
	EXPECT_EQ(-EIO, lvm_lookup_result("", false, "", SIGKILL, UUID, &err));
	EXPECT_STREQ("cannot tell whether snapshot LV " UUID " is gone: "
		     "lvs: lvm lvs was killed by SIGKILL",
		     err.message);
	EXPECT_EQ(0,
		  lvm_lookup_result(REPORT(ROW(UUID, "public,snapshot")), false,
				    vg9, W_EXITCODE(5, 0), UUID, &err));
	EXPECT_EQ(-ESRCH,
		  lvm_lookup_result(REPORT(ROW(UUID, "public,origin")), false,
				    vg9, W_EXITCODE(5, 0), UUID, &err));
	/* lvremove by selection: an empty one is no error, so never gone. */
	EXPECT_EQ(-EIO,
		  lvm_remove_failure(W_EXITCODE(5, 0), "", vg9, true, &err));
	EXPECT_STREQ("Volume group \"vg9\" not found", err.message);
}

/*
 * An lvremove of our uuid that removed our LV, then failed on a VG it
 * could not read: removed, as only ours could match. Not so for a
 * removal by tag, which may have left others.
 */
TEST(removed_despite_an_unreadable_vg_is_removed)
{
	const char *vg9 = "  Volume group \"vg9\" not found\n";
	const char *removed = "  Logical volume \"data-snapset-5b0f3c1e\" "
			      "successfully removed.\n";
	struct lvm_error err;

	EXPECT_EQ(
	    0, lvm_remove_failure(W_EXITCODE(5, 0), removed, vg9, true, &err));
	EXPECT_EQ(-EIO, lvm_remove_failure(W_EXITCODE(5, 0), removed, vg9,
					   false, &err));
}

TEST(lvm_failures_are_classified)
{
	struct lvm_error err;

	EXPECT_EQ(0, lvm_failure("lvremove", W_EXITCODE(0, 0), "", &err));
	EXPECT_EQ(-EBUSY, lvm_failure("lvremove", W_EXITCODE(5, 0),
				      "  WARNING: something\n"
				      "  Logical volume vg/snap in use.\n",
				      &err));
	/* Warnings are not the cause. */
	EXPECT_STREQ("Logical volume vg/snap in use.", err.message);
	EXPECT_EQ(-ENOENT, lvm_failure("lvs", W_EXITCODE(5, 0),
				       "  Failed to find logical volume "
				       "\"vg/x\"\n",
				       &err));
	EXPECT_EQ(-ENOENT,
		  lvm_failure("lvs", W_EXITCODE(5, 0),
			      "  Volume group \"vg\" not found\n", &err));
	/* A warning that says "not found" is not the cause. */
	EXPECT_EQ(-EIO, lvm_failure("lvremove", W_EXITCODE(5, 0),
				    "  WARNING: Device for PV xyz not found or "
				    "rejected by a filter.\n"
				    "  Cannot change VG vg while PVs are "
				    "missing.\n",
				    &err));
	EXPECT_STREQ("Cannot change VG vg while PVs are missing.", err.message);
	EXPECT_EQ(-EIO, lvm_failure("lvcreate", W_EXITCODE(5, 0), "", &err));
	EXPECT_STREQ("lvm lvcreate exited with status 5", err.message);
	EXPECT_EQ(-EIO, lvm_failure("lvremove", SIGKILL, "", &err));
	EXPECT_STREQ("lvm lvremove was killed by SIGKILL", err.message);
}

/* The name run gives a snapshot, and the origin read back from it. */
TEST(snapshot_names_round_trip)
{
	const char *id = "5b0f3c1e-8d7a-4b59-9a1f-2c6e0f7d1a33";
	char name[64], origin[64];

	ASSERT_EQ(0, lvm_snapshot_name("db-data", id, name, sizeof(name)));
	EXPECT_STREQ("db-data-snapset-5b0f3c1e", name);
	ASSERT_EQ(0, lvm_snapshot_origin(name, id, origin, sizeof(origin)));
	EXPECT_STREQ("db-data", origin);
	EXPECT_EQ(0, lvm_snapshot_origin("db-data-snapset-5B0F3C1E", id, origin,
					 sizeof(origin)));
	/* Another set's snapshot, or no snapshot of run's at all. */
	EXPECT_EQ(-EINVAL, lvm_snapshot_origin("db-data-snapset-00000000", id,
					       origin, sizeof(origin)));
	EXPECT_EQ(-EINVAL,
		  lvm_snapshot_origin("db-data", id, origin, sizeof(origin)));
	EXPECT_EQ(-EINVAL, lvm_snapshot_origin("-snapset-5b0f3c1e", id, origin,
					       sizeof(origin)));
	EXPECT_EQ(-ENAMETOOLONG, lvm_snapshot_name("db-data", id, name, 20));
}

/*
 * lvs --reportformat json as lvm2 2.03.16 prints it (lvmreport(7)): every
 * value a string, lv_tags one comma-separated string, -1 for the device
 * numbers of an inactive LV.
 */
TEST(tagged_lvs_are_parsed_untagged_skipped)
{
	const char *out =
	    "  {\n"
	    "      \"report\": [\n"
	    "          {\n"
	    "              \"lv\": [\n"
	    "                  {\"lv_uuid\":\"Aa1-uuid\", \"vg_name\":\"vg0\", "
	    "\"lv_name\":\"data-snapset-0b7e2c1d\", \"origin\":\"data\", "
	    "\"lv_kernel_major\":\"254\", \"lv_kernel_minor\":\"3\", "
	    "\"lv_tags\":\"snapset,snapset:"
	    "0b7e2c1d-5a4f-4e3b-9c8d-7f6e5d4c3b2a\"},\n"
	    "                  {\"lv_uuid\":\"Bb2-uuid\", \"vg_name\":\"vg0\", "
	    "\"lv_name\":\"cut\", \"origin\":\"data\", "
	    "\"lv_kernel_major\":\"254\", \"lv_kernel_minor\":\"4\", "
	    "\"lv_tags\":\"snapset,snapset:0b7e2c1d\"},\n"
	    "                  {\"lv_uuid\":\"Cc3-uuid\", \"vg_name\":\"vg1\", "
	    "\"lv_name\":\"other\", \"origin\":\"\", "
	    "\"lv_kernel_major\":\"254\", \"lv_kernel_minor\":\"5\", "
	    "\"lv_tags\":\"backup,snapset\"},\n"
	    "                  {\"lv_uuid\":\"Dd4-uuid\", \"vg_name\":\"vg1\", "
	    "\"lv_name\":\"home-snap\", \"origin\":\"home\", "
	    "\"lv_kernel_major\":\"-1\", \"lv_kernel_minor\":\"-1\", "
	    "\"lv_tags\":\"snapset:1c8f3d2e-6b5a-4f4c-8d9e-8a7f6e5d4c3b,"
	    "nightly\"}\n"
	    "              ]\n"
	    "          }\n"
	    "      ]\n"
	    "  }\n";
	const char *none = "  {\n      \"report\": [\n          {\n"
			   "              \"lv\": [\n              ]\n"
			   "          }\n      ]\n  }\n";
	struct snapset_lv *lvs;
	struct lvm_error err;
	size_t n;

	ASSERT_EQ(0, lv_parse_snapset(out, &lvs, &n, &err));
	ASSERT_EQ(2, n);
	EXPECT_STREQ("Aa1-uuid", lvs[0].uuid);
	EXPECT_STREQ("vg0", lvs[0].vg);
	EXPECT_STREQ("data-snapset-0b7e2c1d", lvs[0].lv);
	EXPECT_STREQ("0b7e2c1d-5a4f-4e3b-9c8d-7f6e5d4c3b2a", lvs[0].set_id);
	/* The origin and the device: a lost set's LVs are described too. */
	EXPECT_STREQ("data", lvs[0].origin);
	EXPECT_EQ(254, lvs[0].major);
	EXPECT_EQ(3, lvs[0].minor);
	EXPECT_STREQ("home-snap", lvs[1].lv);
	EXPECT_STREQ("home", lvs[1].origin);
	EXPECT_EQ(0, lvs[1].major); /* inactive */
	EXPECT_STREQ("1c8f3d2e-6b5a-4f4c-8d9e-8a7f6e5d4c3b", lvs[1].set_id);
	free(lvs);
	ASSERT_EQ(0, lv_parse_snapset(none, &lvs, &n, &err));
	EXPECT_EQ(0, n);
	EXPECT_EQ(NULL, lvs);
}

/* Output cut short, or no report at all, is refused: never "no LVs". */
TEST(what_is_no_report_is_refused)
{
	static const char *const bad[] = {
		"",
		"  {\n      \"report\": [\n          {\n              \"lv\": "
		"[\n"
		"                  {\"lv_uuid\":\"Aa1-uuid\", \"vg_n",
		"{\"report\": {}}",
		"{\"report\": [{\"vg\": []}]}",
		"  Aa1-uuid|vg0|data-snapset-0b7e2c1d|data|254|3|snapset\n",
	};
	struct snapset_lv *lvs = (struct snapset_lv *)1;
	struct lv_info info;
	struct lvm_error err;
	size_t n = 1;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.message[0] = '\0';
		EXPECT_EQ(-EIO, lv_parse_snapset(bad[i], &lvs, &n, &err));
		EXPECT_EQ(NULL, lvs);
		EXPECT_EQ(0, n);
		EXPECT_STREQ("lvm lvs printed no JSON report", err.message);
		err.message[0] = '\0';
		EXPECT_EQ(-EIO, lv_info_parse(bad[i], &info, &err));
		EXPECT_STREQ("lvm lvs printed no JSON report", err.message);
	}
}

/* lvs -o LV_INFO_FIELDS of one LV: a thick snapshot, active. */
TEST(lv_info_is_parsed)
{
	const char *out =
	    "  {\n      \"report\": [\n          {\n"
	    "              \"lv\": [\n"
	    "                  {\"lv_uuid\":\"Aa1B-uuid\", "
	    "\"origin\":\"data\", "
	    "\"segtype\":\"snapshot\", \"lv_kernel_major\":\"254\", "
	    "\"lv_kernel_minor\":\"7\"}\n"
	    "              ]\n          }\n      ]\n  }\n";
	const char *none = "{\"report\": [{\"lv\": []}]}";
	struct lv_info info;
	struct lvm_error err;

	ASSERT_EQ(0, lv_info_parse(out, &info, &err));
	EXPECT_STREQ("Aa1B-uuid", info.uuid);
	EXPECT_STREQ("data", info.origin);
	EXPECT_STREQ("snapshot", info.segtype);
	EXPECT_EQ(254, info.major);
	EXPECT_EQ(7, info.minor);
	EXPECT_EQ(-ENOENT, lv_info_parse(none, &info, &err));
	EXPECT_STREQ("", info.uuid);
}

/*
 * lvm warns of each descriptor it inherits ("File descriptor 9 (...)
 * leaked on lvm invocation"), and run passes lvm's warnings on: a
 * descriptor that is not close-on-exec, as libdevmapper's control fd or
 * one run's caller left open, never reaches lvm.
 */
TEST(lvm_inherits_no_descriptor)
{
	const char *argv[] = { "lvm", "version", NULL };
	int out = memfd_create("lvm-out", MFD_CLOEXEC);
	int err = memfd_create("lvm-err", MFD_CLOEXEC);
	int inherited = open("/dev/null", O_RDONLY), pidfd, status;
	char errors[4096];

	ASSERT_LE(0, out);
	ASSERT_LE(0, err);
	ASSERT_LE(0, inherited);
	unsetenv("LVM_SUPPRESS_FD_WARNINGS");
	pidfd = lvm_spawn(argv, out, err);
	ASSERT_LE(0, pidfd);
	ASSERT_LT(0, waitpid(-1, &status, 0));
	lvm_output(err, errors, sizeof(errors));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		SKIP(return, "no lvm here: %.200s", errors);
	EXPECT_EQ(NULL, strstr(errors, "leaked"))
	{
		TH_LOG("lvm said: %s", errors);
	}
	close(pidfd);
	close(inherited);
	close(out);
	close(err);
}

/* lvm writes its soft open files limit to the log. */
static const char files_limit_lvm[] = "#!/bin/sh\n"
				      "ulimit -Sn > \"$FAKE_LVM_LOG\"\n";

/*
 * The daemon raises its soft open files limit for its writers; lvm, like
 * any program it runs, gets the limit the daemon was started with.
 */
TEST(lvm_runs_with_the_files_limit_inherited)
{
	const char *argv[] = { "lvm", "version", NULL };
	char dir[] = "/tmp/snapset-lvm-XXXXXX", log[64], limit[32] = "";
	char out[64];
	struct lvm_error err;
	struct rlimit start;
	FILE *f;
	rlim_t got;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(log, sizeof(log), "%s/log", dir);
	if (fake_lvm(dir, files_limit_lvm, log))
		SKIP(return, "no mount namespace of our own to fake lvm in");
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &start));
	if (start.rlim_max < 2048)
		SKIP(return, "hard open files limit %llu: nothing to raise to",
			   (unsigned long long)start.rlim_max);
	start.rlim_cur = 1000;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &start));
	ASSERT_EQ(0, files_limit_raise(2048, &got));
	ASSERT_EQ(2048, got);
	ASSERT_EQ(0, lvm_run(argv, out, sizeof(out), &err));
	f = fopen(log, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(limit, sizeof(limit), f));
	fclose(f);
	EXPECT_STREQ("1000\n", limit);
	fake_lvm_remove(dir, log);
}

/* lvm writes to a memfd: read from its start, whatever its offset. */
TEST(output_is_read_whole_or_reported_cut)
{
	int fd = memfd_create("lvm-test", MFD_CLOEXEC);
	char buf[8];

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, lvm_output(fd, buf, sizeof(buf)));
	EXPECT_STREQ("", buf);
	ASSERT_EQ(7, write(fd, "  vg0 \n", 7));
	EXPECT_EQ(7, lvm_output(fd, buf, sizeof(buf)));
	EXPECT_STREQ("  vg0 \n", buf);
	ASSERT_EQ(1, write(fd, "x", 1));
	EXPECT_EQ(-E2BIG, lvm_output(fd, buf, sizeof(buf)));
	EXPECT_STREQ("  vg0 \n", buf);
	close(fd);
	EXPECT_EQ(-EBADF, lvm_output(fd, buf, sizeof(buf)));
	EXPECT_STREQ("", buf);
}

/*
 * An lvm whose every command fails on an unreadable VG, vg9; lvs
 * reports the row in $FAKE_LVS_ROW, if any (the LV is in a VG it read),
 * and lvremove removes it when $FAKE_LVREMOVE_REMOVES is set.
 */
static const char vg9_lvm[] =
    "#!/bin/sh\n"
    "echo \"$*\" >> \"$FAKE_LVM_LOG\"\n"
    "[ \"$1\" = lvs ] && echo "
    "\"{\\\"report\\\":[{\\\"lv\\\":[$FAKE_LVS_ROW]}]}\"\n"
    "[ \"$1\" = lvremove ] && [ -n \"$FAKE_LVREMOVE_REMOVES\" ] &&\n"
    "  echo '  Logical volume \"vg0/s\" successfully removed.'\n"
    "echo '  Volume group \"vg9\" not found' >&2\n"
    "exit 5\n";

TEST(lv_lookup_by_a_failing_lvs)
{
	char dir[] = "/tmp/snapset-lvm-XXXXXX", log[64];
	struct lvm_error err;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(log, sizeof(log), "%s/log", dir);
	if (fake_lvm(dir, vg9_lvm, log))
		SKIP(return, "no mount namespace of our own to fake lvm in");
	unsetenv("FAKE_LVS_ROW");
	unsetenv("FAKE_LVREMOVE_REMOVES");
	EXPECT_EQ(-EIO, lv_lookup(UUID, &err));
	EXPECT_STREQ("cannot tell whether snapshot LV " UUID " is gone: "
		     "lvs: Volume group \"vg9\" not found",
		     err.message);
	EXPECT_EQ(-EIO, lv_remove_by_uuid(UUID, &err));
	setenv("FAKE_LVS_ROW", ROW(UUID, "public"), 1);
	EXPECT_EQ(-ESRCH, lv_lookup(UUID, &err));
	setenv("FAKE_LVS_ROW", ROW(UUID, "public,snapshot"), 1);
	EXPECT_EQ(0, lv_lookup(UUID, &err));
	/* The lvremove after it fails on vg9 too: not gone either. */
	EXPECT_EQ(-EIO, lv_remove_by_uuid(UUID, &err));
	EXPECT_EQ(-EIO, lv_remove_tagged("5b0f3c1e-8d7a-4b59-9a1f-2c6e0f7d1a33",
					 &err));
	/* Unless it says it removed ours. */
	setenv("FAKE_LVREMOVE_REMOVES", "1", 1);
	EXPECT_EQ(0, lv_remove_by_uuid(UUID, &err));
	fake_lvm_remove(dir, log);
}

/*
 * An lvm whose lvremove skips the VG of the LV lvs still shows (one it
 * could not lock), and exits 0 all the same.
 */
static const char skipping_lvm[] =
    "#!/bin/sh\n"
    "echo \"$*\" >> \"$FAKE_LVM_LOG\"\n"
    "[ \"$1\" = lvs ] && echo "
    "\"{\\\"report\\\":[{\\\"lv\\\":[$FAKE_LVS_ROW]}]}\"\n"
    "exit 0\n";

TEST(lvremove_that_skipped_the_lv_is_no_removal)
{
	char dir[] = "/tmp/snapset-lvm-XXXXXX", log[64];
	struct lvm_error err;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(log, sizeof(log), "%s/log", dir);
	if (fake_lvm(dir, skipping_lvm, log))
		SKIP(return, "no mount namespace of our own to fake lvm in");
	setenv("FAKE_LVS_ROW", ROW(UUID, "public,snapshot"), 1);
	EXPECT_EQ(-EIO, lv_remove_by_uuid(UUID, &err));
	EXPECT_STREQ("lvremove exited 0, but snapshot LV " UUID
		     " is still there",
		     err.message);
	unsetenv("FAKE_LVS_ROW");
	fake_lvm_remove(dir, log);
}

/*
 * lvcreate that succeeds, having killed its keeper first with
 * $FAKE_KILL_KEEPER; "done" in the log once it exits.
 */
static const char lvcreate_lvm[] =
    "#!/bin/sh\n"
    "echo \"$*\" >> \"$FAKE_LVM_LOG\"\n"
    "[ -n \"$FAKE_KILL_KEEPER\" ] && kill -KILL $PPID && sleep 0.3\n"
    "echo done >> \"$FAKE_LVM_LOG\"\n";

static bool log_says(const char *log, const char *what)
{
	char text[1024] = "";
	FILE *f = fopen(log, "r");
	size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;

	if (f)
		fclose(f);
	text[n] = '\0';
	return strstr(text, what);
}

/*
 * lv_snapshot_create() waits for lvm, and for lvm alone when its keeper
 * was killed: not for the caller's other children (a helper its shell
 * started before exec), which would make it wait as long as they live.
 */
TEST(snapshot_create_waits_for_lvm_alone)
{
	struct lv_snapshot snapshot = {
		.vg = "vg0",
		.origin = "data",
		.name = "data-snapset-5b0f3c1e",
		.size = "1G",
		.set_uuid = "5b0f3c1e-8d7a-4b59-9a1f-2c6e0f7d1a33",
	};
	char dir[] = "/tmp/snapset-lvm-XXXXXX", log[64], notices[256];
	struct timespec start, end;
	struct lvm_error err;
	int set_fd, status;
	pid_t helper;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(log, sizeof(log), "%s/log", dir);
	if (fake_lvm(dir, lvcreate_lvm, log))
		SKIP(return, "no mount namespace of our own to fake lvm in");
	unsetenv("FAKE_KILL_KEEPER");
	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
	set_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, set_fd);
	helper = fork();
	if (helper == 0) {
		sleep(3);
		_exit(0);
	}
	ASSERT_LT(0, helper);
	clock_gettime(CLOCK_MONOTONIC, &start);
	EXPECT_EQ(0, lv_snapshot_create(&snapshot, set_fd, &err, notices,
					sizeof(notices)));
	clock_gettime(CLOCK_MONOTONIC, &end);
	EXPECT_GT(2, end.tv_sec - start.tv_sec);
	EXPECT_EQ(0, waitpid(helper, &status, WNOHANG));
	/* Its keeper killed: lvm comes back, is waited for, and said so. */
	setenv("FAKE_KILL_KEEPER", "1", 1);
	unlink(log);
	EXPECT_EQ(-EIO, lv_snapshot_create(&snapshot, set_fd, &err, notices,
					   sizeof(notices)));
	EXPECT_STREQ("the process waiting for lvm lvcreate was killed by "
		     "SIGKILL (lvm lvcreate was waited for)",
		     err.message);
	EXPECT_TRUE(log_says(log, "done"));
	EXPECT_FALSE(log_says(log, "backup"));
	EXPECT_EQ(0, waitpid(helper, &status, WNOHANG));
	/* For a frozen origin: nothing written under /etc/lvm. */
	snapshot.no_backup = true;
	unsetenv("FAKE_KILL_KEEPER");
	EXPECT_EQ(0, lv_snapshot_create(&snapshot, set_fd, &err, notices,
					sizeof(notices)));
	EXPECT_TRUE(
	    log_says(log, "--config backup { backup = 0 archive = 0 }"));
	kill(helper, SIGKILL);
	waitpid(helper, &status, 0);
	close(set_fd);
	fake_lvm_remove(dir, log);
}

TEST_HARNESS_MAIN
