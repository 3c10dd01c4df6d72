// SPDX-License-Identifier: GPL-2.0
/*
 * The module's ioctls as functions returning 0 or -errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lvm.h"
#include "module.h"

/* A sanity bound on either part of a record: far above what it is. */
#define RECORD_PART_MAX 4096

int module_open(void)
{
	int fd = open(SNAPSET_DEV_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int ioctl_errno(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

int module_version(char *buf, size_t size)
{
	int fd = open("/sys/module/snapset/version", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);
	int ret = n < 0 ? -errno : 0;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return ret;
}

int module_api(int fd)
{
	struct snapset_api arg = { .size = sizeof(arg), .api = SNAPSET_API };
	int ret = ioctl_errno(fd, SNAPSET_IOC_API, &arg);

	/* EINVAL for an API it does not speak, with its own filled in. */
	if (ret == -EINVAL && arg.api != SNAPSET_API)
		return arg.api ? (int)arg.api : -EPROTO;
	return ret ? ret : (int)arg.api;
}

int module_list(int fd, void **buf, size_t *len)
{
	struct snapset_list arg = { .size = sizeof(arg) };
	void *grown;
	int ret;

	*buf = NULL;
	/* Sets come and go between calls: retry until the size holds. */
	while ((ret = ioctl_errno(fd, SNAPSET_IOC_LIST, &arg)) == -ENOSPC) {
		grown = realloc(*buf, arg.needed + 1);
		if (!grown) {
			ret = -ENOMEM;
			break;
		}
		*buf = grown;
		arg.buf = (unsigned long)grown;
		arg.buf_size = arg.needed + 1;
	}
	if (ret) {
		free(*buf);
		*buf = NULL;
		return ret;
	}
	*len = arg.used;
	return 0;
}

int module_create(int fd, const char *name, __u8 id[SNAPSET_ID_LEN])
{
	struct snapset_create arg = { .size = sizeof(arg) };
	int ret;

	if (name && strlen(name) >= sizeof(arg.name))
		return -ENAMETOOLONG;
	if (name)
		strcpy(arg.name, name);
	ret = ioctl_errno(fd, SNAPSET_IOC_CREATE, &arg);
	if (!ret)
		memcpy(id, arg.id, SNAPSET_ID_LEN);
	return ret;
}

int module_add(int fd, int dev_fd, __u32 flags)
{
	struct snapset_add arg = {
		.size = sizeof(arg),
		.flags = flags,
		.fd = dev_fd,
	};

	return ioctl_errno(fd, SNAPSET_IOC_ADD, &arg);
}

int module_arm(int fd)
{
	return ioctl_errno(fd, SNAPSET_IOC_ARM, NULL);
}

int module_freeze(int fd, const int *fds, unsigned int nfds,
		  unsigned int timeout_ms)
{
	struct snapset_freeze arg = { .size = sizeof(arg),
				      .fds = (__u64)(uintptr_t)fds,
				      .nr_fds = nfds,
				      .timeout_ms = timeout_ms };

	return ioctl_errno(fd, SNAPSET_IOC_FREEZE, &arg);
}

int module_thaw(int fd, struct snapset_thaw *thaw)
{
	*thaw = (struct snapset_thaw){ .size = sizeof(*thaw) };
	return ioctl_errno(fd, SNAPSET_IOC_THAW, thaw);
}

int module_complete(int fd)
{
	return ioctl_errno(fd, SNAPSET_IOC_COMPLETE, NULL);
}

int module_abort(int fd, const int *wait_status)
{
	struct snapset_abort arg = { .size = sizeof(arg) };

	if (wait_status && WIFEXITED(*wait_status)) {
		arg.flags = SNAPSET_ABORT_EXIT_STATUS;
		arg.exit_status = WEXITSTATUS(*wait_status);
	} else if (wait_status && WIFSIGNALED(*wait_status)) {
		arg.flags = SNAPSET_ABORT_SIGNAL;
		arg.signal = WTERMSIG(*wait_status);
	}
	return ioctl_errno(fd, SNAPSET_IOC_ABORT, &arg);
}

int module_subscribe(int fd, __u32 flags)
{
	struct snapset_subscribe arg = { .size = sizeof(arg), .flags = flags };

	return ioctl_errno(fd, SNAPSET_IOC_SUBSCRIBE, &arg);
}

static int target_ioctl(int fd, unsigned long cmd,
			const __u8 id[SNAPSET_ID_LEN])
{
	struct snapset_target arg = { .size = sizeof(arg) };

	memcpy(arg.id, id, SNAPSET_ID_LEN);
	return ioctl_errno(fd, cmd, &arg);
}

int module_terminate(int fd, const __u8 id[SNAPSET_ID_LEN])
{
	return target_ioctl(fd, SNAPSET_IOC_TERMINATE, id);
}

int module_ack(int fd, const __u8 id[SNAPSET_ID_LEN])
{
	return target_ioctl(fd, SNAPSET_IOC_ACK, id);
}

int module_discard(int fd, const __u8 id[SNAPSET_ID_LEN])
{
	return target_ioctl(fd, SNAPSET_IOC_DISCARD, id);
}

const struct snapset_event *record_next(const void *buf, size_t len,
					size_t *off)
{
	const struct snapset_event *ev;
	uint64_t size;

	if (*off > len || len - *off < sizeof(*ev))
		return NULL;
	ev = (const struct snapset_event *)((const char *)buf + *off);
	/*
	 * A newer kernel may write more of either part, never less than this
	 * build knows (its VER0 today; a build whose structs grew must read
	 * an older kernel's shorter parts into zeroed ones). The bounds keep
	 * the arithmetic in 64 bits, on 32-bit builds too. Both parts are
	 * multiples of 8, as the UAPI promises: the next record and every
	 * device stay aligned for their 64-bit fields.
	 */
	if (ev->header_size % 8 || ev->device_size % 8 ||
	    ev->header_size < sizeof(*ev) ||
	    ev->header_size > RECORD_PART_MAX ||
	    ev->device_size < sizeof(struct snapset_device_info) ||
	    ev->device_size > RECORD_PART_MAX)
		return NULL;
	size = ev->header_size + (uint64_t)ev->set.ndevices * ev->device_size;
	if (ev->size != size || size > len - *off)
		return NULL;
	*off += size;
	return ev;
}

/* Whether @buf holds whole records only, every one of them readable. */
static bool records_whole(const void *buf, size_t len)
{
	size_t off = 0;

	while (record_next(buf, len, &off))
		;
	return off == len;
}

int module_list_whole(int fd, void **buf, size_t *len)
{
	int ret = module_list(fd, buf, len);

	if (!ret && !records_whole(*buf, *len)) {
		free(*buf);
		*buf = NULL;
		ret = -EPROTO;
	}
	return ret;
}

const struct snapset_event *record_of_set(const void *buf, size_t len,
					  const __u8 id[SNAPSET_ID_LEN])
{
	const struct snapset_event *ev;
	size_t off = 0;

	while ((ev = record_next(buf, len, &off)))
		if (!memcmp(ev->set.id, id, SNAPSET_ID_LEN))
			return ev;
	return NULL;
}

bool records_hold_set(const void *buf, size_t len,
		      const __u8 id[SNAPSET_ID_LEN])
{
	return record_of_set(buf, len, id);
}

void record_init(struct snapset_event *ev, __u32 type)
{
	*ev = (struct snapset_event){
		.type = type,
		.size = sizeof(*ev),
		.header_size = sizeof(*ev),
		.device_size = sizeof(struct snapset_device_info),
	};
}

int record_device_lv_uuid(const struct snapset_device_info *dev,
			  char uuid[LV_UUID_LEN])
{
	/* Persistent: the administrator's to keep (VSS's no-auto-release). */
	if ((dev->flags & SNAPSET_DEVICE_PERSISTENT) ||
	    lvm_uuid_from_dm(dev->dm_uuid, uuid, LV_UUID_LEN))
		return -ENOENT;
	return 0;
}
