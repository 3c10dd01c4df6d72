/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapset daemon: the delivery agent. One io_uring loop reads shutdown
 * records from the module, releases each record's LVM snapshots first
 * (lvremove children waited on through pidfds polled by the ring, under
 * a deadline), then tells every connected writer (BackupShutdown; and
 * BackupComplete and abort as they happen), reports sets that ended
 * without BackupComplete or whose release or delivery failed (journal,
 * history, metrics), and acknowledges each record once all that is done.
 */
#ifndef SNAPSET_DAEMON_H
#define SNAPSET_DAEMON_H

#include <json-c/json.h>
#include <liburing.h>
#include <linux/snapset.h>
#include <stdbool.h>
#include <sys/signalfd.h>
#include <sys/types.h>

#include "../common/clock.h"
#include "../common/device.h"
#include "../common/format.h"

#define DAEMON_ALLOWED_MAX 32
/* Sets known to have ended, remembered for reconciliation (reconcile.c). */
#define DAEMON_ENDED_MAX 256

/* What the configuration file sets (config.c); defaults in config_init. */
struct daemon_options {
	char socket_path[108];
	long writer_deadline_ms;   /* per event and writer */
	long lvremove_deadline_ms; /* per lvremove attempt, and lvs */
	uid_t allowed_uids[DAEMON_ALLOWED_MAX]; /* besides root */
	unsigned int nallowed_uids;
	gid_t allowed_gids[DAEMON_ALLOWED_MAX];
	unsigned int nallowed_gids;
	char history_dir[256];	      /* "" for none */
	unsigned int history_size;    /* entries kept */
	char metrics_path[256];	      /* "" for none */
	unsigned int max_connections; /* on the writer socket */
};

/* What a completion is about: every user_data points at one of these. */
enum op_kind {
	OP_AGENT_READ,
	OP_WATCH_READ,
	OP_SIGNAL_READ,
	OP_CHILD_EXIT,
	OP_CHILD_DEADLINE,
	OP_RETRY,
	OP_RECORD_RETRY,
	OP_RECONCILE,
	OP_RECONCILE_DUE,
	OP_OWNER_EXIT,
	OP_ACCEPT,
	OP_ACCEPT_RETRY,
	OP_WRITER_RECV,
	OP_WRITER_SEND,
	OP_WRITER_DEADLINE,
	OP_EVENT_DEADLINE,
	OP_FILE,
	OP_METRICS,
	OP_SETTLED,
	OP_IGNORED,
	OP_STOP_TICK,
};

struct op {
	enum op_kind kind;
	void *owner;
};

struct writer;
struct live_set;
struct notice;
struct lv_release;
struct file_job;
struct reconcile;
struct owner_watch;

struct daemon {
	struct io_uring ring;
	const struct daemon_options *opts;
	int agent_fd; /* /dev/snapset, subscribed as the delivery agent */
	int watch_fd; /* /dev/snapset, a watcher: complete and abort */
	int signal_fd;
	int listen_fd; /* the writer socket */
	struct op agent_op;
	struct op watch_op;
	struct op signal_op;
	struct signalfd_siginfo si;
	void *buf; /* records read from the agent fd */
	void *watch_buf;
	size_t buf_size;
	bool ring_ready;
	bool stopping;
	unsigned int jobs; /* records whose release or delivery is running */
	struct writer *writers;
	/* Writers with an event outstanding, the oldest sent first. */
	struct writer *awaited_first, *awaited_last;
	bool event_timer; /* armed for the first one's deadline, or sooner */
	bool event_timer_fired; /* its deadlines are checked at round end */
	bool event_timer_lost;	/* ... and it completed without expiring */
	bool event_timer_whole; /* a whole deadline, for an empty list */
	unsigned int event_timer_sq;  /* submitted once the ring is past it */
	struct writer *unsettled;     /* events sent without a completion */
	bool submit_soon;	      /* before the other completions at hand */
	struct lv_release *releases;  /* running, or queued behind their VG's */
	struct reconcile *reconcile;  /* while its lvs runs */
	bool reconcile_wanted;	      /* another once it and those below end */
	bool reconcile_timer;	      /* a wanted one waits for this timeout */
	long long reconcile_at;	      /* CLOCK_MONOTONIC ms of the last lvs */
	long reconcile_every_ms;      /* at most one so often; 0: no limit */
	unsigned int unrecorded_jobs; /* releases of sets without a record */
	struct owner_watch *owners;   /* of sets closed before their arm */
	unsigned int nowners;
	/* Sets that ended and that this daemon saw end, newest at nended. */
	__u8 ended[DAEMON_ENDED_MAX][SNAPSET_ID_LEN];
	unsigned long long nended;
	/* Lost sets whose release failed: retried, never announced again. */
	__u8 (*lost_failed)[SNAPSET_ID_LEN];
	size_t nlost_failed;
	struct live_set *live_sets;
	__u64 watch_seq; /* the newest event the watcher read */
	bool settling;	 /* notices held while writers reconnect */
	/* CLOCK_MONOTONIC ms they are held to; 0: until notices_settled() */
	long long settle_end_ms;
	struct notice *parked;
	struct json_object *history; /* newest last */
	struct file_job *files;	     /* every file kept, history first */
	struct file_job *history_file;
	struct file_job *metrics_file;
	int files_event_fd; /* an eventfd: a file write ended */
	__u64 files_event;
	/*
	 * Temporary files by name at once, as where the filesystem has no
	 * O_TMPFILE: for tests of that path on filesystems that have it.
	 */
	bool files_no_tmpfile;
	struct metrics *metrics;
	__u64 started_realtime;
	/* max_connections, or fewer when the open-files limit is lower */
	unsigned int max_writers;
	long long refused_log_at;      /* CLOCK_MONOTONIC ms, 0 for never */
	unsigned int refused_unlogged; /* refusals since */
};

/* Runs the daemon until SIGTERM or SIGINT; 0, or -errno at start. */
int daemon_run(const struct daemon_options *opts);
/* Stops taking new work; what was started finishes (or is replayed). */
void daemon_stop(struct daemon *d);
/* Hands one completion to what its op is about; the tests drive it too. */
void daemon_dispatch(struct daemon *d, struct io_uring_cqe *cqe);
void ms_to_timespec(long ms, struct __kernel_timespec *ts);

/*
 * A submission queue entry, submitting first when the queue is full.
 * Events go out as sends whose success has no completion (writers.c),
 * and their text is freed once the kernel has read the entry: that holds
 * only while every request runs inline when submitted. So no entry on
 * this ring may use IOSQE_IO_DRAIN or IOSQE_ASYNC, no send may be linked,
 * and the ring is not SQPOLL.
 */
struct io_uring_sqe *daemon_sqe(struct daemon *d, struct op *op);
/* Room for @n linked entries that must go in one submission. */
void daemon_reserve(struct daemon *d, unsigned int n);
/*
 * What is queued goes before the other completions at hand are handled;
 * with none, with the loop's wait for the next (one system call).
 */
void daemon_submit_soon(struct daemon *d);
/* The completions at hand are handled (the loop, and the tests). */
void daemon_round_end(struct daemon *d);
/* Waits for completions, handles all those at hand, ends the round. */
int daemon_round(struct daemon *d);

/* records.c: each record's release step, report and acknowledgement. */
void records_received(struct daemon *d, const void *buf, size_t len);
/*
 * A set ended before its arm (the watcher's shutdown event): it has no
 * record, but its requester may have been killed between lvcreate and
 * arm. The snapshot LVs tagged for it are removed: at once when its
 * requester exited, once it has when it closed the set (owners.c).
 */
void records_dissolved(struct daemon *d, const struct snapset_event *ev);
/* The LVs tagged for @ev's set are removed now; none left is silent. */
void records_dissolved_release(struct daemon *d,
			       const struct snapset_event *ev);
/* A record whose release failed: its next try is due. */
void records_retry(struct daemon *d, struct op *op);

/* release.c: lvremove of one LV, waited on through the ring. */
struct lv_release;
typedef void (*release_done_fn)(struct lv_release *r, int result,
				const char *message);
enum lv_select {
	LV_BY_UUID,    /* the snapshot LV with that LV uuid */
	LV_BY_SET_TAG, /* every snapshot LV tagged snapset:<set id> */
};
struct lv_release_spec {
	enum lv_select by;
	const char *key;   /* the LV uuid (lvs's form) or the set id */
	const char *label; /* "VG/LV" when known: releases queue per VG */
	bool may_be_gone;  /* no such LV is -ENOENT, not a failure */
};
/* 0 once started (@done follows), -errno when it could not start. */
int lv_release_start(struct daemon *d, const struct lv_release_spec *spec,
		     release_done_fn done, void *owner);
void *lv_release_owner(const struct lv_release *r);
const char *lv_release_label(const struct lv_release *r);
void lv_release_event(struct daemon *d, struct op *op, int res);

/*
 * records.c, for reconcile.c: a set found by its LVs' tags alone, whose
 * LVs are released and which is told and reported as reason lost.
 */
struct record_job;
struct snapset_lv;
struct record_job *lost_set_start(struct daemon *d,
				  const __u8 id[SNAPSET_ID_LEN]);
void lost_set_release(struct record_job *job, const struct snapset_lv *lv);
void lost_set_started(struct record_job *job);

/*
 * reconcile.c: tagged LVs whose set is neither live nor pending, listed
 * by an lvs child the ring waits on. At start, and when the watcher
 * missed events (a set that ended before its arm among them); one at a
 * time, and never while sets without a record are being released (lvs
 * would list their LVs again): asked meanwhile, it runs after them. But
 * for the first, at most one per reconcile_every_ms: asked sooner, it
 * waits for a ring timeout.
 */
void reconcile_start(struct daemon *d);
void reconcile_event(struct daemon *d, int res);
/* The timeout a wanted reconciliation waited for. */
void reconcile_due(struct daemon *d);
/*
 * For records.c and watcher.c: a set seen to end (its record
 * acknowledged, or its shutdown before its arm read) is not lost: its
 * LVs are this daemon's or its requester's to remove.
 */
void reconcile_handled(struct daemon *d, const __u8 id[SNAPSET_ID_LEN]);
/* Stopping: lvs is killed; reconcile_end, after the ring, frees it. */
void reconcile_stop(struct daemon *d);
void reconcile_end(struct daemon *d);

/*
 * owners.c: the requester of a set it closed before its arm removes the
 * LVs it made itself, after the close (the set holds them open); killed
 * meanwhile, it cannot. Its owner is watched, and once it has exited,
 * records_dissolved_release() removes what is left. Past this many
 * owners, or this many sets of one owner, the LVs of a set go at once:
 * with its requester's own lvremove at the same time, one of the two
 * finds nothing.
 */
#define OWNERS_MAX 64
#define OWNER_SETS_MAX 256
void owner_watch(struct daemon *d, const struct snapset_event *ev);
void owners_event(struct daemon *d, struct op *op, int res);
/* After the ring: the watches left are dropped. */
void owners_end(struct daemon *d);

/* connections.c: the writer socket, listened on and accepted. */
int writers_listen(struct daemon *d);
void writers_accept(struct daemon *d);
/* writers.c: each connection's messages, and notices told to writers. */
void writers_event(struct daemon *d, struct op *op, int res);
struct notice;
/* Queues @n to every writer that wants it (notice_wanted()); how many. */
unsigned int writers_queue(struct daemon *d, struct notice *n);
void writers_pump(struct daemon *d);
void writer_drop(struct writer *w, const char *code, const char *reason);
/*
 * After the completions at hand (acks included): deadlines passed go,
 * the events sent in the round get theirs, the silent sends end.
 */
void writers_round_end(struct daemon *d);
void writers_stop(struct daemon *d);
/* The registered writers; without their match lists when @with_match is false.
 */
struct json_object *writers_status(const struct daemon *d, bool with_match);
unsigned int writers_count(const struct daemon *d);

/* described.c: a set's devices as writers are told of them. */
struct described_device {
	bool recorded; /* @info is the record's; an LV of a lost set has none */
	struct snapset_device_info info;
	struct device_desc desc; /* what it was while it existed; 0: unknown */
};
/*
 * Refcounted: a set's notices, its live set and its record share them.
 * NULL is no devices; devices that could not be described (out of
 * memory) are the one shared @unknown list, which every writer's match
 * fits: a writer gets a set it may not care for rather than miss one.
 */
struct described_devices {
	unsigned int refs;
	bool unknown;
	/*
	 * Encoded once (devices_encode(), at arm), for every event of the
	 * set: the devices' JSON array, and the members of the set that its
	 * arm fixes (@set.text NULL: the set is not known, a lost one's).
	 */
	char *json;
	struct set_fixed set;
	unsigned int count;
	struct described_device dev[];
};
/* The record's devices, each with what it is now; unknown without memory. */
struct described_devices *devices_describe(const struct snapset_event *ev);
/*
 * Adds an LV of a lost set, as reconciliation's lvs listed it, to *@devs
 * (NULL: none yet, and then made): -ENOMEM, *@devs then unknown. Only
 * while *@devs is not shared.
 */
int devices_add_lost(struct described_devices **devs,
		     const struct snapset_lv *lv);
/* Another reference (NULL stays NULL); devices_put() drops one. */
struct described_devices *devices_get(struct described_devices *devs);
void devices_put(struct described_devices *devs);
/* A writer's match entry: UUID=, LABEL=, or LV=VG/LV (origin or LV). */
bool device_matches(const struct described_device *dev, const char *match);
/* Whether one of @devs (NULL: none) fits one of @match (NULL-ended). */
bool devices_match(const struct described_devices *devs, char *const *match);
/* The protocol's "devices" array: [] for NULL. */
struct json_object *devices_to_json(const struct described_devices *devs);
/*
 * Encodes @devs and their set now, so that their events do not (out of
 * memory: they are encoded then).
 */
void devices_encode(struct described_devices *devs);
/* The "devices" array as text, encoded once: NULL out of memory. */
const char *devices_text(struct described_devices *devs);

/* notices.c: events to writers. */
/* The writers told an event, named for its one line: "a, b and 3 more". */
#define WRITERS_TOLD_LEN 256
/*
 * How many writers failed, and those @told ("" for none); @interrupted:
 * the daemon stopped first.
 */
typedef void (*notice_done_fn)(void *owner, unsigned int failed,
			       const char *told, bool interrupted);
/*
 * Tells @ev's set to the writers that want it: takes @devices (NULL: it
 * has none); @done (may be NULL) gets how many writers failed.
 */
void notice_send(struct daemon *d, const char *kind,
		 const struct snapset_event *ev,
		 struct described_devices *devices, notice_done_fn done,
		 void *owner);
/* Whether a writer with @match (NULL-ended; empty: any set) gets @n. */
bool notice_wanted(const struct notice *n, char *const *match);
/* @n could not be queued to @writer (out of memory): a failed delivery. */
void notice_missed(struct notice *n, const char *writer);
/* @n encoded for one delivery, as its @event'th event; NULL on failure. */
char *notice_message(const struct notice *n, long long event);
void notice_answered(struct notice *n, const char *writer, bool ok,
		     const char *message);
/* At start: notices wait a moment for writers to reconnect. */
void notices_settle(struct daemon *d);
void notices_settled(struct daemon *d);

/* live_sets.c: each set's devices, and complete or abort told in order. */
void live_set_armed(struct daemon *d, const struct snapset_event *ev);
void live_set_notice(struct daemon *d, const struct snapset_event *ev);
struct described_devices *live_set_ending(struct daemon *d,
					  const struct snapset_event *rec);
void live_set_acknowledged(struct daemon *d, const __u8 id[SNAPSET_ID_LEN]);
/* The watcher read every event up to @seq. */
void live_sets_watched(struct daemon *d, __u64 seq);
void live_sets_free(struct daemon *d);

/* watch.c: the module's complete, abort and armed events. */
void watch_received(struct daemon *d, const void *buf, size_t len);

/* files.c: files replaced atomically, written through rings. */
int files_init(struct daemon *d);
void files_free(struct daemon *d);
/*
 * The file at @path, written with @mode; -errno, reported, when its
 * directory cannot be used (missing, or not root's alone).
 */
int file_job_new(struct daemon *d, const char *path, mode_t mode,
		 struct file_job **out);
/* Writes @data (taken) to the file, now or after the write in flight. */
void file_job_write(struct file_job *f, char *data);
void files_read_event(struct daemon *d);
void files_event(struct daemon *d, int res);

/* history.c: the bounded persistent history, and the status answer. */
int history_load(struct daemon *d);
void history_add(struct daemon *d, const struct snapset_event *rec,
		 const char *release_error, unsigned int writers_failed);
char *status_message(struct daemon *d);

/* metrics.c: the Prometheus textfile. */
struct metrics;
int metrics_init(struct daemon *d);
void metrics_free(struct daemon *d);
void metrics_shutdown(struct daemon *d, const struct snapset_event *rec);
/* A writer's answer, labelled by its name and the uid that connected. */
void metrics_delivery(struct daemon *d, const char *writer, uid_t uid, bool ok);
/*
 * A connection to the writer socket refused, by @reason: written with
 * the next write, or within a second (a refused user may flood us).
 */
void metrics_refused(struct daemon *d, const char *reason);
/* The refusals' deferred write is due. */
void metrics_event(struct daemon *d);
/* Stopping: refusals not written yet are, now (the loop waits for it). */
void metrics_stop(struct daemon *d);
void metrics_release_failure(struct daemon *d, const char *engine);
void metrics_write(struct daemon *d);

/* report.c: journald under systemd, stderr otherwise. */
void report_shutdown(const struct snapset_event *rec, unsigned int failed,
		     const char *writers_told, unsigned int writers_failed);
/* An event other than the shutdown, told to @writers_told. */
void report_told(const char *set_label, const char *set_id, const char *kind,
		 const char *writers_told);
void report_writer_failed(const char *set_label, const char *set_id,
			  const char *kind, const char *writer,
			  const char *message);
void report_release(const struct snapset_event *rec, const char *lv, int result,
		    const char *message);
void report_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
