// SPDX-License-Identifier: GPL-2.0
/*
 * Files the daemon keeps (history, metrics), replaced atomically: an
 * unnamed O_TMPFILE in the file's directory, written, fsynced, linked
 * under a fresh name and renamed over the old file, each a ring
 * operation. Nothing is opened by path, so a symlink planted in the
 * directory is never followed; and the directory must be root's alone,
 * so nobody else can swap the file under us (node_exporter's textfile
 * directory is often writable by its own user). Where the filesystem
 * has no O_TMPFILE, the fresh name is created with O_EXCL|O_NOFOLLOW.
 *
 * Opening, fsync and rename always go to an io-wq worker, and on 6.1 a
 * task's last worker never exits: so each write runs in a short-lived
 * thread with a ring of its own, whose workers end with it. The loop
 * learns that a write ended from an eventfd it reads through its own
 * ring. A frozen or hung filesystem stalls that thread alone, never the
 * loop, the releases or the writers. Content that arrives meanwhile
 * waits, and only the newest is written next. A failed write removes
 * its temporary name and is reported once until one works again.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"

struct file_job {
	struct daemon *d;
	struct file_job *next_job; /* all of the daemon's files */
	char path[256];
	const char *name; /* in path: the last component */
	int dir_fd;
	mode_t mode;
	unsigned int writes; /* makes each temporary name fresh */
	char tmp[NAME_MAX + 1];
	pthread_t thread;
	bool running;
	atomic_bool finished;
	int error;  /* of the last write, set by its thread */
	char *data; /* being written */
	char *next; /* newer content, written after this */
	bool reported;
};

static struct op files_op = { OP_FILE, NULL };

/* One ring operation, waited for: its result. */
static int ring_do(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	int ret = io_uring_submit_and_wait(ring, 1);

	if (ret >= 0)
		ret = io_uring_wait_cqe(ring, &cqe);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

static int write_all(struct io_uring *ring, int fd, const char *data)
{
	size_t len = strlen(data), done = 0;
	int ret;

	while (done < len) {
		io_uring_prep_write(io_uring_get_sqe(ring), fd, data + done,
				    len - done, done);
		ret = ring_do(ring);
		if (ret <= 0)
			return ret ?: -EIO;
		done += ret;
	}
	io_uring_prep_fsync(io_uring_get_sqe(ring), fd, 0);
	return ring_do(ring);
}

/*
 * The temporary file, open in @f's directory: unnamed (O_TMPFILE), or
 * where the filesystem has none, created as f->tmp (@named).
 */
static int open_tmp(struct io_uring *ring, struct file_job *f, bool *named)
{
	int fd = -EOPNOTSUPP;

	snprintf(f->tmp, sizeof(f->tmp), ".%.200s.%d.%u", f->name, getpid(),
		 ++f->writes);
	if (!f->d->files_no_tmpfile) {
		io_uring_prep_openat(io_uring_get_sqe(ring), f->dir_fd, ".",
				     O_TMPFILE | O_WRONLY | O_CLOEXEC, f->mode);
		fd = ring_do(ring);
	}
	*named = fd == -EOPNOTSUPP || fd == -EISDIR;
	if (!*named)
		return fd;
	io_uring_prep_openat(
	    io_uring_get_sqe(ring), f->dir_fd, f->tmp,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, f->mode);
	return ring_do(ring);
}

/* Names the O_TMPFILE @fd f->tmp: the ring's linkat has no AT_EMPTY_PATH. */
static int link_tmp(struct io_uring *ring, struct file_job *f, int fd)
{
	char proc[32];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	io_uring_prep_linkat(io_uring_get_sqe(ring), AT_FDCWD, proc, f->dir_fd,
			     f->tmp, AT_SYMLINK_FOLLOW);
	return ring_do(ring);
}

/* Temporary file, content, fsync, rename: the old file or the new one. */
static int replace(struct io_uring *ring, struct file_job *f)
{
	bool named;
	int fd = open_tmp(ring, f, &named), ret, closed;

	if (fd < 0)
		return fd;
	ret = write_all(ring, fd, f->data);
	if (!ret && !named) {
		ret = link_tmp(ring, f, fd);
		named = !ret;
	}
	io_uring_prep_close(io_uring_get_sqe(ring), fd);
	closed = ring_do(ring);
	if (!ret && closed < 0)
		ret = closed;
	if (!ret) {
		io_uring_prep_renameat(io_uring_get_sqe(ring), f->dir_fd,
				       f->tmp, f->dir_fd, f->name, 0);
		ret = ring_do(ring);
	}
	if (ret && named) {
		io_uring_prep_unlinkat(io_uring_get_sqe(ring), f->dir_fd,
				       f->tmp, 0);
		ring_do(ring);
	}
	return ret;
}

static void *write_thread(void *arg)
{
	struct file_job *f = arg;
	struct io_uring ring;
	uint64_t one = 1;

	f->error = io_uring_queue_init(4, &ring, 0);
	if (!f->error) {
		f->error = replace(&ring, f);
		io_uring_queue_exit(&ring);
	}
	atomic_store_explicit(&f->finished, true, memory_order_release);
	/* Wakes the loop's read of the eventfd. */
	if (write(f->d->files_event_fd, &one, sizeof(one)) < 0)
		f->error = f->error ?: -errno;
	return NULL;
}

/*
 * The directory of @f's file, held open so that no write resolves its
 * path again. Root's alone: anyone else who may write there could swap
 * the file for another between our writes and its readers.
 */
static int open_dir(struct file_job *f)
{
	char dir[sizeof(f->path)];
	struct stat st;
	size_t len = (size_t)(f->name - f->path);

	snprintf(dir, sizeof(dir), "%.*s", len > 1 ? (int)len - 1 : 1, f->path);
	f->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->dir_fd < 0 || fstat(f->dir_fd, &st)) {
		int ret = -errno;

		report_note("%s: not written: %s: %s", f->path, dir,
			    strerror(-ret));
		return ret;
	}
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		report_note(
		    "%s: not written: %s is owned by uid %u with mode "
		    "%04o; it must be root's and writable by root alone",
		    f->path, dir, st.st_uid, st.st_mode & 07777);
		return -EPERM;
	}
	return 0;
}

int file_job_new(struct daemon *d, const char *path, mode_t mode,
		 struct file_job **out)
{
	struct file_job *f = calloc(1, sizeof(*f));
	int ret;

	*out = NULL;
	if (!f)
		return -ENOMEM;
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->name = strrchr(f->path, '/');
	f->name = f->name ? f->name + 1 : f->path;
	f->mode = mode;
	ret = open_dir(f);
	if (ret) {
		if (f->dir_fd >= 0)
			close(f->dir_fd);
		free(f);
		return ret;
	}
	f->d = d;
	f->next_job = d->files;
	d->files = f;
	*out = f;
	return 0;
}

static void start(struct file_job *f, char *data)
{
	int ret;

	f->data = data;
	atomic_store(&f->finished, false);
	ret = pthread_create(&f->thread, NULL, write_thread, f);
	if (ret) {
		report_note("%s: not written: %s", f->path, strerror(ret));
		free(data);
		f->data = NULL;
		return;
	}
	f->running = true;
	f->d->jobs++;
}

void file_job_write(struct file_job *f, char *data)
{
	if (!f || !data) {
		free(data);
		return;
	}
	if (f->running) {
		free(f->next);
		f->next = data;
		return;
	}
	start(f, data);
}

/* The write of @f ended: its outcome, then the newest waiting content. */
static void finished(struct file_job *f)
{
	char *next = f->next;

	pthread_join(f->thread, NULL);
	f->running = false;
	f->d->jobs--;
	if (f->error && !f->reported)
		report_note("%s: not written: %s", f->path,
			    strerror(-f->error));
	f->reported = f->error != 0;
	free(f->data);
	f->data = NULL;
	f->next = NULL;
	if (next)
		start(f, next);
}

void files_read_event(struct daemon *d)
{
	io_uring_prep_read(daemon_sqe(d, &files_op), d->files_event_fd,
			   &d->files_event, sizeof(d->files_event), 0);
}

void files_event(struct daemon *d, int res)
{
	(void)res;
	for (struct file_job *f = d->files; f; f = f->next_job)
		if (f->running &&
		    atomic_load_explicit(&f->finished, memory_order_acquire))
			finished(f);
	files_read_event(d);
}

int files_init(struct daemon *d)
{
	d->files_event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return d->files_event_fd < 0 ? -errno : 0;
}

/*
 * After the loop no write runs; but a start that failed after the
 * first metrics write has one, which must end before its job is freed.
 */
void files_free(struct daemon *d)
{
	while (d->files) {
		struct file_job *f = d->files;

		d->files = f->next_job;
		if (f->running)
			pthread_join(f->thread, NULL);
		close(f->dir_fd);
		free(f->data);
		free(f->next);
		free(f);
	}
	if (d->files_event_fd >= 0)
		close(d->files_event_fd);
}
