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

ssize_t lvm_output(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);
	struct stat st;

	buf[n > 0 ? n : 0] = '\0';
	if (n < 0 || fstat(fd, &st))
		return -errno;
	return st.st_size > n ? -E2BIG : n;
}

/* lvm's own words: its first line on stderr that is no warning. */
static void first_error(const char *text, struct lvm_error *err)
{
	for (const char *line = text; *line;
	     line += strcspn(line, "\n") + (line[strcspn(line, "\n")] != 0)) {
		while (*line == ' ')
			line++;
		if (!strncmp(line, "WARNING:", 8) || *line == '\n')
			continue;
		snprintf(err->message, sizeof(err->message), "%.*s",
			 (int)strcspn(line, "\n"), line);
		return;
	}
}

/*
 * lvm warns of every descriptor above 2 it inherits, and its warnings
 * reach the user: ours are all close-on-exec, but libdevmapper opens
 * /dev/mapper/control without it, and run's own caller (a shell, cron)
 * may hand it anything. lvm needs none of them; async-signal-safe, as a
 * threaded daemon forks this child.
 */
static void close_other_fds(void)
{
	struct rlimit limit;

	if (!close_range(3, ~0U, 0))
		return;
	if (getrlimit(RLIMIT_NOFILE, &limit) || limit.rlim_cur > 65536)
		limit.rlim_cur = 65536;
	for (rlim_t fd = 3; fd < limit.rlim_cur; fd++)
		close(fd);
}

static void __attribute__((noreturn))
lvm_exec(const char *const *argv, int out_fd, int err_fd)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	dup2(out_fd, STDOUT_FILENO);
	dup2(err_fd, STDERR_FILENO);
	/* lvm never asks: -y answers, and nothing else may. */
	close(STDIN_FILENO);
	open("/dev/null", O_RDONLY);
	close_other_fds();
	/* cron's PATH has no sbin. */
	execv("/usr/sbin/lvm", (char *const *)argv);
	execv("/sbin/lvm", (char *const *)argv);
	execvp("lvm", (char *const *)argv);
	dprintf(STDERR_FILENO, "lvm: %s\n", strerror(errno));
	_exit(127);
}

/* Puts @fd's file in flight in a new datagram pair: its receiving end. */
static int fd_in_flight(int fd)
{
	char cmsg_buf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct msghdr msg = {
		.msg_control = cmsg_buf,
		.msg_controllen = sizeof(cmsg_buf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	if (sendmsg(sv[0], &msg, 0) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	close(sv[0]);
	return sv[1];
}

/*
 * The child that lvm's parent is when the caller's @hold_fd must outlive
 * lvm: it keeps that file open, in flight in @keep, until lvm exited,
 * then exits as lvm did. Its own descriptor of the file is closed first,
 * so that neither it nor lvm ever closes one: the module takes the
 * reason a set ended from its last closer, and run killed while lvm
 * works must stay that, not this child's exit.
 */
static void __attribute__((noreturn))
lvm_keeper(const char *const *argv, int out_fd, int err_fd, int hold_fd,
	   int keep)
{
	sigset_t all;
	int status;
	pid_t pid;

	/* Whatever ends run, this one waits for lvm; lvm sees signals. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	close(hold_fd);
	/*
	 * A group of its own, lvm in it: the caller waits for that group
	 * alone should this one be killed (orphans_wait()), and a
	 * terminal's Ctrl-C never reaches lvm, which must not be killed.
	 */
	setpgid(0, 0);
	pid = fork();
	if (pid == 0)
		lvm_exec(argv, out_fd, err_fd);
	if (pid < 0) {
		dprintf(err_fd, "lvm: %s\n", strerror(errno));
		_exit(127);
	}
	/* Nothing of run's outlives run here but the file in flight. */
	if (keep > 0)
		close_range(0, keep - 1, 0);
	close_range(keep + 1, ~0U, 0);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(127);
	if (WIFSIGNALED(status)) {
		sigdelset(&all, WTERMSIG(status));
		signal(WTERMSIG(status), SIG_DFL);
		sigprocmask(SIG_SETMASK, &all, NULL);
		raise(WTERMSIG(status));
	}
	_exit(WEXITSTATUS(status));
}

/*
 * A keeper killed before its lvm exited leaves lvm orphaned, and it may
 * still make its LV: the caller, a child subreaper, gets it back and
 * waits for it as the keeper would have, before anything (a removal of
 * what lvm made) follows. Only children in the keeper's process group,
 * lvm's: not the caller's others (a helper its shell started before
 * exec), nor the daemons lvm starts (dmeventd, lvmpolld), which leave it
 * with setsid(). Whether any came back.
 */
static bool orphans_wait(pid_t keeper)
{
	bool any = false;

	for (;;) {
		if (waitpid(-keeper, NULL, 0) > 0)
			any = true;
		else if (errno != EINTR)
			return any;
	}
}

/* lvm started, with @hold_fd's file kept open until it exits (or -1). */
static pid_t lvm_fork(const char *const *argv, int out_fd, int err_fd,
		      int hold_fd)
{
	int keep = -1;
	pid_t pid;

	if (hold_fd >= 0) {
		keep = fd_in_flight(hold_fd);
		if (keep < 0) {
			errno = -keep;
			return -1;
		}
	}
	pid = fork();
	if (pid == 0 && keep >= 0)
		lvm_keeper(argv, out_fd, err_fd, hold_fd, keep);
	if (pid == 0)
		lvm_exec(argv, out_fd, err_fd);
	if (keep >= 0) {
		int saved = errno;

		close(keep);
		errno = saved;
	}
	return pid;
}

int lvm_failure(const char *command, int status, const char *errors,
		struct lvm_error *err)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	err->message[0] = '\0';
	first_error(errors, err);
	if (!err->message[0] && WIFEXITED(status))
		snprintf(err->message, sizeof(err->message),
			 "lvm %s exited with status %d", command,
			 WEXITSTATUS(status));
	else if (!err->message[0])
		snprintf(err->message, sizeof(err->message),
			 "lvm %s was killed by SIG%s", command,
			 sigabbrev_np(WTERMSIG(status)) ?: "?");
	/* The cause, not a warning ("PV ... not found or rejected"). */
	if (strstr(err->message, " in use"))
		return -EBUSY;
	if (strstr(err->message, "not found") ||
	    strstr(err->message, "Failed to find"))
		return -ENOENT;
	return -EIO;
}

int lvm_spawn(const char *const *argv, int out_fd, int err_fd)
{
	pid_t pid = fork();
	int pidfd;

	if (pid == 0)
		lvm_exec(argv, out_fd, err_fd);
	if (pid < 0)
		return -errno;
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		/* No way to wait for it through a pidfd: kill and reap now. */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -ECHILD;
	}
	return pidfd;
}

/* lvremove of the snapshot LVs whose @field holds @value. */
static int remove_argv(const char *field, const char *value,
		       char select[LVM_SELECT_LEN],
		       const char *argv[LVM_REMOVE_ARGC])
{
	static const char *const remove[] = { "lvm", "lvremove", "-y",
					      "--select" };

	/* Whatever the record says, only a snapshot is ever removed. */
	if (snprintf(select, LVM_SELECT_LEN, "%s=%s && lv_role=snapshot", field,
		     value) >= LVM_SELECT_LEN)
		return -EINVAL;
	memcpy(argv, remove, sizeof(remove));
	argv[4] = select;
	argv[5] = NULL;
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

	/* "LVM-" + 32 characters of VG uuid + 32 of LV uuid [+ "-suffix"] */
	if (strncmp(dm_uuid, "LVM-", 4) || strlen(dm_uuid) < 4 + 64 ||
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

struct lvm_ran {
	bool cut;	    /* stdout did not fit */
	bool keeper_killed; /* lvm outlived its keeper, waited for here */
};

/*
 * Runs "lvm ARGV..." with stdout in @out and stderr in @errors: its wait
 * status (its keeper's, with @hold_fd), or -errno when it cannot run at
 * all; how it went in @ran.
 */
static int lvm_wait(const char *const *argv, int hold_fd, char *out,
		    size_t out_size, char *errors, size_t errors_size,
		    struct lvm_ran *ran)
{
	/* memfds, not pipes: lvm's output waits for us, nothing to poll. */
	int out_fd = memfd_create("lvm-stdout", MFD_CLOEXEC);
	int err_fd = memfd_create("lvm-stderr", MFD_CLOEXEC);
	int status = 0;
	pid_t pid = -1;

	if (out_fd >= 0 && err_fd >= 0)
		pid = lvm_fork(argv, out_fd, err_fd, hold_fd);
	if (pid < 0)
		status = -errno;
	while (pid > 0 && waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = -errno;
			break;
		}
	*ran = (struct lvm_ran){ 0 };
	if (pid > 0 && hold_fd >= 0 && orphans_wait(pid))
		ran->keeper_killed = status > 0 && WIFSIGNALED(status);
	if (out_fd >= 0) {
		ran->cut = lvm_output(out_fd, out, out_size) == -E2BIG;
		close(out_fd);
	}
	errors[0] = '\0';
	if (err_fd >= 0) {
		lvm_output(err_fd, errors, errors_size);
		close(err_fd);
	}
	if (out_fd < 0 || err_fd < 0 || status < 0)
		return status < 0 ? status : -EMFILE;
	return status;
}

/*
 * The same; 0 when it exits 0. Otherwise lvm's message is in @err and
 * the result is -EBUSY (in use), -ENOENT (not found) or -EIO.
 */
static int lvm_run_stderr(const char *const *argv, int hold_fd, char *out,
			  size_t out_size, char *errors, size_t errors_size,
			  struct lvm_error *err)
{
	struct lvm_ran ran;
	int status =
	    lvm_wait(argv, hold_fd, out, out_size, errors, errors_size, &ran);

	err->message[0] = '\0';
	if (status < 0)
		return status;
	if (!ran.keeper_killed)
		return lvm_failure(argv[1], status, errors, err);
	snprintf(err->message, sizeof(err->message),
		 "the process waiting for lvm %s was killed by SIG%s "
		 "(lvm %s was waited for)",
		 argv[1], sigabbrev_np(WTERMSIG(status)) ?: "?", argv[1]);
	return -EIO;
}

static int lvm_run(const char *const *argv, char *out, size_t out_size,
		   struct lvm_error *err)
{
	char errors[2048];

	return lvm_run_stderr(argv, -1, out, out_size, errors, sizeof(errors),
			      err);
}

/* lvs's report as JSON, read the same whatever lvm.conf says. */
#define LVS_JSON \
	"lvm", "lvs", "--reportformat", "json", "--config", LVM_REPORT_CONFIG

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
static bool lvm_notice(const char *line, size_t len)
{
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

int lv_snapshot_create(const char *vg, const char *origin, const char *name,
		       const char *size, const char *set_uuid, int set_fd,
		       struct lvm_error *err, char *notices,
		       size_t notices_size)
{
	char target[260], set_tag[64], out[512], errors[2048];
	/* Not -q: that hides "Reducing COW size ..." (a smaller snapshot). */
	const char *argv[16] = { "lvm", "lvcreate", "-y", "-s" };
	int n = 4, ret;

	snprintf(target, sizeof(target), "%s/%s", vg, origin);
	snprintf(set_tag, sizeof(set_tag), LVM_SNAPSET_TAG ":%s", set_uuid);
	if (size) {
		argv[n++] = "-L";
		argv[n++] = size;
	} else {
		/* Thin snapshots skip activation unless told otherwise. */
		argv[n++] = "-kn";
	}
	argv[n++] = "-n";
	argv[n++] = name;
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
	argv[9] = select;
	argv[10] = NULL;
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

/* Runs an lvremove of @argv and waits for it; lvm's words in @err. */
static int lvm_remove_run(const char *const *argv, bool by_uuid,
			  struct lvm_error *err)
{
	char out[4096], errors[2048];
	struct lvm_ran ran;
	int status =
	    lvm_wait(argv, -1, out, sizeof(out), errors, sizeof(errors), &ran);

	return status < 0
		   ? status
		   : lvm_remove_failure(status, out, errors, by_uuid, err);
}

int lv_remove_by_uuid(const char *uuid, struct lvm_error *err)
{
	char select[LVM_SELECT_LEN];
	const char *argv[LVM_REMOVE_ARGC];
	long backoff_ms = 100;
	int ret;

	if (lvm_remove_argv(uuid, select, argv))
		return -EINVAL;
	/* An empty selection is no error to lvremove: ask lvs first. */
	ret = lv_lookup(uuid, err);
	if (ret)
		return ret;
	while ((ret = lvm_remove_run(argv, true, err)) == -EBUSY &&
	       backoff_ms <= 3200) {
		sleep_ms(backoff_ms);
		backoff_ms *= 2;
	}
	return ret;
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

	if (lvm_remove_tagged_argv(set_id, select, argv))
		return -EINVAL;
	return lvm_remove_run(argv, false, err);
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
