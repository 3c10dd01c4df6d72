/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running the snapset program from a test: exit status, stdout and
 * stderr captured. Shared by the host unit tests and the guest selftests.
 */
#ifndef SNAPSET_TEST_PROGRAM_H
#define SNAPSET_TEST_PROGRAM_H

#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The program under test: $SNAPSET_BIN, or the build from the root. */
static inline const char *snapset_bin(void)
{
	return getenv("SNAPSET_BIN") ?: "build/snapset";
}

struct run_result {
	int status;
	char out[16384];
	char err[4096];
};

static inline void slurp(int fd, char *buf, size_t size)
{
	ssize_t len = pread(fd, buf, size - 1, 0);

	buf[len > 0 ? len : 0] = '\0';
	close(fd);
}

static inline bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* Runs @path with @argv, capturing its exit status, stdout and stderr. */
static inline int run_capture(const char *path, char *const argv[],
			      struct run_result *res)
{
	posix_spawn_file_actions_t actions;
	int out = memfd_create("stdout", MFD_CLOEXEC);
	int err = memfd_create("stderr", MFD_CLOEXEC);
	int wstatus;
	pid_t pid;

	if (out < 0 || err < 0)
		return -1;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, out, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&actions, err, STDERR_FILENO);
	if (posix_spawn(&pid, path, &actions, NULL, argv, environ))
		return -1;
	posix_spawn_file_actions_destroy(&actions);
	if (waitpid(pid, &wstatus, 0) != pid || !WIFEXITED(wstatus))
		return -1;
	res->status = WEXITSTATUS(wstatus);
	slurp(out, res->out, sizeof(res->out));
	slurp(err, res->err, sizeof(res->err));
	return 0;
}

#endif /* SNAPSET_TEST_PROGRAM_H */
