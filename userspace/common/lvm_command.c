// SPDX-License-Identifier: GPL-2.0
/*
 * lvm2 commands run: a child whose output goes to memfds, the keeper
 * that holds a set's file while lvcreate runs, and lvm's failure in its
 * own words.
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

#include "files_limit.h"
#include "lvm.h"
#include "lvm_command.h"

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
	/*
	 * Above 2 first: as 0 or 1 (run started without them), one dup2
	 * would take the other's place.
	 */
	out_fd = fcntl(out_fd, F_DUPFD_CLOEXEC, 3);
	err_fd = fcntl(err_fd, F_DUPFD_CLOEXEC, 3);
	dup2(out_fd, STDOUT_FILENO);
	dup2(err_fd, STDERR_FILENO);
	/* lvm never asks: -y answers, and nothing else may. */
	close(STDIN_FILENO);
	open("/dev/null", O_RDONLY);
	close_other_fds();
	files_limit_restore();
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

int lvm_wait(const char *const *argv, int hold_fd, char *out, size_t out_size,
	     char *errors, size_t errors_size, struct lvm_ran *ran)
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

int lvm_run_stderr(const char *const *argv, int hold_fd, char *out,
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

int lvm_run(const char *const *argv, char *out, size_t out_size,
	    struct lvm_error *err)
{
	char errors[2048];

	return lvm_run_stderr(argv, -1, out, out_size, errors, sizeof(errors),
			      err);
}
