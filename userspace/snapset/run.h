/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapset run: the requester. Its options, the devices it prepares, the
 * sandbox COMMAND runs in, and the control channel back to it.
 */
#ifndef SNAPSET_RUN_H
#define SNAPSET_RUN_H

#include <linux/snapset.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "engine.h"
#include "sandbox.h"

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
	char device[256]; /* a spec, or the VG/LV of --lvm-snapshot */
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
	const char *freeze[SNAPSET_MAX_FREEZE]; /* --freeze DIRs */
	unsigned int nfreeze;
	long freeze_timeout_ms;	  /* 0: the module's default */
	long timeout_ms;	  /* 0: none */
	const char *timeout_text; /* as given, for messages */
	long kill_after_ms;	  /* 0: none */
	bool complete_on[256];
	bool force;
	bool require_daemon;
	bool verbose; /* each step on stderr as it happens */
	bool json;    /* the summary as JSON on stdout, not a line */
	char **command;
};

/*
 * Parses run's arguments: true when it should run; otherwise false with
 * the exit status in @status, after --help (0) or a usage error already
 * reported (2).
 */
bool run_parse_args(int argc, char **argv, struct run_options *opts,
		    int *status);

/*
 * The same, saying nothing: 0 to run; RUN_ARGS_HELP for --help; -EINVAL
 * with the usage error in @error ("OBJECT: CAUSE", or a cause alone).
 */
#define RUN_ARGS_HELP 1
#define RUN_ARGS_ERROR_LEN 512
int run_args_parse(int argc, char **argv, struct run_options *opts,
		   char error[RUN_ARGS_ERROR_LEN]);

/* Whether the module takes @name for a set (checked before it is asked). */
bool set_name_valid(const char *name);

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
	const struct run_lvm_snapshot *lvm; /* what it was made of, or NULL */
	char lv[128];			    /* the LV's name, once made */
	char created_uuid[64];		    /* its uuid, once lvs knows it */
	bool added;
	bool release_armed; /* by run, and not yet cancelled */
	struct engine_info engine;
	bool cow_read;	       /* a dm snapshot: @cow is its COW space */
	struct engine_cow cow; /* when the command ended */
};

/* How the set ended, for the summary. */
enum run_outcome {
	RUN_NOT_ARMED, /* never armed: nothing to release, no record */
	RUN_COMPLETED,
	RUN_ABORTED,
};

/* One run: its set, its devices, and the error to report. */
struct run_state {
	const struct run_options *opts;
	int set_fd;
	__u8 id[SNAPSET_ID_LEN];
	char id_text[40];
	struct run_dev devs[SNAPSET_MAX_DEVICES];
	unsigned int ndevs;
	/*
	 * An lvcreate ran that may have made an LV nothing tracks (killed,
	 * or it failed): found by its tag. Made ones are tracked by their
	 * run_dev, and found by tag too while lvs has not shown them.
	 */
	bool lvm_untracked;
	/* Writes to the --freeze filesystems held (SNAPSET_IOC_FREEZE). */
	bool frozen;
	int freeze_fds[SNAPSET_MAX_FREEZE];
	dev_t freeze_devs[SNAPSET_MAX_FREEZE]; /* their filesystems' */
	unsigned int nfreeze_fds;	       /* open */
	struct snapset_thaw thaw;	       /* how the freeze ended */
	/*
	 * The set as LIST had it once the freeze ended (the thaw tried, or
	 * FREEZE's thaw back failed), for the summary: THAW's one errno
	 * cannot say both that someone else thawed and that the kernel
	 * failed to, nor what a deadline's thaw found. Zero before.
	 */
	struct snapset_set_info freeze_info;
	struct timespec started; /* CLOCK_MONOTONIC */
	enum run_outcome outcome;
	int exit_status;
	char error[768]; /* the one line reported, after "snapset run: " */
};

/* Formats the error run will report; returns @err. */
int run_fail(struct run_state *st, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * What the module's -errno on the set means to the user: -ESHUTDOWN is
 * an administrator's snapset delete, not a transport endpoint.
 */
const char *run_set_error(int err);

/* Why --mount's DIR cannot be mounted on, from sandbox_dir_open(). */
const char *mount_dir_error(int err);

/* Before the set exists: --snapshot/--persistent specs, LVM origins. */
int devices_resolve(struct run_state *st);
int lvm_origins_check(struct run_state *st);
/* With the set, before arm: snapshots made and every device added. */
int lvm_snapshots_create(struct run_state *st);
/* Those not added yet; LVs made while writes were held opened first. */
int devices_add(struct run_state *st);
/*
 * After every add, just before arm: the engines' own release; cancelled
 * when the set then fails to arm. Then our fds are closed.
 */
int devices_arm_release(struct run_state *st);
void devices_disarm_release(struct run_state *st);
void devices_close(struct run_state *st);
/* The LVs run made, removed when their set never armed. */
void lvm_remove_created(struct run_state *st);
/*
 * Without a daemon, after the set ended: lvremove its auto-release LVs,
 * each failure reported on stderr; the last -errno.
 */
int lvm_release(struct run_state *st);

/* Where run reads sysfs: what the kernel says a device is built on. */
#define RUN_SYSFS "/sys"

/*
 * --freeze: its directories opened before the set is made, and refused
 * when one's filesystem is stored on another's; writes held
 * with the set, before the LVM snapshots; released after them (@ret,
 * their result: the first error is returned).
 */
int freeze_open(struct run_state *st);
int freeze_begin(struct run_state *st);
int freeze_end(struct run_state *st, int ret);
void freeze_close(struct run_state *st);
/*
 * Before the set is made, with the --freeze directories open: an origin
 * of --lvm-snapshot (its dm device @origin) stored on a --freeze
 * filesystem is refused, as lvcreate would wait for its thaw.
 */
int freeze_origin_check(struct run_state *st, const struct run_lvm_snapshot *s,
			dev_t origin);

/* --mount's devices found among the set's; before arm. */
int mounts_resolve(struct run_state *st, struct sandbox *sb);

/* How messages name the set: "set NAME (ID)", or "set ID". */
void run_set_label(const struct run_state *st, char *buf, size_t size);

/* With --verbose, one step as it happens, on stderr. */
void run_step(const struct run_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* What run says on stderr, held between these two (run_print). */
void run_output_hold(void);
void run_output_release(void);
void run_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Before the set is closed: how full each snapshot's COW space got. */
void run_summary_collect(struct run_state *st);
/*
 * After the set ended: one line on stderr, or the JSON object on stdout
 * (--json, which also has one for a run that never made its set).
 */
void run_summary_print(const struct run_state *st);

#endif
