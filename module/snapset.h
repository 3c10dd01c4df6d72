/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapset internals shared by the device (main.c), the set lifecycle
 * (set.c, end.c), the freeze (freeze.c) and the event queues (events.c).
 *
 * Lock order, outermost first:
 *
 *   snapset_file.lock       per open file: who this file is (set or
 *                           subscriber); held while one is being made
 *   snapset_freezer.lock    per set that froze: its freeze (freeze.c);
 *                           held across the kernel's block device freeze
 *                           and thaw (bd_fsfreeze_mutex, s_umount,
 *                           s_writers) and deactivate_super(); never
 *                           while cancelling the deadline's work, which
 *                           takes it
 *   snapset_set.lock        per set: state and devices; never held across
 *                           a block device open or put
 *   snapset_sets_lock       global list of sets, an ended one until its
 *                           record is queued; held only to link, unlink
 *                           or take references, never with a set's lock
 *   snapset_sub.read_lock   per subscriber: serialises its readers; held
 *                           across copy_to_user()
 *   snapset_events_lock     spinlock: sequence numbers, subscriber queues,
 *                           the pending record list and its two places
 *                           (the last tombstone, the agent's last read
 *                           record); innermost, never held
 *                           across a user copy, an allocation or a device
 *                           put
 *   snapset_set.closer_lock spinlock: the last closer, written by ->flush
 *
 * ->open takes none of them. Block device puts happen with no lock held,
 * and never in the system's delayed-fput work: a termination that starts
 * in a kernel thread is handed to snapset_wq.
 */
#ifndef SNAPSET_INTERNAL_H
#define SNAPSET_INTERNAL_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/poll.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <uapi/linux/snapset.h>

#include "compat.h"

enum snapset_state {
	SNAPSET_STATE_OPEN,	/* created: devices may be added */
	SNAPSET_STATE_ARMED,	/* committed: a record will follow */
	SNAPSET_STATE_ENDED,	/* terminated: devices being released */
};

/*
 * A device-mapper device's uuid, shared by the device and every record
 * of it: most devices have none, and inline it would be most of their
 * struct snapset_device_info.
 */
struct snapset_dm_uuid {
	struct kref ref;
	char text[];
};

/*
 * struct snapset_device_info as the module keeps it, in 40 bytes for 168:
 * expanded by snapset_dev_info_expand() when copied out.
 */
struct snapset_dev_info {
	u32 major;
	u32 minor;
	u64 diskseq;
	u64 sectors;
	u32 flags;
	struct snapset_dm_uuid *dm_uuid;	/* a reference, or NULL */
};

struct snapset_device {
	struct snapset_bdev handle;
	struct snapset_dev_info info;
};

/* How a set ended: filled by whoever terminates it. */
struct snapset_end {
	u32 reason;		/* enum snapset_reason */
	u32 flags;		/* SNAPSET_SET_EXIT_STATUS, _SIGNAL, _CLOSER_SHARED */
	u32 exit_status;
	u32 signal;
};

/* What a ->flush saw of the process closing the set's file. */
struct snapset_closer {
	struct snapset_end end;
	struct pid *tgid;
	char comm[SNAPSET_COMM_LEN];
	bool owner_ended;	/* the owner's whole thread group exited */
};

struct snapset_set {
	struct kref ref;
	struct list_head node;		/* snapset_sets, until unlinked */
	struct mutex lock;		/* everything below but closer_* */
	enum snapset_state state;
	struct snapset_set_info info;	/* ndevices: set per record */
	kuid_t owner_uid;		/* whose set it is, for LIST */
	struct pid *owner;		/* info.owner_tgid, for any namespace */
	struct pid *closer;		/* info.closer_tgid, likewise */
	unsigned int ndevices;
	struct snapset_device **devices;	/* grown by add, to size */
	wait_queue_head_t wait;		/* set handles: POLLHUP at the end */
	/* armed: the record, made at arm, kept until it is queued */
	struct snapset_record *shutdown;
	/*
	 * Device references being opened or put outside the lock (add,
	 * delete): the record waits for them, it follows every put.
	 */
	atomic_t refs_in_flight;
	/*
	 * Every device put and the record queued: only then do POLLHUP, a
	 * returning close() and ESHUTDOWN tell the owner the set is gone.
	 */
	bool finished;
	/* A termination begun in a kernel thread, finished on snapset_wq. */
	struct work_struct end_work;
	struct snapset_record *end_rec;

	/*
	 * The freeze (freeze.c), made by the set's first SNAPSET_IOC_FREEZE
	 * and kept until the set is freed: NULL in a set that never froze.
	 * Set once, under the lock, published with smp_store_release().
	 */
	struct snapset_freezer *freezer;

	spinlock_t closer_lock;		/* the closer_* fields below */
	bool closer_valid;		/* a ->flush said how the set ends */
	struct snapset_closer closer_seen;
};

/* An event or shutdown record, shared by every queue that holds it. */
struct snapset_record {
	struct kref ref;
	struct list_head pending;	/* snapset_pending, if a record */
	kuid_t owner_uid;		/* who may list it */
	struct pid *owner, *closer;	/* ev.set's tgids, per reader */
	struct snapset_event ev;	/* ev.size: as copied out, devices too */
	struct snapset_dev_info devices[];	/* ev.set.ndevices of them */
};

struct snapset_qentry {
	struct snapset_record *rec;	/* NULL: overflow marker */
	u64 missed;			/* marker: events lost here */
	u64 first_missed;		/* marker: seq of the first one */
};

/* Users of an agent's file remembered: a live one is not displaced. */
#define SNAPSET_SUB_USERS 4

struct snapset_sub {
	struct list_head node;		/* snapset_subs */
	struct mutex read_lock;		/* serialises this file's readers */
	bool agent;
	bool displaced;			/* an agent that lost its place */
	/*
	 * The processes that subscribed, read or acknowledged through this
	 * file, under snapset_events_lock: the agent is its file, alive
	 * while one of its users is.
	 */
	struct pid *users[SNAPSET_SUB_USERS];
	u64 cursor;			/* agent: seq of the last record read */
	/* watcher: a ring of queued events, under snapset_events_lock */
	struct snapset_qentry *queue;
	unsigned int qsize, qhead, qlen;
	u64 missed, first_missed;
};

struct snapset_file {
	struct mutex lock;		/* making @set or @sub */
	struct snapset_set *set;	/* this file is the set's handle */
	struct snapset_sub *sub;	/* this file reads events */
};

/* Counters shown in sysfs. */
struct snapset_stats {
	atomic_t sets_live;
	atomic64_t dissolved;		/* ended before arm: no record */
	atomic64_t terminations[SNAPSET_REASON_ADMIN];
	atomic_t pending;
	atomic_t subscribers;		/* watchers and the agent */
	atomic64_t tombstoned;
	atomic64_t overflows;
	atomic64_t discarded;
};

extern struct snapset_stats snapset_stats;
extern unsigned int snapset_max_pending;
extern unsigned int snapset_max_records;
extern unsigned int snapset_watcher_queue;
extern struct workqueue_struct *snapset_wq;

static inline void snapset_stamp(__u64 *realtime, __u64 *boottime)
{
	*realtime = ktime_get_real_ns();
	*boottime = ktime_get_boottime_ns();
}

/* main.c: size-first ioctl arguments */
int snapset_arg_in(void *karg, size_t ksize, size_t ver0, void __user *uarg);
int snapset_arg_out(void __user *uarg, const void *karg, size_t ksize,
		    u32 usize);
#define SNAPSET_ARG_IN(karg, ver0, uarg) \
	snapset_arg_in(&(karg), sizeof(karg), ver0, uarg)

/* set.c */
int snapset_set_cache_create(void);
void snapset_set_cache_destroy(void);
struct snapset_set *snapset_set_create(const struct snapset_create *arg);
void snapset_set_put(struct snapset_set *set);
int snapset_set_add(struct snapset_set *set, const struct snapset_add *arg);
int snapset_set_arm(struct snapset_set *set);
int snapset_set_complete(struct snapset_set *set);
int snapset_set_delete(struct snapset_set *set,
		       const struct snapset_delete *arg);
void snapset_device_close(struct snapset_device *dev);
void snapset_dev_info_copy(struct snapset_dev_info *dst,
			   const struct snapset_dev_info *src);
void snapset_dev_info_release(struct snapset_dev_info *info);
void snapset_dev_info_expand(const struct snapset_dev_info *info,
			     struct snapset_device_info *out);
struct snapset_set *snapset_set_find_get(const u8 *id);
void snapset_set_unlink(struct snapset_set *set);
void snapset_closer_is_current(struct snapset_set *set);

/* end.c */
int snapset_set_abort(struct snapset_set *set, const struct snapset_abort *arg);
int snapset_set_terminate_id(const u8 *id);
void snapset_set_flush(struct snapset_set *set, bool last);
void snapset_set_release(struct snapset_set *set);
bool snapset_set_ended(struct snapset_set *set);
bool snapset_set_finished(struct snapset_set *set);
void snapset_set_wait_finished(struct snapset_set *set);
void snapset_set_end_work_init(struct snapset_set *set);

/* freeze.c */
void snapset_freeze_free(struct snapset_set *set);
int snapset_set_freeze(struct snapset_set *set,
		       const struct snapset_freeze *arg);
int snapset_set_thaw(struct snapset_set *set, struct snapset_thaw *out);
int snapset_freeze_may_arm(struct snapset_set *set);
void snapset_freeze_end(struct snapset_set *set, struct snapset_record *rec);

/* Records gathered for SNAPSET_IOC_LIST, each holding a reference. */
struct snapset_records {
	struct snapset_record **recs;
	unsigned int count, capacity;
	size_t bytes;
	bool all;		/* CAP_SYS_ADMIN: every owner's */
	kuid_t uid;		/* otherwise only this owner's */
};

/* list.c */
bool snapset_records_visible(const struct snapset_records *out, kuid_t owner);
int snapset_records_add(struct snapset_records *out,
			struct snapset_record *rec);
long snapset_list(void __user *uarg);
int snapset_sets_collect(struct snapset_records *out);

/* record.c */
struct snapset_record *snapset_record_alloc(u32 type, struct snapset_set *set,
					    const struct snapset_device *one);
void snapset_record_fill(struct snapset_record *rec, struct snapset_set *set,
			 const struct snapset_device *one);
void snapset_record_put(struct snapset_record *rec);
void snapset_event_header(const struct snapset_record *rec,
			  struct snapset_event *hdr);
void snapset_event_set_sizes(struct snapset_event *ev, unsigned int ndevices);
void snapset_record_copy_ids(struct snapset_record *dst,
			     const struct snapset_record *src);

/* events.c */
int snapset_record_reserve(void);
void snapset_record_unreserve(void);
void snapset_emit(struct snapset_record *rec);
void snapset_queue_shutdown(struct snapset_record *rec);
int snapset_subscribe(struct snapset_file *sf,
		      const struct snapset_subscribe *arg);
void snapset_unsubscribe(struct snapset_sub *sub);
pid_t snapset_agent_pid(void);
ssize_t snapset_sub_read(struct snapset_sub *sub, struct kiocb *iocb,
			 struct iov_iter *to);
__poll_t snapset_sub_poll(struct snapset_sub *sub, struct file *file,
			  poll_table *wait);
int snapset_ack(struct snapset_sub *sub, const u8 *id);
int snapset_discard(const u8 *id);
int snapset_pending_collect(struct snapset_records *out);
int snapset_unqueued_collect(struct snapset_records *out,
			     const struct snapset_record *rec);

#endif /* SNAPSET_INTERNAL_H */
