// SPDX-License-Identifier: GPL-2.0
/*
 * snapset run's devices: specs resolved and opened, LVM snapshots made
 * after the set exists, every device added, and the engines' release
 * armed only once all of that worked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../common/device.h"
#include "../common/format.h"
#include "../common/module.h"
#include "../common/spec.h"
#include "run.h"

int run_fail(struct run_state *st, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->error, sizeof(st->error), fmt, ap);
	va_end(ap);
	return err;
}

/* The node a spec names: a path as given, or libblkid's one match. */
static int spec_path(struct run_state *st, const char *spec, char *path,
		     size_t size)
{
	struct spec_matches m;
	int ret;

	if (!spec_is_tag(spec)) {
		snprintf(path, size, "%s", spec);
		return 0;
	}
	ret = spec_find_device(spec, &m);
	if (ret == -ENOENT)
		return run_fail(st, ret, "%s: no device has it", spec);
	if (ret == -ENOTUNIQ)
		return run_fail(st, ret,
				"%s: %u devices match (%s, %s%s): name "
				"one by path; a snapshot carries its "
				"origin's UUID and LABEL",
				spec, m.count, m.path[0], m.path[1],
				m.count > 2 ? ", ..." : "");
	if (ret)
		return run_fail(st, ret, "%s: %s", spec,
				ret == -EINVAL ? "empty value"
					       : strerror(-ret));
	snprintf(path, size, "%s", m.path[0]);
	return 0;
}

static bool is_partition(dev_t rdev)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition",
		 major(rdev), minor(rdev));
	return !access(path, F_OK);
}

/* The file @fd (O_PATH or not) has, opened anew with @flags. */
static int reopen(int fd, int flags)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, flags | O_CLOEXEC);
}

/*
 * Only a block device is ever opened: opening a FIFO blocks, and some
 * character devices act when opened (/dev/watchdog arms). An O_PATH
 * descriptor opens nothing: the node it found is checked, and then that
 * node is opened through it, so that no other can take the path between
 * the check and the open.
 */
static int dev_open_block(struct run_state *st, const char *path,
			  struct run_dev *dev)
{
	int node = open(path, O_PATH | O_CLOEXEC), ret = 0;
	struct stat sb;

	if (node < 0 || fstat(node, &sb))
		ret =
		    run_fail(st, -errno, "%s: %s", dev->label, strerror(errno));
	else if (!S_ISBLK(sb.st_mode))
		ret = run_fail(st, -ENOTBLK, "%s: not a block device",
			       dev->label);
	/* O_NONBLOCK: no wait for a medium (a CD-ROM, a floppy). */
	else if ((dev->fd = reopen(node, O_RDONLY | O_NONBLOCK)) < 0)
		ret =
		    run_fail(st, -errno, "%s: %s", dev->label, strerror(errno));
	else
		dev->rdev = sb.st_rdev;
	if (node >= 0)
		close(node);
	return ret;
}

static int dev_open(struct run_state *st, const char *path, struct run_dev *dev)
{
	uint64_t size;
	int ret = dev_open_block(st, path, dev);

	if (ret)
		return ret;
	if (ioctl(dev->fd, BLKGETSIZE64, &size))
		return run_fail(st, -errno, "%s: %s", dev->label,
				strerror(errno));
	if (!size)
		return run_fail(st, -ENOMEDIUM,
				"%s: has no medium (size 0: an unbound loop "
				"device?)",
				dev->label);
	if (is_partition(dev->rdev))
		return run_fail(st, -EINVAL,
				"%s: %s is a partition; a set holds whole "
				"devices, as snapshots are",
				dev->label, path);
	for (struct run_dev *d = st->devs; d < dev; d++)
		if (d->rdev == dev->rdev)
			return run_fail(st, -EEXIST,
					"%s: the same device as %s", dev->label,
					d->label);
	return 0;
}

static const char *why_no_snapshot(const struct engine_info *e, char *why,
				   size_t size)
{
	if (e->kind == ENGINE_LVM)
		snprintf(why, size, "LVM LV %s/%s has no origin", e->vg, e->lv);
	else if (e->kind == ENGINE_DM && !strcmp(e->dm_target, "thin"))
		snprintf(why, size,
			 "dm device %s is thin: a snapshot or an origin, dm "
			 "cannot tell",
			 e->node);
	else if (e->kind == ENGINE_DM)
		snprintf(why, size, "dm device %s has a %s table", e->node,
			 e->dm_target[0] ? e->dm_target : "empty");
	else
		snprintf(why, size, "%s is no loop, dm or LVM device", e->node);
	return why;
}

static int dev_inspect(struct run_state *st, struct run_dev *dev)
{
	struct lvm_error lerr;
	char why[320];
	int ret = engine_inspect(dev->rdev, &dev->engine, &lerr);

	if (ret)
		return run_fail(
		    st, ret, "%s: cannot tell what it is: %s", dev->label,
		    lerr.message[0] ? lerr.message : strerror(-ret));
	if (dev->engine.deferred_remove)
		return run_fail(st, -EBUSY,
				"%s: already scheduled for removal (%s)",
				dev->label,
				dev->engine.kind == ENGINE_LOOP
				    ? "autoclear: losetup -d"
				    : "dmsetup remove --deferred");
	if (dev->persistent || dev->engine.snapshot)
		return 0;
	/* Removing it would break the LV it belongs to, whatever --force. */
	if (dev->engine.lvm_internal)
		return run_fail(st, -EPERM,
				"%s: part of an LVM LV (dm device %s), not an "
				"LV; give the snapshot LV itself",
				dev->label, dev->engine.node);
	/*
	 * Releasing a loop or dm device removes a mapping; lvremove destroys
	 * the volume's data. --force stops short of that.
	 */
	if (st->opts->force && dev->engine.kind != ENGINE_LVM)
		return 0;
	if (dev->engine.kind == ENGINE_LVM)
		return run_fail(
		    st, -EPERM,
		    "%s: not a snapshot (%s); add it with "
		    "--persistent (--force never applies to LVM: "
		    "snapset removes no LV but a snapshot)",
		    dev->label,
		    why_no_snapshot(&dev->engine, why, sizeof(why)));
	return run_fail(st, -EPERM,
			"%s: not provably a snapshot (%s); add it with "
			"--persistent, or --force to release it anyway",
			dev->label,
			why_no_snapshot(&dev->engine, why, sizeof(why)));
}

/* A holder of @rdev in sysfs (a dm table, md, bcache): "dm-3 (NAME)". */
static bool dev_holder(dev_t rdev, char *out, size_t size)
{
	char path[320], name[128];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/holders",
		 major(rdev), minor(rdev));
	dir = opendir(path);
	while (dir && (d = readdir(dir)) && d->d_name[0] == '.')
		;
	if (!dir || !d) {
		if (dir)
			closedir(dir);
		return false;
	}
	snprintf(path, sizeof(path), "/sys/class/block/%s/dm/name", d->d_name);
	if (sysfs_read(path, name, sizeof(name)))
		snprintf(out, size, "%s", d->d_name);
	else
		snprintf(out, size, "%.32s (%.*s)", d->d_name,
			 (int)(size > 40 ? size - 40 : 0), name);
	closedir(dir);
	return true;
}

/* @in with mountinfo's octal escapes ("\040" for a space) undone. */
static void mountinfo_unescape(const char *in, char *out, size_t size)
{
	size_t o = 0;

	while (*in && o + 1 < size) {
		if (in[0] == '\\' && strspn(in + 1, "01234567") >= 3) {
			out[o++] = (char)((in[1] - '0') << 6 |
					  (in[2] - '0') << 3 | (in[3] - '0'));
			in += 4;
		} else {
			out[o++] = *in++;
		}
	}
	out[o] = '\0';
}

/* Where @rdev is mounted in run's mount namespace, as mountinfo says. */
static bool dev_mount(dev_t rdev, char *out, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, point[4096];
	unsigned int maj, min;
	size_t cap = 0;
	bool found = false;

	while (f && !found && getline(&line, &cap, f) > 0)
		found = sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min,
			       point) == 3 &&
			makedev(maj, min) == rdev;
	if (found)
		mountinfo_unescape(point, out, size);
	free(line);
	if (f)
		fclose(f);
	return found;
}

/*
 * The set in the module's list that has @rdev: a live set that holds it,
 * or a pending record whose release (an LV the daemon removes) has not
 * happened yet. Either would take the device from under this run.
 */
static bool dev_other_set(const void *list, size_t len, dev_t rdev,
			  bool *pending, char *out, size_t size)
{
	unsigned long long diskseq = device_diskseq(major(rdev), minor(rdev));
	const struct snapset_event *ev;
	size_t off = 0;

	while ((ev = record_next(list, len, &off))) {
		*pending = ev->type == SNAPSET_RECORD_PENDING;
		for (__u32 i = 0; i < ev->set.ndevices; i++) {
			const struct snapset_device_info *d =
			    snapset_event_device(ev, i);

			if (!device_info_is(d, major(rdev), minor(rdev),
					    diskseq) ||
			    (*pending
				 ? (d->flags & SNAPSET_DEVICE_PERSISTENT) ||
				       strncmp(d->dm_uuid, "LVM-", 4)
				 : d->flags & SNAPSET_DEVICE_RELEASED))
				continue;
			set_label(ev->set.name, sizeof(ev->set.name),
				  ev->set.id, out, size);
			return true;
		}
	}
	return false;
}

/*
 * A device another live set holds is that set's, persistent or not; one
 * a pending record still has to remove is that record's.
 */
static int dev_check_sets(struct run_state *st, struct run_dev *dev)
{
	char set[SET_LABEL_LEN];
	size_t len = 0;
	void *list;
	bool held, pending;
	int ret = module_list(st->set_fd, &list, &len);

	if (ret)
		return run_fail(st, ret, "%s: cannot list live sets: %s",
				SNAPSET_DEV_PATH, strerror(-ret));
	held = dev_other_set(list, len, dev->rdev, &pending, set, sizeof(set));
	free(list);
	if (held && pending)
		return run_fail(
		    st, -EBUSY,
		    "%s: the record of %s still waits to remove it "
		    "(start the daemon, or snapset cleanup --pending)",
		    dev->label, set);
	return held ? run_fail(st, -EBUSY, "%s: already in %s", dev->label, set)
		    : 0;
}

/*
 * A device to be released must be used by nothing else: releasing a
 * loop device a PV or a mount sits on pulls it from under them.
 */
static int dev_check_unused(struct run_state *st, struct run_dev *dev)
{
	char who[256];
	int fd;

	if (dev_holder(dev->rdev, who, sizeof(who)))
		return run_fail(st, -EBUSY, "%s: held by %s", dev->label, who);
	if (dev_mount(dev->rdev, who, sizeof(who)))
		return run_fail(st, -EBUSY, "%s: mounted on %s", dev->label,
				who);
	/* Mounts in other namespaces, swap, a program's O_EXCL open. */
	fd = reopen(dev->fd, O_RDONLY | O_EXCL | O_NONBLOCK);
	if (fd < 0 && errno == EBUSY)
		return run_fail(st, -EBUSY,
				"%s: in use (opened exclusively by another "
				"program)",
				dev->label);
	if (fd < 0)
		return run_fail(st, -errno, "%s: %s", dev->label,
				strerror(errno));
	close(fd);
	return 0;
}

/* One --snapshot/--persistent spec, resolved, opened and checked. */
static int dev_resolve(struct run_state *st, struct run_dev *dev)
{
	char path[256];
	int ret = spec_path(st, dev->label, path, sizeof(path));

	if (!ret)
		ret = dev_open(st, path, dev);
	if (!ret)
		ret = dev_inspect(st, dev);
	if (!ret)
		ret = dev_check_sets(st, dev);
	/* A persistent device is left alone: others may use it. */
	if (!ret && !dev->persistent)
		ret = dev_check_unused(st, dev);
	return ret;
}

int devices_resolve(struct run_state *st)
{
	const struct run_options *opts = st->opts;
	int ret = 0;

	for (unsigned int i = 0; i < opts->ndevices && !ret; i++) {
		struct run_dev *dev = &st->devs[st->ndevs++];

		snprintf(dev->label, sizeof(dev->label), "%s",
			 opts->devices[i].spec);
		snprintf(dev->alias, sizeof(dev->alias), "%s",
			 opts->devices[i].spec);
		dev->persistent = opts->devices[i].persistent;
		dev->fd = -1;
		ret = dev_resolve(st, dev);
	}
	return ret;
}

int lvm_origins_check(struct run_state *st)
{
	const struct run_options *opts = st->opts;
	struct lvm_error lerr;
	struct lv_info info;
	int ret;

	for (unsigned int i = 0; i < opts->nlvm; i++) {
		const struct run_lvm_snapshot *s = &opts->lvm[i];

		ret = lv_info_get(s->vg, s->origin, &info, &lerr);
		if (ret == -ENOENT)
			return run_fail(st, ret, "%s/%s: no such LV (%s)",
					s->vg, s->origin, lerr.message);
		if (ret)
			return run_fail(st, ret, "%s/%s: %s", s->vg, s->origin,
					lerr.message);
		if (!s->size && strcmp(info.segtype, "thin"))
			return run_fail(st, -EINVAL,
					"%s/%s: a %s LV needs a snapshot size "
					"(%s/%s:SIZE)",
					s->vg, s->origin, info.segtype, s->vg,
					s->origin);
		ret = info.major ? freeze_origin_check(
				       st, s, makedev(info.major, info.minor))
				 : 0;
		if (ret)
			return ret;
	}
	return 0;
}

/* Opens the snapshot LV just made, checking it is the one we made. */
static int lvm_snapshot_open(struct run_state *st, struct run_dev *dev,
			     const char *vg, const char *name)
{
	struct lvm_error lerr;
	struct lv_info info;
	int ret;

	ret = lv_info_get(vg, name, &info, &lerr);
	if (ret)
		return run_fail(st, ret, "%s: made, but lvs cannot see it: %s",
				dev->label, lerr.message);
	snprintf(dev->created_uuid, sizeof(dev->created_uuid), "%s", info.uuid);
	ret = engine_inspect(makedev(info.major, info.minor), &dev->engine,
			     &lerr);
	if (ret)
		return run_fail(
		    st, ret, "%s: made, but not active: %s", dev->label,
		    lerr.message[0] ? lerr.message : strerror(-ret));
	if (dev->engine.kind != ENGINE_LVM ||
	    strcmp(dev->engine.lv_info.uuid, info.uuid))
		return run_fail(st, -ESTALE, "%s: %s is another device",
				dev->label, dev->engine.node);
	ret = dev_open(st, dev->engine.node, dev);
	if (!ret && dev->rdev != makedev(info.major, info.minor))
		ret = run_fail(st, -ESTALE, "%s: %s is another device",
			       dev->label, dev->engine.node);
	return ret;
}

const char *mount_dir_error(int err)
{
	switch (err) {
	case -ENOENT:
		return "no such directory";
	case -ENOTDIR:
		return "not a directory";
	case -ELOOP:
		return "has a symlink in its path (--mount follows none)";
	default:
		return strerror(-err);
	}
}

const char *run_set_error(int err)
{
	if (err == -ESHUTDOWN)
		return "ended by an administrator (snapset delete)";
	return strerror(-err);
}

static const char *add_error(int err)
{
	switch (err) {
	case -EEXIST:
		return "already in the set";
	case -ENOMEDIUM:
		return "has no medium (size 0)";
	case -ENOSPC:
		return "the set is full (64 devices)";
	default:
		return run_set_error(err);
	}
}

static int dev_add(struct run_state *st, struct run_dev *dev)
{
	int ret = module_add(st->set_fd, dev->fd,
			     dev->persistent ? SNAPSET_DEVICE_PERSISTENT : 0);

	if (ret)
		return run_fail(st, ret, "%s: cannot add to the set: %s",
				dev->label, add_error(ret));
	dev->added = true;
	run_step(st, "%s: added (%u:%u, %s)", dev->label, major(dev->rdev),
		 minor(dev->rdev),
		 dev->persistent ? "persistent"
				 : "released "
				   "with the set");
	return 0;
}

/*
 * What lvcreate said, passed on: a snapshot smaller than asked (LVM caps
 * the COW at what the origin can use) is said only there.
 */
static void lvm_notices_print(const char *label, const char *notices)
{
	size_t len;

	/* The last line may lack its newline: never step past the end. */
	for (const char *line = notices; *line; line += len + !!line[len]) {
		len = strcspn(line, "\n");
		run_print("snapset run: %s: lvm: %.*s\n", label, (int)len,
			  line);
	}
}

/* Makes the LV of @s for the set, as @dev. */
static int lvm_snapshot_make(struct run_state *st,
			     const struct run_lvm_snapshot *s,
			     struct run_dev *dev)
{
	struct lv_snapshot snapshot = {
		.vg = s->vg,
		.origin = s->origin,
		.name = dev->lv,
		.size = s->size,
		.set_uuid = st->id_text,
		.no_backup = st->frozen,
	};
	char notices[1024];
	struct lvm_error lerr;
	int ret;

	if (lvm_snapshot_name(s->origin, st->id_text, dev->lv, sizeof(dev->lv)))
		return run_fail(st, -ENAMETOOLONG,
				"%s/%s: name too long for a snapshot", s->vg,
				s->origin);
	snprintf(dev->label, sizeof(dev->label), "%s/%s", s->vg, dev->lv);
	snprintf(dev->alias, sizeof(dev->alias), "%s/%s", s->vg, s->origin);
	dev->fd = -1;
	dev->lvm = s;
	st->lvm_untracked = true;
	ret = lv_snapshot_create(&snapshot, st->set_fd, &lerr, notices,
				 sizeof(notices));
	lvm_notices_print(dev->label, notices);
	if (ret)
		return run_fail(st, ret, "%s/%s: cannot snapshot: %s", s->vg,
				s->origin, lerr.message);
	/* Made: tracked as @dev, by its uuid once lvs shows it. */
	dev->created = true;
	st->lvm_untracked = false;
	st->ndevs++;
	run_step(st, "%s/%s: snapshot %s made (%s)", s->vg, s->origin,
		 dev->label, s->size ? s->size : "thin");
	return 0;
}

int lvm_snapshots_create(struct run_state *st)
{
	const struct run_options *opts = st->opts;
	int ret;

	for (unsigned int i = 0; i < opts->nlvm; i++) {
		ret =
		    lvm_snapshot_make(st, &opts->lvm[i], &st->devs[st->ndevs]);
		if (ret)
			return ret;
		/*
		 * Added at once: the set holds each LV as soon as it exists.
		 * While writes are held, after the thaw: lvs takes time.
		 */
		if (!st->frozen) {
			ret = devices_add(st);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int devices_add(struct run_state *st)
{
	int ret;

	for (unsigned int i = 0; i < st->ndevs; i++) {
		struct run_dev *dev = &st->devs[i];

		if (dev->added)
			continue;
		ret = dev->lvm
			  ? lvm_snapshot_open(st, dev, dev->lvm->vg, dev->lv)
			  : 0;
		if (!ret)
			ret = dev_add(st, dev);
		if (ret)
			return ret;
	}
	return 0;
}

int devices_arm_release(struct run_state *st)
{
	int ret;

	for (unsigned int i = 0; i < st->ndevs; i++) {
		struct run_dev *dev = &st->devs[i];

		if (dev->persistent)
			continue;
		ret = engine_set_release(dev->fd, &dev->engine, true);
		if (ret)
			return run_fail(
			    st, ret, "%s: cannot arm %s auto-release: %s",
			    dev->label, engine_name(dev->engine.kind),
			    strerror(-ret));
		dev->release_armed = true;
	}
	return 0;
}

void devices_disarm_release(struct run_state *st)
{
	int ret;

	for (unsigned int i = 0; i < st->ndevs; i++) {
		struct run_dev *dev = &st->devs[i];

		if (!dev->release_armed)
			continue;
		ret = engine_set_release(dev->fd, &dev->engine, false);
		/* Reported here: the set's own error line follows. */
		if (ret)
			fprintf(stderr,
				"snapset run: %s: %s auto-release left armed: "
				"%s\n",
				dev->label, engine_name(dev->engine.kind),
				strerror(-ret));
		dev->release_armed = false;
	}
}

void devices_close(struct run_state *st)
{
	for (unsigned int i = 0; i < st->ndevs; i++) {
		if (st->devs[i].fd >= 0)
			close(st->devs[i].fd);
		st->devs[i].fd = -1;
	}
}

void lvm_remove_created(struct run_state *st)
{
	struct lvm_error lerr = { "" };
	int ret;

	devices_close(st);
	for (unsigned int i = 0; i < st->ndevs; i++) {
		struct run_dev *dev = &st->devs[i];

		if (dev->created && !dev->created_uuid[0])
			st->lvm_untracked = true;
		if (!dev->created || !dev->created_uuid[0])
			continue;
		ret = lv_remove_by_uuid(dev->created_uuid, &lerr);
		/* Gone already (a daemon, an administrator): none left. */
		if (ret && ret != -ENOENT)
			fprintf(stderr,
				"snapset run: %s: left behind (tagged "
				"%s:%s): %s\n",
				dev->label, LVM_SNAPSET_TAG, st->id_text,
				lerr.message[0] ? lerr.message
						: strerror(-ret));
	}
	if (!st->lvm_untracked)
		return;
	/* An LV lvcreate may have made, and lvs never showed us. */
	ret = lv_remove_tagged(st->id_text, &lerr);
	if (ret)
		fprintf(stderr,
			"snapset run: snapshot LVs tagged %s:%s, if lvcreate "
			"made any: left behind: %s\n",
			LVM_SNAPSET_TAG, st->id_text,
			lerr.message[0] ? lerr.message : strerror(-ret));
}

int lvm_release(struct run_state *st)
{
	struct lvm_error lerr;
	int ret, failed = 0;

	for (unsigned int i = 0; i < st->ndevs; i++) {
		struct run_dev *dev = &st->devs[i];

		if (dev->persistent || dev->engine.kind != ENGINE_LVM)
			continue;
		ret = lv_remove_by_uuid(dev->engine.lv_info.uuid, &lerr);
		if (!ret)
			run_step(st, "%s: removed", dev->label);
		/* Gone already: a daemon got there first. */
		if (ret == -ENOENT || !ret)
			continue;
		/* Reported here: the set's own error line may come too. */
		fprintf(stderr, "snapset run: %s: cannot remove: %s\n",
			dev->label, lerr.message);
		failed = ret;
	}
	return failed;
}

static struct run_dev *dev_by_alias(struct run_state *st, const char *alias)
{
	for (unsigned int i = 0; i < st->ndevs; i++)
		if (!strcmp(st->devs[i].alias, alias))
			return &st->devs[i];
	return NULL;
}

static struct run_dev *dev_by_spec(struct run_state *st, const char *spec)
{
	char path[256];
	struct stat sb;

	if (spec_path(st, spec, path, sizeof(path)) || stat(path, &sb))
		return NULL;
	for (unsigned int i = 0; i < st->ndevs; i++)
		if (S_ISBLK(sb.st_mode) && st->devs[i].rdev == sb.st_rdev)
			return &st->devs[i];
	return NULL;
}

/* The sandbox opens DIR again to mount on it: this is for the message. */
static int mount_dir_check(struct run_state *st, const char *dir)
{
	int fd = sandbox_dir_open(dir);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return run_fail(st, fd, "%s: %s", dir, mount_dir_error(fd));
}

int mounts_resolve(struct run_state *st, struct sandbox *sb)
{
	const struct run_options *opts = st->opts;
	struct device_ids ids;
	int ret;

	for (unsigned int i = 0; i < opts->nmounts; i++) {
		const struct run_mount *m = &opts->mounts[i];
		struct run_mount_target *t = &sb->mounts[i];
		struct run_dev *dev = dev_by_alias(st, m->device);

		if (!dev)
			dev = dev_by_spec(st, m->device);
		if (!dev)
			return run_fail(st, -ENOENT,
					"%s: not a device of this set",
					m->device);
		if (device_probe_ids(dev->engine.node, &ids) || !ids.type[0])
			return run_fail(st, -EMEDIUMTYPE,
					"%s: no filesystem found on %s",
					m->device, dev->engine.node);
		ret = mount_dir_check(st, m->dir);
		if (ret)
			return ret;
		snprintf(t->node, sizeof(t->node), "%s", dev->engine.node);
		snprintf(t->fstype, sizeof(t->fstype), "%s", ids.type);
		t->dir = m->dir;
	}
	sb->nmounts = opts->nmounts;
	return 0;
}
