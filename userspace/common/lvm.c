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

/* Reads @fd to its end into @buf, keeping what fits. */
static void drain(int fd, char *buf, size_t size)
{
	size_t used = 0;
	char scratch[512];
	ssize_t n;

	for (;;) {
		bool room = used + 1 < size;

		n = read(fd, room ? buf + used : scratch,
			 room ? size - used - 1 : sizeof(scratch));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (room)
			used += n;
	}
	buf[used] = '\0';
}

static void first_line(const char *text, struct lvm_error *err)
{
	while (*text == ' ')
		text++;
	snprintf(err->message, sizeof(err->message), "%.*s",
		 (int)strcspn(text, "\n"), text);
}

/*
 * Runs "lvm ARGV..." with stdout in @out; 0 when it exits 0, -EIO with
 * lvm's message in @err otherwise, -errno when it cannot run at all.
 */
static int lvm_run(const char *const *argv, char *out, size_t out_size,
		   struct lvm_error *err)
{
	int out_pipe[2], err_pipe[2], status;
	char errors[1024];
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
	if (pid == 0) {
		dup2(out_pipe[1], STDOUT_FILENO);
		dup2(err_pipe[1], STDERR_FILENO);
		execvp("lvm", (char *const *)argv);
		dprintf(STDERR_FILENO, "lvm: %s\n", strerror(errno));
		_exit(127);
	}
	close(out_pipe[1]);
	close(err_pipe[1]);
	if (pid < 0) {
		close(out_pipe[0]);
		close(err_pipe[0]);
		return -errno;
	}
	/* lvm writes little on stderr: reading stdout first cannot block it. */
	drain(out_pipe[0], out, out_size);
	drain(err_pipe[0], errors, sizeof(errors));
	close(out_pipe[0]);
	close(err_pipe[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	first_line(errors, err);
	if (!err->message[0])
		snprintf(err->message, sizeof(err->message),
			 "lvm %s failed with status %d", argv[1], status);
	return -EIO;
}

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
	const char *argv[] = {
		"lvm",
		"lvs",
		"--noheadings",
		"--nosuffix",
		"--separator",
		"|",
		"-o",
		"lv_uuid,origin,segtype,lv_tags,lv_kernel_major,lv_kernel_"
		"minor",
		target,
		NULL,
	};
	int ret;

	memset(info, 0, sizeof(*info));
	snprintf(target, sizeof(target), "%s/%s", vg, lv);
	ret = lvm_run(argv, out, sizeof(out), err);
	if (ret == -EIO && strstr(err->message, "not found"))
		return -ENOENT;
	if (ret)
		return ret;
	field(&line, info->uuid, sizeof(info->uuid));
	field(&line, info->origin, sizeof(info->origin));
	field(&line, info->segtype, sizeof(info->segtype));
	field(&line, info->tags, sizeof(info->tags));
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
	while ((ret = lvm_run(argv, out, sizeof(out), err)) == -EIO &&
	       strstr(err->message, "in use") && backoff_ms <= 3200) {
		sleep_ms(backoff_ms);
		backoff_ms *= 2;
	}
	return ret;
}
