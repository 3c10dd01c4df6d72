// SPDX-License-Identifier: GPL-2.0
/*
 * snapset: snapshot sets whose block devices live as long as the backup
 * that owns them.
 *
 * This file is the /dev/snapset misc device: its file operations, the
 * ioctl interface of include/uapi/linux/snapset.h, the sysfs counters and
 * the module parameters. Opening the device creates nothing; a file
 * becomes a set's handle (SNAPSET_IOC_CREATE) or an event reader
 * (SNAPSET_IOC_SUBSCRIBE), never both.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "snapset.h"

/* The UAPI must read the same from 32-bit and 64-bit callers. */
static_assert(sizeof(struct snapset_api) == SNAPSET_API_SIZE_VER1);
static_assert(sizeof(struct snapset_create) == SNAPSET_CREATE_SIZE_VER0);
static_assert(sizeof(struct snapset_add) == SNAPSET_ADD_SIZE_VER0);
static_assert(sizeof(struct snapset_delete) == SNAPSET_DELETE_SIZE_VER0);
static_assert(sizeof(struct snapset_abort) == SNAPSET_ABORT_SIZE_VER0);
static_assert(sizeof(struct snapset_target) == SNAPSET_TARGET_SIZE_VER0);
static_assert(sizeof(struct snapset_subscribe) ==
	      SNAPSET_SUBSCRIBE_SIZE_VER0);
static_assert(sizeof(struct snapset_list) == SNAPSET_LIST_SIZE_VER0);
static_assert(sizeof(struct snapset_freeze) == SNAPSET_FREEZE_SIZE_VER0);
static_assert(sizeof(struct snapset_thaw) == SNAPSET_THAW_SIZE_VER0);
static_assert(sizeof(struct snapset_set_info) == 240);
static_assert(sizeof(struct snapset_device_info) == 168);
static_assert(sizeof(struct snapset_event) == SNAPSET_EVENT_SIZE_VER1);
static_assert(sizeof(struct snapset_device_info) ==
	      SNAPSET_DEVICE_INFO_SIZE_VER0);

struct snapset_stats snapset_stats;

unsigned int snapset_max_pending = 1024;
module_param_named(max_pending, snapset_max_pending, uint, 0444);
MODULE_PARM_DESC(max_pending,
		 "Unacknowledged shutdown records kept whole (default 1024)");

unsigned int snapset_max_records = 16384;
module_param_named(max_records, snapset_max_records, uint, 0444);
MODULE_PARM_DESC(max_records,
		 "Armed sets and pending records together, tombstones included; arm fails past it (default 16384)");

unsigned int snapset_watcher_queue = 256;
module_param_named(watcher_queue, snapset_watcher_queue, uint, 0444);
MODULE_PARM_DESC(watcher_queue, "Events queued per watcher (default 256)");

struct workqueue_struct *snapset_wq;

static int snapset_open(struct inode *inode, struct file *file)
{
	struct snapset_file *sf;

	sf = kzalloc(sizeof(*sf), GFP_KERNEL);
	if (!sf)
		return -ENOMEM;
	mutex_init(&sf->lock);
	file->private_data = sf;
	file->f_mode |= FMODE_NOWAIT;
	return stream_open(inode, file);
}

/*
 * A file's role is published once, under its lock, with a release store
 * after the set or subscriber is fully built; lockless readers pair with it.
 */
static struct snapset_set *file_set(struct snapset_file *sf)
{
	/* Pairs with smp_store_release() in ioctl_create(). */
	return smp_load_acquire(&sf->set);
}

static struct snapset_sub *file_sub(struct snapset_file *sf)
{
	/* Pairs with smp_store_release() in snapset_subscribe(). */
	return smp_load_acquire(&sf->sub);
}

static int snapset_flush(struct file *file, fl_owner_t id)
{
	struct snapset_file *sf = file->private_data;
	struct snapset_set *set = file_set(sf);

	/* The file's count still includes the reference being closed. */
	if (set)
		snapset_set_flush(set, file_count(file) == 1);
	return 0;
}

static int snapset_release(struct inode *inode, struct file *file)
{
	struct snapset_file *sf = file->private_data;

	if (sf->set) {
		snapset_set_release(sf->set);
		snapset_set_put(sf->set);
	}
	if (sf->sub)
		snapset_unsubscribe(sf->sub);
	mutex_destroy(&sf->lock);
	kfree(sf);
	return 0;
}

static ssize_t snapset_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct snapset_file *sf = iocb->ki_filp->private_data;
	struct snapset_sub *sub = file_sub(sf);

	if (!sub)
		return -EBADFD;
	return snapset_sub_read(sub, iocb, to);
}

static __poll_t snapset_poll(struct file *file, poll_table *wait)
{
	struct snapset_file *sf = file->private_data;
	struct snapset_sub *sub = file_sub(sf);
	struct snapset_set *set = file_set(sf);

	if (sub)
		return snapset_sub_poll(sub, file, wait);
	/* Nothing to wait for before the file is a set or a reader. */
	if (!set)
		return EPOLLERR;
	poll_wait(file, &set->wait, wait);
	return snapset_set_finished(set) ? EPOLLHUP : 0;
}

/*
 * Reads a size-first argument (see the UAPI header) into @karg, @ksize
 * bytes: the caller's own size, at least @ver0, or -errno. What the caller
 * does not know reads as zero; what the module does not know must be.
 */
int snapset_arg_in(void *karg, size_t ksize, size_t ver0, void __user *uarg)
{
	u32 usize;
	int ret;

	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (usize < ver0)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	ret = copy_struct_from_user(karg, ksize, uarg, usize);
	return ret ?: usize;
}

/* Writes @karg back, as much of it as the caller's @usize holds. */
int snapset_arg_out(void __user *uarg, const void *karg, size_t ksize,
		    u32 usize)
{
	return copy_to_user(uarg, karg, min_t(size_t, ksize, usize)) ?
	       -EFAULT : 0;
}

#define SNAPSET_FEATURES SNAPSET_FEATURE_COMPAT32

static long ioctl_api(void __user *uarg)
{
	struct snapset_api api;
	int usize, ret = 0;

	usize = SNAPSET_ARG_IN(api, SNAPSET_API_SIZE_VER0, uarg);
	if (usize < 0)
		return usize;
	if (api.flags)
		return -EINVAL;
	/* A caller refused still learns what this module speaks and has. */
	if (api.api != SNAPSET_API || (api.features & ~SNAPSET_FEATURES)) {
		api.features = 0;
		ret = -EINVAL;
	}
	api.api = SNAPSET_API;
	api.available = SNAPSET_FEATURES;
	api.ioctls = GENMASK_ULL(_IOC_NR(SNAPSET_IOC_THAW), 0);
	api.max_devices = SNAPSET_MAX_DEVICES;
	api.max_pending = snapset_max_pending;
	api.max_records = snapset_max_records;
	api.max_record_size = sizeof(struct snapset_event) +
		SNAPSET_MAX_DEVICES * sizeof(struct snapset_device_info);
	return snapset_arg_out(uarg, &api, sizeof(api), usize) ?: ret;
}

static long ioctl_create(struct snapset_file *sf, void __user *uarg)
{
	struct snapset_create arg;
	struct snapset_set *set;
	int usize;
	long ret = 0;

	usize = SNAPSET_ARG_IN(arg, SNAPSET_CREATE_SIZE_VER0, uarg);
	if (usize < 0)
		return usize;

	mutex_lock(&sf->lock);
	if (sf->set || sf->sub) {
		ret = -EBUSY;
		goto out_unlock;
	}
	set = snapset_set_create(&arg);
	if (IS_ERR(set)) {
		ret = PTR_ERR(set);
		goto out_unlock;
	}
	memcpy(arg.id, set->info.id, sizeof(arg.id));
	/*
	 * The set exists from here on; a fault on the way back does not undo
	 * it, the caller's close ends it like any other. Publish it only now
	 * that it is whole (see file_set()).
	 */
	smp_store_release(&sf->set, set);
	ret = snapset_arg_out(uarg, &arg, sizeof(arg), usize);
out_unlock:
	mutex_unlock(&sf->lock);
	return ret;
}

static long ioctl_subscribe(struct snapset_file *sf, void __user *uarg)
{
	struct snapset_subscribe arg;
	long ret;

	ret = SNAPSET_ARG_IN(arg, SNAPSET_SUBSCRIBE_SIZE_VER0, uarg);
	if (ret < 0)
		return ret;
	mutex_lock(&sf->lock);
	ret = (sf->set || sf->sub) ? -EBUSY : snapset_subscribe(sf, &arg);
	mutex_unlock(&sf->lock);
	return ret;
}

static int copy_target(struct snapset_target *arg, void __user *uarg)
{
	int ret = SNAPSET_ARG_IN(*arg, SNAPSET_TARGET_SIZE_VER0, uarg);

	if (ret < 0)
		return ret;
	return arg->flags ? -EINVAL : 0;
}

/* Terminate or discard: an administrator's operation on any set. */
static long ioctl_admin(void __user *uarg, int (*op)(const u8 *id))
{
	struct snapset_target arg;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = copy_target(&arg, uarg);
	return ret ?: op(arg.id);
}

static long ioctl_ack(struct snapset_file *sf, void __user *uarg)
{
	struct snapset_sub *sub = file_sub(sf);
	struct snapset_target arg;
	int ret;

	/* The agent's file itself carries the right to acknowledge. */
	if (!sub || !sub->agent)
		return -EPERM;
	ret = copy_target(&arg, uarg);
	return ret ?: snapset_ack(sub, arg.id);
}

static long ioctl_set(struct snapset_set *set, unsigned int cmd,
		      void __user *uarg)
{
	union {
		struct snapset_add add;
		struct snapset_delete del;
		struct snapset_abort abort;
		struct snapset_freeze freeze;
		struct snapset_thaw thaw;
	} arg;
	int usize;
	long ret = -ENOTTY;

	switch (cmd) {
	case SNAPSET_IOC_ADD:
		ret = SNAPSET_ARG_IN(arg.add, SNAPSET_ADD_SIZE_VER0, uarg);
		if (ret >= 0)
			ret = snapset_set_add(set, &arg.add);
		break;
	case SNAPSET_IOC_ARM:
		/* Room to grow: an argument may mean something one day. */
		ret = uarg ? -EINVAL : snapset_set_arm(set);
		break;
	case SNAPSET_IOC_COMPLETE:
		ret = uarg ? -EINVAL : snapset_set_complete(set);
		break;
	case SNAPSET_IOC_DELETE:
		ret = SNAPSET_ARG_IN(arg.del, SNAPSET_DELETE_SIZE_VER0, uarg);
		if (ret >= 0)
			ret = snapset_set_delete(set, &arg.del);
		break;
	case SNAPSET_IOC_ABORT:
		ret = SNAPSET_ARG_IN(arg.abort, SNAPSET_ABORT_SIZE_VER0, uarg);
		if (ret >= 0)
			ret = snapset_set_abort(set, &arg.abort);
		break;
	case SNAPSET_IOC_FREEZE:
		ret = SNAPSET_ARG_IN(arg.freeze, SNAPSET_FREEZE_SIZE_VER0, uarg);
		if (ret >= 0)
			ret = snapset_set_freeze(set, &arg.freeze);
		break;
	case SNAPSET_IOC_THAW:
		usize = SNAPSET_ARG_IN(arg.thaw, SNAPSET_THAW_SIZE_VER0, uarg);
		if (usize < 0)
			return usize;
		if (arg.thaw.flags)
			return -EINVAL;
		/* What the thaw found is told on its errors too. */
		ret = snapset_set_thaw(set, &arg.thaw);
		ret = snapset_arg_out(uarg, &arg.thaw, sizeof(arg.thaw),
				      usize) ?: ret;
		break;
	}
	/* "Gone" only once every device is put: the owner may lvremove. */
	if (ret == -ESHUTDOWN && snapset_set_ended(set))
		snapset_set_wait_finished(set);
	return ret;
}

/* Commands that change a set or the module need a file open for writing. */
static bool ioctl_writes(unsigned int cmd)
{
	switch (cmd) {
	case SNAPSET_IOC_CREATE:
	case SNAPSET_IOC_ADD:
	case SNAPSET_IOC_ARM:
	case SNAPSET_IOC_COMPLETE:
	case SNAPSET_IOC_DELETE:
	case SNAPSET_IOC_ABORT:
	case SNAPSET_IOC_FREEZE:
	case SNAPSET_IOC_THAW:
	case SNAPSET_IOC_TERMINATE:
	case SNAPSET_IOC_DISCARD:
		return true;
	}
	return false;
}

static long snapset_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct snapset_file *sf = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct snapset_set *set;

	if (ioctl_writes(cmd) && !(file->f_mode & FMODE_WRITE))
		return -EBADF;
	/* A reader reads: a file opened write-only never could. */
	if (cmd == SNAPSET_IOC_SUBSCRIBE && !(file->f_mode & FMODE_READ))
		return -EBADF;
	switch (cmd) {
	case SNAPSET_IOC_API:
		return ioctl_api(uarg);
	case SNAPSET_IOC_CREATE:
		return ioctl_create(sf, uarg);
	case SNAPSET_IOC_ADD:
	case SNAPSET_IOC_ARM:
	case SNAPSET_IOC_COMPLETE:
	case SNAPSET_IOC_DELETE:
	case SNAPSET_IOC_ABORT:
	case SNAPSET_IOC_FREEZE:
	case SNAPSET_IOC_THAW:
		set = file_set(sf);
		return set ? ioctl_set(set, cmd, uarg) : -EBADFD;
	case SNAPSET_IOC_TERMINATE:
		return ioctl_admin(uarg, snapset_set_terminate_id);
	case SNAPSET_IOC_SUBSCRIBE:
		return ioctl_subscribe(sf, uarg);
	case SNAPSET_IOC_ACK:
		return ioctl_ack(sf, uarg);
	case SNAPSET_IOC_DISCARD:
		return ioctl_admin(uarg, snapset_discard);
	case SNAPSET_IOC_LIST:
		return snapset_list(uarg);
	}
	return -ENOTTY;
}

static const struct file_operations snapset_fops = {
	.owner = THIS_MODULE,
	.open = snapset_open,
	.flush = snapset_flush,
	.release = snapset_release,
	.read_iter = snapset_read_iter,
	.poll = snapset_poll,
	.unlocked_ioctl = snapset_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

#define SNAPSET_COUNTER_ATTR(_name, _value)				\
static ssize_t _name##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%lld\n", (long long)(_value));		\
}									\
static DEVICE_ATTR_RO(_name)

SNAPSET_COUNTER_ATTR(sets_live, atomic_read(&snapset_stats.sets_live));
SNAPSET_COUNTER_ATTR(sets_dissolved, atomic64_read(&snapset_stats.dissolved));
#define SNAPSET_TERMINATED_ATTR(_name, _reason)				\
	SNAPSET_COUNTER_ATTR(terminated_##_name,			\
		atomic64_read(&snapset_stats.terminations[(_reason) - 1]))

SNAPSET_TERMINATED_ATTR(close, SNAPSET_REASON_CLOSE);
SNAPSET_TERMINATED_ATTR(exit, SNAPSET_REASON_EXIT);
SNAPSET_TERMINATED_ATTR(released, SNAPSET_REASON_RELEASED);
SNAPSET_TERMINATED_ATTR(abort, SNAPSET_REASON_ABORT);
SNAPSET_TERMINATED_ATTR(admin, SNAPSET_REASON_ADMIN);
SNAPSET_COUNTER_ATTR(pending, atomic_read(&snapset_stats.pending));
SNAPSET_COUNTER_ATTR(subscribers, atomic_read(&snapset_stats.subscribers));
SNAPSET_COUNTER_ATTR(tombstoned, atomic64_read(&snapset_stats.tombstoned));
SNAPSET_COUNTER_ATTR(overflows, atomic64_read(&snapset_stats.overflows));
SNAPSET_COUNTER_ATTR(discarded, atomic64_read(&snapset_stats.discarded));
SNAPSET_COUNTER_ATTR(agent, snapset_agent_pid());

static struct attribute *snapset_attrs[] = {
	&dev_attr_sets_live.attr,
	&dev_attr_sets_dissolved.attr,
	&dev_attr_terminated_close.attr,
	&dev_attr_terminated_exit.attr,
	&dev_attr_terminated_released.attr,
	&dev_attr_terminated_abort.attr,
	&dev_attr_terminated_admin.attr,
	&dev_attr_pending.attr,
	&dev_attr_subscribers.attr,
	&dev_attr_tombstoned.attr,
	&dev_attr_overflows.attr,
	&dev_attr_discarded.attr,
	&dev_attr_agent.attr,
	NULL,
};
ATTRIBUTE_GROUPS(snapset);

static struct miscdevice snapset_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "snapset",
	.fops = &snapset_fops,
	.mode = 0600,
	.groups = snapset_groups,
};

static int __init snapset_init(void)
{
	int ret;

	if (!snapset_max_pending || !snapset_max_records ||
	    snapset_watcher_queue < 2) {
		pr_err("max_pending and max_records must be at least 1, watcher_queue at least 2\n");
		return -EINVAL;
	}
	ret = snapset_set_cache_create();
	if (ret)
		return ret;
	/* Unbound: one termination blocked in a put holds up no other. */
	snapset_wq = alloc_workqueue("snapset", WQ_UNBOUND, 0);
	if (!snapset_wq) {
		ret = -ENOMEM;
		goto out_destroy_cache;
	}
	ret = misc_register(&snapset_misc);
	if (ret) {
		pr_err("cannot register /dev/snapset: %d\n", ret);
		goto out_destroy_wq;
	}
	pr_info("loaded, /dev/snapset is %d:%d\n", MISC_MAJOR,
		snapset_misc.minor);
	return 0;

out_destroy_wq:
	destroy_workqueue(snapset_wq);
out_destroy_cache:
	snapset_set_cache_destroy();
	return ret;
}

static void __exit snapset_exit(void)
{
	misc_deregister(&snapset_misc);
	/* Terminations queued by a kernel thread finish before we go. */
	destroy_workqueue(snapset_wq);
	snapset_set_cache_destroy();
}

module_init(snapset_init);
module_exit(snapset_exit);

MODULE_DESCRIPTION("Snapshot sets released when their backup ends");
MODULE_VERSION(SNAPSET_VERSION);
MODULE_LICENSE("GPL");
