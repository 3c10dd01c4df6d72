// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the daemon's file writer (history, metrics): the
 * file replaced with its mode, nothing planted in its directory ever
 * followed, and a directory that is not root's alone refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../userspace/daemon/daemon.h"
#include "kselftest_harness.h"

#define NOBODY 65534

FIXTURE(files)
{
	char dir[64];
	char path[96];
	char victim[96];
	struct daemon d;
};

FIXTURE_SETUP(files)
{
	FILE *f;

	if (geteuid())
		SKIP(return, "needs root (chown, a root-owned directory)");
	umask(022);
	snprintf(self->dir, sizeof(self->dir), "/tmp/snapset-files-%d",
		 getpid());
	snprintf(self->path, sizeof(self->path), "%s/out.json", self->dir);
	snprintf(self->victim, sizeof(self->victim), "%s-victim", self->dir);
	ASSERT_EQ(0, mkdir(self->dir, 0755));
	f = fopen(self->victim, "w");
	ASSERT_NE(NULL, f);
	fputs("victim\n", f);
	fclose(f);
	self->d.files_event_fd = -1;
	ASSERT_EQ(0, io_uring_queue_init(8, &self->d.ring, 0));
	ASSERT_EQ(0, files_init(&self->d));
}

FIXTURE_TEARDOWN(files)
{
	char cmd[256];

	if (geteuid())
		return;
	files_free(&self->d);
	io_uring_queue_exit(&self->d.ring);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", self->dir, self->victim);
	system(cmd);
}

/* Has @f write @text and waits for the write to end, however it did. */
static int write_job(FIXTURE_DATA(files) * self, struct file_job *f,
		     const char *text)
{
	struct pollfd pfd = { .fd = self->d.files_event_fd, .events = POLLIN };
	__u64 count;

	file_job_write(f, strdup(text));
	while (self->d.jobs) {
		if (poll(&pfd, 1, 10000) != 1)
			return -ETIMEDOUT;
		if (read(self->d.files_event_fd, &count, sizeof(count)) < 0)
			return -errno;
		files_event(&self->d, 0);
	}
	return 0;
}

/* Writes @text to @path and waits for the write to end. */
static int write_file(FIXTURE_DATA(files) * self, mode_t mode, const char *text)
{
	struct file_job *f;
	int ret = file_job_new(&self->d, self->path, mode, &f);

	return ret ? ret : write_job(self, f, text);
}

static void read_text(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(out, 1, size - 1, f) : 0;

	out[n] = '\0';
	if (f)
		fclose(f);
}

/* Only the file: no temporary name left behind. */
static int entries(const char *dir)
{
	char cmd[128], out[16];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls -A %s | wc -l", dir);
	p = popen(cmd, "r");
	out[fread(out, 1, sizeof(out) - 1, p)] = '\0';
	pclose(p);
	return atoi(out);
}

/* Written twice: the newest content whole, its mode, nothing else. */
static void replaced_with_its_mode(struct __test_metadata *_metadata,
				   FIXTURE_DATA(files) * self)
{
	struct stat st;
	char text[64];

	ASSERT_EQ(0, write_file(self, 0640, "one\n"));
	ASSERT_EQ(0, write_file(self, 0640, "two\n"));
	read_text(self->path, text, sizeof(text));
	EXPECT_STREQ("two\n", text);
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_EQ(0640, st.st_mode & 07777);
	EXPECT_EQ(1, entries(self->dir));
}

TEST_F(files, written_with_its_mode)
{
	replaced_with_its_mode(_metadata, self);
}

/* The name the writer once opened with O_CREAT|O_TRUNC, following links. */
TEST_F(files, a_link_at_the_old_temporary_name_is_not_followed)
{
	char tmp[128], text[64];

	snprintf(tmp, sizeof(tmp), "%s.tmp", self->path);
	ASSERT_EQ(0, symlink(self->victim, tmp));
	ASSERT_EQ(0, write_file(self, 0644, "metrics\n"));
	read_text(self->victim, text, sizeof(text));
	EXPECT_STREQ("victim\n", text);
	read_text(self->path, text, sizeof(text));
	EXPECT_STREQ("metrics\n", text);
}

TEST_F(files, a_link_at_the_file_is_replaced_not_followed)
{
	struct stat st;
	char text[64];

	ASSERT_EQ(0, symlink(self->victim, self->path));
	ASSERT_EQ(0, write_file(self, 0644, "metrics\n"));
	read_text(self->victim, text, sizeof(text));
	EXPECT_STREQ("victim\n", text);
	ASSERT_EQ(0, lstat(self->path, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	read_text(self->path, text, sizeof(text));
	EXPECT_STREQ("metrics\n", text);
}

TEST_F(files, a_directory_of_another_user_is_refused)
{
	char text[64];

	ASSERT_EQ(0, chown(self->dir, NOBODY, NOBODY));
	EXPECT_EQ(-EPERM, write_file(self, 0644, "metrics\n"));
	read_text(self->path, text, sizeof(text));
	EXPECT_STREQ("", text);
}

TEST_F(files, a_directory_others_may_write_is_refused)
{
	ASSERT_EQ(0, chmod(self->dir, 01777));
	EXPECT_EQ(-EPERM, write_file(self, 0644, "metrics\n"));
	ASSERT_EQ(0, chmod(self->dir, 0775));
	EXPECT_EQ(-EPERM, write_file(self, 0644, "metrics\n"));
}

/* A daemon whose start failed frees its files with a write running. */
TEST_F(files, freed_once_the_running_write_ends)
{
	struct file_job *f;
	char text[64];

	ASSERT_EQ(0, file_job_new(&self->d, self->path, 0644, &f));
	file_job_write(f, strdup("written\n"));
	files_free(&self->d);
	self->d.files_event_fd = -1;
	read_text(self->path, text, sizeof(text));
	EXPECT_STREQ("written\n", text);
}

TEST_F(files, a_missing_directory_is_named)
{
	snprintf(self->path, sizeof(self->path), "%s/no/out.json", self->dir);
	EXPECT_EQ(-ENOENT, write_file(self, 0644, "metrics\n"));
}

/*
 * Where the filesystem has no O_TMPFILE, the temporary file is created
 * by name with O_EXCL|O_NOFOLLOW: still written whole with its mode and
 * renamed over the file, nothing planted followed, nothing left behind.
 */
TEST_F(files, without_o_tmpfile_written_whole_under_a_fresh_name)
{
	self->d.files_no_tmpfile = true;
	replaced_with_its_mode(_metadata, self);
}

/* The fresh name taken by a symlink: refused, never followed. */
TEST_F(files, without_o_tmpfile_a_link_at_the_fresh_name_is_not_followed)
{
	char tmp[128], text[64];
	struct file_job *f;

	self->d.files_no_tmpfile = true;
	/* A job's first write uses ".NAME.PID.1". */
	snprintf(tmp, sizeof(tmp), "%s/.out.json.%d.1", self->dir, getpid());
	ASSERT_EQ(0, symlink(self->victim, tmp));
	ASSERT_EQ(0, file_job_new(&self->d, self->path, 0644, &f));
	ASSERT_EQ(0, write_job(self, f, "metrics\n"));
	read_text(self->victim, text, sizeof(text));
	EXPECT_STREQ("victim\n", text);
	EXPECT_EQ(-1, access(self->path, F_OK));
	/* The link is not ours to remove. */
	EXPECT_EQ(0, access(tmp, F_OK));
}

/* A write that fails once the fresh name exists removes that name. */
TEST_F(files, without_o_tmpfile_a_failed_write_leaves_no_temporary_file)
{
	char inside[128];
	struct file_job *f;

	self->d.files_no_tmpfile = true;
	/* A non-empty directory at the file's name: the rename fails. */
	ASSERT_EQ(0, mkdir(self->path, 0755));
	snprintf(inside, sizeof(inside), "%s/x", self->path);
	ASSERT_EQ(0, mkdir(inside, 0755));
	ASSERT_EQ(0, file_job_new(&self->d, self->path, 0644, &f));
	ASSERT_EQ(0, write_job(self, f, "metrics\n"));
	EXPECT_EQ(0, access(inside, F_OK));
	EXPECT_EQ(1, entries(self->dir));
}

TEST_HARNESS_MAIN
