// SPDX-License-Identifier: GPL-2.0
/*
 * LVM operations as lvm2 commands, their output captured.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lvm.h"
#include "lvm_command.h"

/* lvremove of the snapshot LVs whose @field holds @value. */
static int remove_argv(const char *field, const char *value,
		       char select[LVM_SELECT_LEN],
		       const char *argv[LVM_REMOVE_ARGC])
{
	/* Its errors on stderr, whatever lvm.conf says: " in use" is read. */
	static const char *const remove[] = { "lvm",
					      "lvremove",
					      "-y",
					      "--config",
					      "log/report_command_log=0",
					      "--select" };

	/* Whatever the record says, only a snapshot is ever removed. */
	if (snprintf(select, LVM_SELECT_LEN, "%s=%s && lv_role=snapshot", field,
		     value) >= LVM_SELECT_LEN)
		return -EINVAL;
	memcpy(argv, remove, sizeof(remove));
	argv[6] = select;
	argv[7] = NULL;
	return 0;
}

int lvm_remove_argv(const char *uuid, char select[LVM_SELECT_LEN],
		    const char *argv[LVM_REMOVE_ARGC])
{
	return remove_argv("lv_uuid", uuid, select, argv);
}

int lvm_remove_tagged_argv(const char *set_id, char select[LVM_SELECT_LEN],
			   const char *argv[LVM_REMOVE_ARGC])
{
	char tag[64];

	if (snprintf(tag, sizeof(tag), LVM_SNAPSET_TAG ":%s", set_id) >=
	    (int)sizeof(tag))
		return -EINVAL;
	return remove_argv("lv_tags", tag, select, argv);
}

int lvm_uuid_from_dm(const char *dm_uuid, char *out, size_t size)
{
	static const int groups[] = { 6, 4, 4, 4, 4, 4, 6 };
	const char *lv;
	size_t o = 0;

	/*
	 * "LVM-" + 32 characters of VG uuid + 32 of LV uuid [+ "-suffix"];
	 * no further than that is read: a record's field may lack its NUL.
	 */
	if (strncmp(dm_uuid, "LVM-", 4) || strnlen(dm_uuid, 4 + 64) < 4 + 64 ||
	    (dm_uuid[68] && dm_uuid[68] != '-') || size < 39)
		return -EINVAL;
	lv = dm_uuid + 4 + 32;
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		if (g)
			out[o++] = '-';
		memcpy(out + o, lv, groups[g]);
		o += groups[g];
		lv += groups[g];
	}
	out[o] = '\0';
	return 0;
}

/* lvs's report as JSON, read the same whatever lvm.conf says. */
#define LVS_JSON                                                         \
	"lvm", "lvs", "--foreign", "--reportformat", "json", "--config", \
	    LVM_REPORT_CONFIG

/*
 * The rows of an "lvs --reportformat json" report in @out: lvm 2.03.16
 * prints {"report": [{"lv": [{"field": "value", ...}, ...]}]}, every
 * value a string. @visit sees each row; 0, -EIO with the cause in @err
 * when @out is not such a report, or the first error @visit returns.
 */
static int lvs_json_rows(const char *out,
			 int (*visit)(struct json_object *row, void *arg),
			 void *arg, struct lvm_error *err)
{
	struct json_object *root = json_tokener_parse(out), *reports, *rows;
	int ret = 0;

	if (!json_object_object_get_ex(root, "report", &reports) ||
	    !json_object_is_type(reports, json_type_array))
		ret = -EINVAL;
	for (size_t r = 0; !ret && r < json_object_array_length(reports); r++) {
		if (!json_object_object_get_ex(
			json_object_array_get_idx(reports, r), "lv", &rows) ||
		    !json_object_is_type(rows, json_type_array)) {
			ret = -EINVAL;
			break;
		}
		for (size_t i = 0; !ret && i < json_object_array_length(rows);
		     i++)
			ret = visit(json_object_array_get_idx(rows, i), arg);
	}
	json_object_put(root);
	if (ret == -EINVAL) {
		/* Cut short, or no report: never read as "no LVs". */
		snprintf(err->message, sizeof(err->message),
			 "lvm lvs printed no JSON report");
		ret = -EIO;
	}
	return ret;
}

/* A row's @key as text in @out; "" when the row has none. */
static void lv_field(struct json_object *row, const char *key, char *out,
		     size_t size)
{
	struct json_object *value;

	if (!json_object_object_get_ex(row, key, &value) ||
	    json_object_is_type(value, json_type_null))
		value = NULL;
	snprintf(out, size, "%s", value ? json_object_get_string(value) : "");
}

/* A device number lvs reported: -1 for an inactive LV, which has none. */
static unsigned int number_field(struct json_object *row, const char *key)
{
	char number[16];
	long value;

	lv_field(row, key, number, sizeof(number));
	value = strtol(number, NULL, 10);
	return value > 0 ? (unsigned int)value : 0;
}

/* The first row, the LV asked for, into the struct lv_info at @arg. */
static int lv_info_row(struct json_object *row, void *arg)
{
	struct lv_info *info = arg;

	if (info->uuid[0])
		return 0;
	lv_field(row, "lv_uuid", info->uuid, sizeof(info->uuid));
	lv_field(row, "origin", info->origin, sizeof(info->origin));
	lv_field(row, "segtype", info->segtype, sizeof(info->segtype));
	info->major = number_field(row, "lv_kernel_major");
	info->minor = number_field(row, "lv_kernel_minor");
	return 0;
}

int lv_info_parse(const char *out, struct lv_info *info, struct lvm_error *err)
{
	int ret;

	memset(info, 0, sizeof(*info));
	ret = lvs_json_rows(out, lv_info_row, info, err);
	if (ret)
		return ret;
	return info->uuid[0] ? 0 : -ENOENT;
}

int lv_info_get(const char *vg, const char *lv, struct lv_info *info,
		struct lvm_error *err)
{
	char target[260], out[4096];
	const char *argv[] = { LVS_JSON, "-o", LV_INFO_FIELDS, target, NULL };
	int ret;

	memset(info, 0, sizeof(*info));
	snprintf(target, sizeof(target), "%s/%s", vg, lv);
	ret = lvm_run(argv, out, sizeof(out), err);
	return ret ? ret : lv_info_parse(out, info, err);
}

/* Whether lvm's @line is worth passing on: a warning, or about a size. */
/*
 * Its warnings and what it says of sizes; not that the metadata backup
 * was skipped, which run asks for while writes are held (struct
 * lv_snapshot's no_backup).
 */
static bool lvm_notice(const char *line, size_t len)
{
	static const char skipped[] = "metadata update is NOT backed up";

	if (memmem(line, len, skipped, sizeof(skipped) - 1))
		return false;
	return !strncmp(line, "WARNING:", 8) || memmem(line, len, " size ", 6);
}

void lvm_notices(const char *text, char *out, size_t size)
{
	size_t used = strlen(out), len;

	for (const char *line = text; *line; line += len + !!line[len]) {
		len = strcspn(line, "\n");
		while (len && *line == ' ') {
			line++;
			len--;
		}
		if (!lvm_notice(line, len) || used + len + 2 > size)
			continue;
		used +=
		    snprintf(out + used, size - used, "%.*s\n", (int)len, line);
	}
}

int lv_snapshot_create(const struct lv_snapshot *s, int set_fd,
		       struct lvm_error *err, char *notices,
		       size_t notices_size)
{
	char target[260], set_tag[64], out[512], errors[2048];
	/* Not -q: that hides "Reducing COW size ..." (a smaller snapshot). */
	const char *argv[18] = { "lvm", "lvcreate", "-y", "-s" };
	int n = 4, ret;

	snprintf(target, sizeof(target), "%s/%s", s->vg, s->origin);
	snprintf(set_tag, sizeof(set_tag), LVM_SNAPSET_TAG ":%s", s->set_uuid);
	if (s->no_backup) {
		argv[n++] = "--config";
		argv[n++] = "backup { backup = 0 archive = 0 }";
	}
	if (s->size) {
		argv[n++] = "-L";
		argv[n++] = s->size;
	} else {
		/* Thin snapshots skip activation unless told otherwise. */
		argv[n++] = "-kn";
	}
	argv[n++] = "-n";
	argv[n++] = s->name;
	argv[n++] = "--addtag";
	argv[n++] = LVM_SNAPSET_TAG;
	argv[n++] = "--addtag";
	argv[n++] = set_tag;
	argv[n++] = target;
	ret = lvm_run_stderr(argv, set_fd, out, sizeof(out), errors,
			     sizeof(errors), err);
	notices[0] = '\0';
	lvm_notices(out, notices, notices_size);
	lvm_notices(errors, notices, notices_size);
	return ret;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int lvm_lookup_argv(const char *uuid, char select[LVM_SELECT_LEN],
		    const char *argv[LVM_LOOKUP_ARGC])
{
	static const char *const lookup[] = { LVS_JSON, "-o", "lv_uuid,lv_role",
					      "--select" };

	if (snprintf(select, LVM_SELECT_LEN, "lv_uuid=%s", uuid) >=
	    LVM_SELECT_LEN)
		return -EINVAL;
	memcpy(argv, lookup, sizeof(lookup));
	argv[10] = select;
	argv[11] = NULL;
	return 0;
}

/* Whether @roles, lv_role's items ("public,snapshot,thicksnapshot"), has it. */
static bool role_is_snapshot(const char *roles)
{
	char list[256], *save = NULL;

	snprintf(list, sizeof(list), "%s", roles);
	for (char *role = strtok_r(list, ", \t", &save); role;
	     role = strtok_r(NULL, ", \t", &save))
		if (!strcmp(role, "snapshot"))
			return true;
	return false;
}

struct lookup {
	const char *uuid;
	int found; /* 0: no row; 1: a snapshot; -1: no snapshot */
};

/* The row of the LV looked up, if this is it, into the struct lookup. */
static int lookup_row(struct json_object *row, void *arg)
{
	struct lookup *l = arg;
	struct json_object *roles;
	char uuid[64], role[256];
	bool snapshot = false;

	lv_field(row, "lv_uuid", uuid, sizeof(uuid));
	if (strcmp(uuid, l->uuid))
		return 0;
	/* lvm 2.03.17's "json_std" makes the list an array of items. */
	if (json_object_object_get_ex(row, "lv_role", &roles) &&
	    json_object_is_type(roles, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(roles); i++) {
			const char *item = json_object_get_string(
			    json_object_array_get_idx(roles, i));

			snapshot |= item && !strcmp(item, "snapshot");
		}
	} else {
		lv_field(row, "lv_role", role, sizeof(role));
		snapshot = role_is_snapshot(role);
	}
	l->found = snapshot ? 1 : -1;
	return 0;
}

/* -EIO, or @ret, with why lvs leaves the LV @uuid's fate open. */
static int cannot_tell(int ret, const char *uuid, const char *cause,
		       struct lvm_error *err)
{
	char words[sizeof(err->message)];

	snprintf(words, sizeof(words), "%s", cause);
	snprintf(err->message, sizeof(err->message),
		 "cannot tell whether snapshot LV %s is gone: lvs: %.160s",
		 uuid, words);
	return ret == -EBUSY ? ret : -EIO;
}

int lvm_lookup_result(const char *output, bool cut, const char *errors,
		      int status, const char *uuid, struct lvm_error *err)
{
	struct lookup l = { uuid, 0 };
	bool exited_0 = WIFEXITED(status) && !WEXITSTATUS(status);
	int ret;

	if (cut) {
		snprintf(err->message, sizeof(err->message),
			 "lvs output too long: cannot tell whether LV %s is "
			 "gone",
			 uuid);
		return -EIO;
	}
	ret = lvs_json_rows(output, lookup_row, &l, err);
	/* Its row decides, whatever lvs could not read of other VGs. */
	if (!ret && l.found) {
		if (l.found > 0)
			return 0;
		snprintf(err->message, sizeof(err->message),
			 "LV with uuid %s is not a snapshot: left alone", uuid);
		return -ESRCH;
	}
	if (!ret && exited_0) {
		snprintf(err->message, sizeof(err->message),
			 "no LV has uuid %s: gone already", uuid);
		return -ENOENT;
	}
	/* No report, or a VG lvs could not read: it may hold the LV. */
	if (!exited_0)
		ret = lvm_failure("lvs", status, errors, err);
	return cannot_tell(ret, uuid, err->message, err);
}

/* Whether lvremove's @output says it removed an LV. */
static bool lvm_removed(const char *output)
{
	return strstr(output, "\" successfully removed");
}

int lvm_remove_failure(int status, const char *output, const char *errors,
		       bool by_uuid, struct lvm_error *err)
{
	int ret;

	/*
	 * Selected by uuid and role, only ours can have been removed:
	 * removed is removed, whatever lvremove could not read besides.
	 */
	if (by_uuid && lvm_removed(output))
		return 0;
	ret = lvm_failure("lvremove", status, errors, err);
	/*
	 * A selection that matches nothing is no error to lvremove: what
	 * it did not find is a VG it could not read, which may hold ours.
	 */
	return ret == -ENOENT ? -EIO : ret;
}

int lv_lookup(const char *uuid, struct lvm_error *err)
{
	char select[LVM_SELECT_LEN], out[4096], errors[2048];
	const char *argv[LVM_LOOKUP_ARGC];
	struct lvm_ran ran;
	int status;

	if (lvm_lookup_argv(uuid, select, argv))
		return -EINVAL;
	status =
	    lvm_wait(argv, -1, out, sizeof(out), errors, sizeof(errors), &ran);
	return status < 0
		   ? status
		   : lvm_lookup_result(out, ran.cut, errors, status, uuid, err);
}

/*
 * Runs an lvremove of @argv and waits for it; lvm's words in @err, and
 * whether it said it removed an LV in *@removed.
 */
static int lvm_remove_run(const char *const *argv, bool by_uuid, bool *removed,
			  struct lvm_error *err)
{
	char out[4096], errors[2048];
	struct lvm_ran ran;
	int status =
	    lvm_wait(argv, -1, out, sizeof(out), errors, sizeof(errors), &ran);

	*removed = status >= 0 && lvm_removed(out);
	return status < 0
		   ? status
		   : lvm_remove_failure(status, out, errors, by_uuid, err);
}

int lv_remove_by_uuid(const char *uuid, struct lvm_error *err)
{
	char select[LVM_SELECT_LEN];
	const char *argv[LVM_REMOVE_ARGC];
	long backoff_ms = 100;
	bool removed;
	int ret;

	if (lvm_remove_argv(uuid, select, argv))
		return -EINVAL;
	/* An empty selection is no error to lvremove: ask lvs first. */
	ret = lv_lookup(uuid, err);
	if (ret)
		return ret;
	while ((ret = lvm_remove_run(argv, true, &removed, err)) == -EBUSY &&
	       backoff_ms <= 3200) {
		sleep_ms(backoff_ms);
		backoff_ms *= 2;
	}
	if (ret || removed)
		return ret;
	/* lvremove skips a VG it cannot lock, and exits 0: ask again. */
	ret = lv_lookup(uuid, err);
	if (ret == -ENOENT)
		return 0;
	if (!ret)
		snprintf(err->message, sizeof(err->message),
			 "lvremove exited 0, but snapshot LV %s is still there",
			 uuid);
	return ret ? ret : -EIO;
}

/*
 * The set id in an LV's tags, from its "snapset:<id>" tag: lvm 2.03.16
 * reports lv_tags as one comma-separated string.
 */
static bool set_tag(const char *tags, char *id, size_t size)
{
	const char *tag = strstr(tags, LVM_SNAPSET_TAG ":");

	if (!tag)
		return false;
	tag += strlen(LVM_SNAPSET_TAG ":");
	snprintf(id, size, "%.*s", (int)strcspn(tag, ","), tag);
	/* A whole UUID or nothing: a cut id would match no set. */
	return strlen(id) == 36;
}

const char *const lvm_list_snapset_argv[] = { LVS_JSON,
					      "-o",
					      "lv_uuid,vg_name,lv_name,origin,"
					      "lv_kernel_major,lv_kernel_minor,"
					      "lv_tags",
					      "--select",
					      "lv_tags=" LVM_SNAPSET_TAG,
					      NULL };

struct lv_list {
	struct snapset_lv *lvs;
	size_t n;
};

/* One row of the tagged LVs' report, kept when it has a set's tag. */
static int snapset_lv_row(struct json_object *row, void *arg)
{
	struct lv_list *list = arg;
	struct snapset_lv lv = { 0 }, *grown;
	char tags[256];

	lv_field(row, "lv_uuid", lv.uuid, sizeof(lv.uuid));
	lv_field(row, "vg_name", lv.vg, sizeof(lv.vg));
	lv_field(row, "lv_name", lv.lv, sizeof(lv.lv));
	lv_field(row, "origin", lv.origin, sizeof(lv.origin));
	lv.major = number_field(row, "lv_kernel_major");
	lv.minor = number_field(row, "lv_kernel_minor");
	lv_field(row, "lv_tags", tags, sizeof(tags));
	if (!lv.uuid[0] || !set_tag(tags, lv.set_id, sizeof(lv.set_id)))
		return 0;
	grown = realloc(list->lvs, (list->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	list->lvs = grown;
	list->lvs[list->n++] = lv;
	return 0;
}

int lv_parse_snapset(const char *out, struct snapset_lv **lvs, size_t *n,
		     struct lvm_error *err)
{
	struct lv_list list = { NULL, 0 };
	int ret = lvs_json_rows(out, snapset_lv_row, &list, err);

	if (ret) {
		free(list.lvs);
		list.lvs = NULL;
		list.n = 0;
	}
	*lvs = list.lvs;
	*n = list.n;
	return ret;
}

bool lvm_name_valid(const char *name)
{
	size_t len = strlen(name);

	return len && name[0] != '-' && strcmp(name, ".") &&
	       strcmp(name, "..") &&
	       strspn(name,
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789+_.-") == len;
}

int lv_list_snapset(struct snapset_lv **lvs, size_t *n, struct lvm_error *err)
{
	char *out = malloc(LVM_LIST_OUTPUT_MAX);
	int ret = out ? 0 : -ENOMEM;

	*lvs = NULL;
	*n = 0;
	if (!ret)
		ret = lvm_run(lvm_list_snapset_argv, out, LVM_LIST_OUTPUT_MAX,
			      err);
	if (!ret)
		ret = lv_parse_snapset(out, lvs, n, err);
	free(out);
	return ret;
}

int lv_remove_tagged(const char *set_id, struct lvm_error *err)
{
	char select[LVM_SELECT_LEN];
	const char *argv[LVM_REMOVE_ARGC];

	bool removed;

	if (lvm_remove_tagged_argv(set_id, select, argv))
		return -EINVAL;
	return lvm_remove_run(argv, false, &removed, err);
}

#define SNAPSHOT_INFIX "-snapset-"
#define SNAPSHOT_ID_CHARS 8

int lvm_snapshot_name(const char *origin, const char *set_id, char *out,
		      size_t size)
{
	int len = snprintf(out, size, "%s" SNAPSHOT_INFIX "%.*s", origin,
			   SNAPSHOT_ID_CHARS, set_id);

	return len < 0 || (size_t)len >= size ? -ENAMETOOLONG : 0;
}

int lvm_snapshot_origin(const char *lv, const char *set_id, char *origin,
			size_t size)
{
	size_t len = strlen(lv),
	       tail = strlen(SNAPSHOT_INFIX) + SNAPSHOT_ID_CHARS;

	if (len <= tail || strlen(set_id) < SNAPSHOT_ID_CHARS ||
	    strncmp(lv + len - tail, SNAPSHOT_INFIX, strlen(SNAPSHOT_INFIX)) ||
	    strncasecmp(lv + len - SNAPSHOT_ID_CHARS, set_id,
			SNAPSHOT_ID_CHARS) ||
	    len - tail >= size)
		return -EINVAL;
	snprintf(origin, size, "%.*s", (int)(len - tail), lv);
	return 0;
}
