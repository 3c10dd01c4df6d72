// SPDX-License-Identifier: GPL-2.0
/*
 * Events and shutdown records.
 *
 * Every event gets a sequence number and goes to each watcher's bounded
 * queue; a watcher that falls behind loses events, and is told how many by
 * one overflow record where the gap is. Shutdown records of armed sets also
 * go to the pending list, which the delivery agent reads losslessly through
 * its own cursor and empties by acknowledging. Past max_pending, the
 * oldest full record is reduced to a tombstone that keeps its set's fields
 * but not its devices. Armed sets and pending records together are held
 * to max_records: past it, arm fails. Every pending record holds a
 * reference on the module.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/pid_namespace.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "snapset.h"

static DEFINE_SPINLOCK(snapset_events_lock);
static LIST_HEAD(snapset_subs);
static LIST_HEAD(snapset_pending);
/*
 * Places in the pending list, each a record in it or the list's head,
 * kept so under snapset_events_lock when a record leaves (pending_leave())
 * so that neither the bound nor the agent's read walks what it passed:
 * the last tombstone (the tombstones are the list's oldest records, as
 * the oldest whole record is the one reduced), and a record the agent
 * has read, the last or an earlier one.
 */
static struct list_head *snapset_tombs_end = &snapset_pending;
static struct list_head *snapset_agent_read = &snapset_pending;
static u64 snapset_seq;
static unsigned int snapset_pending_full;	/* pending, not tombstones */
static unsigned int snapset_reserved;	/* armed sets and pending records */
static struct snapset_sub *snapset_agent;
static DECLARE_WAIT_QUEUE_HEAD(snapset_event_wait);

/*
 * Takes the place of an armed set's future record, which it keeps until
 * acknowledged or discarded: -ENOSPC past max_records, so a requester
 * learns before it makes snapshots that nothing would track them.
 */
int snapset_record_reserve(void)
{
	int ret = 0;

	spin_lock(&snapset_events_lock);
	if (snapset_reserved >= snapset_max_records)
		ret = -ENOSPC;
	else
		snapset_reserved++;
	spin_unlock(&snapset_events_lock);
	return ret;
}

void snapset_record_unreserve(void)
{
	spin_lock(&snapset_events_lock);
	snapset_reserved--;
	spin_unlock(&snapset_events_lock);
}

static bool is_tombstone(const struct snapset_record *rec)
{
	return rec->ev.set.flags & SNAPSET_SET_TOMBSTONE;
}

/* Under snapset_events_lock: records the gap where it is, one slot. */
static void queue_marker(struct snapset_sub *sub)
{
	struct snapset_qentry *e =
		&sub->queue[(sub->qhead + sub->qlen++) % sub->qsize];

	e->rec = NULL;
	e->missed = sub->missed;
	e->first_missed = sub->first_missed;
	sub->missed = 0;
}

/* Under snapset_events_lock. */
static void queue_push(struct snapset_sub *sub, struct snapset_record *rec)
{
	unsigned int need = sub->missed ? 2 : 1;
	struct snapset_qentry *e;

	if (sub->qlen + need > sub->qsize) {
		if (!sub->missed++) {
			sub->first_missed = rec->ev.seq;
			atomic64_inc(&snapset_stats.overflows);
		}
		return;
	}
	if (sub->missed)
		queue_marker(sub);
	e = &sub->queue[(sub->qhead + sub->qlen++) % sub->qsize];
	kref_get(&rec->ref);
	e->rec = rec;
}

/* Under snapset_events_lock: number the event, queue it to watchers. */
static void broadcast(struct snapset_record *rec)
{
	struct snapset_sub *sub;

	rec->ev.seq = ++snapset_seq;
	list_for_each_entry(sub, &snapset_subs, node)
		if (!sub->agent)
			queue_push(sub, rec);
}

/* Publishes @rec to every watcher; consumes the caller's reference. */
void snapset_emit(struct snapset_record *rec)
{
	spin_lock(&snapset_events_lock);
	broadcast(rec);
	spin_unlock(&snapset_events_lock);
	wake_up_all(&snapset_event_wait);
	snapset_record_put(rec);
}

/* Under snapset_events_lock: the oldest pending record that is whole. */
static struct snapset_record *oldest_full(void)
{
	if (snapset_tombs_end->next == &snapset_pending)
		return NULL;
	return list_entry(snapset_tombs_end->next, struct snapset_record,
			  pending);
}

/*
 * Under snapset_events_lock: @rec leaves the pending list, for @tomb in
 * its place or for good (@tomb NULL); the places kept in it follow.
 */
static void pending_leave(struct snapset_record *rec,
			  struct snapset_record *tomb)
{
	struct list_head *instead = tomb ? &tomb->pending : rec->pending.prev;

	if (snapset_tombs_end == &rec->pending)
		snapset_tombs_end = instead;
	if (snapset_agent_read == &rec->pending)
		snapset_agent_read = instead;
	if (tomb)
		list_replace_init(&rec->pending, &tomb->pending);
	else
		list_del_init(&rec->pending);
}

/*
 * Queues an armed set's shutdown record: to the watchers and to the
 * pending list, where it stays until acknowledged or discarded.
 */
void snapset_queue_shutdown(struct snapset_record *rec)
{
	struct snapset_record *tomb, *reduced = NULL;

	/* Made before the lock; unused unless the bound is passed. */
	tomb = kzalloc(sizeof(*tomb), GFP_KERNEL_ACCOUNT);
	__module_get(THIS_MODULE);

	spin_lock(&snapset_events_lock);
	broadcast(rec);
	kref_get(&rec->ref);
	list_add_tail(&rec->pending, &snapset_pending);
	snapset_pending_full++;
	atomic_inc(&snapset_stats.pending);
	if (snapset_pending_full > snapset_max_pending && tomb) {
		reduced = oldest_full();
		kref_init(&tomb->ref);
		snapset_record_copy_ids(tomb, reduced);
		tomb->ev.type = SNAPSET_EVENT_SHUTDOWN;
		tomb->ev.seq = reduced->ev.seq;
		tomb->ev.set = reduced->ev.set;
		tomb->ev.set.flags |= SNAPSET_SET_TOMBSTONE;
		tomb->ev.set.ndevices = 0;
		snapset_event_set_sizes(&tomb->ev, 0);
		pending_leave(reduced, tomb);
		snapset_tombs_end = &tomb->pending;
		snapset_pending_full--;
		tomb = NULL;
	}
	spin_unlock(&snapset_events_lock);
	wake_up_all(&snapset_event_wait);

	if (reduced) {
		atomic64_inc(&snapset_stats.tombstoned);
		pr_warn_ratelimited("pending record of set %pUb (%s) reduced to a tombstone: more than max_pending=%u records unacknowledged\n",
				    reduced->ev.set.id, reduced->ev.set.name,
				    snapset_max_pending);
		snapset_record_put(reduced);
	}
	kfree(tomb);
	snapset_record_put(rec);
}

/* Under RCU: the process of @pid has not begun to exit. */
static bool process_alive(struct pid *pid)
{
	struct task_struct *task = pid_task(pid, PIDTYPE_TGID);

	if (!task || (READ_ONCE(task->signal->flags) & SIGNAL_GROUP_EXIT))
		return false;
	return !(task->flags & PF_EXITING) || get_nr_threads(task) > 1;
}

/*
 * Under snapset_events_lock and RCU: the first live user of @sub's file,
 * or NULL. An agent none of whose users is alive (its file can outlive
 * them: io_uring tears rings down in a workqueue) gives way to a new one.
 */
static struct pid *live_user(struct snapset_sub *sub)
{
	unsigned int i;

	for (i = 0; i < SNAPSET_SUB_USERS; i++)
		if (sub->users[i] && process_alive(sub->users[i]))
			return sub->users[i];
	return NULL;
}

/*
 * The live agent's tgid as the reader's pid namespace sees it, or 0: lets
 * a requester warn that nothing will release its snapshots if it dies.
 */
pid_t snapset_agent_pid(void)
{
	pid_t nr = 0;

	spin_lock(&snapset_events_lock);
	rcu_read_lock();
	if (snapset_agent)
		nr = pid_vnr(live_user(snapset_agent));
	rcu_read_unlock();
	spin_unlock(&snapset_events_lock);
	return nr;
}

/*
 * The current process uses @sub's file: remember it, in place of a user
 * that is gone, or else of the longest remembered. A daemon that
 * subscribes, then forks and goes on in the child, stays the agent; so
 * does one whose file a passing child read through once.
 */
static void user_is_current(struct snapset_sub *sub)
{
	struct pid *pid = task_tgid(current), *old;
	unsigned int i, slot = 0;

	spin_lock(&snapset_events_lock);
	rcu_read_lock();
	for (i = 0; i < SNAPSET_SUB_USERS; i++) {
		if (sub->users[i] == pid)
			goto out_unlock;
		if (!sub->users[i] || !process_alive(sub->users[i]))
			slot = i;
	}
	/* All alive: the oldest, at 0, goes. */
	old = sub->users[slot];
	if (old && process_alive(old)) {
		memmove(&sub->users[0], &sub->users[1],
			(SNAPSET_SUB_USERS - 1) * sizeof(*sub->users));
		slot = SNAPSET_SUB_USERS - 1;
	}
	sub->users[slot] = get_pid(pid);
	rcu_read_unlock();
	spin_unlock(&snapset_events_lock);
	put_pid(old);
	return;

out_unlock:
	rcu_read_unlock();
	spin_unlock(&snapset_events_lock);
}

static void users_put(struct snapset_sub *sub)
{
	unsigned int i;

	for (i = 0; i < SNAPSET_SUB_USERS; i++)
		put_pid(sub->users[i]);
}

int snapset_subscribe(struct snapset_file *sf,
		      const struct snapset_subscribe *arg)
{
	bool agent = arg->flags & SNAPSET_SUBSCRIBE_AGENT;
	bool takeover = false;
	struct snapset_sub *sub;
	int ret = 0;

	if (arg->flags & ~SNAPSET_SUBSCRIBE_AGENT)
		return -EINVAL;
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;

	sub = kzalloc(sizeof(*sub), GFP_KERNEL_ACCOUNT);
	if (!sub)
		return -ENOMEM;
	mutex_init(&sub->read_lock);
	sub->agent = agent;
	if (!agent) {
		sub->qsize = snapset_watcher_queue;
		sub->queue = kcalloc(sub->qsize, sizeof(*sub->queue),
				     GFP_KERNEL_ACCOUNT);
		if (!sub->queue) {
			ret = -ENOMEM;
			goto out_free;
		}
	}
	sub->users[0] = get_pid(task_tgid(current));

	spin_lock(&snapset_events_lock);
	if (agent) {
		rcu_read_lock();
		if (snapset_agent && live_user(snapset_agent))
			ret = -EBUSY;
		rcu_read_unlock();
		if (!ret) {
			if (snapset_agent) {
				snapset_agent->displaced = true;
				takeover = true;
			}
			snapset_agent = sub;
			snapset_agent_read = &snapset_pending;
		}
	}
	if (!ret)
		list_add_tail(&sub->node, &snapset_subs);
	spin_unlock(&snapset_events_lock);
	if (ret)
		goto out_put;
	if (takeover)
		pr_notice("%s[%d] takes over as delivery agent: no user of the previous agent's file is alive\n",
			  current->comm, task_tgid_nr(current));

	atomic_inc(&snapset_stats.subscribers);
	wake_up_all(&snapset_event_wait);
	/* Publish the whole subscriber: pairs with file_sub() in main.c. */
	smp_store_release(&sf->sub, sub);
	return 0;

out_put:
	users_put(sub);
out_free:
	kfree(sub->queue);
	mutex_destroy(&sub->read_lock);
	kfree(sub);
	return ret;
}

void snapset_unsubscribe(struct snapset_sub *sub)
{
	unsigned int i;

	spin_lock(&snapset_events_lock);
	list_del(&sub->node);
	if (snapset_agent == sub)
		snapset_agent = NULL;
	spin_unlock(&snapset_events_lock);
	atomic_dec(&snapset_stats.subscribers);

	for (i = 0; i < sub->qlen; i++) {
		struct snapset_qentry *e =
			&sub->queue[(sub->qhead + i) % sub->qsize];

		if (e->rec)
			snapset_record_put(e->rec);
	}
	users_put(sub);
	kfree(sub->queue);
	mutex_destroy(&sub->read_lock);
	kfree(sub);
}

/*
 * Under snapset_events_lock: the agent's next unread pending record. The
 * walk starts after a record it has read, and passes each once. Only the
 * agent's own reads may move that place: another subscriber's would skip
 * the agent's records.
 */
static struct snapset_record *agent_next(struct snapset_sub *sub)
{
	struct snapset_record *rec;
	struct list_head *pos;

	lockdep_assert_held(&snapset_events_lock);
	if (WARN_ON_ONCE(sub != snapset_agent))
		return NULL;
	for (pos = snapset_agent_read->next; pos != &snapset_pending;
	     pos = pos->next) {
		rec = list_entry(pos, struct snapset_record, pending);
		if (rec->ev.seq > sub->cursor)
			return rec;
		snapset_agent_read = pos;
	}
	return NULL;
}

static bool sub_readable(struct snapset_sub *sub)
{
	bool ready;

	spin_lock(&snapset_events_lock);
	if (sub->displaced)
		ready = true;
	else if (sub->agent)
		ready = agent_next(sub);
	else
		ready = sub->qlen || sub->missed;
	spin_unlock(&snapset_events_lock);
	return ready;
}

/*
 * What a reader is about to copy: a record, or an overflow made here; @hdr
 * is the overflow, or the record's header as this reader sees it.
 */
struct snapset_next {
	struct snapset_record *rec;
	struct snapset_event hdr;
};

static void make_overflow(struct snapset_next *next, u64 missed, u64 first)
{
	memset(&next->hdr, 0, sizeof(next->hdr));
	next->hdr.type = SNAPSET_EVENT_OVERFLOW;
	snapset_event_set_sizes(&next->hdr, 0);
	next->hdr.seq = first;
	next->hdr.missed = missed;
}

/* Under snapset_events_lock. Returns false when nothing is there. */
static bool peek(struct snapset_sub *sub, struct snapset_next *next)
{
	struct snapset_qentry *e;

	next->rec = NULL;
	if (sub->displaced)
		return false;
	if (sub->agent) {
		next->rec = agent_next(sub);
		if (!next->rec)
			return false;
		kref_get(&next->rec->ref);
		return true;
	}
	/*
	 * A gap after the last queued event becomes a marker now (the ring is
	 * empty, so there is room): events queued while this reader copies
	 * must not report the same gap again.
	 */
	if (!sub->qlen && sub->missed)
		queue_marker(sub);
	if (!sub->qlen)
		return false;
	e = &sub->queue[sub->qhead];
	next->rec = e->rec;
	if (e->rec)
		kref_get(&e->rec->ref);
	else
		make_overflow(next, e->missed, e->first_missed);
	return true;
}

/* Under snapset_events_lock, after a successful copy of @next. */
static void consume(struct snapset_sub *sub, struct snapset_next *next)
{
	if (sub->agent) {
		sub->cursor = next->rec->ev.seq;
		return;
	}
	/* Only readers, serialised by read_lock, take from the head. */
	sub->qhead = (sub->qhead + 1) % sub->qsize;
	sub->qlen--;
	if (next->rec)
		snapset_record_put(next->rec); /* the queue's reference */
}

/* Copies @next whole, or nothing: the number of bytes copied. */
static size_t copy_next(struct snapset_next *next, struct iov_iter *to)
{
	const size_t hdr_size = sizeof(struct snapset_event);
	struct snapset_device_info info;
	size_t copied;
	unsigned int i;

	if (!next->rec)
		return copy_to_iter(&next->hdr, hdr_size, to);
	snapset_event_header(next->rec, &next->hdr);
	copied = copy_to_iter(&next->hdr, hdr_size, to);
	for (i = 0; i < next->rec->ev.set.ndevices; i++) {
		if (copied != hdr_size + i * sizeof(info))
			break;
		snapset_dev_info_expand(&next->rec->devices[i], &info);
		copied += copy_to_iter(&info, sizeof(info), to);
	}
	return copied;
}

/* Copies whole records while they fit. Under read_lock. */
static ssize_t read_records(struct snapset_sub *sub, struct iov_iter *to)
{
	struct snapset_next next;
	ssize_t done = 0;
	size_t size, copied;

	for (;;) {
		spin_lock(&snapset_events_lock);
		if (!peek(sub, &next)) {
			spin_unlock(&snapset_events_lock);
			return done;
		}
		spin_unlock(&snapset_events_lock);

		size = next.rec ? next.rec->ev.size : next.hdr.size;
		if (size > iov_iter_count(to)) {
			if (next.rec)
				snapset_record_put(next.rec);
			return done ?: -EINVAL;
		}
		copied = copy_next(&next, to);
		if (copied != size) {
			iov_iter_revert(to, copied);
			if (next.rec)
				snapset_record_put(next.rec);
			return done ?: -EFAULT;
		}
		spin_lock(&snapset_events_lock);
		consume(sub, &next);
		spin_unlock(&snapset_events_lock);
		if (next.rec)
			snapset_record_put(next.rec);
		done += size;
	}
}

ssize_t snapset_sub_read(struct snapset_sub *sub, struct kiocb *iocb,
			 struct iov_iter *to)
{
	bool nowait = (iocb->ki_filp->f_flags & O_NONBLOCK) ||
		      (iocb->ki_flags & IOCB_NOWAIT);
	ssize_t ret;

	user_is_current(sub);
	if (nowait) {
		if (!mutex_trylock(&sub->read_lock))
			return -EAGAIN;
	} else if (mutex_lock_interruptible(&sub->read_lock)) {
		return -ERESTARTSYS;
	}
	for (;;) {
		ret = read_records(sub, to);
		if (ret || READ_ONCE(sub->displaced))
			break;
		if (nowait) {
			ret = -EAGAIN;
			break;
		}
		ret = wait_event_interruptible(snapset_event_wait,
					       sub_readable(sub));
		if (ret)
			break;
	}
	mutex_unlock(&sub->read_lock);
	return ret;
}

__poll_t snapset_sub_poll(struct snapset_sub *sub, struct file *file,
			  poll_table *wait)
{
	__poll_t mask = 0;

	poll_wait(file, &snapset_event_wait, wait);
	if (READ_ONCE(sub->displaced))
		return EPOLLERR | EPOLLHUP;
	if (sub_readable(sub))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

/* Under snapset_events_lock. */
static struct snapset_record *find_pending(const u8 *id)
{
	struct snapset_record *rec;

	list_for_each_entry(rec, &snapset_pending, pending)
		if (!memcmp(rec->ev.set.id, id, SNAPSET_ID_LEN))
			return rec;
	return NULL;
}

/* Under snapset_events_lock. */
static void unlink_pending(struct snapset_record *rec)
{
	pending_leave(rec, NULL);
	if (!is_tombstone(rec))
		snapset_pending_full--;
	snapset_reserved--;
	atomic_dec(&snapset_stats.pending);
}

static int take_pending(struct snapset_sub *agent, const u8 *id,
			struct snapset_record **out)
{
	struct snapset_record *rec;
	int ret = 0;

	spin_lock(&snapset_events_lock);
	if (agent && snapset_agent != agent) {
		ret = -EPERM;
	} else {
		rec = find_pending(id);
		if (rec) {
			unlink_pending(rec);
			*out = rec;
		} else {
			ret = -ENOENT;
		}
	}
	spin_unlock(&snapset_events_lock);
	return ret;
}

int snapset_ack(struct snapset_sub *sub, const u8 *id)
{
	struct snapset_record *rec;
	int ret;

	user_is_current(sub);
	ret = take_pending(sub, id, &rec);
	if (ret)
		return ret;
	snapset_record_put(rec);
	module_put(THIS_MODULE);
	return 0;
}

int snapset_discard(const u8 *id)
{
	struct snapset_record *rec;
	int ret;

	ret = take_pending(NULL, id, &rec);
	if (ret)
		return ret;
	atomic64_inc(&snapset_stats.discarded);
	pr_notice("pending record of set %pUb (%s) discarded by %s[%d]\n",
		  rec->ev.set.id, rec->ev.set.name, current->comm,
		  task_tgid_nr(current));
	snapset_record_put(rec);
	module_put(THIS_MODULE);
	return 0;
}

/* SNAPSET_IOC_LIST: references on every pending record, oldest first. */
int snapset_pending_collect(struct snapset_records *out)
{
	struct snapset_record *rec, **recs;
	unsigned int n, i = 0;
	int ret = 0;

	for (;;) {
		n = atomic_read(&snapset_stats.pending);
		recs = kvmalloc_array(n ?: 1, sizeof(*recs), GFP_KERNEL);
		if (!recs)
			return -ENOMEM;
		spin_lock(&snapset_events_lock);
		if (atomic_read(&snapset_stats.pending) <= n)
			break;
		spin_unlock(&snapset_events_lock);
		kvfree(recs);
	}
	list_for_each_entry(rec, &snapset_pending, pending) {
		kref_get(&rec->ref);
		recs[i++] = rec;
	}
	spin_unlock(&snapset_events_lock);

	for (n = 0; n < i && !ret; n++)
		ret = snapset_records_add(out, recs[n]);
	for (; n < i; n++)
		snapset_record_put(recs[n]);
	kvfree(recs);
	return ret;
}

/*
 * SNAPSET_IOC_LIST, for a set that terminated and still puts its devices:
 * a copy of its shutdown record @rec while that is not queued. A queued
 * one has its sequence number, and the pending list has it. Called with
 * the set's lock held, under which @rec's devices were filled.
 */
int snapset_unqueued_collect(struct snapset_records *out,
			     const struct snapset_record *rec)
{
	unsigned int i, n = rec->ev.set.ndevices;
	struct snapset_record *copy;
	bool queued;

	copy = kzalloc(struct_size(copy, devices, n), GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	spin_lock(&snapset_events_lock);
	queued = rec->ev.seq;
	if (!queued) {
		snapset_record_copy_ids(copy, rec);
		copy->ev = rec->ev;
		for (i = 0; i < n; i++)
			snapset_dev_info_copy(&copy->devices[i],
					      &rec->devices[i]);
	}
	spin_unlock(&snapset_events_lock);
	if (queued) {
		kfree(copy);
		return 0;
	}
	kref_init(&copy->ref);
	INIT_LIST_HEAD(&copy->pending);
	return snapset_records_add(out, copy);
}
