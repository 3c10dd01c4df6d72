/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The real `snapset daemon` in a selftest: started (optionally under a
 * wrapper such as strace, with a config file), its stderr in a memfd to
 * search, stopped with SIGTERM.
 */
#ifndef SNAPSET_SELFTEST_DAEMON_FIXTURE_H
#define SNAPSET_SELFTEST_DAEMON_FIXTURE_H

#include <sys/mman.h>
#include <sys/un.h>

#include "requester.h"

struct daemon_proc {
	pid_t pid;
	int log; /* its stderr */
};

static inline void daemon_init(struct daemon_proc *d)
{
	d->pid = -1;
	d->log = -1;
}

/*
 * A datagram socket for the daemon's sd_notify messages, as systemd's
 * NOTIFY_SOCKET would be; -1 if it cannot be made.
 */
static inline int notify_socket_open(struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	*addr = (struct sockaddr_un){ .sun_family = AF_UNIX };
	snprintf(addr->sun_path, sizeof(addr->sun_path),
		 "/tmp/snapset-notify-%d", getpid());
	unlink(addr->sun_path);
	if (fd >= 0 && bind(fd, (struct sockaddr *)addr, sizeof(*addr))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * Waits up to two minutes for READY=1 while the daemon lives; @pid is
 * set to -1 if it exited (and was reaped).
 */
static inline bool notify_wait_ready(int fd, pid_t *pid)
{
	char buf[256];

	for (int i = 0; i < 120; i++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = -1;
			return false;
		}
		if (poll(&pfd, 1, 1000) != 1)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		if (strstr(buf, "READY=1"))
			return true;
	}
	return false;
}

/*
 * Starts `[WRAPPER...] snapset daemon [--config CONFIG]` (@wrapper
 * NULL-terminated, or NULL) with stderr in a fresh memfd; waits until it
 * says READY=1 through $NOTIFY_SOCKET, as under systemd: it is the agent
 * and it listens (start-up reconciliation may still be running).
 */
static inline int daemon_start(struct daemon_proc *d,
			       const char *const *wrapper, const char *config,
			       const char *socket)
{
	posix_spawn_file_actions_t actions;
	struct sockaddr_un notify;
	int notify_fd, n = 0;
	char *argv[16];
	bool ready;

	while (wrapper && wrapper[n] && n < 12) {
		argv[n] = (char *)wrapper[n];
		n++;
	}
	argv[n++] = (char *)snapset_bin();
	argv[n++] = "daemon";
	if (config) {
		argv[n++] = "--config";
		argv[n++] = (char *)config;
	}
	argv[n] = NULL;
	if (d->log >= 0)
		close(d->log);
	d->log = memfd_create("daemon-log", MFD_CLOEXEC);
	notify_fd = notify_socket_open(&notify);
	if (notify_fd < 0)
		return -1;
	setenv("NOTIFY_SOCKET", notify.sun_path, 1);
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, d->log, STDERR_FILENO);
	if (posix_spawnp(&d->pid, argv[0], &actions, NULL, argv, environ))
		d->pid = -1;
	posix_spawn_file_actions_destroy(&actions);
	unsetenv("NOTIFY_SOCKET");
	ready = d->pid > 0 && notify_wait_ready(notify_fd, &d->pid);
	close(notify_fd);
	unlink(notify.sun_path);
	if (!ready || sysfs_counter("agent") <= 0 ||
	    (socket && access(socket, F_OK)))
		return -1;
	return 0;
}

/* Stops the daemon (SIGTERM) and returns its exit status. */
static inline int daemon_stop(struct daemon_proc *d)
{
	int status = -1;

	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		waitpid(d->pid, &status, 0);
		d->pid = -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* SIGKILLs the daemon and reaps it. */
static inline void daemon_kill(struct daemon_proc *d)
{
	if (d->pid > 0) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
		d->pid = -1;
	}
}

/* Whether the daemon's stderr has said @text within @seconds. */
static inline bool daemon_said_within(struct daemon_proc *d, const char *text,
				      int seconds)
{
	char log[65536];

	for (int i = 0; i < seconds * 100; i++) {
		ssize_t n = pread(d->log, log, sizeof(log) - 1, 0);

		log[n > 0 ? n : 0] = '\0';
		if (strstr(log, text))
			return true;
		usleep(10000);
	}
	fprintf(stderr, "# daemon said: %s\n", log);
	return false;
}

/* Whether the daemon's stderr has said @text, within a minute. */
static inline bool daemon_said(struct daemon_proc *d, const char *text)
{
	return daemon_said_within(d, text, 60);
}

/* Where the daemon's stderr first holds @text now, or -1. */
static inline long daemon_offset(struct daemon_proc *d, const char *text)
{
	char log[65536], *at;
	ssize_t n = pread(d->log, log, sizeof(log) - 1, 0);

	log[n > 0 ? n : 0] = '\0';
	at = strstr(log, text);
	return at ? at - log : -1;
}

/* Whether the daemon's stderr holds @text now. */
static inline bool daemon_has_said(struct daemon_proc *d, const char *text)
{
	return daemon_offset(d, text) >= 0;
}

/* How many times the daemon's stderr holds @text now. */
static inline int daemon_count(struct daemon_proc *d, const char *text)
{
	char log[65536];
	ssize_t n = pread(d->log, log, sizeof(log) - 1, 0);
	int count = 0;

	log[n > 0 ? n : 0] = '\0';
	for (char *p = log; (p = strstr(p, text)); p++)
		count++;
	return count;
}

/* Waits until no record is pending; the count left. */
static inline long wait_no_pending(void)
{
	long pending;

	for (int i = 0; i < 600 && (pending = sysfs_counter("pending")); i++)
		usleep(100000);
	return pending;
}

#endif
