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
 * list after, unless that set is gone. A set gone meanwhile is not lost:
 * its record was acknowledged by this daemon, which released its LVs,
 * or it ended before its arm, and its LVs are this daemon's to remove
 * (records_dissolved), at once or, when its requester closed it (run,
 * after a failed arm, removes them itself), once that has exited.
 * So every set seen to end is remembered (the last DAEMON_ENDED_MAX),
 * and an LV is lost only when its set is neither listed nor remembered.
 *
 * Seen to end: its shutdown read by the watcher, which may lag behind
 * the list. A set that ended in that lag with its LVs not yet removed by
 * its requester is called lost, and its LVs removed: a removal twice
 * over, rather than a watcher of lvs's own that a busy module could keep
 * from ever reconciling (its queue overflowing), and LVs lost in a crash
 * left behind.
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
	unsigned long long nended; /* d->nended when lvs started */
};

/* The deadline's completion may come after the reconcile is freed. */
static struct op deadline_op = { OP_IGNORED, NULL };
static struct op due_op = { OP_RECONCILE_DUE, NULL };
static struct __kernel_timespec due_in;

static void reconcile_free(struct daemon *d)
{
	struct reconcile *rc = d->reconcile;

	if (rc->pidfd >= 0)
		close(rc->pidfd);
	if (rc->out_fd >= 0)
		close(rc->out_fd);
	if (rc->err_fd >= 0)
		close(rc->err_fd);
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

/* Whether @id is among the sets remembered to have ended. */
static bool ended(const struct daemon *d, const __u8 id[SNAPSET_ID_LEN])
{
	unsigned long long n =
	    d->nended < DAEMON_ENDED_MAX ? d->nended : DAEMON_ENDED_MAX;

	for (unsigned long long i = 0; i < n; i++)
		if (!memcmp(d->ended[i], id, SNAPSET_ID_LEN))
			return true;
	return false;
}

void reconcile_handled(struct daemon *d, const __u8 id[SNAPSET_ID_LEN])
{
	/* Once is enough: the ring remembers more sets. */
	if (!ended(d, id))
		memcpy(d->ended[d->nended++ % DAEMON_ENDED_MAX], id,
		       SNAPSET_ID_LEN);
}

/* Whether @id names a live set or pending record in @buf, or one ended. */
static bool known_set(const struct daemon *d, const void *buf, size_t len,
		      const __u8 id[SNAPSET_ID_LEN])
{
	return records_hold_set(buf, len, id) || ended(d, id);
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
	/* Some of those that ended while lvs ran are forgotten already. */
	if (d->nended - d->reconcile->nended > DAEMON_ENDED_MAX) {
		report_note("reconciliation skipped: too many sets ended "
			    "while lvs ran; tried again later");
		d->reconcile_wanted = true;
		free(sets);
		return 0;
	}
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
		if (!known_set(d, sets, len, id))
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

static void lvs_start(struct daemon *d)
{
	struct reconcile *rc = calloc(1, sizeof(*rc));
	int ret;

	if (!rc) {
		report_note("reconciliation skipped: out of memory");
		return;
	}
	*rc = (struct reconcile){
		.exit_op = { OP_RECONCILE, rc },
		.pidfd = -1,
		.out_fd = -1,
		.err_fd = -1,
		.nended = d->nended,
	};
	d->reconcile = rc;
	d->reconcile_at = monotonic_ms();
	ret = lvs_spawn(rc);
	if (ret) {
		report_note("reconciliation skipped: lvs: %s", strerror(-ret));
		reconcile_free(d);
		return;
	}
	ms_to_timespec(d->opts->lvremove_deadline_ms, &rc->deadline);
	wait_lvs(d, rc, true);
}

/* A wanted reconciliation starts, unless it must wait (see daemon.h). */
static void reconcile_try(struct daemon *d)
{
	long long wait = 0;

	if (!d->reconcile_wanted || d->stopping || d->reconcile ||
	    d->unrecorded_jobs || d->reconcile_timer)
		return;
	if (d->reconcile_at && d->reconcile_every_ms)
		wait = d->reconcile_at + d->reconcile_every_ms - monotonic_ms();
	if (wait > 0) {
		d->reconcile_timer = true;
		ms_to_timespec(wait, &due_in);
		io_uring_prep_timeout(daemon_sqe(d, &due_op), &due_in, 0, 0);
		return;
	}
	d->reconcile_wanted = false;
	lvs_start(d);
}

void reconcile_start(struct daemon *d)
{
	if (d->stopping)
		return;
	d->reconcile_wanted = true;
	reconcile_try(d);
}

void reconcile_due(struct daemon *d)
{
	d->reconcile_timer = false;
	reconcile_try(d);
}
