/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the snapset selftests: the module's ioctls, loop
 * devices over files in the guest's tmpfs, and event reading.
 */
#ifndef SNAPSET_SELFTEST_UTIL_H
#define SNAPSET_SELFTEST_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <linux/snapset.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SNAPSET_DEV "/dev/snapset"
/* Generous: the guest runs under TCG, about ten times slower. */
#define EVENT_TIMEOUT_MS 10000

static inline int delete_module(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK);
}

static inline int load_module(const char *path, const char *params)
{
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, params, 0);
	close(fd);
	return ret;
}

static inline bool module_loaded(void)
{
	return access("/sys/module/snapset", F_OK) == 0;
}

/*
 * Unloads the module, waiting up to 30 s for its users to go: a process
 * that exited can hold /dev/snapset a while longer, until io_uring's
 * teardown (in a workqueue) closes its files.
 */
static inline int unload_module(void)
{
	for (int i = 0; i < 3000; i++) {
		if (!delete_module("snapset") || errno != EWOULDBLOCK)
			return module_loaded() ? -1 : 0;
		usleep(10000);
	}
	return -1;
}

/*
 * Reloads the module from $SNAPSET_KO with @params; false when it could
 * not (no module file, or the module stayed in use).
 */
static inline bool module_reload(const char *params)
{
	const char *ko = getenv("SNAPSET_KO");

	if (!ko || (module_loaded() && unload_module()))
		return false;
	return load_module(ko, params) == 0;
}

static inline int snapset_open(void)
{
	return open(SNAPSET_DEV, O_RDWR | O_CLOEXEC);
}

/* Runs ioctl(); returns 0 or the errno it failed with. */
static inline int ioctl_err(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? errno : 0;
}

/* Creates a set on a new file; returns the fd or -errno. */
static inline int set_new(const char *name, __u8 id[SNAPSET_ID_LEN])
{
	struct snapset_create arg = { .size = sizeof(arg) };
	int fd = snapset_open();

	if (fd < 0)
		return -errno;
	if (name)
		snprintf(arg.name, sizeof(arg.name), "%s", name);
	if (ioctl(fd, SNAPSET_IOC_CREATE, &arg)) {
		int err = errno;

		close(fd);
		return -err;
	}
	if (id)
		memcpy(id, arg.id, SNAPSET_ID_LEN);
	return fd;
}

/* Adds the device at @path, opened with @mode; returns 0 or errno. */
static inline int set_add_path(int set, const char *path, int mode, __u32 flags)
{
	struct snapset_add arg = { .size = sizeof(arg), .flags = flags };
	int err;

	arg.fd = open(path, mode | O_CLOEXEC);
	if (arg.fd < 0)
		return errno;
	err = ioctl_err(set, SNAPSET_IOC_ADD, &arg);
	close(arg.fd);
	return err;
}

static inline int subscribe(__u64 flags)
{
	struct snapset_subscribe arg = { .size = sizeof(arg), .flags = flags };
	int fd = snapset_open();

	if (fd < 0)
		return -errno;
	if (ioctl(fd, SNAPSET_IOC_SUBSCRIBE, &arg)) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

/* A loop device over a fresh file in /tmp. */
struct loopdev {
	int index;
	char path[32];
	char backing[64];
};

static inline int loop_control(void)
{
	int fd = open("/dev/loop-control", O_RDWR | O_CLOEXEC);

	if (fd < 0 && system("modprobe loop 2>/dev/null") == 0)
		fd = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	return fd;
}

/* Attaches a loop device to a new @bytes-long file; 0 or errno. */
static inline int loop_attach(struct loopdev *loop, off_t bytes)
{
	struct loop_config config = {};
	int ctl, file, dev, err = 0;

	ctl = loop_control();
	if (ctl < 0)
		return errno;
	strcpy(loop->backing, "/tmp/snapset-loop-XXXXXX");
	file = mkstemp(loop->backing);
	if (file < 0 || ftruncate(file, bytes)) {
		err = errno;
		goto out_ctl;
	}
	loop->index = ioctl(ctl, LOOP_CTL_GET_FREE);
	if (loop->index < 0) {
		err = errno;
		goto out_file;
	}
	snprintf(loop->path, sizeof(loop->path), "/dev/loop%d", loop->index);
	dev = open(loop->path, O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		err = errno;
		goto out_file;
	}
	config.fd = file;
	if (ioctl(dev, LOOP_CONFIGURE, &config))
		err = errno;
	close(dev);
out_file:
	close(file);
	unlink(loop->backing);
out_ctl:
	close(ctl);
	return err;
}

/* An unbound loop device (size zero); 0 or errno. */
static inline int loop_unbound(struct loopdev *loop)
{
	int ctl = loop_control();

	if (ctl < 0)
		return errno;
	loop->index = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	if (loop->index < 0)
		return errno;
	snprintf(loop->path, sizeof(loop->path), "/dev/loop%d", loop->index);
	loop->backing[0] = '\0';
	return 0;
}

/* LOOP_CLR_FD: detaches now, or sets autoclear while the device is held. */
static inline int loop_detach(const struct loopdev *loop)
{
	int fd = open(loop->path, O_RDONLY | O_CLOEXEC);
	int err;

	if (fd < 0)
		return errno;
	err = ioctl_err(fd, LOOP_CLR_FD, NULL);
	close(fd);
	return err;
}

static inline bool loop_bound(const struct loopdev *loop)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/block/loop%d/loop/backing_file",
		 loop->index);
	return access(path, F_OK) == 0;
}

/* Loop autoclear and dm removal finish after the last close: poll. */
static inline bool wait_until_unbound(const struct loopdev *loop)
{
	for (int i = 0; i < 500; i++) {
		if (!loop_bound(loop))
			return true;
		usleep(10000);
	}
	return false;
}

/* A set named @name holding @loop (if any), armed; returns its fd. */
static inline int armed_set(const struct loopdev *loop, const char *name,
			    __u8 id[SNAPSET_ID_LEN])
{
	int fd = set_new(name, id);

	if (fd < 0)
		return fd;
	if ((loop && set_add_path(fd, loop->path, O_RDONLY, 0)) ||
	    ioctl(fd, SNAPSET_IOC_ARM, NULL)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Forks a child that makes an armed set, reports its id and the number of
 * the set's fd in the child (into @setfd, unless NULL), then runs @fn.
 */
static inline pid_t owner_child_fd(const struct loopdev *loop,
				   __u8 id[SNAPSET_ID_LEN], int *setfd,
				   void (*fn)(int set))
{
	struct {
		__u8 id[SNAPSET_ID_LEN];
		int fd;
	} report = {};
	int pipefd[2];
	pid_t pid;

	if (pipe(pipefd))
		return -1;
	pid = fork();
	if (pid == 0) {
		int fd = armed_set(loop, "child", report.id);

		report.fd = fd;
		close(pipefd[0]);
		if (write(pipefd[1], &report, sizeof(report)) < 0 || fd < 0)
			_exit(100);
		close(pipefd[1]);
		fn(fd);
		_exit(0);
	}
	close(pipefd[1]);
	if (pid < 0 ||
	    read(pipefd[0], &report, sizeof(report)) != sizeof(report))
		pid = -1;
	close(pipefd[0]);
	memcpy(id, report.id, SNAPSET_ID_LEN);
	if (setfd)
		*setfd = report.fd;
	return pid;
}

/* Forks a child that makes an armed set, reports its id, then runs @fn. */
static inline pid_t owner_child(const struct loopdev *loop,
				__u8 id[SNAPSET_ID_LEN], void (*fn)(int set))
{
	return owner_child_fd(loop, id, NULL, fn);
}

/* An owner that holds its set until it is killed. */
static inline void wait_forever(int set)
{
	for (;;)
		pause();
}

/* Reads one record into @buf within @timeout_ms; its size, or -errno. */
static inline ssize_t read_event_within(int fd, void *buf, size_t size,
					int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return -ETIMEDOUT;
	n = read(fd, buf, size);
	return n < 0 ? -errno : n;
}

/* Reads one record into @buf within the timeout; its size, or -errno. */
static inline ssize_t read_event(int fd, void *buf, size_t size)
{
	return read_event_within(fd, buf, size, EVENT_TIMEOUT_MS);
}

union event_buf {
	struct snapset_event ev;
	char bytes[sizeof(struct snapset_event) +
		   SNAPSET_MAX_DEVICES * sizeof(struct snapset_device_info)];
};

/*
 * Reads events until one of @type for set @id and copies it to @out; the
 * others read along with it are dropped. False when none came for
 * @timeout_ms.
 */
static inline bool wait_event_within(int fd, __u32 type,
				     const __u8 id[SNAPSET_ID_LEN],
				     union event_buf *out, int timeout_ms)
{
	static union event_buf batch[8];

	for (;;) {
		ssize_t n =
		    read_event_within(fd, batch, sizeof(batch), timeout_ms);
		char *p = (char *)batch;

		if (n <= 0)
			return false;
		while (n > 0) {
			struct snapset_event *ev = (struct snapset_event *)p;

			if (ev->type == type &&
			    !memcmp(ev->set.id, id, SNAPSET_ID_LEN)) {
				memcpy(out, ev, ev->size);
				return true;
			}
			p += ev->size;
			n -= ev->size;
		}
	}
}

/* wait_event_within() with the generous default timeout. */
static inline bool wait_event_for(int fd, __u32 type,
				  const __u8 id[SNAPSET_ID_LEN],
				  union event_buf *out)
{
	return wait_event_within(fd, type, id, out, EVENT_TIMEOUT_MS);
}

/* An ioctl naming a set by id (ack, discard, terminate); 0 or errno. */
static inline int target_ioctl(int fd, unsigned long cmd,
			       const __u8 id[SNAPSET_ID_LEN])
{
	struct snapset_target arg = { .size = sizeof(arg) };

	memcpy(arg.id, id, SNAPSET_ID_LEN);
	return ioctl_err(fd, cmd, &arg);
}

static inline int ack(int agent, const __u8 id[SNAPSET_ID_LEN])
{
	return target_ioctl(agent, SNAPSET_IOC_ACK, id);
}

static inline int discard(int fd, const __u8 id[SNAPSET_ID_LEN])
{
	return target_ioctl(fd, SNAPSET_IOC_DISCARD, id);
}

static inline int terminate(int fd, const __u8 id[SNAPSET_ID_LEN])
{
	return target_ioctl(fd, SNAPSET_IOC_TERMINATE, id);
}

/* SNAPSET_IOC_LIST on @fd into a malloc()ed buffer; NULL on error. */
static inline void *list_records_fd(int fd, size_t *used)
{
	struct snapset_list arg = { .size = sizeof(arg) };
	void *buf = NULL;

	for (;;) {
		if (!ioctl(fd, SNAPSET_IOC_LIST, &arg))
			break;
		free(buf);
		if (errno != ENOSPC)
			return NULL;
		arg.buf_size = arg.needed;
		buf = malloc(arg.buf_size ?: 1);
		arg.buf = (unsigned long)buf;
		if (!buf)
			return NULL;
	}
	*used = arg.used;
	return buf ?: malloc(1);
}

/* SNAPSET_IOC_LIST into a malloc()ed buffer; NULL on error. */
static inline void *list_records(size_t *used)
{
	int fd = snapset_open();
	void *buf;

	if (fd < 0)
		return NULL;
	buf = list_records_fd(fd, used);
	close(fd);
	return buf;
}

/*
 * Counts the records of @type (all of them, or those of set @id) that
 * SNAPSET_IOC_LIST on @fd shows, and copies the last one found to @info
 * (unless NULL); -1 on error.
 */
static inline int list_count(int fd, __u32 type, const __u8 *id,
			     struct snapset_set_info *info)
{
	size_t used = 0, off;
	char *buf = list_records_fd(fd, &used);
	int count = 0;

	if (!buf)
		return -1;
	for (off = 0; off < used;) {
		struct snapset_event *ev = (void *)(buf + off);

		if (ev->type == type &&
		    (!id || !memcmp(ev->set.id, id, SNAPSET_ID_LEN))) {
			count++;
			if (info)
				*info = ev->set;
		}
		off += ev->size;
	}
	free(buf);
	return count;
}

/* Counts the live sets (all, or set @id) that a list on @fd shows. */
static inline int list_live(int fd, const __u8 *id,
			    struct snapset_set_info *info)
{
	return list_count(fd, SNAPSET_RECORD_LIVE, id, info);
}

/* Counts pending records of set @id (-1 on error). */
static inline int pending_count(const __u8 id[SNAPSET_ID_LEN])
{
	int fd = snapset_open(), count;

	if (fd < 0)
		return -1;
	count = list_count(fd, SNAPSET_RECORD_PENDING, id, NULL);
	close(fd);
	return count;
}

/* Discards every pending record, so one test's leftovers pin nothing. */
static inline void discard_all_pending(void)
{
	size_t used = 0, off;
	char *buf = list_records(&used);
	int fd = snapset_open();

	for (off = 0; buf && fd >= 0 && off < used;) {
		struct snapset_event *ev = (void *)(buf + off);

		if (ev->type == SNAPSET_RECORD_PENDING)
			discard(fd, ev->set.id);
		off += ev->size;
	}
	if (fd >= 0)
		close(fd);
	free(buf);
}

/* Reads @path (a /proc file, say) into @buf as a string; 0 or -1. */
static inline int read_text(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	return 0;
}

/* Runs a shell command line; returns its exit status. */
static inline int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs a command and reads the first line it prints into @out. */
static inline int sh_line(char *out, size_t size, const char *cmd)
{
	FILE *p = popen(cmd, "r");
	int ok;

	if (!p)
		return -1;
	ok = fgets(out, size, p) != NULL;
	if (pclose(p) || !ok)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

/*
 * Runs "sh -c @script @arg" once the calling test process has ended,
 * however it ends. The harness SIGKILLs a test's process group at its
 * timeout, and then no teardown runs. The guard has its own process
 * group, and waits for the end of file on a pipe whose only writer is the
 * test.
 */
static inline int sh_at_exit(const char *script, const char *arg)
{
	int pipefd[2];
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		char byte;

		setpgid(0, 0);
		/*
		 * Nothing of the test's but the pipe: a set's file kept open
		 * here would keep the set, and its devices, past the test's
		 * own close.
		 */
		if (dup2(pipefd[0], 3) != 3 || close_range(4, ~0U, 0))
			_exit(1);
		while (read(3, &byte, 1) < 0 && errno == EINTR)
			;
		execlp("sh", "sh", "-c", script, arg, NULL);
		_exit(127);
	}
	close(pipefd[0]);
	/* The write end stays open in the test until it exits. */
	return pid < 0 ? (close(pipefd[1]), -1) : 0;
}

/*
 * LVM without udev, its state in tmpfs: environment, modules and an
 * lvm.conf; 0, or -1 when the guest has no device-mapper or lvm.
 */
static inline int lvm_prepare(void)
{
	setenv("DM_DISABLE_UDEV", "1", 1);
	setenv("LVM_SYSTEM_DIR", "/tmp/snapset-lvm", 1);
	sh("for m in dm-mod dm-snapshot dm-thin-pool; do modprobe -q $m; "
	   "done 2>/dev/null");
	if (access("/dev/mapper/control", F_OK) ||
	    sh("command -v lvm >/dev/null"))
		return -1;
	return sh("mkdir -p /tmp/snapset-lvm && printf '%s' > "
		  "/tmp/snapset-lvm/lvm.conf",
		  "backup { backup = 0 archive = 0 }\\n"
		  "activation { udev_sync = 0 udev_rules = 0 }\\n"
		  "devices { obtain_device_list_from_udev = 0 "
		  "global_filter = [ \"a|^/dev/loop[0-9]+$|\", \"r|.*|\" ] "
		  "ignore_suspended_devices = 1 }\\n")
		   ? -1
		   : 0;
}

static inline long sysfs_counter(const char *name)
{
	char path[128];
	long value = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/misc/snapset/%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &value) != 1)
		value = -1;
	fclose(f);
	return value;
}

/* Lines of the kernel log that contain @needle; -1 on error. */
static inline int kmsg_count(const char *needle)
{
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf, *line, *save;
	int n, count = 0;

	if (size <= 0)
		return -1;
	buf = malloc(size + 1);
	if (!buf)
		return -1;
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size);
	if (n < 0) {
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (strstr(line, needle))
			count++;
	free(buf);
	return count;
}

/* Receives one file descriptor sent with SCM_RIGHTS; -1 on error. */
static inline int recv_fd(int sock)
{
	char data;
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	int fd;

	if (recvmsg(sock, &msg, 0) != 1 || !CMSG_FIRSTHDR(&msg))
		return -1;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(fd));
	return fd;
}

/* Sends @fd with SCM_RIGHTS over @sock; 0 or -1. */
static inline int send_fd(int sock, int fd)
{
	char data = 'x';
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl = {};
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

#endif /* SNAPSET_SELFTEST_UTIL_H */
