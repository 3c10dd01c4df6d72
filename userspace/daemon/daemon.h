/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapset daemon: the delivery agent. One io_uring loop reads shutdown
 * records from the module, releases each record's LVM snapshots first
 * (lvremove children waited on through pidfds polled by the ring, under
 * a deadline), reports sets that ended without BackupComplete, and
 * acknowledges each record once its release step is done.
 */
#ifndef SNAPSET_DAEMON_H
#define SNAPSET_DAEMON_H

#include <liburing.h>
#include <linux/snapset.h>
#include <stdbool.h>
#include <sys/signalfd.h>

struct daemon_options {
	long lvremove_deadline_ms; /* per lvremove attempt */
};

/* What a completion is about: every user_data points at one of these. */
enum op_kind {
	OP_AGENT_READ,
	OP_SIGNAL_READ,
	OP_CHILD_EXIT,
	OP_CHILD_DEADLINE,
	OP_RETRY,
};

struct op {
	enum op_kind kind;
	void *owner;
};

struct daemon {
	struct io_uring ring;
	const struct daemon_options *opts;
	int agent_fd; /* /dev/snapset, subscribed as the delivery agent */
	int signal_fd;
	struct op agent_op;
	struct op signal_op;
	struct signalfd_siginfo si;
	void *buf; /* records read from the agent fd */
	size_t buf_size;
	bool stopping;
	unsigned int jobs; /* records whose release step is running */
};

/* Runs the daemon until SIGTERM or SIGINT; 0, or -errno at start. */
int daemon_run(const struct daemon_options *opts);

/* A submission queue entry, submitting first when the queue is full. */
struct io_uring_sqe *daemon_sqe(struct daemon *d, struct op *op);
/* Room for @n linked entries that must go in one submission. */
void daemon_reserve(struct daemon *d, unsigned int n);

/* records.c: each record's release step, report and acknowledgement. */
void records_received(struct daemon *d, const void *buf, size_t len);

/* release.c: lvremove of one LV, waited on through the ring. */
struct lv_release;
typedef void (*release_done_fn)(struct lv_release *r, int result,
				const char *message);
/* 0 once started (@done follows), -errno when it could not start. */
int lv_release_start(struct daemon *d, const char *uuid, const char *label,
		     release_done_fn done, void *owner);
void *lv_release_owner(const struct lv_release *r);
const char *lv_release_label(const struct lv_release *r);
void lv_release_event(struct daemon *d, struct op *op, int res);

/* reconcile.c: tagged LVs whose set is neither live nor pending. */
int reconcile(struct daemon *d);

/* report.c: journald under systemd, stderr otherwise. */
void report_shutdown(const struct snapset_event *rec, unsigned int failed);
void report_release(const struct snapset_event *rec, const char *lv, int result,
		    const char *message);
void report_lost(const char *set_id, const char *lv, int result,
		 const char *message);
void report_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
