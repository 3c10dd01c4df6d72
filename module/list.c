// SPDX-License-Identifier: GPL-2.0
/*
 * SNAPSET_IOC_LIST: live sets, then pending records, as whole records in
 * the caller's buffer.
 *
 * An administrator (CAP_SYS_ADMIN) sees every set; anyone else who can
 * open the device sees only the sets created with their effective uid.
 * Owner and closer pids are given in the caller's pid namespace. The
 * records gathered are references, not copies, kept in an array that
 * grows with kvmalloc: the pending list alone may hold max_records.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "snapset.h"

static int records_grow(struct snapset_records *out)
{
	unsigned int capacity = out->capacity * 2 + 16;
	struct snapset_record **grown;

	grown = kvmalloc_array(capacity, sizeof(*grown), GFP_KERNEL);
	if (!grown)
		return -ENOMEM;
	if (out->count)
		memcpy(grown, out->recs, out->count * sizeof(*grown));
	kvfree(out->recs);
	out->recs = grown;
	out->capacity = capacity;
	return 0;
}

bool snapset_records_visible(const struct snapset_records *out, kuid_t owner)
{
	return out->all || uid_eq(owner, out->uid);
}

/* Keeps @rec, or drops it when the caller may not see it; consumes it. */
int snapset_records_add(struct snapset_records *out,
			struct snapset_record *rec)
{
	int ret;

	if (!snapset_records_visible(out, rec->owner_uid)) {
		snapset_record_put(rec);
		return 0;
	}
	if (out->count == out->capacity) {
		ret = records_grow(out);
		if (ret) {
			snapset_record_put(rec);
			return ret;
		}
	}
	out->recs[out->count++] = rec;
	out->bytes += rec->ev.size;
	return 0;
}

static void records_free(struct snapset_records *out)
{
	unsigned int i;

	for (i = 0; i < out->count; i++)
		snapset_record_put(out->recs[i]);
	kvfree(out->recs);
}

static int copy_devices(const struct snapset_record *rec, u8 __user *buf)
{
	struct snapset_device_info info;
	unsigned int i;

	for (i = 0; i < rec->ev.set.ndevices; i++) {
		snapset_dev_info_expand(&rec->devices[i], &info);
		if (copy_to_user(buf + i * sizeof(info), &info, sizeof(info)))
			return -EFAULT;
	}
	return 0;
}

static long copy_records(const struct snapset_records *recs, u8 __user *buf)
{
	const size_t hdr_size = sizeof(struct snapset_event);
	struct snapset_event hdr;
	unsigned int i;

	for (i = 0; i < recs->count; i++) {
		const struct snapset_record *rec = recs->recs[i];

		snapset_event_header(rec, &hdr);
		/* Pending records are shutdown events: say what they are. */
		if (hdr.type == SNAPSET_EVENT_SHUTDOWN)
			hdr.type = SNAPSET_RECORD_PENDING;
		if (copy_to_user(buf, &hdr, hdr_size) ||
		    copy_devices(rec, buf + hdr_size))
			return -EFAULT;
		buf += rec->ev.size;
	}
	return 0;
}

long snapset_list(void __user *uarg)
{
	struct snapset_records recs = {
		/* A filter, not a refusal: no audit record for others. */
		.all = ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN),
		.uid = current_euid(),
	};
	struct snapset_list arg;
	int usize;
	long ret;

	usize = SNAPSET_ARG_IN(arg, SNAPSET_LIST_SIZE_VER0, uarg);
	if (usize < 0)
		return usize;
	if (arg.flags)
		return -EINVAL;
	ret = snapset_sets_collect(&recs) ?: snapset_pending_collect(&recs);
	if (ret)
		goto out_free;

	arg.needed = recs.bytes;
	arg.used = 0;
	if (arg.buf_size < recs.bytes) {
		ret = -ENOSPC;
	} else {
		ret = copy_records(&recs, u64_to_user_ptr(arg.buf));
		if (!ret)
			arg.used = recs.bytes;
	}
	if (snapset_arg_out(uarg, &arg, sizeof(arg), usize))
		ret = -EFAULT;
out_free:
	records_free(&recs);
	return ret;
}
