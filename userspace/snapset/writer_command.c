// SPDX-License-Identifier: GPL-2.0
/*
 * snapset writer's COMMAND: the event in its environment (names escaped)
 * and in a JSON file, run as a child waited on through its pidfd under
 * an optional deadline (SIGTERM, then SIGKILL after a grace), and its
 * wait status turned into the acknowledgement.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/format.h"
#include "writer_command.h"

#define KILL_GRACE_MS 5000

static const char *const kind_names[] = {
	[SNAPSET_WRITER_BACKUP_COMPLETE] = "backup-complete",
	[SNAPSET_WRITER_ABORT] = "abort",
	[SNAPSET_WRITER_BACKUP_SHUTDOWN] = "backup-shutdown",
};

/* The event as a file COMMAND can read; its path in @path. */
static int event_file(const struct snapset_writer_event *ev, char *path,
		      size_t size)
{
	const char *tmp = getenv("TMPDIR");
	size_t len = strlen(ev->json);
	int fd, ret = 0;

	snprintf(path, size, "%s/snapset-event-XXXXXX", tmp ?: "/tmp");
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, ev->json, len) != (ssize_t)len)
		ret = -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	if (ret)
		unlink(path);
	return ret;
}

static void setenv_escaped(const char *key, const char *value)
{
	char escaped[4 * 1024 + 1];

	name_escape(value, strnlen(value, 1024), escaped, sizeof(escaped));
	setenv(key, escaped, 1);
}

static void setenv_int(const char *key, long long value)
{
	char text[24];

	snprintf(text, sizeof(text), "%lld", value);
	setenv(key, text, 1);
}

/* One device per line: its LV or name, its node, or its number. */
static void setenv_devices(const struct snapset_writer_event *ev)
{
	char *list = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&list, &size);

	if (!out)
		return;
	for (size_t i = 0; i < ev->ndevices; i++) {
		const struct snapset_writer_device *dev = &ev->devices[i];
		char escaped[4 * 256 + 1];
		const char *what = *dev->name	? dev->name
				   : *dev->node ? dev->node
						: dev->devno;

		name_escape(what, strlen(what), escaped, sizeof(escaped));
		fprintf(out, "%s%s", i ? "\n" : "", escaped);
	}
	if (!fclose(out))
		setenv("SNAPSET_DEVICES", list, 1);
	free(list);
}

/* In the child: the environment, then COMMAND. */
static void __attribute__((noreturn))
child(const struct snapset_writer_event *ev, char **command, const char *file)
{
	setenv("SNAPSET_EVENT", kind_names[ev->kind], 1);
	setenv("SNAPSET_ID", ev->set_id, 1);
	setenv_escaped("SNAPSET_NAME", ev->set_name);
	setenv("SNAPSET_COMPLETED", ev->completed ? "1" : "0", 1);
	setenv_escaped("SNAPSET_REASON", ev->reason);
	setenv_int("SNAPSET_SIGNAL", ev->signal);
	setenv_int("SNAPSET_EXIT_STATUS", ev->exit_status);
	setenv_devices(ev);
	setenv("SNAPSET_EVENT_FILE", file, 1);
	execvp(command[0], command);
	fprintf(stderr, "snapset writer: %s: %s\n", command[0],
		strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/*
 * Whether @pfd's child exits within @timeout_ms. poll() takes an int:
 * a longer timeout (--timeout 25d) is waited for in pieces.
 */
static bool exits_within(struct pollfd *pfd, long timeout_ms)
{
	long long deadline = monotonic_ms() + timeout_ms, left;

	while ((left = deadline - monotonic_ms()) > 0) {
		int ret = poll(pfd, 1, left > INT_MAX ? INT_MAX : (int)left);

		if (ret > 0)
			return true;
		if (ret < 0 && errno != EINTR)
			break;
	}
	return false;
}

/* Waits for the child, stopping it past @timeout_ms; its wait status. */
static int wait_child(pid_t pid, long timeout_ms, bool *timed_out)
{
	int pidfd = syscall(SYS_pidfd_open, pid, 0), status = 0;
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	*timed_out = false;
	if (pidfd >= 0 && timeout_ms > 0 && !exits_within(&pfd, timeout_ms)) {
		*timed_out = true;
		kill(pid, SIGTERM);
		if (poll(&pfd, 1, KILL_GRACE_MS) == 0)
			kill(pid, SIGKILL);
	}
	if (pidfd >= 0)
		close(pidfd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

int writer_command(const struct snapset_writer_event *ev, char **command,
		   long timeout_ms, char *error, size_t size)
{
	char file[4096];
	bool timed_out;
	int status, ret = event_file(ev, file, sizeof(file));
	pid_t pid;

	if (ret) {
		snprintf(error, size, "event file: %s", strerror(-ret));
		return -ret;
	}
	pid = fork();
	if (pid == 0)
		child(ev, command, file);
	if (pid < 0) {
		ret = errno;
		snprintf(error, size, "%s: %s", command[0], strerror(ret));
		unlink(file);
		return ret;
	}
	status = wait_child(pid, timeout_ms, &timed_out);
	unlink(file);
	if (timed_out)
		snprintf(error, size, "%s: stopped after %ld ms", command[0],
			 timeout_ms);
	else if (WIFSIGNALED(status))
		snprintf(error, size, "%s: killed by signal %d", command[0],
			 WTERMSIG(status));
	else if (WEXITSTATUS(status))
		snprintf(error, size, "%s: exit status %d", command[0],
			 WEXITSTATUS(status));
	else
		return 0;
	return timed_out ? ETIMEDOUT : EIO;
}
