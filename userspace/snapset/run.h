/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapset run: the requester. Its options, the devices it prepares, the
 * sandbox COMMAND runs in, and the control channel back to it.
 */
#ifndef SNAPSET_RUN_H
#define SNAPSET_RUN_H

#include <linux/snapset.h>
#include <stdbool.h>
#include <signal.h>
#include <sys/types.h>

#include "engine.h"

/* Exit statuses of run, as timeout(1) and env(1) have them. */
enum {
	EXIT_RUN_FAILED = 125,
	EXIT_CANNOT_EXECUTE = 126,
	EXIT_NOT_FOUND = 127,
};

struct run_lvm_snapshot {
	char vg[128];
	char origin[128];
	const char *size; /* NULL: a thin snapshot */
};

struct run_device {
	const char *spec; /* as the user wrote it */
	bool persistent;
};

struct run_mount {
	const char *device; /* a spec, or the VG/LV of --lvm-snapshot */
	const char *dir;
};

struct run_options {
	const char *name;
	struct run_lvm_snapshot lvm[SNAPSET_MAX_DEVICES];
	unsigned int nlvm;
	struct run_device devices[SNAPSET_MAX_DEVICES];
	unsigned int ndevices;
	struct run_mount mounts[SNAPSET_MAX_DEVICES];
	unsigned int nmounts;
	long timeout_ms;    /* 0: none */
	long kill_after_ms; /* 0: none */
	bool complete_on[256];
	bool force;
	bool require_daemon;
	char **command;
};

/*
 * Parses run's arguments: true when it should run; otherwise false with
 * the exit status in @status, after --help (0) or a usage error already
 * reported (2).
 */
bool run_parse_args(int argc, char **argv, struct run_options *opts,
		    int *status);

/* "10", "1.5s", "5m", "2h", "1d" as milliseconds; -EINVAL otherwise. */
int parse_duration(const char *text, long *ms);
/* "0", "0,24", "0-3,24" into @statuses; -EINVAL otherwise. */
int parse_status_list(const char *text, bool statuses[256]);

/* A device of the set, resolved and open. */
struct run_dev {
	char label[300]; /* how messages name it: the spec, or VG/LV */
	char alias[260]; /* what --mount may call it: the spec, or VG/ORIGIN */
	int fd;
	dev_t rdev;
	bool persistent;
	bool created; /* an LV run made: removed if the set never arms */
	struct engine_info engine;
};

/* One run: its set, its devices, and the error to report. */
struct run_state {
	const struct run_options *opts;
	int set_fd;
	__u8 id[SNAPSET_ID_LEN];
	char id_text[40];
	struct run_dev devs[SNAPSET_MAX_DEVICES];
	unsigned int ndevs;
	bool daemon;
	char error[768]; /* the one line reported, after "snapset run: " */
};

/* Formats the error run will report; returns @err. */
int run_fail(struct run_state *st, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Before the set exists: --snapshot/--persistent specs, LVM origins. */
int devices_resolve(struct run_state *st);
int lvm_origins_check(struct run_state *st);
/* With the set, before arm: snapshots made and every device added. */
int lvm_snapshots_create(struct run_state *st);
int devices_add(struct run_state *st);
/* After every add: the engines' own release, then our fds closed. */
int devices_arm_release(struct run_state *st);
void devices_close(struct run_state *st);
/* The LVs run made, removed when their set never armed. */
void lvm_remove_created(struct run_state *st);
/*
 * Without a daemon, after the set ended: lvremove its auto-release LVs,
 * each failure reported on stderr; the last -errno.
 */
int lvm_release(struct run_state *st);

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

/* Signals run turns into events: the forwarded ones and SIGCHLD. */
void sandbox_signals(sigset_t *set);
/* --mount's devices found among the set's; before arm. */
int mounts_resolve(struct run_state *st, struct sandbox *sb);
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
