/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sandbox snapset run starts COMMAND in: new pid and mount namespaces
 * whose pid 1 is a small init of ours, the mounts COMMAND asked for, and
 * the reports that come back.
 */
#ifndef SNAPSET_SANDBOX_H
#define SNAPSET_SANDBOX_H

#include <linux/snapset.h>
#include <signal.h>
#include <sys/types.h>

/* Exit statuses of run, as timeout(1) and env(1) have them. */
enum {
	EXIT_RUN_FAILED = 125,
	EXIT_CANNOT_EXECUTE = 126,
	EXIT_NOT_FOUND = 127,
};

/* What the sandbox needs to set COMMAND up. */
struct sandbox {
	char **command;
	struct run_mount_target {
		char node[64];
		const char *dir;
		char fstype[32];
	} mounts[SNAPSET_MAX_DEVICES];
	unsigned int nmounts;
	int control_fd;	       /* handed down to COMMAND */
	sigset_t command_mask; /* run's signal mask before it blocked any */
	const char *set_id;    /* SNAPSET_ID */
	const char *set_name;  /* SNAPSET_NAME */
	char program[4096];    /* SNAPSET: run's own binary, for COMMAND */
	pid_t pid;	       /* of the sandbox's init, as run sees it */
	int pidfd;
	int status_fd; /* reports: COMMAND's wait status or a failure */
	int alive_fd;  /* run's end of a pipe the init watches */
};

/* What went wrong inside the sandbox before COMMAND could run. */
struct sandbox_report {
	int wait_status; /* COMMAND's, when @stage is SANDBOX_RAN */
	int stage;
	int err;   /* errno */
	int index; /* of the failed mount */
};

enum {
	SANDBOX_RAN,   /* COMMAND ran and exited */
	SANDBOX_MOUNT, /* a --mount failed */
	SANDBOX_SETUP, /* namespaces or /proc could not be made */
	SANDBOX_EXEC,  /* COMMAND could not be executed */
};

/*
 * An O_PATH fd of the directory @dir, resolved without following any
 * symlink (openat2 RESOLVE_NO_SYMLINKS), or -errno: -ELOOP for a symlink
 * in its path, -ENOENT, -ENOTDIR.
 */
int sandbox_dir_open(const char *dir);

/*
 * COMMAND's PATH: @path (unset: exec's default, "/bin:/usr/bin") with
 * the directory of @program appended when it is not there already, so
 * that `snapset complete` works under cron's PATH=/usr/bin:/bin.
 * -ENAMETOOLONG when it does not fit @out.
 */
int sandbox_path(const char *path, const char *program, char *out, size_t size);

/* The signals run passes on to COMMAND, and SIGCHLD. */
void sandbox_signals(sigset_t *set);
/* SIGKILL to the init: the kernel kills the whole namespace with it. */
void sandbox_kill(const struct sandbox *sb);
/* Passes @sig on to COMMAND through the sandbox's init. */
int sandbox_forward(const struct sandbox *sb, int sig);
/* Starts COMMAND's init in new pid and mount namespaces. -errno. */
int sandbox_start(struct sandbox *sb);
/*
 * After the init exited with @init_status: what happened to COMMAND, as
 * a report (COMMAND killed with its namespace reads as SANDBOX_RAN with
 * the init's own status).
 */
void sandbox_result(struct sandbox *sb, int init_status,
		    struct sandbox_report *report);

#endif
