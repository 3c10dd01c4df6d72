// SPDX-License-Identifier: GPL-2.0
/*
 * Files the daemon keeps (history, metrics), replaced atomically and
 * written only through the ring: open a temporary file, write, fsync,
 * close, rename over the old one. Each step is a ring operation, so a
 * frozen or hung filesystem stalls this file alone (in an io-wq worker),
 * never the loop, the releases or the writers. A newer content that
 * arrives meanwhile waits, and only the newest is written next. A failed
 * write removes its temporary file and is reported once until one works.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

enum file_step {
	STEP_IDLE,
	STEP_OPEN,
	STEP_WRITE,
	STEP_FSYNC,
	STEP_CLOSE,
	STEP_RENAME,
	STEP_UNLINK,
};

struct file_job {
	struct daemon *d;
	struct op op;
	char path[256];
	char tmp[272];
	enum file_step step;
	int fd;
	int error; /* of this attempt */
	char *data;
	size_t len, written;
	char *next; /* newer content, written after this */
	bool reported;
};

struct file_job *file_job_new(struct daemon *d, const char *path)
{
	struct file_job *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->d = d;
	f->op = (struct op){ OP_FILE, f };
	f->fd = -1;
	snprintf(f->path, sizeof(f->path), "%s", path);
	snprintf(f->tmp, sizeof(f->tmp), "%s.tmp", path);
	return f;
}

static struct io_uring_sqe *step(struct file_job *f, enum file_step next)
{
	f->step = next;
	return daemon_sqe(f->d, &f->op);
}

static void start(struct file_job *f)
{
	f->d->jobs++;
	f->written = 0;
	f->error = 0;
	io_uring_prep_openat(step(f, STEP_OPEN), AT_FDCWD, f->tmp,
			     O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

void file_job_write(struct file_job *f, char *data)
{
	if (!f || !data) {
		free(data);
		return;
	}
	if (f->step != STEP_IDLE) {
		free(f->next);
		f->next = data;
		return;
	}
	f->data = data;
	f->len = strlen(data);
	start(f);
}

static void write_rest(struct file_job *f)
{
	io_uring_prep_write(step(f, STEP_WRITE), f->fd, f->data + f->written,
			    f->len - f->written, f->written);
}

/* The attempt is over: the next content, if any, goes now. */
static void finished(struct file_job *f)
{
	if (f->error && !f->reported) {
		report_note("%s: not written: %s", f->path,
			    strerror(-f->error));
		f->reported = true;
	} else if (!f->error) {
		f->reported = false;
	}
	free(f->data);
	f->data = NULL;
	f->step = STEP_IDLE;
	f->d->jobs--;
	if (f->next) {
		char *next = f->next;

		f->next = NULL;
		file_job_write(f, next);
	}
}

/* Gives up the attempt: the temporary file goes too. */
static void fail(struct file_job *f, int error)
{
	f->error = error;
	if (f->fd >= 0) {
		io_uring_prep_close(step(f, STEP_CLOSE), f->fd);
		f->fd = -1;
		return;
	}
	io_uring_prep_unlinkat(step(f, STEP_UNLINK), AT_FDCWD, f->tmp, 0);
}

static void advance(struct file_job *f, int res)
{
	switch (f->step) {
	case STEP_OPEN:
		f->fd = res;
		write_rest(f);
		break;
	case STEP_WRITE:
		f->written += res;
		if (res == 0)
			fail(f, -EIO);
		else if (f->written < f->len)
			write_rest(f);
		else
			io_uring_prep_fsync(step(f, STEP_FSYNC), f->fd, 0);
		break;
	case STEP_FSYNC:
		io_uring_prep_close(step(f, STEP_CLOSE), f->fd);
		f->fd = -1;
		break;
	case STEP_CLOSE:
		if (f->error)
			io_uring_prep_unlinkat(step(f, STEP_UNLINK), AT_FDCWD,
					       f->tmp, 0);
		else
			io_uring_prep_renameat(step(f, STEP_RENAME), AT_FDCWD,
					       f->tmp, AT_FDCWD, f->path, 0);
		break;
	default:
		finished(f);
		break;
	}
}

void file_job_event(struct daemon *d, struct op *op, int res)
{
	struct file_job *f = op->owner;

	(void)d;
	if (res < 0 && f->step != STEP_UNLINK && !f->error) {
		if (f->step == STEP_CLOSE) {
			f->error = res; /* the fd is gone either way */
			advance(f, 0);
		} else {
			fail(f, res);
		}
		return;
	}
	advance(f, res);
}
