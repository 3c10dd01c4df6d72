// SPDX-License-Identifier: GPL-2.0
/*
 * The release step's executor: lvremove of one LV by uuid, as a child
 * whose pidfd the ring polls, linked to a deadline. A deadline stops the
 * child; "in use" (udev and blkid probe new devices) is retried with
 * backoff from a ring timeout; lvm's stdout and stderr go to memfds,
 * apart, read once the child is gone. One lvremove runs per volume group
 * at a time: lvm serialises them on the VG lock anyway, and one waiting
 * for the lock would spend its deadline there.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/lvm.h"
#include "daemon.h"

#define RELEASE_ATTEMPTS 6
#define RELEASE_BACKOFF_MS 200

struct lv_release {
	struct daemon *d;
	struct lv_release *next; /* every release, running or queued */
	enum lv_select by;
	char key[40]; /* an LV uuid, or a set id */
	char label[300];
	char vg[128]; /* the queue it waits in */
	bool running;
	bool may_be_gone; /* no such LV is no failure */
	bool looking_up;  /* removed nothing: lvs says whether it is gone */
	release_done_fn done;
	void *owner;
	int pidfd;
	int out_fd; /* lvm's stdout: rows, or what lvremove removed */
	int err_fd; /* its stderr: its words when it fails */
	unsigned int attempts;
	bool timed_out;
	struct op exit_op;
	struct op retry_op;
	struct __kernel_timespec deadline;
	struct __kernel_timespec backoff;
};

void *lv_release_owner(const struct lv_release *r)
{
	return r->owner;
}

const char *lv_release_label(const struct lv_release *r)
{
	return r->label;
}

static int spawn(struct lv_release *r);
static void finish(struct lv_release *r, int result, const char *message);

/* The next release queued for @vg, if any, starts. */
static void start_next(struct daemon *d, const char *vg)
{
	struct lv_release *r;
	int ret;

	for (r = d->releases; r; r = r->next)
		if (!r->running && !strcmp(r->vg, vg))
			break;
	if (!r)
		return;
	r->running = true;
	ret = spawn(r);
	if (ret)
		finish(r, ret, strerror(-ret));
}

static void finish(struct lv_release *r, int result, const char *message)
{
	struct lv_release **p = &r->d->releases;

	while (*p != r)
		p = &(*p)->next;
	*p = r->next;
	r->done(r, result, message);
	start_next(r->d, r->vg);
	free(r);
}

/*
 * The deadline's own completion can come after its release is freed: it
 * points at this, never at the release.
 */
static struct op deadline_op = { OP_CHILD_DEADLINE, NULL };

/* Polls the child's pidfd, linked to the attempt's deadline. */
static void wait_child(struct lv_release *r, bool with_deadline)
{
	struct io_uring_sqe *sqe;

	daemon_reserve(r->d, 2);
	sqe = daemon_sqe(r->d, &r->exit_op);
	io_uring_prep_poll_add(sqe, r->pidfd, POLLIN);
	if (!with_deadline)
		return;
	sqe->flags |= IOSQE_IO_LINK;
	sqe = daemon_sqe(r->d, &deadline_op);
	io_uring_prep_link_timeout(sqe, &r->deadline, 0);
}

static int spawn(struct lv_release *r)
{
	char select[LVM_SELECT_LEN];
	const char *argv[LVM_LOOKUP_ARGC];

	if (r->looking_up ? lvm_lookup_argv(r->key, select, argv)
	    : r->by == LV_BY_SET_TAG
		? lvm_remove_tagged_argv(r->key, select, argv)
		: lvm_remove_argv(r->key, select, argv))
		return -EINVAL;
	/* Apart: warnings on stderr never push a row out of stdout. */
	r->out_fd = memfd_create("lvm-stdout", MFD_CLOEXEC);
	r->err_fd = memfd_create("lvm-stderr", MFD_CLOEXEC);
	r->pidfd = r->out_fd < 0 || r->err_fd < 0
		       ? -errno
		       : lvm_spawn(argv, r->out_fd, r->err_fd);
	if (r->pidfd < 0) {
		if (r->out_fd >= 0)
			close(r->out_fd);
		if (r->err_fd >= 0)
			close(r->err_fd);
		return r->pidfd;
	}
	r->attempts++;
	r->timed_out = false;
	wait_child(r, true);
	return 0;
}

static bool vg_busy(const struct daemon *d, const char *vg)
{
	for (const struct lv_release *r = d->releases; r; r = r->next)
		if (r->running && !strcmp(r->vg, vg))
			return true;
	return false;
}

int lv_release_start(struct daemon *d, const struct lv_release_spec *spec,
		     release_done_fn done, void *owner)
{
	struct lv_release *r = calloc(1, sizeof(*r)), **p;
	int ret;

	if (!r)
		return -ENOMEM;
	*r = (struct lv_release){
		.d = d,
		.by = spec->by,
		.may_be_gone = spec->may_be_gone,
		.done = done,
		.owner = owner,
		.exit_op = { OP_CHILD_EXIT, r },
		.retry_op = { OP_RETRY, r },
	};
	snprintf(r->key, sizeof(r->key), "%s", spec->key);
	snprintf(r->label, sizeof(r->label), "%s", spec->label);
	/* "VG/LV"; a label without a VG queues alone with its kind. */
	snprintf(r->vg, sizeof(r->vg), "%.*s", (int)strcspn(r->label, "/"),
		 r->label);
	ms_to_timespec(d->opts->lvremove_deadline_ms, &r->deadline);
	r->running = !vg_busy(d, r->vg);
	if (r->running) {
		ret = spawn(r);
		if (ret) {
			free(r);
			return ret;
		}
	}
	/* Last, so that the queue keeps the order releases came in. */
	for (p = &d->releases; *p; p = &(*p)->next)
		;
	*p = r;
	return 0;
}

/* The child's wait status, its output, and what they mean. */
static void child_exited(struct lv_release *r)
{
	char output[16384], errors[8192];
	struct lvm_error err;
	siginfo_t info = { 0 };
	bool cut;
	int status, ret;

	ret = waitid((idtype_t)P_PIDFD, r->pidfd, &info, WEXITED) ? -errno : 0;
	close(r->pidfd);
	cut = lvm_output(r->out_fd, output, sizeof(output)) == -E2BIG;
	lvm_output(r->err_fd, errors, sizeof(errors));
	close(r->out_fd);
	close(r->err_fd);
	if (ret) {
		finish(r, ret, "lvremove could not be waited for");
		return;
	}
	status = info.si_code == CLD_EXITED ? W_EXITCODE(info.si_status, 0)
					    : info.si_status;
	ret = r->looking_up
		  ? lvm_lookup_result(output, cut, errors, status, r->key, &err)
		  : lvm_remove_failure(status, output, errors,
				       r->by == LV_BY_UUID, &err);
	if (!ret && r->looking_up) {
		/* Still a snapshot, and lvremove took none: it failed. */
		snprintf(err.message, sizeof(err.message),
			 "snapshot LV %s is still there", r->key);
		ret = -EIO;
	} else if (!ret && !strstr(output, "successfully removed") &&
		   r->by == LV_BY_UUID) {
		/* Gone, or no snapshot (left alone): lvs tells which. */
		r->looking_up = true;
		ret = spawn(r);
		if (!ret)
			return;
		snprintf(err.message, sizeof(err.message), "%s",
			 strerror(-ret));
	} else if (!ret && !strstr(output, "successfully removed")) {
		/* An empty selection is no error to lvremove. */
		ret = r->may_be_gone ? -ENOENT : -ESRCH;
		snprintf(err.message, sizeof(err.message),
			 "no snapshot LV is tagged for set %s%s", r->key,
			 r->may_be_gone ? ": gone already" : "");
	}
	if (ret && r->timed_out) {
		snprintf(err.message, sizeof(err.message), "%s",
			 "lvremove took longer than its deadline");
		if (r->looking_up)
			snprintf(err.message, sizeof(err.message),
				 "cannot tell whether snapshot LV %s is gone: "
				 "lvs took longer than its deadline",
				 r->key);
		finish(r, -ETIMEDOUT, err.message);
		return;
	}
	if (ret == -EBUSY && r->attempts < RELEASE_ATTEMPTS) {
		/* lvremove is what is tried again, not the lookup after it. */
		r->looking_up = false;
		ms_to_timespec(RELEASE_BACKOFF_MS << (r->attempts - 1),
			       &r->backoff);
		io_uring_prep_timeout(daemon_sqe(r->d, &r->retry_op),
				      &r->backoff, 0, 0);
		return;
	}
	finish(r, ret, ret ? err.message : "removed");
}

void lv_release_event(struct daemon *d, struct op *op, int res)
{
	struct lv_release *r = op->owner;
	int ret;

	(void)d;
	switch (op->kind) {
	case OP_CHILD_EXIT:
		if (res > 0) {
			child_exited(r);
		} else if (res == -ECANCELED && !r->timed_out) {
			/*
			 * The deadline fired. SIGTERM, not SIGKILL: lvm defers
			 * it while it holds a VG lock, so an origin it has
			 * suspended is resumed before it goes.
			 */
			r->timed_out = true;
			syscall(SYS_pidfd_send_signal, r->pidfd, SIGTERM, NULL,
				0);
			wait_child(r, false);
		} else {
			wait_child(r, !r->timed_out);
		}
		break;
	case OP_RETRY:
		ret = spawn(r);
		if (ret)
			finish(r, ret, strerror(-ret));
		break;
	default:
		break; /* the deadline's own completion */
	}
}
