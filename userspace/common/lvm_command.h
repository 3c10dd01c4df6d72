/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lvm2 commands as lvm.c runs them (lvm_command.c).
 */
#ifndef SNAPSET_LVM_COMMAND_H
#define SNAPSET_LVM_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

#include "lvm.h"

struct lvm_ran {
	bool cut;	    /* stdout did not fit */
	bool keeper_killed; /* lvm outlived its keeper, waited for here */
};

/*
 * Runs "lvm ARGV..." with stdout in @out and stderr in @errors: its wait
 * status (its keeper's, with @hold_fd: a set's file the keeper holds
 * until lvm exits), or -errno when it cannot run at all; how it went in
 * @ran.
 */
int lvm_wait(const char *const *argv, int hold_fd, char *out, size_t out_size,
	     char *errors, size_t errors_size, struct lvm_ran *ran);
/*
 * The same; 0 when it exits 0. Otherwise lvm's message is in @err and
 * the result is -EBUSY (in use), -ENOENT (not found) or -EIO.
 */
int lvm_run_stderr(const char *const *argv, int hold_fd, char *out,
		   size_t out_size, char *errors, size_t errors_size,
		   struct lvm_error *err);
/* The same without @hold_fd, lvm's stderr only in @err. */
int lvm_run(const char *const *argv, char *out, size_t out_size,
	    struct lvm_error *err);

#endif
