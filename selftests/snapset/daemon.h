/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The real `snapset daemon` in a selftest: started (optionally under a
 * wrapper such as strace, with a config file), its stderr in a memfd to
 * search, stopped with SIGTERM.
 */
#ifndef SNAPSET_SELFTEST_DAEMON_H
#define SNAPSET_SELFTEST_DAEMON_H

#include <sys/mman.h>

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
 * Starts `[WRAPPER...] snapset daemon [--config CONFIG]` (@wrapper
 * NULL-terminated, or NULL) with stderr in a fresh memfd; waits until
 * it is the agent and, with @socket, until it listens there.
 */
static inline int daemon_start(struct daemon_proc *d,
			       const char *const *wrapper, const char *config,
			       const char *socket)
{
	posix_spawn_file_actions_t actions;
	char *argv[16];
	int n = 0;

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
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, d->log, STDERR_FILENO);
	if (posix_spawnp(&d->pid, argv[0], &actions, NULL, argv, environ))
		d->pid = -1;
	posix_spawn_file_actions_destroy(&actions);
	for (int i = 0; d->pid > 0 && i < 3000; i++) {
		if (sysfs_counter("agent") > 0 &&
		    (!socket || !access(socket, F_OK)))
			return 0;
		usleep(10000);
	}
	return -1;
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

/* Whether the daemon's stderr has said @text, within a minute. */
static inline bool daemon_said(struct daemon_proc *d, const char *text)
{
	char log[65536];

	for (int i = 0; i < 6000; i++) {
		ssize_t n = pread(d->log, log, sizeof(log) - 1, 0);

		log[n > 0 ? n : 0] = '\0';
		if (strstr(log, text))
			return true;
		usleep(10000);
	}
	fprintf(stderr, "# daemon said: %s\n", log);
	return false;
}

/* Whether the daemon's stderr holds @text now. */
static inline bool daemon_has_said(struct daemon_proc *d, const char *text)
{
	char log[65536];
	ssize_t n = pread(d->log, log, sizeof(log) - 1, 0);

	log[n > 0 ? n : 0] = '\0';
	return strstr(log, text) != NULL;
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
