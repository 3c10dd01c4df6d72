// SPDX-License-Identifier: GPL-2.0
/*
 * Reconciliation: an LV tagged "snapset" whose set is neither live nor
 * pending was left by a requester killed before arm, a host that
 * crashed, or a module reloaded. It runs at start, and again whenever
 * the watcher missed events: a set that ended before its arm has no
 * record, its shutdown event is all that tells of it, and one lost in
 * an overflow would leave its LVs until the next start. Its record is gone, so
 * it is released here and reported as lost. The LVs of one lost set are one
 * shutdown: released, told to writers, reported, kept in the history.
 *
 * lvs runs as a child the ring waits on, under the lvremove deadline, so
 * that a stuck LVM (a VG lock held, a suspended device) delays neither
 * the records nor the writers; past the deadline it is killed (it only
 * reads) and reconciliation is skipped. LVs are listed before sets: a set
 * is created before its LVs, so an LV listed first has its set in the
 * list after, unless that set is gone. A record this daemon acknowledges
 * in between is gone from the list too, so the sets acknowledged while
 * lvs runs are remembered and count as known: their LVs were this
 * daemon's to release.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/format.h"
#include "../common/lvm.h"
#include "../common/module.h"
#include "daemon.h"

struct reconcile {
	struct op exit_op;
	int pidfd;
	int out_fd;
	int err_fd;
	bool skipped; /* past the deadline, or unsure what is known */
	bool killed;
	struct __kernel_timespec deadline;
	__u8 (*acked)[SNAPSET_ID_LEN]; /* acknowledged while lvs runs */
	size_t nacked;
};

/* The deadline's completion may come after the reconcile is freed. */
static struct op deadline_op = { OP_IGNORED, NULL };

static void reconcile_free(struct daemon *d)
{
	struct reconcile *rc = d->reconcile;

	if (rc->pidfd >= 0)
		close(rc->pidfd);
	if (rc->out_fd >= 0)
		close(rc->out_fd);
	if (rc->err_fd >= 0)
		close(rc->err_fd);
	free(rc->acked);
	free(rc);
	d->reconcile = NULL;
}

/* lvs only reads: killing it loses nothing. */
static void lvs_kill(struct reconcile *rc)
{
	if (!rc->killed)
		syscall(SYS_pidfd_send_signal, rc->pidfd, SIGKILL, NULL, 0);
	rc->skipped = rc->killed = true;
}

void reconcile_stop(struct daemon *d)
{
	if (d->reconcile)
		lvs_kill(d->reconcile);
}

void reconcile_end(struct daemon *d)
{
	if (!d->reconcile)
		return;
	lvs_kill(d->reconcile);
	reconcile_free(d);
}

void reconcile_handled(struct daemon *d, const __u8 id[SNAPSET_ID_LEN])
{
	struct reconcile *rc = d->reconcile;
	__u8(*grown)[SNAPSET_ID_LEN];

	if (!rc || rc->skipped)
		return;
	grown = realloc(rc->acked, (rc->nacked + 1) * sizeof(*grown));
	if (!grown) {
		/* Better no reconciliation than one that removes live LVs. */
		report_note("reconciliation skipped: out of memory");
		rc->skipped = true;
		return;
	}
	rc->acked = grown;
	memcpy(rc->acked[rc->nacked++], id, SNAPSET_ID_LEN);
}

/* Whether @id names a live set or pending record in @buf, or one acked. */
static bool known_set(const struct reconcile *rc, const void *buf, size_t len,
		      const __u8 id[SNAPSET_ID_LEN])
{
	if (records_hold_set(buf, len, id))
		return true;
	for (size_t i = 0; i < rc->nacked; i++)
		if (!memcmp(rc->acked[i], id, SNAPSET_ID_LEN))
			return true;
	return false;
}

/*
 * Releases the LVs of one lost set, @lvs[@first] and those after it with
 * the same set id (each marked done), as one shutdown with reason lost.
 */
static void release_lost_set(struct daemon *d, struct snapset_lv *lvs, size_t n,
			     size_t first, const __u8 id[SNAPSET_ID_LEN],
			     bool *done)
{
	struct record_job *job = lost_set_start(d, id);

	if (!job) {
		report_note("out of memory: lost LVs wait for a restart");
		return;
	}
	for (size_t i = first; i < n; i++)
		if (!done[i] && !strcasecmp(lvs[i].set_id, lvs[first].set_id)) {
			done[i] = true;
			lost_set_release(job, &lvs[i]);
		}
	lost_set_started(job);
}

/* The LVs lvs listed, against the module's sets as they are now. */
static int release_lost(struct daemon *d, struct snapset_lv *lvs, size_t n)
{
	__u8 id[SNAPSET_ID_LEN];
	bool *done;
	void *sets;
	size_t len;
	int ret = module_list_whole(d->agent_fd, &sets, &len);

	if (ret == -EPROTO)
		report_note("the module's list has records this program cannot "
			    "read (is the module newer or older?)");
	if (ret)
		return ret;
	done = calloc(n ?: 1, sizeof(*done));
	if (!done) {
		free(sets);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (done[i])
			continue;
		if (id_parse(lvs[i].set_id, id)) {
			report_note("%s/%s: tag snapset:%s names no set: left "
				    "alone",
				    lvs[i].vg, lvs[i].lv, lvs[i].set_id);
			continue;
		}
		if (!known_set(d->reconcile, sets, len, id))
			release_lost_set(d, lvs, n, i, id, done);
	}
	free(done);
	free(sets);
	return 0;
}

/* Reaps lvs: its wait status, or -errno. */
static int lvs_reap(struct reconcile *rc)
{
	siginfo_t info = { 0 };

	if (waitid((idtype_t)P_PIDFD, rc->pidfd, &info, WEXITED))
		return -errno;
	return info.si_code == CLD_EXITED ? W_EXITCODE(info.si_status, 0)
					  : info.si_status;
}

/* What lvs, which exited with @status, printed: in @out, or why not. */
static int lvs_output(struct reconcile *rc, int status, char *out, size_t size,
		      struct lvm_error *err)
{
	char errors[2048];
	ssize_t n;

	if (status < 0) {
		snprintf(err->message, sizeof(err->message),
			 "cannot be waited for: %s", strerror(-status));
		return status;
	}
	lvm_output(rc->err_fd, errors, sizeof(errors));
	if (lvm_failure("lvs", status, errors, err))
		return -EIO;
	n = lvm_output(rc->out_fd, out, size);
	if (n < 0) {
		snprintf(err->message, sizeof(err->message),
			 "its output is unreadable or over %zu bytes",
			 size - 1);
		return n;
	}
	return 0;
}

static void lvs_exited(struct daemon *d, struct reconcile *rc, int status)
{
	static char out[LVM_LIST_OUTPUT_MAX];
	struct snapset_lv *lvs = NULL;
	struct lvm_error err;
	size_t n;
	int ret = lvs_output(rc, status, out, sizeof(out), &err);

	if (ret) {
		report_note("reconciliation skipped: lvs: %s", err.message);
		return;
	}
	ret = lv_parse_snapset(out, &lvs, &n, &err);
	if (ret == -EIO) {
		report_note("reconciliation skipped: %s", err.message);
		return;
	}
	if (!ret)
		ret = release_lost(d, lvs, n);
	if (ret)
		report_note("reconciliation skipped: %s", strerror(-ret));
	free(lvs);
}

/* Polls the lvs child's pidfd, linked to its deadline. */
static void wait_lvs(struct daemon *d, struct reconcile *rc, bool deadline)
{
	struct io_uring_sqe *sqe;

	daemon_reserve(d, 2);
	sqe = daemon_sqe(d, &rc->exit_op);
	io_uring_prep_poll_add(sqe, rc->pidfd, POLLIN);
	if (!deadline)
		return;
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_prep_link_timeout(daemon_sqe(d, &deadline_op), &rc->deadline,
				   0);
}

/* This one is over: the next, if one was asked for meanwhile. */
static void reconcile_done(struct daemon *d)
{
	reconcile_free(d);
	if (d->reconcile_wanted)
		reconcile_start(d);
}

void reconcile_event(struct daemon *d, int res)
{
	struct reconcile *rc = d->reconcile;

	if (res > 0) {
		int status = lvs_reap(rc);

		if (!rc->skipped && !d->stopping)
			lvs_exited(d, rc, status);
		reconcile_done(d);
		return;
	}
	if (rc->killed) {
		/* Killed, and still its pidfd cannot be polled: let it be. */
		reconcile_done(d);
		return;
	}
	if (!rc->skipped && res == -ECANCELED)
		report_note("reconciliation skipped: lvs took longer than its "
			    "deadline (%ld ms)",
			    d->opts->lvremove_deadline_ms);
	else if (!rc->skipped)
		report_note("reconciliation skipped: lvs cannot be waited for: "
			    "%s",
			    strerror(-res));
	lvs_kill(rc);
	wait_lvs(d, rc, false);
}

static int lvs_spawn(struct reconcile *rc)
{
	rc->out_fd = memfd_create("lvs-stdout", MFD_CLOEXEC);
	rc->err_fd = memfd_create("lvs-stderr", MFD_CLOEXEC);
	if (rc->out_fd < 0 || rc->err_fd < 0)
		return -errno;
	rc->pidfd = lvm_spawn(lvm_list_snapset_argv, rc->out_fd, rc->err_fd);
	return rc->pidfd < 0 ? rc->pidfd : 0;
}

void reconcile_start(struct daemon *d)
{
	struct reconcile *rc;
	int ret;

	if (d->stopping)
		return;
	if (d->reconcile || d->unrecorded_jobs) {
		d->reconcile_wanted = true;
		return;
	}
	d->reconcile_wanted = false;
	rc = calloc(1, sizeof(*rc));
	if (!rc) {
		report_note("reconciliation skipped: out of memory");
		return;
	}
	*rc = (struct reconcile){
		.exit_op = { OP_RECONCILE, rc },
		.pidfd = -1,
		.out_fd = -1,
		.err_fd = -1,
	};
	d->reconcile = rc;
	ret = lvs_spawn(rc);
	if (ret) {
		report_note("reconciliation skipped: lvs: %s", strerror(-ret));
		reconcile_free(d);
		return;
	}
	ms_to_timespec(d->opts->lvremove_deadline_ms, &rc->deadline);
	wait_lvs(d, rc, true);
}
