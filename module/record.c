// SPDX-License-Identifier: GPL-2.0
/*
 * Records: an event's body as the module keeps it, made from a set (its
 * fields and devices at that moment) and read in each reader's pid and
 * user namespaces. Queueing them is events.c's.
 */
#include <linux/cred.h>
#include <linux/pid_namespace.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "snapset.h"

static bool type_has_all_devices(u32 type)
{
	return type == SNAPSET_EVENT_ARMED || type == SNAPSET_EVENT_SHUTDOWN ||
	       type == SNAPSET_RECORD_LIVE;
}

/* The record says its own layout, so that both parts may grow. */
void snapset_event_set_sizes(struct snapset_event *ev, unsigned int ndevices)
{
	ev->header_size = sizeof(struct snapset_event);
	ev->device_size = sizeof(struct snapset_device_info);
	ev->size = ev->header_size + ndevices * ev->device_size;
}

static void pid_assign(struct pid **dst, struct pid *src)
{
	put_pid(*dst);
	*dst = get_pid(src);
}

/* Who a record is about, for a reader in any pid namespace. */
void snapset_record_copy_ids(struct snapset_record *dst,
			     const struct snapset_record *src)
{
	dst->owner_uid = src->owner_uid;
	pid_assign(&dst->owner, src->owner);
	pid_assign(&dst->closer, src->closer);
}

void snapset_record_fill(struct snapset_record *rec, struct snapset_set *set,
			 const struct snapset_device *one)
{
	unsigned int i, n = 0;

	/*
	 * A shutdown record made at arm is filled again at the end, before
	 * it is queued: its readers never see the devices it gives back.
	 */
	WARN_ON_ONCE(rec->ev.seq);
	for (i = 0; i < rec->ev.set.ndevices; i++)
		snapset_dev_info_release(&rec->devices[i]);
	rec->owner_uid = set->owner_uid;
	pid_assign(&rec->owner, set->owner);
	pid_assign(&rec->closer, set->closer);
	rec->ev.set = set->info;
	if (one) {
		snapset_dev_info_copy(&rec->devices[n++], &one->info);
	} else if (type_has_all_devices(rec->ev.type)) {
		for (i = 0; i < set->ndevices; i++)
			snapset_dev_info_copy(&rec->devices[n++],
					      &set->devices[i]->info);
	}
	rec->ev.set.ndevices = n;
	snapset_event_set_sizes(&rec->ev, n);
}

/* Called with the set's lock held (or before anyone else can see it). */
struct snapset_record *snapset_record_alloc(u32 type, struct snapset_set *set,
					    const struct snapset_device *one)
{
	unsigned int n = one ? 1 : 0;
	struct snapset_record *rec;

	if (!one && type_has_all_devices(type))
		n = set->ndevices;
	rec = kzalloc(struct_size(rec, devices, n), GFP_KERNEL_ACCOUNT);
	if (!rec)
		return NULL;
	kref_init(&rec->ref);
	INIT_LIST_HEAD(&rec->pending);
	rec->ev.type = type;
	snapset_record_fill(rec, set, one);
	return rec;
}

static void record_free(struct kref *ref)
{
	struct snapset_record *rec = container_of(ref, struct snapset_record,
						  ref);
	unsigned int i;

	for (i = 0; i < rec->ev.set.ndevices; i++)
		snapset_dev_info_release(&rec->devices[i]);
	put_pid(rec->owner);
	put_pid(rec->closer);
	kfree(rec);
}

void snapset_record_put(struct snapset_record *rec)
{
	kref_put(&rec->ref, record_free);
}

/*
 * @rec's header as the current task may read it: its owner and closer as
 * its pid namespace sees them (0 when they are not in it), the owner's uid
 * as its user namespace does.
 */
void snapset_event_header(const struct snapset_record *rec,
			  struct snapset_event *hdr)
{
	struct pid_namespace *ns = task_active_pid_ns(current);

	*hdr = rec->ev;
	hdr->set.owner_tgid = pid_nr_ns(rec->owner, ns);
	hdr->set.closer_tgid = pid_nr_ns(rec->closer, ns);
	hdr->set.owner_uid = from_kuid_munged(current_user_ns(),
					      rec->owner_uid);
}
