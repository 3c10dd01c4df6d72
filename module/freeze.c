// SPDX-License-Identifier: GPL-2.0
/*
 * The freeze guard: a set freezes filesystems for its snapshots, and
 * whatever happens the module thaws them: at SNAPSET_IOC_THAW, at the
 * deadline, or at the set's termination, before its devices are put.
 *
 * Which freeze. lvcreate --snapshot suspends the origin through
 * device-mapper, whose suspend freezes the filesystem on it through the
 * block device: freeze_bdev()/thaw_bdev() on 6.1, bdev_freeze()/
 * bdev_thaw() from 6.8. That freeze is counted per block device
 * (bd_fsfreeze_count, under bd_fsfreeze_mutex): only the outermost one
 * freezes and thaws the filesystem, the inner ones nest. A plain
 * freeze_super() does not: on 6.1 a second one fails with EBUSY, so
 * LVM's suspend would fail on a filesystem frozen that way. So the module
 * takes the block device's freeze, and LVM's nests inside it.
 *
 * What the kernels do with it, and what the module does about it:
 * - Already frozen by someone else (FIFREEZE): on 6.1 freeze_bdev() calls
 *   freeze_super(), which fails with EBUSY, and undoes its count; from
 *   6.8 fs_bdev_freeze() calls freeze_super(FREEZE_HOLDER_USERSPACE |
 *   FREEZE_MAY_NEST), which would nest inside the other freeze. The
 *   module refuses with EBUSY, before freezing, a filesystem whose
 *   s_writers.frozen is not SB_UNFROZEN, and never thaws that one.
 * - Thawed by someone else under the module's freeze (FITHAW is
 *   thaw_super(), 6.8+ with FREEZE_HOLDER_USERSPACE, the holder the
 *   block device freeze uses too): the filesystem is writable, and the
 *   block device's count still says frozen. The module's thaw then finds
 *   the filesystem not frozen: thaw_bdev() (6.1) or bdev_thaw() (6.8+)
 *   fails with EINVAL and puts the count back to 1, which would make
 *   every later freeze of that device (LVM's) nest without freezing
 *   anything. The module freezes the filesystem again as the block
 *   device's freeze does (snapset_sb_freeze_as_bdev()) and thaws it
 *   through the block device once more, which brings the count to 0; it
 *   reports the foreign thaw (SNAPSET_SET_FREEZE_FOREIGN, ESTALE).
 * - Thawed to the end by someone else: an emergency thaw (sysrq j) thaws
 *   the block device until its thaw fails, so its count is 0 and the
 *   kernel's thaw fails with EINVAL too. Nothing of the module's freeze
 *   is left then, so it freezes nothing again (that freeze could never be
 *   thawed through the device): it reads the count first, and leaves a
 *   filesystem frozen since by someone else alone. If the count falls to
 *   0 between its read and the repair, it thaws its own re-freeze
 *   directly. Reported as foreign.
 * - The block device's freeze may return 0 without freezing: when its
 *   count is raised already (device-mapper suspended, the filesystem
 *   thawed under it) it only counts, and from 6.8 a device whose holder
 *   is not the filesystem is only synced. The module checks that each
 *   filesystem is frozen after its freeze, and otherwise drops its count
 *   and fails with EALREADY.
 * - Not done: the freeze holders of 6.6+ (freeze_super(sb,
 *   FREEZE_HOLDER_KERNEL)) would keep FITHAW from thawing the module's
 *   freeze, but device-mapper's nested thaw of such a filesystem
 *   (fs_bdev_thaw(): thaw_super() with other holders left) returns
 *   EINVAL from 6.8, and bdev_thaw() then keeps the device's count up:
 *   LVM's next suspend would not freeze. The module cannot tell a FITHAW
 *   that raced with its own re-freeze from a freeze of someone else's
 *   (6.1 has no holders): that one it may thaw, and logs.
 *
 * Each frozen superblock keeps an active reference of the set's, so an
 * umount of a frozen filesystem only detaches it: the superblock stays,
 * frozen, until the thaw, and the last deactivate_super() shuts it down.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/sort.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "snapset.h"

/* A set's freeze; changed with both the freezer's and the set's lock. */
enum snapset_freeze_state {
	SNAPSET_FREEZE_NONE,		/* nothing frozen (yet) */
	SNAPSET_FREEZE_FREEZING,	/* FREEZE under way: no arm */
	SNAPSET_FREEZE_FROZEN,		/* frozen until thaw, deadline or end */
	SNAPSET_FREEZE_DONE,		/* thawed: info.freeze_end says how */
};

/*
 * A set's freeze, made by its first SNAPSET_IOC_FREEZE and freed with the
 * set: a set that never freezes pays one pointer for it.
 */
struct snapset_freezer {
	struct snapset_set *set;	/* whose: it outlives the deadline */
	struct mutex lock;		/* see the lock order in snapset.h */
	enum snapset_freeze_state state;
	unsigned int n;
	u64 start;			/* CLOCK_BOOTTIME ns */
	struct delayed_work deadline;
	/* Made at freeze, queued if the deadline thaws. */
	struct snapset_record *expired;
	/* Frozen, in ascending s_dev, each with an active reference. */
	struct super_block *sbs[SNAPSET_MAX_FREEZE];
};

static void freeze_expire(struct work_struct *work);

/* The set's termination thawed and stopped the deadline before this. */
void snapset_freeze_free(struct snapset_set *set)
{
	struct snapset_freezer *fz = set->freezer;

	if (!fz)
		return;
	WARN_ON_ONCE(fz->state == SNAPSET_FREEZE_FROZEN || fz->expired);
	mutex_destroy(&fz->lock);
	kfree(fz);
}

/* Under the set's lock: may it be armed, as far as its freeze goes? */
int snapset_freeze_may_arm(struct snapset_set *set)
{
	lockdep_assert_held(&set->lock);
	if (!set->freezer)
		return 0;
	/* A filesystem may be left frozen: its snapshots prove nothing. */
	if (set->info.flags & SNAPSET_SET_THAW_FAILED)
		return -ENOTRECOVERABLE;
	switch (set->freezer->state) {
	case SNAPSET_FREEZE_FREEZING:
	case SNAPSET_FREEZE_FROZEN:
		return -EBUSY;		/* thaw first */
	case SNAPSET_FREEZE_DONE:
		/* Snapshots taken after a thaw are not the consistent ones. */
		if (set->info.freeze_end == SNAPSET_FREEZE_END_EXPIRED)
			return -ETIMEDOUT;
		if (set->info.flags & SNAPSET_SET_FREEZE_FOREIGN)
			return -ESTALE;
		return 0;
	case SNAPSET_FREEZE_NONE:
		break;
	}
	return 0;
}

static void freeze_set_state(struct snapset_freezer *fz,
			     enum snapset_freeze_state state)
{
	lockdep_assert_held(&fz->lock);
	lockdep_assert_held(&fz->set->lock);
	fz->state = state;
}

static void sbs_put(struct super_block **sbs, unsigned int n)
{
	while (n--)
		deactivate_super(sbs[n]);
}

/*
 * Drops the set's freeze of @sb's block device, which thaws @sb when it
 * was the last (see the top of the file for the kernel's EINVAL and the
 * repair). *@foreign: someone else had thawed under it.
 */
static int bdev_unfreeze(struct super_block *sb, bool *foreign)
{
	int ret = snapset_bdev_thaw(sb->s_bdev);

	*foreign = ret == -EINVAL;
	if (ret != -EINVAL)
		return ret;
	/* Thawed to the end: nothing left of ours, nothing to freeze again. */
	if (!snapset_bdev_freeze_count(sb->s_bdev))
		return 0;
	/* The count stayed at ours: freeze again, thaw it down. */
	ret = snapset_sb_freeze_as_bdev(sb);
	if (ret)
		return ret;
	ret = snapset_bdev_thaw(sb->s_bdev);
	if (ret == -EINVAL)
		/* Thawed to the end meanwhile: the re-freeze is ours alone. */
		ret = snapset_sb_thaw_as_bdev(sb);
	return ret;
}

/*
 * Thaws @sb, frozen by the set through its block device: 0, or the
 * kernel's error. *@foreign: it had been thawed by someone else meanwhile.
 */
static int thaw_one(struct super_block *sb, bool *foreign)
{
	bool under;
	int ret;

	*foreign = READ_ONCE(sb->s_writers.frozen) != SB_FREEZE_COMPLETE;
	ret = bdev_unfreeze(sb, &under);
	*foreign |= under;
	if (ret)
		pr_err("%pg: thaw failed (%d): it may be left frozen, or its freeze count raised\n",
		       sb->s_bdev, ret);
	else if (*foreign)
		pr_notice("%pg: was thawed by someone else under a set's freeze\n",
			  sb->s_bdev);
	return ret;
}

/*
 * Under the freezer's lock: thaws in reverse, every one whatever the
 * others did; the first error. *@foreign: one was thawed by someone else.
 */
static int thaw_all(struct super_block **sbs, unsigned int n, bool *foreign)
{
	int ret = 0, err;
	bool one;

	*foreign = false;
	while (n--) {
		err = thaw_one(sbs[n], &one);
		*foreign |= one;
		ret = ret ?: err;
	}
	return ret;
}

/*
 * Under the freezer's lock, the set frozen: thaws everything and records
 * how the freeze ended. Returns the expired event for the deadline, to
 * emit.
 */
static struct snapset_record *thaw_set(struct snapset_freezer *fz, u32 end)
{
	struct snapset_set *set = fz->set;
	struct snapset_record *rec;
	bool foreign;
	int failed;
	u64 held;

	lockdep_assert_held(&fz->lock);
	failed = thaw_all(fz->sbs, fz->n, &foreign);
	held = ktime_get_boottime_ns() - fz->start;
	sbs_put(fz->sbs, fz->n);

	mutex_lock(&set->lock);
	freeze_set_state(fz, SNAPSET_FREEZE_DONE);
	fz->n = 0;
	set->info.freeze_end = end;
	set->info.freeze_hold_ns = held;
	if (foreign)
		set->info.flags |= SNAPSET_SET_FREEZE_FOREIGN;
	if (failed)
		set->info.flags |= SNAPSET_SET_THAW_FAILED;
	rec = fz->expired;
	fz->expired = NULL;
	if (end == SNAPSET_FREEZE_END_EXPIRED)
		snapset_record_fill(rec, set, NULL);
	mutex_unlock(&set->lock);

	if (end != SNAPSET_FREEZE_END_EXPIRED) {
		snapset_record_put(rec);
		rec = NULL;
	}
	return rec;
}

static void freeze_expire(struct work_struct *work)
{
	struct snapset_freezer *fz = container_of(to_delayed_work(work),
						  struct snapset_freezer,
						  deadline);
	struct snapset_record *rec = NULL;

	mutex_lock(&fz->lock);
	if (fz->state == SNAPSET_FREEZE_FROZEN)
		rec = thaw_set(fz, SNAPSET_FREEZE_END_EXPIRED);
	mutex_unlock(&fz->lock);
	if (rec) {
		pr_notice("set %pUb (%s): freeze deadline passed, thawed\n",
			  fz->set->info.id, fz->set->info.name);
		snapset_emit(rec);
	}
}

static int sb_cmp(const void *a, const void *b)
{
	dev_t x = (*(struct super_block * const *)a)->s_dev;
	dev_t y = (*(struct super_block * const *)b)->s_dev;

	return x < y ? -1 : x > y;
}

/*
 * The superblocks of the caller's descriptors, each once, with an active
 * reference, sorted by s_dev: their count, or -errno with none held.
 */
static int sbs_get(const struct snapset_freeze *arg, struct super_block **sbs)
{
	s32 fds[SNAPSET_MAX_FREEZE];
	struct super_block *sb;
	unsigned int n = 0, i, j;
	int ret = 0;

	if (copy_from_user(fds, u64_to_user_ptr(arg->fds),
			   arg->nr_fds * sizeof(fds[0])))
		return -EFAULT;
	for (i = 0; i < arg->nr_fds && !ret; i++) {
		struct fd f = fdget(fds[i]);

		if (!fd_file(f)) {
			ret = -EBADF;
			break;
		}
		sb = file_inode(fd_file(f))->i_sb;
		if (!sb->s_bdev)
			ret = -EOPNOTSUPP;
		for (j = 0; j < n && !ret; j++)
			if (sbs[j] == sb)
				break;
		if (!ret && j == n) {
			/* The open file pins its mount: the sb is active. */
			atomic_inc(&sb->s_active);
			sbs[n++] = sb;
		}
		fdput(f);
	}
	if (ret) {
		sbs_put(sbs, n);
		return ret;
	}
	/* One order for every set: overlapping freezes cannot cross. */
	sort(sbs, n, sizeof(*sbs), sb_cmp, NULL);
	return n;
}

/* Under the freezer's lock: freezes @sb through its block device. */
static int freeze_one(struct super_block *sb)
{
	bool foreign;
	int ret;

	/* Frozen by someone else: never ours to thaw. */
	if (READ_ONCE(sb->s_writers.frozen) != SB_UNFROZEN)
		return -EBUSY;
	ret = snapset_bdev_freeze(sb->s_bdev);
	if (ret || READ_ONCE(sb->s_writers.frozen) == SB_FREEZE_COMPLETE)
		return ret;
	/* Counted, not frozen (see the top of the file): take it back. */
	ret = bdev_unfreeze(sb, &foreign);
	pr_notice("%pg: its block device's freeze did not freeze the filesystem%s\n",
		  sb->s_bdev, ret ? ", and its count may be left raised" : "");
	return -EALREADY;
}

/*
 * Under the freezer's lock: freezes all of @sbs or, thawing back, none.
 * A failed thaw back is -ENOTRECOVERABLE, whatever stopped the freeze (a
 * freeze's own -EIO is a failed sync): a filesystem may be left frozen,
 * which the caller must hear of first.
 */
static int freeze_all(struct super_block **sbs, unsigned int n)
{
	bool foreign;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < n; i++) {
		ret = freeze_one(sbs[i]);
		if (ret)
			break;
	}
	if (ret && thaw_all(sbs, i, &foreign))
		ret = -ENOTRECOVERABLE;
	return ret;
}

/* Under the set's lock: may it freeze, as far as its state goes? */
static int set_may_freeze(struct snapset_set *set)
{
	lockdep_assert_held(&set->lock);
	if (set->state == SNAPSET_STATE_ENDED)
		return -ESHUTDOWN;
	if (set->state == SNAPSET_STATE_ARMED)
		return -EBUSY;
	/*
	 * Its thaw failed: the filesystem may still be frozen, or its block
	 * device's count raised, and a later thaw could not say whose.
	 */
	if (set->info.flags & SNAPSET_SET_THAW_FAILED)
		return -ENOTRECOVERABLE;
	return 0;
}

/*
 * The set's freezer, made by its first freeze while it may freeze, and
 * then kept: a pointer or ERR_PTR().
 */
static struct snapset_freezer *freezer_get(struct snapset_set *set)
{
	/* Pairs with the smp_store_release() below. */
	struct snapset_freezer *fz = smp_load_acquire(&set->freezer);
	struct snapset_freezer *made;
	int ret;

	if (fz)
		return fz;
	made = kzalloc(sizeof(*made), GFP_KERNEL_ACCOUNT);
	if (!made)
		return ERR_PTR(-ENOMEM);
	made->set = set;
	mutex_init(&made->lock);
	INIT_DELAYED_WORK(&made->deadline, freeze_expire);

	mutex_lock(&set->lock);
	fz = set->freezer;
	ret = fz ? 0 : set_may_freeze(set);
	if (!fz && !ret) {
		/* Made whole before it is seen (thaw and end read it unlocked). */
		smp_store_release(&set->freezer, made);
		fz = made;
		made = NULL;
	}
	mutex_unlock(&set->lock);
	if (made) {
		mutex_destroy(&made->lock);
		kfree(made);
	}
	return ret ? ERR_PTR(ret) : fz;
}

int snapset_set_freeze(struct snapset_set *set,
		       const struct snapset_freeze *arg)
{
	struct super_block *sbs[SNAPSET_MAX_FREEZE];
	u32 timeout = arg->timeout_ms ?: SNAPSET_FREEZE_TIMEOUT_DEFAULT_MS;
	struct snapset_record *rec = NULL;
	struct snapset_freezer *fz;
	u64 start, realtime;
	int n, ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (arg->flags || !arg->nr_fds || arg->nr_fds > SNAPSET_MAX_FREEZE ||
	    arg->timeout_ms > SNAPSET_FREEZE_TIMEOUT_MAX_MS)
		return -EINVAL;
	n = sbs_get(arg, sbs);
	if (n < 0)
		return n;
	fz = freezer_get(set);
	if (IS_ERR(fz)) {
		ret = PTR_ERR(fz);
		goto out_put;
	}

	mutex_lock(&fz->lock);
	mutex_lock(&set->lock);
	ret = set_may_freeze(set);
	if (!ret && fz->state != SNAPSET_FREEZE_NONE)
		ret = -EBUSY;
	if (!ret) {
		rec = snapset_record_alloc(SNAPSET_EVENT_FREEZE_EXPIRED, set,
					   NULL);
		ret = rec ? 0 : -ENOMEM;
	}
	if (!ret)
		freeze_set_state(fz, SNAPSET_FREEZE_FREEZING);
	mutex_unlock(&set->lock);
	if (ret)
		goto out_unlock;

	/* Writes are held from the first freeze on. */
	start = ktime_get_boottime_ns();
	realtime = ktime_get_real_ns();
	ret = freeze_all(sbs, n);

	mutex_lock(&set->lock);
	if (ret) {
		freeze_set_state(fz, SNAPSET_FREEZE_NONE);
		if (ret == -ENOTRECOVERABLE)
			set->info.flags |= SNAPSET_SET_THAW_FAILED;
	} else {
		freeze_set_state(fz, SNAPSET_FREEZE_FROZEN);
		memcpy(fz->sbs, sbs, n * sizeof(*sbs));
		fz->n = n;
		fz->start = start;
		fz->expired = rec;
		set->info.freeze_count = n;
		set->info.freeze_realtime = realtime;
	}
	mutex_unlock(&set->lock);
	if (ret)
		goto out_unlock;
	queue_delayed_work(snapset_wq, &fz->deadline,
			   msecs_to_jiffies(timeout));
	mutex_unlock(&fz->lock);
	return 0;

out_unlock:
	mutex_unlock(&fz->lock);
	if (rec)
		snapset_record_put(rec);
out_put:
	sbs_put(sbs, n);
	return ret;
}

/* Under the freezer's lock: SNAPSET_IOC_THAW's answer; *@thawed by it. */
static int thaw_locked(struct snapset_freezer *fz, bool *thawed)
{
	const struct snapset_set_info *info = &fz->set->info;

	lockdep_assert_held(&fz->lock);
	switch (fz->state) {
	case SNAPSET_FREEZE_FREEZING:	/* never seen under the lock */
	case SNAPSET_FREEZE_NONE:
		/* The freeze's thaw back failed: nothing left to thaw. */
		if (info->flags & SNAPSET_SET_THAW_FAILED)
			return -ENOTRECOVERABLE;
		break;
	case SNAPSET_FREEZE_FROZEN:
		WARN_ON_ONCE(thaw_set(fz, SNAPSET_FREEZE_END_THAWED));
		*thawed = true;
		/* This thaw's: a set with the flag never freezes again. */
		if (info->flags & SNAPSET_SET_THAW_FAILED)
			return -EIO;
		return info->flags & SNAPSET_SET_FREEZE_FOREIGN ? -ESTALE : 0;
	case SNAPSET_FREEZE_DONE:
		if (info->freeze_end == SNAPSET_FREEZE_END_EXPIRED)
			return -ETIMEDOUT;
		if (info->freeze_end == SNAPSET_FREEZE_END_TERMINATED)
			return -ESHUTDOWN;
		return -EALREADY;
	}
	return -ENOENT;
}

int snapset_set_thaw(struct snapset_set *set, struct snapset_thaw *out)
{
	/* Pairs with smp_store_release() in freezer_get(). */
	struct snapset_freezer *fz = smp_load_acquire(&set->freezer);
	bool thawed = false;
	int ret = -ENOENT;

	if (fz) {
		mutex_lock(&fz->lock);
		ret = thaw_locked(fz, &thawed);
		mutex_unlock(&fz->lock);
	}
	mutex_lock(&set->lock);
	out->freeze_count = set->info.freeze_count;
	out->freeze_end = set->info.freeze_end;
	out->freeze_hold_ns = set->info.freeze_hold_ns;
	mutex_unlock(&set->lock);
	/*
	 * Thawed by this call: the deadline has nothing left to do. Only
	 * then: a freeze done since the lock was dropped keeps its deadline.
	 */
	if (thawed)
		cancel_delayed_work_sync(&fz->deadline);
	return ret;
}

/*
 * Termination, before the devices are put (and an abort, before its
 * event; a second call finds it thawed): thaws what is still frozen, and
 * stops the deadline. @rec, the termination's record not yet queued (or
 * NULL), then says how the freeze ended.
 */
void snapset_freeze_end(struct snapset_set *set, struct snapset_record *rec)
{
	/* Pairs with smp_store_release() in freezer_get(). */
	struct snapset_freezer *fz = smp_load_acquire(&set->freezer);

	if (!fz)
		return;
	mutex_lock(&fz->lock);
	if (fz->state == SNAPSET_FREEZE_FROZEN)
		WARN_ON_ONCE(thaw_set(fz, SNAPSET_FREEZE_END_TERMINATED));
	if (rec) {
		/*
		 * Filled at the claim: however the freeze ended since (here,
		 * or by the deadline just before), the record says it now.
		 */
		mutex_lock(&set->lock);
		rec->ev.set.flags = set->info.flags;
		rec->ev.set.freeze_count = set->info.freeze_count;
		rec->ev.set.freeze_realtime = set->info.freeze_realtime;
		rec->ev.set.freeze_end = set->info.freeze_end;
		rec->ev.set.freeze_hold_ns = set->info.freeze_hold_ns;
		mutex_unlock(&set->lock);
	}
	mutex_unlock(&fz->lock);
	/* After the state is DONE: a deadline running now does nothing. */
	cancel_delayed_work_sync(&fz->deadline);
}
