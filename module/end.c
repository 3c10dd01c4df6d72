// SPDX-License-Identifier: GPL-2.0
/*
 * The end of a snapshot set, which happens exactly once: at the last
 * reference to its file, at abort, or when an administrator terminates it.
 *
 * Termination is a state claim under the set's lock, then, with no lock
 * held, the thaw of what the set froze, the device puts, then the record.
 * The set is "finished" only after all of them: that is when its owner
 * may see POLLHUP or ESHUTDOWN, and when the owner's close() returns, so
 * that an lvremove right after never finds the device still held.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/signal.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "snapset.h"

bool snapset_set_ended(struct snapset_set *set)
{
	return READ_ONCE(set->state) == SNAPSET_STATE_ENDED;
}

bool snapset_set_finished(struct snapset_set *set)
{
	/* Pairs with smp_store_release() in end_finish(). */
	return smp_load_acquire(&set->finished);
}

/*
 * First half of termination, under the set's lock: the state claim that
 * makes it happen once, and the record. Returns -ESHUTDOWN when the set
 * had already ended; otherwise the caller must call end_finish().
 */
static int end_locked(struct snapset_set *set, const struct snapset_end *end,
		      struct snapset_record **rec)
{
	unsigned int i;
	bool armed;

	lockdep_assert_held(&set->lock);
	if (set->state == SNAPSET_STATE_ENDED)
		return -ESHUTDOWN;
	armed = set->state == SNAPSET_STATE_ARMED;
	set->state = SNAPSET_STATE_ENDED;
	set->info.flags |= SNAPSET_SET_TERMINATED | end->flags;
	set->info.reason = end->reason;
	set->info.exit_status = end->exit_status;
	set->info.signal = end->signal;
	snapset_stamp(&set->info.end_realtime, &set->info.end_boottime);
	for (i = 0; i < set->ndevices; i++)
		set->devices[i]->info.flags |= SNAPSET_DEVICE_RELEASED;

	if (armed) {
		/* The set keeps it too: a list finds it there until queued. */
		*rec = set->shutdown;
		kref_get(&(*rec)->ref);
		snapset_record_fill(*rec, set, NULL);
	} else {
		/* Only watchers hear of a set that was never armed. */
		*rec = snapset_record_alloc(SNAPSET_EVENT_SHUTDOWN, set, NULL);
	}
	return 0;
}

/*
 * Second half, with no lock held: drop every device reference, queue the
 * record, and only then unlink, so that a list taken meanwhile finds the
 * set among the live ones until its record is pending.
 */
static void end_finish(struct snapset_set *set, struct snapset_record *rec)
{
	bool armed = set->info.flags & SNAPSET_SET_ARMED;
	unsigned int i;

	/* Nothing the set froze outlives it; thawed before any put. */
	snapset_freeze_end(set, armed ? NULL : rec);
	/* ENDED: nothing else touches the devices now. */
	for (i = 0; i < set->ndevices; i++) {
		snapset_device_close(set->devices[i]);
		set->devices[i] = NULL;
	}
	set->ndevices = 0;
	/* An add or delete in another thread may still hold a reference. */
	wait_event(set->wait, !atomic_read(&set->refs_in_flight));

	if (armed) {
		atomic64_inc(&snapset_stats.terminations[set->info.reason - 1]);
		snapset_queue_shutdown(rec);
		/* Queued: the pending list has it now, not the set. */
		mutex_lock(&set->lock);
		set->shutdown = NULL;
		mutex_unlock(&set->lock);
		snapset_record_put(rec);
	} else {
		atomic64_inc(&snapset_stats.dissolved);
		if (rec)
			snapset_emit(rec);
	}
	snapset_set_unlink(set);
	/* Pairs with smp_load_acquire() in snapset_set_finished(). */
	smp_store_release(&set->finished, true);
	wake_up_all(&set->wait);
}

/*
 * Waits until a set that ended elsewhere has put every device and queued
 * its record; a task killed meanwhile stops waiting.
 */
void snapset_set_wait_finished(struct snapset_set *set)
{
	wait_event_killable(set->wait, snapset_set_finished(set));
}

static void end_work(struct work_struct *work)
{
	struct snapset_set *set = container_of(work, struct snapset_set,
					       end_work);

	end_finish(set, set->end_rec);
	snapset_set_put(set);
	/* snapset_exit() drains snapset_wq: this code outlives the put. */
	module_put(THIS_MODULE);
}

void snapset_set_end_work_init(struct snapset_set *set)
{
	INIT_WORK(&set->end_work, end_work);
}

int snapset_set_abort(struct snapset_set *set, const struct snapset_abort *arg)
{
	const u32 known = SNAPSET_ABORT_EXIT_STATUS | SNAPSET_ABORT_SIGNAL;
	struct snapset_end end = { .reason = SNAPSET_REASON_ABORT };
	struct snapset_record *ev, *rec = NULL;
	int ret;

	if ((arg->flags & ~known) || (arg->flags & known) == known)
		return -EINVAL;
	if (arg->flags & SNAPSET_ABORT_EXIT_STATUS) {
		if (arg->exit_status > 255 || arg->signal)
			return -EINVAL;
		end.flags = SNAPSET_SET_EXIT_STATUS;
		end.exit_status = arg->exit_status;
	} else if (arg->flags & SNAPSET_ABORT_SIGNAL) {
		if (!arg->signal || !valid_signal(arg->signal) ||
		    arg->exit_status)
			return -EINVAL;
		end.flags = SNAPSET_SET_SIGNAL;
		end.signal = arg->signal;
	} else if (arg->exit_status || arg->signal) {
		return -EINVAL;
	}

	mutex_lock(&set->lock);
	if (set->state == SNAPSET_STATE_ENDED) {
		ret = -ESHUTDOWN;
		goto out_unlock;
	}
	if (set->info.flags & SNAPSET_SET_COMPLETED) {
		ret = -EALREADY;
		goto out_unlock;
	}
	ev = snapset_record_alloc(SNAPSET_EVENT_ABORT, set, NULL);
	if (!ev) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	snapset_closer_is_current(set);
	ret = end_locked(set, &end, &rec);
	mutex_unlock(&set->lock);
	/* Thawed first: whoever hears of the abort finds writes going. */
	snapset_freeze_end(set, NULL);
	/* The abort event carries the status and the freeze: filled now. */
	mutex_lock(&set->lock);
	snapset_record_fill(ev, set, NULL);
	mutex_unlock(&set->lock);
	snapset_emit(ev);
	end_finish(set, rec);
	return 0;

out_unlock:
	mutex_unlock(&set->lock);
	return ret;
}

int snapset_set_terminate_id(const u8 *id)
{
	struct snapset_end end = { .reason = SNAPSET_REASON_ADMIN };
	struct snapset_record *rec = NULL;
	struct snapset_set *set;
	int ret;

	set = snapset_set_find_get(id);
	if (!set)
		return -ENOENT;
	mutex_lock(&set->lock);
	if (set->state != SNAPSET_STATE_ENDED)
		snapset_closer_is_current(set);
	ret = end_locked(set, &end, &rec);
	mutex_unlock(&set->lock);
	if (!ret) {
		pr_notice("set %pUb (%s) terminated by %s[%d]\n", set->info.id,
			  set->info.name, current->comm, task_tgid_nr(current));
		end_finish(set, rec);
	} else {
		/* Ending already: "no such set" once its devices are put. */
		snapset_set_wait_finished(set);
	}
	snapset_set_put(set);
	return ret == -ESHUTDOWN ? -ENOENT : ret;
}

/* How the exiting current thread group ended. */
static void exit_of_current(struct snapset_end *end)
{
	int code;

	/*
	 * A group exit (exit_group(), a fatal signal) is told by the group's
	 * code: an io_uring SQPOLL thread, the last to drop the files, exits
	 * with 0 even after SIGKILL.
	 */
	if (READ_ONCE(current->signal->flags) & SIGNAL_GROUP_EXIT)
		code = READ_ONCE(current->signal->group_exit_code);
	else
		code = current->exit_code;
	end->reason = SNAPSET_REASON_EXIT;
	if (code & 0x7f) {
		end->flags |= SNAPSET_SET_SIGNAL;
		end->signal = code & 0x7f;
	} else {
		end->flags |= SNAPSET_SET_EXIT_STATUS;
		end->exit_status = (code >> 8) & 0xff;
	}
}

/* Whether the exiting current task's whole thread group is ending. */
static bool group_ending(void)
{
	/* do_exit() counts the task out of ->live before it closes files. */
	return (READ_ONCE(current->signal->flags) & SIGNAL_GROUP_EXIT) ||
	       !atomic_read(&current->signal->live);
}

/*
 * Whether the owner's end, seen already, stands against this flush: under
 * closer_lock. Against a close by a live process always: a child forked a
 * moment before the owner was killed (an lvm command, a helper) must not
 * turn its SIGKILL into the child's close. Against another holder's exit
 * only when the owner's was abnormal: one that dies after an owner that
 * handed its work over and exited cleanly says how it died.
 */
static bool owner_end_stands(const struct snapset_set *set, bool exiting)
{
	const struct snapset_closer *seen = &set->closer_seen;

	if (!set->closer_valid || !seen->owner_ended)
		return false;
	return !exiting || (seen->end.flags & SNAPSET_SET_SIGNAL) ||
	       seen->end.exit_status;
}

/*
 * ->flush of the set's file, at every close of a descriptor of it.
 *
 * An exiting process always says how it ended, even when something else
 * holds the file for a moment (an io_uring request, a /proc reader,
 * another thread's syscall): the record of a killed backup must say it
 * was killed. A live process's close says "close" only when it drops the
 * last reference; otherwise it clears what an earlier close said, so that
 * a last reference dropped without any close (io_uring fixed files, a
 * descriptor freed in flight) reads as "released". The owner's own exit
 * outweighs what follows it (owner_end_stands()).
 */
void snapset_set_flush(struct snapset_set *set, bool last)
{
	struct snapset_closer seen = {
		.end.reason = SNAPSET_REASON_CLOSE,
	};
	bool exiting = current->flags & PF_EXITING;
	struct pid *old;

	if (!exiting && !last) {
		spin_lock(&set->closer_lock);
		if (owner_end_stands(set, false)) {
			spin_unlock(&set->closer_lock);
			return;
		}
		old = set->closer_seen.tgid;
		set->closer_seen.tgid = NULL;
		set->closer_valid = false;
		spin_unlock(&set->closer_lock);
		put_pid(old);
		return;
	}
	if (exiting) {
		exit_of_current(&seen.end);
		seen.owner_ended = task_tgid(current) == set->owner &&
				   group_ending();
	}
	if (!last)
		seen.end.flags |= SNAPSET_SET_CLOSER_SHARED;
	get_task_comm(seen.comm, current->group_leader);
	seen.tgid = get_pid(task_tgid(current));

	spin_lock(&set->closer_lock);
	if (owner_end_stands(set, exiting)) {
		spin_unlock(&set->closer_lock);
		put_pid(seen.tgid);
		return;
	}
	old = set->closer_seen.tgid;
	set->closer_valid = true;
	set->closer_seen = seen;
	spin_unlock(&set->closer_lock);
	put_pid(old);
}

/*
 * ->release: the last reference. It may run in any task, or in a kernel
 * thread (the delayed fput of a ring torn down in a workqueue), where a
 * device put that blocks must not stall every deferred close of the
 * system: there the work goes to snapset_wq.
 */
void snapset_set_release(struct snapset_set *set)
{
	struct snapset_end end = { .reason = SNAPSET_REASON_RELEASED };
	bool kthread = current->flags & PF_KTHREAD;
	struct snapset_record *rec = NULL;
	struct snapset_closer seen = {};
	int ret;

	spin_lock(&set->closer_lock);
	if (set->closer_valid) {
		seen = set->closer_seen;
		end = seen.end;
		set->closer_seen.tgid = NULL;
		set->closer_valid = false;
	}
	spin_unlock(&set->closer_lock);

	mutex_lock(&set->lock);
	if (set->state != SNAPSET_STATE_ENDED) {
		set->info.closer_tgid = pid_nr(seen.tgid);
		memcpy(set->info.closer_comm, seen.comm, sizeof(seen.comm));
		swap(set->closer, seen.tgid);
	}
	ret = end_locked(set, &end, &rec);
	mutex_unlock(&set->lock);
	put_pid(seen.tgid);

	if (ret) {
		/*
		 * Ended by abort or an administrator, perhaps still putting:
		 * a closer waits for that, unless it is killed meanwhile.
		 */
		if (!kthread)
			snapset_set_wait_finished(set);
		return;
	}
	if (!kthread) {
		end_finish(set, rec);
		return;
	}
	kref_get(&set->ref);
	__module_get(THIS_MODULE);
	set->end_rec = rec;
	queue_work(snapset_wq, &set->end_work);
}
