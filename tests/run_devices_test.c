// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of snapset run's device checks that need no module:
 * what is never opened (a FIFO would block run, a character device may
 * act when opened), and the messages that name a device and its cause.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../userspace/snapset/run.h"
#include "../userspace/snapset/sandbox.h"
#include "fake_lvm.h"
#include "kselftest_harness.h"

static void sh_rm(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "%s: not removed\n", dir);
}

/* devices_resolve() of one --snapshot @spec; its -errno. */
static int resolve(const char *spec, struct run_state *st,
		   struct run_options *opts)
{
	int ret;

	memset(opts, 0, sizeof(*opts));
	memset(st, 0, sizeof(*st));
	opts->devices[0].spec = spec;
	opts->ndevices = 1;
	st->opts = opts;
	st->set_fd = -1;
	ret = devices_resolve(st);
	devices_close(st);
	return ret;
}

/* Opening a FIFO for reading waits for a writer: run would hang (the
 * harness times the test out). */
TEST(fifo_is_refused_unopened)
{
	char path[sizeof("/tmp/snapset-fifo-XXXXXX/f")] =
	    "/tmp/snapset-fifo-XXXXXX";
	struct run_options opts;
	struct run_state st;

	ASSERT_NE(NULL, mkdtemp(path));
	strcat(path, "/f");
	ASSERT_EQ(0, mkfifo(path, 0600));
	EXPECT_EQ(-ENOTBLK, resolve(path, &st, &opts));
	EXPECT_NE(NULL, strstr(st.error, "/f: not a block device"));
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
}

/* Checked before any open: inotify sees no IN_OPEN. */
TEST(regular_file_is_never_opened)
{
	char path[] = "/tmp/snapset-file-XXXXXX";
	struct run_options opts;
	struct run_state st;
	struct inotify_event ev;
	int fd = mkstemp(path), in;

	ASSERT_LE(0, fd);
	close(fd);
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	ASSERT_LE(0, in);
	ASSERT_LE(0, inotify_add_watch(in, path, IN_OPEN));
	EXPECT_EQ(-ENOTBLK, resolve(path, &st, &opts));
	EXPECT_EQ(-1, read(in, &ev, sizeof(ev)));
	EXPECT_EQ(EAGAIN, errno);
	close(in);
	unlink(path);
}

/* Two names swapped over and over until @stop. */
struct swapper {
	char a[64], b[64];
	atomic_bool stop;
};

static void *swap_names(void *arg)
{
	struct swapper *sw = arg;

	while (!atomic_load(&sw->stop))
		renameat2(AT_FDCWD, sw->a, AT_FDCWD, sw->b, RENAME_EXCHANGE);
	return NULL;
}

/*
 * The spec's path names a block device and a FIFO in turn while run
 * checks it: the node checked is the node opened, so the FIFO is never
 * opened. A path checked with stat() and then opened by name had the
 * FIFO opened now and then.
 */
TEST(spec_swapped_while_checked_opens_no_fifo)
{
	char dir[] = "/tmp/snapset-swap-XXXXXX";
	struct swapper sw = { .stop = false };
	struct run_options opts;
	struct run_state st;
	struct inotify_event ev;
	pthread_t thread;
	int in;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(sw.a, sizeof(sw.a), "%s/dev", dir);
	snprintf(sw.b, sizeof(sw.b), "%s/fifo", dir);
	/* A block device number of the local/experimental range: no disk. */
	if (mknod(sw.a, S_IFBLK | 0600, makedev(240, 0))) {
		sh_rm(dir);
		SKIP(return, "mknod: %s", strerror(errno));
	}
	ASSERT_EQ(0, mkfifo(sw.b, 0600));
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	ASSERT_LE(0, in);
	ASSERT_LE(0, inotify_add_watch(in, sw.b, IN_OPEN));
	ASSERT_EQ(0, pthread_create(&thread, NULL, swap_names, &sw));
	for (int i = 0; i < 20000; i++)
		EXPECT_NE(0, resolve(sw.a, &st, &opts));
	atomic_store(&sw.stop, true);
	pthread_join(thread, NULL);
	EXPECT_EQ(-1, read(in, &ev, sizeof(ev)));
	EXPECT_EQ(EAGAIN, errno);
	close(in);
	sh_rm(dir);
}

TEST(character_device_is_refused)
{
	struct run_options opts;
	struct run_state st;

	EXPECT_EQ(-ENOTBLK, resolve("/dev/null", &st, &opts));
	EXPECT_STREQ("/dev/null: not a block device", st.error);
}

TEST(missing_path_is_named)
{
	struct run_options opts;
	struct run_state st;

	EXPECT_EQ(-ENOENT, resolve("/dev/snapset-none", &st, &opts));
	EXPECT_STREQ("/dev/snapset-none: No such file or directory", st.error);
}

/* --mount's DIR: a symlink anywhere in it is refused, not followed. */
TEST(mount_dir_follows_no_symlink)
{
	char dir[] = "/tmp/snapset-dir-XXXXXX", path[64];
	int fd;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/real", dir);
	ASSERT_EQ(0, mkdir(path, 0700));
	fd = sandbox_dir_open(path);
	EXPECT_LE(0, fd);
	close(fd);
	snprintf(path, sizeof(path), "%s/link", dir);
	ASSERT_EQ(0, symlink("real", path));
	EXPECT_EQ(-ELOOP, sandbox_dir_open(path));
	EXPECT_STREQ("has a symlink in its path (--mount follows none)",
		     mount_dir_error(-ELOOP));
	snprintf(path, sizeof(path), "%s/link/.", dir);
	EXPECT_EQ(-ELOOP, sandbox_dir_open(path));
	snprintf(path, sizeof(path), "%s/missing", dir);
	EXPECT_EQ(-ENOENT, sandbox_dir_open(path));
	EXPECT_STREQ("no such directory", mount_dir_error(-ENOENT));
	EXPECT_EQ(-ENOTDIR, sandbox_dir_open("/etc/passwd"));
	sh_rm(dir);
}

/* Under cron's PATH, COMMAND still finds `snapset complete`. */
TEST(command_path_reaches_run_s_program)
{
	static const struct {
		const char *path, *want;
	} cases[] = {
		{ "/usr/bin:/bin", "/usr/bin:/bin:/usr/sbin" },
		{ "/usr/sbin:/bin", "/usr/sbin:/bin" },
		{ "/bin:/usr/sbin", "/bin:/usr/sbin" },
		/* Not fooled by a directory that only starts the same. */
		{ "/usr/sbin2", "/usr/sbin2:/usr/sbin" },
		{ NULL, "/bin:/usr/bin:/usr/sbin" },
		{ "", "/usr/sbin" },
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(0, sandbox_path(cases[i].path, "/usr/sbin/snapset",
					  out, sizeof(out)));
		EXPECT_STREQ(cases[i].want, out);
	}
	EXPECT_EQ(-ENAMETOOLONG,
		  sandbox_path("/usr/bin:/bin", "/usr/sbin/snapset", out, 10));
}

/* A set an administrator ended is said so, not "transport endpoint". */
TEST(deleted_set_is_explained)
{
	EXPECT_STREQ("ended by an administrator (snapset delete)",
		     run_set_error(-ESHUTDOWN));
	EXPECT_STREQ(strerror(EIO), run_set_error(-EIO));
}

/*
 * lvm logs its arguments and acts as $FAKE_LVM says: lvs reports no LV
 * (the uuid asked for is gone); lvremove succeeds, or fails with lvm's
 * words when FAKE_LVM is "fail".
 */
static const char fake_lvm_script[] =
    "#!/bin/sh\n"
    "echo \"$*\" >> \"$FAKE_LVM_LOG\"\n"
    "[ \"$1\" = lvs ] && echo '{\"report\": [{\"lv\": []}]}'\n"
    "if [ \"$1\" = lvremove ] && [ \"$FAKE_LVM\" = fail ]; then\n"
    "  echo '  Volume group \"vg0\" not found' >&2; exit 5\n"
    "fi\n";

/* lvm_remove_created(), what it printed on stderr in @out. */
static void remove_created(struct run_state *st, char *out, size_t size)
{
	int saved = dup(STDERR_FILENO), mem = memfd_create("stderr", 0);
	ssize_t n;

	fflush(stderr);
	dup2(mem, STDERR_FILENO);
	lvm_remove_created(st);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(mem, out, size - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(mem);
}

FIXTURE(created)
{
	char dir[32], log[64];
	struct run_options opts;
	struct run_state st;
	char err[1024];
};

FIXTURE_SETUP(created)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/snapset-lvm-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->log, sizeof(self->log), "%s/log", self->dir);
	if (fake_lvm(self->dir, fake_lvm_script, self->log))
		SKIP(return, "no mount namespace of our own to fake lvm in");
	memset(&self->opts, 0, sizeof(self->opts));
	memset(&self->st, 0, sizeof(self->st));
	self->st.opts = &self->opts;
	self->st.set_fd = -1;
	snprintf(self->st.id_text, sizeof(self->st.id_text),
		 "0b7e2c1d-5a4f-4e3b-9c8d-7f6e5d4c3b2a");
	self->st.devs[0] = (struct run_dev){
		.label = "vg0/data-snapset-0b7e2c1d",
		.fd = -1,
		.created = true,
		.created_uuid = "A1b2C3-d4E5-f6G7-h8I9-j0K1-l2M3-n4O5p6",
	};
	self->st.ndevs = 1;
}

FIXTURE_TEARDOWN(created)
{
	fake_lvm_remove(self->dir, self->log);
}

static bool logged(FIXTURE_DATA(created) * self, const char *line)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "grep -qxF '%s' %s", line, self->log);
	return !system(cmd);
}

/* Removed by someone else meanwhile: nothing is left, nothing said. */
TEST_F(created, lv_gone_already_is_no_failure)
{
	remove_created(&self->st, self->err, sizeof(self->err));
	EXPECT_STREQ("", self->err);
	EXPECT_TRUE(logged(
	    self,
	    "lvs --foreign --reportformat json --config " LVM_REPORT_CONFIG
	    " -o lv_uuid,lv_role --select "
	    "lv_uuid=A1b2C3-d4E5-f6G7-h8I9-j0K1-l2M3-"
	    "n4O5p6"));
}

/*
 * lvcreate ran but lvs never showed its LV (no uuid): the LVs tagged
 * for the set are removed; when that fails, the tag and lvm's cause are
 * named.
 */
TEST_F(created, lv_of_unknown_uuid_is_removed_by_its_tag)
{
	self->st.devs[0].created = false;
	self->st.lvm_untracked = true;
	remove_created(&self->st, self->err, sizeof(self->err));
	EXPECT_STREQ("", self->err);
	EXPECT_TRUE(logged(self,
			   "lvremove -y --config log/report_command_log=0 "
			   "--select lv_tags=snapset:0b7e2c1d-5a4f-"
			   "4e3b-9c8d-7f6e5d4c3b2a && lv_role=snapshot"));

	setenv("FAKE_LVM", "fail", 1);
	remove_created(&self->st, self->err, sizeof(self->err));
	EXPECT_STREQ("snapset run: snapshot LVs tagged snapset:0b7e2c1d-5a4f-"
		     "4e3b-9c8d-7f6e5d4c3b2a, if lvcreate made any: left "
		     "behind: Volume group \"vg0\" not found\n",
		     self->err);
}

/* A known LV that cannot be removed: named, with lvm's cause. */
TEST_F(created, lv_left_behind_is_named_with_its_cause)
{
	static const char script[] =
	    "#!/bin/sh\n"
	    "echo \"$*\" >> \"$FAKE_LVM_LOG\"\n"
	    "if [ \"$1\" = lvs ]; then\n"
	    "  echo '{\"report\": [{\"lv\": [{\"lv_uuid\": "
	    "\"A1b2C3-d4E5-f6G7-h8I9-j0K1-l2M3-n4O5p6\", \"lv_role\": "
	    "\"public,snapshot,thicksnapshot\"}]}]}'; exit 0\n"
	    "fi\n"
	    "echo '  Logical volume vg0/data-snapset-0b7e2c1d is used by "
	    "another device.' >&2; exit 5\n";
	char path[96];
	FILE *f;

	snprintf(path, sizeof(path), "%s/lvm", self->dir);
	f = fopen(path, "w");
	ASSERT_NE(NULL, f);
	fputs(script, f);
	ASSERT_EQ(0, fclose(f));
	remove_created(&self->st, self->err, sizeof(self->err));
	EXPECT_STREQ("snapset run: vg0/data-snapset-0b7e2c1d: left behind "
		     "(tagged snapset:0b7e2c1d-5a4f-4e3b-9c8d-7f6e5d4c3b2a): "
		     "Logical volume vg0/data-snapset-0b7e2c1d is used by "
		     "another device.\n",
		     self->err);
}

TEST_HARNESS_MAIN
