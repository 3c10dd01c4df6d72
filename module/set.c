// SPDX-License-Identifier: GPL-2.0
/*
 * The life of a snapshot set up to its termination (end.c): create, add,
 * arm, complete, delete, and the list of sets.
 *
 * Every operation builds its event before it changes anything, so an
 * allocation failure leaves the set as it was. An armed set's shutdown
 * record is allocated at arm: termination itself never fails.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/device-mapper.h>
#include <linux/dm-ioctl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/cred.h>
#include <linux/uuid.h>

#include "snapset.h"

static_assert(SNAPSET_DM_UUID_LEN >= DM_UUID_LEN);

/* Sets are many and of one size: their own cache wastes no rounding. */
static struct kmem_cache *snapset_set_cache;
static LIST_HEAD(snapset_sets);
static DEFINE_MUTEX(snapset_sets_lock);
static unsigned int snapset_nr_sets;

int snapset_set_cache_create(void)
{
	snapset_set_cache = KMEM_CACHE(snapset_set, SLAB_ACCOUNT);
	return snapset_set_cache ? 0 : -ENOMEM;
}

/* After every set is freed: their files and end works hold the module. */
void snapset_set_cache_destroy(void)
{
	kmem_cache_destroy(snapset_set_cache);
}

static bool name_valid(const char *name)
{
	size_t i, len = strnlen(name, SNAPSET_NAME_LEN);

	if (len == SNAPSET_NAME_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && !strchr("-_.:@+", name[i]))
			return false;
	return true;
}

struct snapset_set *snapset_set_create(const struct snapset_create *arg)
{
	struct snapset_record *rec;
	struct snapset_set *set;
	uuid_t id;

	if (arg->flags || !name_valid(arg->name))
		return ERR_PTR(-EINVAL);

	set = kmem_cache_zalloc(snapset_set_cache, GFP_KERNEL);
	if (!set)
		return ERR_PTR(-ENOMEM);
	kref_init(&set->ref);
	INIT_LIST_HEAD(&set->node);
	mutex_init(&set->lock);
	init_waitqueue_head(&set->wait);
	spin_lock_init(&set->closer_lock);
	atomic_set(&set->refs_in_flight, 0);
	snapset_set_end_work_init(set);
	set->state = SNAPSET_STATE_OPEN;
	set->owner_uid = current_euid();
	set->owner = get_pid(task_tgid(current));

	uuid_gen(&id);
	memcpy(set->info.id, id.b, sizeof(set->info.id));
	strscpy(set->info.name, arg->name, sizeof(set->info.name));
	set->info.owner_tgid = task_tgid_nr(current);
	get_task_comm(set->info.owner_comm, current->group_leader);
	set->info.owner_start_time = current->group_leader->start_boottime;
	snapset_stamp(&set->info.create_realtime, &set->info.create_boottime);

	/* Not yet linked: nobody else can see the set. */
	rec = snapset_record_alloc(SNAPSET_EVENT_CREATED, set, NULL);
	if (!rec) {
		snapset_set_put(set);
		return ERR_PTR(-ENOMEM);
	}

	mutex_lock(&snapset_sets_lock);
	list_add_tail(&set->node, &snapset_sets);
	snapset_nr_sets++;
	mutex_unlock(&snapset_sets_lock);
	atomic_inc(&snapset_stats.sets_live);
	snapset_emit(rec);
	return set;
}

static void set_free(struct kref *ref)
{
	struct snapset_set *set = container_of(ref, struct snapset_set, ref);

	WARN_ON_ONCE(set->ndevices);
	if (set->shutdown)
		snapset_record_put(set->shutdown);
	put_pid(set->owner);
	put_pid(set->closer);
	put_pid(set->closer_seen.tgid);
	kfree(set->devices);
	snapset_freeze_free(set);
	mutex_destroy(&set->lock);
	kmem_cache_free(snapset_set_cache, set);
}

void snapset_set_put(struct snapset_set *set)
{
	kref_put(&set->ref, set_free);
}

static void dm_uuid_free(struct kref *ref)
{
	kfree(container_of(ref, struct snapset_dm_uuid, ref));
}

/* Under any lock: a record's copy takes a reference, never memory. */
void snapset_dev_info_copy(struct snapset_dev_info *dst,
			   const struct snapset_dev_info *src)
{
	*dst = *src;
	if (dst->dm_uuid)
		kref_get(&dst->dm_uuid->ref);
}

void snapset_dev_info_release(struct snapset_dev_info *info)
{
	if (info->dm_uuid)
		kref_put(&info->dm_uuid->ref, dm_uuid_free);
	info->dm_uuid = NULL;
}

void snapset_dev_info_expand(const struct snapset_dev_info *info,
			     struct snapset_device_info *out)
{
	memset(out, 0, sizeof(*out));
	out->major = info->major;
	out->minor = info->minor;
	out->diskseq = info->diskseq;
	out->sectors = info->sectors;
	out->flags = info->flags;
	if (info->dm_uuid)
		strscpy(out->dm_uuid, info->dm_uuid->text,
			sizeof(out->dm_uuid));
}

/* The device's dm uuid, kept apart when it has one: 0 or -ENOMEM. */
static int dm_uuid_keep(const char *text, struct snapset_dev_info *info)
{
	size_t len = strlen(text) + 1;
	struct snapset_dm_uuid *uuid;

	if (len == 1)
		return 0;
	uuid = kmalloc(struct_size(uuid, text, len), GFP_KERNEL_ACCOUNT);
	if (!uuid)
		return -ENOMEM;
	kref_init(&uuid->ref);
	memcpy(uuid->text, text, len);
	info->dm_uuid = uuid;
	return 0;
}

/* Device-mapper is optional: look its symbols up only when loaded. */
static void device_dm_uuid(dev_t devt, char *uuid)
{
	struct mapped_device *(*get_md)(dev_t dev) = symbol_get(dm_get_md);
	int (*copy)(struct mapped_device *md, char *name, char *uuid) =
		symbol_get(dm_copy_name_and_uuid);
	void (*put)(struct mapped_device *md) = symbol_get(dm_put);
	struct mapped_device *md;
	char name[DM_NAME_LEN];

	if (get_md && copy && put) {
		md = get_md(devt);
		if (md) {
			if (copy(md, name, uuid))
				uuid[0] = '\0';
			put(md);
		}
	}
	if (put)
		symbol_put(dm_put);
	if (copy)
		symbol_put(dm_copy_name_and_uuid);
	if (get_md)
		symbol_put(dm_get_md);
}

/*
 * Opens our own reference to the block device behind @fd. The caller's
 * file is held until ours is open, so the device cannot go away between.
 */
static int device_open(int fd, u32 flags, struct snapset_device **out)
{
	char dm_uuid[SNAPSET_DM_UUID_LEN] = "";
	struct snapset_device *dev;
	struct block_device *bdev;
	struct inode *inode;
	struct fd f;
	int ret;

	f = fdget(fd);
	if (!fd_file(f))
		return -EBADF; /* also O_PATH: fdget() does not return those */
	inode = file_inode(fd_file(f));
	if (!(fd_file(f)->f_mode & FMODE_READ)) {
		ret = -EBADF;
		goto out_fdput;
	}
	if (!S_ISBLK(inode->i_mode)) {
		ret = -ENOTBLK;
		goto out_fdput;
	}
	dev = kzalloc(sizeof(*dev), GFP_KERNEL_ACCOUNT);
	if (!dev) {
		ret = -ENOMEM;
		goto out_fdput;
	}
	ret = snapset_bdev_open(inode->i_rdev, &dev->handle);
	if (ret)
		goto out_free;

	bdev = snapset_bdev(&dev->handle);
	if (bdev_is_partition(bdev)) {
		ret = -EINVAL;
		goto out_close;
	}
	if (!bdev_nr_sectors(bdev)) {
		ret = -ENOMEDIUM;
		goto out_close;
	}
	dev->info.major = MAJOR(inode->i_rdev);
	dev->info.minor = MINOR(inode->i_rdev);
	dev->info.diskseq = bdev->bd_disk->diskseq;
	dev->info.sectors = bdev_nr_sectors(bdev);
	dev->info.flags = flags;
	device_dm_uuid(inode->i_rdev, dm_uuid);
	ret = dm_uuid_keep(dm_uuid, &dev->info);
	if (ret)
		goto out_close;
	fdput(f);
	*out = dev;
	return 0;

out_close:
	snapset_bdev_close(&dev->handle);
out_free:
	kfree(dev);
out_fdput:
	fdput(f);
	return ret;
}

void snapset_device_close(struct snapset_device *dev)
{
	snapset_bdev_close(&dev->handle);
	snapset_dev_info_release(&dev->info);
	kfree(dev);
}

static int find_device(struct snapset_set *set, u32 major, u32 minor)
{
	unsigned int i;

	for (i = 0; i < set->ndevices; i++)
		if (set->devices[i]->info.major == major &&
		    set->devices[i]->info.minor == minor)
			return i;
	return -ENOENT;
}

static int add_locked(struct snapset_set *set, struct snapset_device *dev)
{
	struct snapset_device **devices;
	struct snapset_record *rec;

	lockdep_assert_held(&set->lock);
	if (set->state == SNAPSET_STATE_ENDED)
		return -ESHUTDOWN;
	if (set->state == SNAPSET_STATE_ARMED)
		return -EBUSY;
	if (find_device(set, dev->info.major, dev->info.minor) >= 0)
		return -EEXIST;
	if (set->ndevices == SNAPSET_MAX_DEVICES)
		return -ENOSPC;

	/* Grown first: a set that keeps a longer array is as it was. */
	devices = krealloc_array(set->devices, set->ndevices + 1,
				 sizeof(*devices), GFP_KERNEL_ACCOUNT);
	if (!devices)
		return -ENOMEM;
	set->devices = devices;
	rec = snapset_record_alloc(SNAPSET_EVENT_DEVICE_ADDED, set, dev);
	if (!rec)
		return -ENOMEM;
	set->devices[set->ndevices++] = dev;
	snapset_emit(rec);
	return 0;
}

/*
 * Counts a device reference about to be taken outside the set's lock, so
 * that termination queues its record only after it. Refused once the set
 * is armed or ended: no device is opened for nothing.
 */
static int add_begin(struct snapset_set *set)
{
	int ret = 0;

	mutex_lock(&set->lock);
	if (set->state == SNAPSET_STATE_ENDED)
		ret = -ESHUTDOWN;
	else if (set->state == SNAPSET_STATE_ARMED)
		ret = -EBUSY;
	else
		atomic_inc(&set->refs_in_flight);
	mutex_unlock(&set->lock);
	return ret;
}

static void refs_end(struct snapset_set *set)
{
	if (atomic_dec_and_test(&set->refs_in_flight))
		wake_up_all(&set->wait);
}

int snapset_set_add(struct snapset_set *set, const struct snapset_add *arg)
{
	struct snapset_device *dev;
	int ret;

	if ((arg->flags & ~SNAPSET_DEVICE_PERSISTENT) || arg->reserved)
		return -EINVAL;
	ret = add_begin(set);
	if (ret)
		return ret;
	ret = device_open(arg->fd, arg->flags, &dev);
	if (!ret) {
		mutex_lock(&set->lock);
		ret = add_locked(set, dev);
		mutex_unlock(&set->lock);
		if (ret)
			snapset_device_close(dev);
	}
	refs_end(set);
	return ret;
}

/* Sets @flag with its timestamps and emits @type; undone without memory. */
static int mark_and_emit(struct snapset_set *set, u32 flag, __u64 *realtime,
			 __u64 *boottime, u32 type)
{
	struct snapset_record *rec;

	lockdep_assert_held(&set->lock);
	set->info.flags |= flag;
	snapset_stamp(realtime, boottime);
	rec = snapset_record_alloc(type, set, NULL);
	if (!rec) {
		set->info.flags &= ~flag;
		*realtime = 0;
		*boottime = 0;
		return -ENOMEM;
	}
	snapset_emit(rec);
	return 0;
}

int snapset_set_arm(struct snapset_set *set)
{
	int ret = 0;

	mutex_lock(&set->lock);
	if (set->state == SNAPSET_STATE_ENDED) {
		ret = -ESHUTDOWN;
		goto out_unlock;
	}
	if (set->state == SNAPSET_STATE_ARMED) {
		ret = -EALREADY;
		goto out_unlock;
	}
	ret = snapset_freeze_may_arm(set);
	if (ret)
		goto out_unlock;
	/* An armed set always ends with a record: its place is taken now. */
	ret = snapset_record_reserve();
	if (ret)
		goto out_unlock;
	/* No add after arm: the record sized now fits every later state. */
	set->shutdown = snapset_record_alloc(SNAPSET_EVENT_SHUTDOWN, set, NULL);
	if (!set->shutdown) {
		ret = -ENOMEM;
		goto out_unreserve;
	}
	set->state = SNAPSET_STATE_ARMED;
	ret = mark_and_emit(set, SNAPSET_SET_ARMED, &set->info.arm_realtime,
			    &set->info.arm_boottime, SNAPSET_EVENT_ARMED);
	if (!ret)
		goto out_unlock;
	set->state = SNAPSET_STATE_OPEN;
	snapset_record_put(set->shutdown);
	set->shutdown = NULL;
out_unreserve:
	snapset_record_unreserve();
out_unlock:
	mutex_unlock(&set->lock);
	return ret;
}

int snapset_set_complete(struct snapset_set *set)
{
	int ret = 0;

	mutex_lock(&set->lock);
	if (set->state == SNAPSET_STATE_ENDED)
		ret = -ESHUTDOWN;
	else if (set->state != SNAPSET_STATE_ARMED)
		ret = -EINVAL;
	else if (set->info.flags & SNAPSET_SET_COMPLETED)
		ret = -EALREADY;
	if (ret)
		goto out_unlock;

	ret = mark_and_emit(set, SNAPSET_SET_COMPLETED,
			    &set->info.complete_realtime,
			    &set->info.complete_boottime,
			    SNAPSET_EVENT_COMPLETE);
out_unlock:
	mutex_unlock(&set->lock);
	return ret;
}

int snapset_set_delete(struct snapset_set *set, const struct snapset_delete *arg)
{
	bool all = arg->flags & SNAPSET_DELETE_ALL;
	struct snapset_device **gone;
	struct snapset_record **recs;
	unsigned int first, count, i;
	int ret = 0;

	if ((arg->flags & ~SNAPSET_DELETE_ALL) ||
	    (all && (arg->major || arg->minor)))
		return -EINVAL;
	gone = kcalloc(SNAPSET_MAX_DEVICES, sizeof(*gone), GFP_KERNEL_ACCOUNT);
	recs = kcalloc(SNAPSET_MAX_DEVICES, sizeof(*recs), GFP_KERNEL_ACCOUNT);
	if (!gone || !recs) {
		ret = -ENOMEM;
		goto out_free;
	}

	mutex_lock(&set->lock);
	if (set->state == SNAPSET_STATE_ENDED) {
		ret = -ESHUTDOWN;
		goto out_unlock;
	}
	if (all) {
		first = 0;
		count = set->ndevices;
	} else {
		ret = find_device(set, arg->major, arg->minor);
		if (ret < 0)
			goto out_unlock;
		first = ret;
		count = 1;
		ret = 0;
	}
	for (i = 0; i < count; i++) {
		struct snapset_device *dev = set->devices[first + i];

		dev->info.flags |= SNAPSET_DEVICE_RELEASED;
		recs[i] = snapset_record_alloc(SNAPSET_EVENT_DEVICE_RELEASED,
					       set, dev);
		if (!recs[i]) {
			ret = -ENOMEM;
			break;
		}
	}
	if (ret) {
		for (i = 0; i < count; i++) {
			set->devices[first + i]->info.flags &=
				~SNAPSET_DEVICE_RELEASED;
			if (recs[i])
				snapset_record_put(recs[i]);
		}
		goto out_unlock;
	}
	memcpy(gone, &set->devices[first], count * sizeof(*gone));
	memmove(&set->devices[first], &set->devices[first + count],
		(set->ndevices - first - count) * sizeof(*gone));
	set->ndevices -= count;
	atomic_inc(&set->refs_in_flight);
	mutex_unlock(&set->lock);

	/* Puts with no lock held; each event follows its put. */
	for (i = 0; i < count; i++) {
		snapset_device_close(gone[i]);
		snapset_emit(recs[i]);
	}
	refs_end(set);
	goto out_free;

out_unlock:
	mutex_unlock(&set->lock);
out_free:
	kfree(recs);
	kfree(gone);
	return ret;
}

/* Fills the closer fields from the current task (abort, admin). */
void snapset_closer_is_current(struct snapset_set *set)
{
	lockdep_assert_held(&set->lock);
	set->info.closer_tgid = task_tgid_nr(current);
	get_task_comm(set->info.closer_comm, current->group_leader);
	put_pid(set->closer);
	set->closer = get_pid(task_tgid(current));
}

/* A reference on the listed set with id @id, or NULL. */
struct snapset_set *snapset_set_find_get(const u8 *id)
{
	struct snapset_set *set, *found = NULL;

	mutex_lock(&snapset_sets_lock);
	list_for_each_entry(set, &snapset_sets, node) {
		if (!memcmp(set->info.id, id, SNAPSET_ID_LEN)) {
			kref_get(&set->ref);
			found = set;
			break;
		}
	}
	mutex_unlock(&snapset_sets_lock);
	return found;
}

/* The end of a termination: the set is no longer listed. */
void snapset_set_unlink(struct snapset_set *set)
{
	mutex_lock(&snapset_sets_lock);
	list_del_init(&set->node);
	snapset_nr_sets--;
	mutex_unlock(&snapset_sets_lock);
	atomic_dec(&snapset_stats.sets_live);
}

/* A live set's record, or an ended one's unqueued shutdown record. */
static int set_collect(struct snapset_records *out, struct snapset_set *set)
{
	struct snapset_record *rec = NULL;
	int ret = 0;

	mutex_lock(&set->lock);
	if (set->state != SNAPSET_STATE_ENDED) {
		rec = snapset_record_alloc(SNAPSET_RECORD_LIVE, set, NULL);
		if (!rec)
			ret = -ENOMEM;
	} else if (set->shutdown) {
		ret = snapset_unqueued_collect(out, set->shutdown);
	}
	mutex_unlock(&set->lock);
	return rec ? snapset_records_add(out, rec) : ret;
}

/*
 * SNAPSET_IOC_LIST, first part: a record of every live set the caller may
 * see, taken one set at a time; for one that terminated but still puts
 * its devices, its shutdown record. An armed set is live until its state
 * claim, then has its record unqueued until that is pending, and is
 * unlinked only after: with the pending records collected next, no list
 * falls between, though one may have a set's record twice.
 */
int snapset_sets_collect(struct snapset_records *out)
{
	struct snapset_set **sets, *set;
	unsigned int n = 0, i;
	int ret = 0;

	mutex_lock(&snapset_sets_lock);
	sets = kvmalloc_array(snapset_nr_sets ?: 1, sizeof(*sets), GFP_KERNEL);
	if (sets) {
		list_for_each_entry(set, &snapset_sets, node) {
			kref_get(&set->ref);
			sets[n++] = set;
		}
	}
	mutex_unlock(&snapset_sets_lock);
	if (!sets)
		return -ENOMEM;

	for (i = 0; i < n; i++) {
		set = sets[i];
		/* owner_uid never changes: no lock needed to filter. */
		if (!ret && snapset_records_visible(out, set->owner_uid))
			ret = set_collect(out, set);
		snapset_set_put(set);
	}
	kvfree(sets);
	return ret;
}
