/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Driving `snapset run` from a selftest: the binary run with its output
 * captured or in the background, `snapset watch --json` read alongside,
 * and what a run may leave behind (processes, mounts, autoclear).
 */
#ifndef SNAPSET_SELFTEST_REQUESTER_H
#define SNAPSET_SELFTEST_REQUESTER_H

#include <dirent.h>
#include <json-c/json.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <time.h>

#include "program.h"
#include "util.h"

/* Everything here runs programs, lvm above all: slow under KASAN. */
#define RUN_TIMEOUT 300
#define WATCH_TIMEOUT_MS 60000

/* `snapset watch --json` in the background, its lines on @fd. */
struct watcher {
	pid_t pid;
	int fd;
	char buf[65536];
	size_t len;
};

static inline pid_t spawn(char *const argv[], int out_fd)
{
	posix_spawn_file_actions_t actions;
	pid_t pid;
	int ret;

	posix_spawn_file_actions_init(&actions);
	if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&actions, out_fd,
						 STDOUT_FILENO);
	ret = posix_spawn(&pid, argv[0], &actions, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	return ret ? -1 : pid;
}

static inline int watcher_start(struct watcher *w)
{
	char *argv[] = { (char *)snapset_bin(), "watch", "--json", NULL };
	long before = sysfs_counter("subscribers");
	int p[2];

	w->len = 0;
	if (pipe2(p, O_CLOEXEC))
		return -1;
	w->pid = spawn(argv, p[1]);
	close(p[1]);
	w->fd = p[0];
	if (w->pid < 0)
		return -1;
	/* Subscribed before anything happens that it must see. */
	for (int i = 0; i < 1000; i++) {
		if (sysfs_counter("subscribers") > before)
			return 0;
		usleep(10000);
	}
	return -1;
}

static inline void watcher_stop(struct watcher *w)
{
	if (w->pid > 0) {
		kill(w->pid, SIGTERM);
		waitpid(w->pid, NULL, 0);
	}
	close(w->fd);
}

/* The next event called @name, parsed; NULL after a timeout. */
static inline struct json_object *watcher_next(struct watcher *w,
					       const char *name)
{
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
	char *nl;
	ssize_t n;

	for (;;) {
		while ((nl = memchr(w->buf, '\n', w->len))) {
			struct json_object *obj, *ev;

			*nl = '\0';
			obj = json_tokener_parse(w->buf);
			w->len -= nl + 1 - w->buf;
			memmove(w->buf, nl + 1, w->len);
			if (obj &&
			    json_object_object_get_ex(obj, "event", &ev) &&
			    !strcmp(json_object_get_string(ev), name))
				return obj;
			json_object_put(obj);
		}
		if (poll(&pfd, 1, WATCH_TIMEOUT_MS) != 1)
			return NULL;
		n = read(w->fd, w->buf + w->len, sizeof(w->buf) - w->len - 1);
		if (n <= 0)
			return NULL;
		w->len += n;
	}
}

static inline const char *jstr(struct json_object *obj, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(obj, key, &v)
		   ? json_object_get_string(v)
		   : "";
}

static inline int64_t jint(struct json_object *obj, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(obj, key, &v)
		   ? json_object_get_int64(v)
		   : -1;
}

static inline bool jbool(struct json_object *obj, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(obj, key, &v) &&
	       json_object_get_boolean(v);
}

/* snapset run ARGS... (NULL-terminated), output captured. */
static inline int snapset_run(struct run_result *res, ...)
{
	char *argv[32] = { (char *)snapset_bin(), "run" };
	int n = 2;
	va_list ap;

	va_start(ap, res);
	while (n < 31 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return run_capture(argv[0], argv, res);
}

/* Whether the NULL-terminated strings after @text are in it, in order. */
static inline bool in_order(const char *text, ...)
{
	const char *want;
	va_list ap;

	va_start(ap, text);
	while (text && (want = va_arg(ap, const char *)))
		if ((text = strstr(text, want)))
			text += strlen(want);
	va_end(ap);
	return text;
}

/* Processes whose command line is exactly @argv0 @arg1. */
static inline int count_processes(const char *argv0, const char *arg1)
{
	char path[300], cmdline[256], want[256];
	size_t want_len;
	struct dirent *d;
	int count = 0;
	DIR *proc;

	want_len = snprintf(want, sizeof(want), "%s%c%s", argv0, 0, arg1) + 1;
	proc = opendir("/proc");
	while (proc && (d = readdir(proc))) {
		int fd;
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%s/cmdline", d->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, cmdline, sizeof(cmdline));
		close(fd);
		if (n == (ssize_t)want_len && !memcmp(cmdline, want, n))
			count++;
	}
	if (proc)
		closedir(proc);
	return count;
}

static inline bool wait_no_processes(const char *argv0, const char *arg1)
{
	for (int i = 0; i < 500; i++) {
		if (!count_processes(argv0, arg1))
			return true;
		usleep(10000);
	}
	return false;
}

static inline bool mounted(const char *dir)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/mounts", "re");

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, dir))
			found = true;
	if (f)
		fclose(f);
	return found;
}

/* Within two minutes: a loaded TCG guest takes its time over lvcreate. */
static inline bool wait_for_file(const char *path)
{
	for (int i = 0; i < 12000; i++) {
		if (!access(path, F_OK))
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * Starts `snapset run DEV_OPT DEV -- sh -c SCRIPT`, waits for SCRIPT to
 * `touch $READY` (@ready), sends run @sig and reaps it: run's wait
 * status, or -1.
 */
static inline int signal_run(const char *dev_opt, const char *dev,
			     const char *ready, const char *script, int sig)
{
	char *argv[] = { (char *)snapset_bin(),
			 "run",
			 (char *)dev_opt,
			 (char *)dev,
			 "--",
			 "sh",
			 "-c",
			 (char *)script,
			 NULL };
	int status;
	pid_t pid;

	unlink(ready);
	setenv("READY", ready, 1);
	pid = spawn(argv, -1);
	if (pid < 0)
		return -1;
	if (!wait_for_file(ready) || kill(pid, sig) ||
	    waitpid(pid, &status, 0) != pid)
		status = -1;
	unlink(ready);
	return status;
}

static inline long loop_autoclear(const struct loopdev *loop)
{
	char name[64];

	snprintf(name, sizeof(name), "/sys/block/loop%d/loop/autoclear",
		 loop->index);
	return sh("grep -qx 1 %s", name) == 0;
}

/*
 * The next shutdown record on @watch, checked: completed, reason, and the
 * value of @key (when not NULL).
 */
#define EXPECT_SHUTDOWN(_completed, _reason, _key, _value)     \
	do {                                                   \
		struct json_object *ev =                       \
		    watcher_next(&self->watch, "shutdown");    \
		ASSERT_NE(NULL, ev);                           \
		EXPECT_EQ(_completed, jbool(ev, "completed")); \
		EXPECT_STREQ(_reason, jstr(ev, "reason"));     \
		if (_key)                                      \
			EXPECT_EQ(_value, jint(ev, _key));     \
		json_object_put(ev);                           \
	} while (0)

/*
 * Whether a process's command line matches @pattern (pgrep -f). The
 * shell that runs pgrep has @pattern in its own: anchor it (a '$', a
 * bracket), or it always matches.
 */
static inline bool process_running(const char *pattern)
{
	return sh("pgrep -f '%s' >/dev/null", pattern) == 0;
}

/* How long lvcreate may take to start, or run to end, under TCG. */
#define PROCESS_WAIT_S 120

static inline long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Waits, up to PROCESS_WAIT_S, for a process matching @pattern while
 * @run lives: 0, -ETIMEDOUT, or -ECHILD when run exited first.
 */
static inline int wait_process(const char *pattern, pid_t run)
{
	long long end = now_ms() + PROCESS_WAIT_S * 1000LL;

	while (!process_running(pattern)) {
		if (waitpid(run, NULL, WNOHANG) == run)
			return -ECHILD;
		if (now_ms() > end)
			return -ETIMEDOUT;
		usleep(10000);
	}
	return 0;
}

/* Waits, up to PROCESS_WAIT_S, for @run to exit: 0, or -ETIMEDOUT. */
static inline int wait_exit(pid_t run, int *status)
{
	long long end = now_ms() + PROCESS_WAIT_S * 1000LL;

	while (waitpid(run, status, WNOHANG) != run) {
		if (now_ms() > end)
			return -ETIMEDOUT;
		usleep(10000);
	}
	return 0;
}

/*
 * Why snapset run cannot be tested on LVM here (NULL: it can): the
 * program built, device-mapper and lvm usable. Then no record is left
 * pending by an earlier program, and ext4 is loaded for the origins.
 */
static inline const char *run_on_lvm_unavailable(void)
{
	if (access(snapset_bin(), X_OK))
		return "snapset: not built";
	if (lvm_prepare())
		return "no device-mapper or no lvm";
	discard_all_pending();
	sh("modprobe -q ext4");
	return NULL;
}

#endif /* SNAPSET_SELFTEST_REQUESTER_H */
