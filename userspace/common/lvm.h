/* SPDX-License-Identifier: GPL-2.0 */
/*
 * LVM through the lvm2 command line (LVM has no stable C API): what an LV
 * is, snapshots created tagged as snapset's, and removal by LV uuid.
 */
#ifndef SNAPSET_COMMON_LVM_H
#define SNAPSET_COMMON_LVM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Every LV snapset creates carries this tag, and "snapset:<set id>". */
#define LVM_SNAPSET_TAG "snapset"

struct lv_info {
	char uuid[64];	    /* as lvs prints it, with dashes */
	char origin[128];   /* "" when the LV is no snapshot */
	char segtype[32];   /* "linear", "snapshot", "thin", ... */
	unsigned int major; /* of its dm device; 0 when it is inactive */
	unsigned int minor;
};

/* lvm's own words when a command fails: its first line on stderr. */
struct lvm_error {
	char message[256];
};

/*
 * Whether @name can be an LVM VG or LV name (lvm(8) "VALID NAMES"):
 * letters, digits and "+_.-", not starting with '-', not "." or "..".
 * Checked before lvm sees a name, so that no name reads as an option.
 */
bool lvm_name_valid(const char *name);

/*
 * The name snapset run gives its snapshot of @origin for the set
 * @set_id (text): "ORIGIN-snapset-" and the id's first 8 characters;
 * -ENAMETOOLONG when it does not fit @size.
 */
int lvm_snapshot_name(const char *origin, const char *set_id, char *out,
		      size_t size);
/*
 * The origin in such a name, when @lv is the name run gave a snapshot
 * for @set_id (the only way to know a thin snapshot's origin without
 * asking LVM); -EINVAL otherwise.
 */
int lvm_snapshot_origin(const char *lv, const char *set_id, char *origin,
			size_t size);

/* What VG/LV is; -ENOENT when LVM does not know it or its VG. */
#define LV_INFO_FIELDS "lv_uuid,origin,segtype,lv_kernel_major,lv_kernel_minor"
/*
 * The same from "lvs --reportformat json -o LV_INFO_FIELDS" output @out:
 * its first LV; -ENOENT when it has none, -EIO with the cause in @err
 * when @out is no report.
 */
int lv_info_parse(const char *out, struct lv_info *info, struct lvm_error *err);
int lv_info_get(const char *vg, const char *lv, struct lv_info *info,
		struct lvm_error *err);

/* A snapshot LV to make: lv_snapshot_create(). */
struct lv_snapshot {
	const char *vg, *origin, *name;
	const char *size;     /* NULL: a thin snapshot */
	const char *set_uuid; /* tagged for that set */
	/*
	 * No metadata backup or archive under /etc/lvm: the filesystem
	 * holding it may be frozen for the snapshot (the release's
	 * lvremove, or the next LVM change, writes the VG's backup).
	 */
	bool no_backup;
};

/*
 * Creates @s->name as a snapshot of @s->vg/@s->origin, tagged for the
 * set @s->set_uuid: thick with @s->size (an lvcreate -L size), thin
 * without. What lvcreate said worth passing on, one a line, is in @notices
 * whether or not it succeeded: it may make a smaller snapshot than asked
 * ("Reducing COW size ...") and say so only there.
 *
 * The set's file, @set_fd, stays open until lvcreate has exited, even
 * when the caller is killed meanwhile: lvcreate, which must not be
 * killed (it may have the origin suspended), may still make and tag its
 * LV, and the set's end is what has the daemon look for its tagged LVs.
 * How the set ended stays the caller's doing. For the same reason the
 * caller should be a child subreaper (PR_SET_CHILD_SUBREAPER): lvcreate
 * orphaned by a kill of the child that holds the file comes back to it,
 * and is waited for here (that child's process group, lvcreate's alone:
 * a terminal's Ctrl-C does not reach lvcreate either). That kill is said
 * in @err, not as lvcreate's failure.
 */
int lv_snapshot_create(const struct lv_snapshot *s, int set_fd,
		       struct lvm_error *err, char *notices,
		       size_t notices_size);

/*
 * Appends to @out the lines of lvm's output @text worth passing on: its
 * warnings, and what it says about sizes; each whole or not at all.
 */
void lvm_notices(const char *text, char *out, size_t size);

/*
 * Removes the snapshot LV whose uuid is @uuid, retrying with backoff
 * while it is in use (udev and blkid probe new devices); -ENOENT when no
 * LV has it (gone already: never when lvm failed), -ESRCH when it is no
 * snapshot (left alone), -EBUSY when it stayed in use; lvm's words, or
 * ours, in @err.
 */
int lv_remove_by_uuid(const char *uuid, struct lvm_error *err);

/* lvs's list of tagged LVs is read in one piece; more is refused. */
#define LVM_LIST_OUTPUT_MAX (256 * 1024)

/* An LV snapset made, and the set it was made for. */
struct snapset_lv {
	char uuid[64];
	char vg[128];
	char lv[128];
	char origin[128];   /* in the same VG; "" when it is no snapshot */
	unsigned int major; /* of its dm device; 0 when it is inactive */
	unsigned int minor;
	char set_id[40]; /* from its "snapset:<id>" tag */
};

/*
 * "lvm lvs --reportformat json" of every LV tagged "snapset", and those
 * LVs in the report it printed, @out (@lvs is a malloc()ed array the
 * caller frees, NULL when none); 0, -ENOMEM, or -EIO with the cause in
 * @err when @out is no such report (cut short, or not JSON).
 */
extern const char *const lvm_list_snapset_argv[];
int lv_parse_snapset(const char *out, struct snapset_lv **lvs, size_t *n,
		     struct lvm_error *err);
/* The same, lvm run and waited for here; lvm's words in @err. */
int lv_list_snapset(struct snapset_lv **lvs, size_t *n, struct lvm_error *err);

/*
 * The LV uuid, as lvs prints it, of an LVM dm uuid ("LVM-" + VG uuid +
 * LV uuid); -EINVAL when @dm_uuid is no LVM uuid. Reads at most its
 * first 69 bytes, so @dm_uuid need not end within its field.
 */
int lvm_uuid_from_dm(const char *dm_uuid, char *out, size_t size);

/*
 * For callers that wait on lvm themselves: "lvm lvremove" of the
 * snapshot LV whose uuid is @uuid as an argv (@select holds its
 * selection; it prints "successfully removed" for what it removed), lvm
 * started with stdout on @out_fd and stderr on @err_fd (its pidfd, or
 * -errno); lvm_remove_failure() says what its wait status and stderr
 * mean.
 */
#define LVM_SELECT_LEN 96
#define LVM_REMOVE_ARGC 8
int lvm_remove_argv(const char *uuid, char select[LVM_SELECT_LEN],
		    const char *argv[LVM_REMOVE_ARGC]);
/*
 * What lvm's reports must look like for us to read them, whatever the
 * host's lvm.conf says of its "report" section: lists (lv_role, lv_tags)
 * separated by commas, no field-name prefixes, a row per LV, and lvm's
 * own log on stderr rather than in the report. With --reportformat json.
 */
#define LVM_REPORT_CONFIG                                     \
	"report/list_item_separator=\",\" report/prefixes=0 " \
	"report/columns_as_rows=0 log/report_command_log=0"
/*
 * "lvm lvs" of the LV whose uuid is @uuid, with its roles, as a JSON
 * report; and what that lvs, which printed @output (cut short when @cut:
 * it did not fit) and @errors and exited with wait status @status, says:
 * its row decides, even when lvs failed on a VG it could not read: 0
 * when that LV is a snapshot, -ESRCH when it is no snapshot (left
 * alone). Without a row, -ENOENT (gone already) only when lvs exited 0
 * and printed a whole report: otherwise -EBUSY or -EIO, as a VG lvs
 * could not read may hold the LV. Each said in @err.
 */
#define LVM_LOOKUP_ARGC 12
int lvm_lookup_argv(const char *uuid, char select[LVM_SELECT_LEN],
		    const char *argv[LVM_LOOKUP_ARGC]);
int lvm_lookup_result(const char *output, bool cut, const char *errors,
		      int status, const char *uuid, struct lvm_error *err);
/* That lvs run and waited for here. */
int lv_lookup(const char *uuid, struct lvm_error *err);
/* The same for every snapshot LV tagged "snapset:<@set_id>". */
int lvm_remove_tagged_argv(const char *set_id, char select[LVM_SELECT_LEN],
			   const char *argv[LVM_REMOVE_ARGC]);
/* Runs that lvremove and waits for it; none tagged is no error. */
int lv_remove_tagged(const char *set_id, struct lvm_error *err);
int lvm_spawn(const char *const *argv, int out_fd, int err_fd);
/*
 * What lvm wrote to the memfd @fd, NUL-terminated in @buf: its length,
 * -E2BIG when it does not fit (@buf holds its start), or -errno.
 */
ssize_t lvm_output(int fd, char *buf, size_t size);
int lvm_failure(const char *command, int status, const char *errors,
		struct lvm_error *err);
/*
 * What an lvremove by selection that exited with @status, @output on
 * stdout and @errors on stderr, means: as lvm_failure(), but never
 * -ENOENT (a VG it could not read is -EIO); a removal @by_uuid that says
 * it removed an LV removed ours, whatever its status.
 */
int lvm_remove_failure(int status, const char *output, const char *errors,
		       bool by_uuid, struct lvm_error *err);

#endif
