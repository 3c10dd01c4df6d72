// SPDX-License-Identifier: GPL-2.0
/*
 * LVM operations as lvm2 commands, their output captured.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lvm.h"

/* One of lvm's output streams, kept as far as it fits. */
struct capture {
	int fd;
	char *buf;
	size_t size;
	size_t used;
};

/* Reads what is there; false at the end of the stream. */
static bool capture_read(struct capture *c)
{
	char scratch[512];
	bool room = c->used + 1 < c->size;
	ssize_t n = read(c->fd, room ? c->buf + c->used : scratch,
			 room ? c->size - c->used - 1 : sizeof(scratch));

	if (n < 0 && errno == EINTR)
		return true;
	if (n <= 0)
		return false;
	if (room)
		c->used += n;
	c->buf[c->used] = '\0';
	return true;
}

/* Both streams to their ends, whichever lvm fills first. */
static void capture_both(struct capture *out, struct capture *err)
{
	struct pollfd pfd[2] = { { .fd = out->fd, .events = POLLIN },
				 { .fd = err->fd, .events = POLLIN } };
	struct capture *c[2] = { out, err };

	out->buf[0] = err->buf[0] = '\0';
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++)
			if (pfd[i].fd >= 0 && pfd[i].revents &&
			    !capture_read(c[i]))
				pfd[i].fd = -1;
	}
}

/* lvm's own words: its first line on stderr that is no warning. */
static void first_error(const char *text, struct lvm_error *err)
{
	for (const char *line = text; *line;
	     line += strcspn(line, "\n") + (line[strcspn(line, "\n")] != 0)) {
		while (*line == ' ')
			line++;
		if (!strncmp(line, "WARNING:", 8) || *line == '\n')
			continue;
		snprintf(err->message, sizeof(err->message), "%.*s",
			 (int)strcspn(line, "\n"), line);
		return;
	}
}

static void __attribute__((noreturn))
lvm_exec(const char *const *argv, int out_fd, int err_fd)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	dup2(out_fd, STDOUT_FILENO);
	dup2(err_fd, STDERR_FILENO);
	/* An inherited descriptor is the caller's business, not an error. */
	setenv("LVM_SUPPRESS_FD_WARNINGS", "1", 1);
	/* cron's PATH has no sbin. */
	execv("/usr/sbin/lvm", (char *const *)argv);
	execv("/sbin/lvm", (char *const *)argv);
	execvp("lvm", (char *const *)argv);
	dprintf(STDERR_FILENO, "lvm: %s\n", strerror(errno));
	_exit(127);
}

/*
 * Runs "lvm ARGV..." with stdout in @out; 0 when it exits 0. Otherwise
 * lvm's message is in @err and the result is -EBUSY (in use), -ENOENT
 * (not found) or -EIO; -errno when it cannot run at all.
 */
static int lvm_run(const char *const *argv, char *out, size_t out_size,
		   struct lvm_error *err)
{
	char errors[2048];
	struct capture out_cap = { .buf = out, .size = out_size };
	struct capture err_cap = { .buf = errors, .size = sizeof(errors) };
	int out_pipe[2], err_pipe[2], status;
	pid_t pid;

	err->message[0] = '\0';
	if (pipe2(out_pipe, O_CLOEXEC))
		return -errno;
	if (pipe2(err_pipe, O_CLOEXEC)) {
		close(out_pipe[0]);
		close(out_pipe[1]);
		return -errno;
	}
	pid = fork();
	if (pid == 0)
		lvm_exec(argv, out_pipe[1], err_pipe[1]);
	close(out_pipe[1]);
	close(err_pipe[1]);
	out_cap.fd = out_pipe[0];
	err_cap.fd = err_pipe[0];
	if (pid > 0)
		capture_both(&out_cap, &err_cap);
	close(out_pipe[0]);
	close(err_pipe[0]);
	if (pid < 0)
		return -errno;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	first_error(errors, err);
	if (!err->message[0])
		snprintf(err->message, sizeof(err->message),
			 "lvm %s failed with status %d", argv[1], status);
	if (strstr(errors, " in use"))
		return -EBUSY;
	if (strstr(errors, "not found") || strstr(errors, "Failed to find"))
		return -ENOENT;
	return -EIO;
}

#define LV_INFO_FIELDS "lv_uuid,origin,segtype,lv_kernel_major,lv_kernel_minor"

/* Splits the next '|'-separated field off *line. */
static void field(char **line, char *out, size_t size)
{
	char *end = strchr(*line, '|');
	size_t len = end ? (size_t)(end - *line) : strcspn(*line, "\n");

	while (len && **line == ' ') {
		(*line)++;
		len--;
	}
	snprintf(out, size, "%.*s", (int)len, *line);
	*line += len + (end ? 1 : 0);
}

int lv_info_get(const char *vg, const char *lv, struct lv_info *info,
		struct lvm_error *err)
{
	char target[260], out[1024], number[16], *line = out;
	const char *argv[] = { "lvm",	     "lvs",	     "--noheadings",
			       "--nosuffix", "--separator",  "|",
			       "-o",	     LV_INFO_FIELDS, target,
			       NULL };
	int ret;

	memset(info, 0, sizeof(*info));
	snprintf(target, sizeof(target), "%s/%s", vg, lv);
	ret = lvm_run(argv, out, sizeof(out), err);
	if (ret)
		return ret;
	field(&line, info->uuid, sizeof(info->uuid));
	field(&line, info->origin, sizeof(info->origin));
	field(&line, info->segtype, sizeof(info->segtype));
	field(&line, number, sizeof(number));
	info->major = strtoul(number, NULL, 10);
	field(&line, number, sizeof(number));
	info->minor = strtoul(number, NULL, 10);
	return info->uuid[0] ? 0 : -ENOENT;
}

int lv_snapshot_create(const char *vg, const char *origin, const char *name,
		       const char *size, const char *set_uuid,
		       struct lvm_error *err)
{
	char target[260], set_tag[64], out[512];
	const char *argv[16] = { "lvm", "lvcreate", "-q", "-y", "-s" };
	int n = 5;

	snprintf(target, sizeof(target), "%s/%s", vg, origin);
	snprintf(set_tag, sizeof(set_tag), LVM_SNAPSET_TAG ":%s", set_uuid);
	if (size) {
		argv[n++] = "-L";
		argv[n++] = size;
	} else {
		/* Thin snapshots skip activation unless told otherwise. */
		argv[n++] = "-kn";
	}
	argv[n++] = "-n";
	argv[n++] = name;
	argv[n++] = "--addtag";
	argv[n++] = LVM_SNAPSET_TAG;
	argv[n++] = "--addtag";
	argv[n++] = set_tag;
	argv[n++] = target;
	return lvm_run(argv, out, sizeof(out), err);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int lv_remove_by_uuid(const char *uuid, struct lvm_error *err)
{
	char select[96], out[512];
	const char *argv[] = { "lvm",	   "lvremove", "-q", "-y",
			       "--select", select,     NULL };
	const char *lvs_argv[] = {
		"lvm",	   "lvs",      "--noheadings", "-o",
		"lv_uuid", "--select", select,	       NULL
	};
	long backoff_ms = 100;
	int ret;

	snprintf(select, sizeof(select), "lv_uuid=%s", uuid);
	/* An empty selection is no error to lvremove: ask lvs first. */
	ret = lvm_run(lvs_argv, out, sizeof(out), err);
	if (ret)
		return ret;
	if (!strstr(out, uuid))
		return -ENOENT;
	while ((ret = lvm_run(argv, out, sizeof(out), err)) == -EBUSY &&
	       backoff_ms <= 3200) {
		sleep_ms(backoff_ms);
		backoff_ms *= 2;
	}
	return ret;
}
