// SPDX-License-Identifier: GPL-2.0
/*
 * The sandbox COMMAND runs in: new pid and mount namespaces whose pid 1
 * is a small init of ours. The init forwards signals (an init without
 * handlers would ignore them), reaps orphans and reports COMMAND's wait
 * status; when it exits, the kernel kills everything left in the
 * namespace, and the mounts go with the last process. The init dies with
 * run through PR_SET_PDEATHSIG.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"
#include "sandbox.h"

/* The signals run and the init pass on to COMMAND. */
static void forwarded_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
}

void sandbox_signals(sigset_t *set)
{
	forwarded_signals(set);
	sigaddset(set, SIGCHLD);
}

/* Marks the signals run passes on, in si_value. */
#define SANDBOX_FORWARD 0x736e6170

/*
 * Only run's forwards, and signals from inside the namespace, are passed
 * on: the terminal and process-group kills reach COMMAND in run's process
 * group directly, and passing them on would deliver them twice.
 */
static bool forwarded(const siginfo_t *info)
{
	if (info->si_code == SI_QUEUE &&
	    info->si_value.sival_int == SANDBOX_FORWARD)
		return true;
	return info->si_code == SI_USER && info->si_pid != 0;
}

int sandbox_forward(const struct sandbox *sb, int sig)
{
	siginfo_t info = {
		.si_signo = sig,
		.si_code = SI_QUEUE,
		.si_value.sival_int = SANDBOX_FORWARD,
	};

	info.si_pid = getpid();
	info.si_uid = getuid();
	return syscall(SYS_pidfd_send_signal, sb->pidfd, sig, &info, 0) ? -errno
									: 0;
}

void sandbox_kill(const struct sandbox *sb)
{
	syscall(SYS_pidfd_send_signal, sb->pidfd, SIGKILL, NULL, 0);
}

static void report(int fd, int stage, int err, int index, int wait_status)
{
	struct sandbox_report r = {
		.wait_status = wait_status,
		.stage = stage,
		.err = err,
		.index = index,
	};

	/* A pipe write this small is atomic; run reads whole reports. */
	if (write(fd, &r, sizeof(r)) != sizeof(r))
		_exit(EXIT_RUN_FAILED);
}

int sandbox_dir_open(const char *dir)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

/*
 * Mounts on the directory itself, as opened without following a
 * symlink: whoever can write to a component of DIR cannot redirect the
 * mount. The snapshot's content chose the filesystem: no setuid
 * binaries, device nodes or executables from it.
 */
static int mount_snapshot(const struct run_mount_target *m)
{
	/* A snapshot has its origin's xfs uuid, which is mounted. */
	const char *data = strcmp(m->fstype, "xfs") ? NULL : "nouuid";
	int fd = sandbox_dir_open(m->dir), ret = 0;
	char target[32];

	if (fd < 0)
		return -fd;
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	if (mount(m->node, target, m->fstype,
		  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, data))
		ret = errno;
	close(fd);
	return ret;
}

static void setup_mounts(const struct sandbox *sb)
{
	int err;

	/* Nothing mounted here may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL)) {
		report(sb->status_fd, SANDBOX_SETUP, errno, 0, 0);
		_exit(EXIT_RUN_FAILED);
	}
	for (unsigned int i = 0; i < sb->nmounts; i++) {
		err = mount_snapshot(&sb->mounts[i]);
		if (err) {
			report(sb->status_fd, SANDBOX_MOUNT, err, i, 0);
			_exit(EXIT_RUN_FAILED);
		}
	}
}

/* Whether @dir is one of the directories in @path. */
static bool path_has(const char *path, const char *dir, size_t len)
{
	for (const char *p = path; *p; p += strcspn(p, ":")) {
		p += *p == ':';
		if (strcspn(p, ":") == len && !strncmp(p, dir, len))
			return true;
	}
	return false;
}

int sandbox_path(const char *path, const char *program, char *out, size_t size)
{
	const char *slash = strrchr(program, '/');
	size_t len = slash ? (size_t)(slash - program) : 0;
	int n;

	if (!path)
		path = "/bin:/usr/bin";
	if (!len || path_has(path, program, len))
		n = snprintf(out, size, "%s", path);
	else
		n = snprintf(out, size, "%s%s%.*s", path, *path ? ":" : "",
			     (int)len, program);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* run's own program, where COMMAND can reach it: $SNAPSET, and PATH. */
static int export_program(const struct sandbox *sb)
{
	char path[8192];

	if (!sb->program[0])
		return 0;
	if (setenv("SNAPSET", sb->program, 1))
		return -1;
	/* A PATH too long to extend is left as it is; $SNAPSET still works. */
	if (sandbox_path(getenv("PATH"), sb->program, path, sizeof(path)))
		return 0;
	return setenv("PATH", path, 1);
}

static void exec_command(const struct sandbox *sb)
{
	char fd_text[16];
	int err, code;

	snprintf(fd_text, sizeof(fd_text), "%d", sb->control_fd);
	if (fcntl(sb->control_fd, F_SETFD, 0) ||
	    setenv(CONTROL_FD_ENV, fd_text, 1) ||
	    setenv("SNAPSET_ID", sb->set_id, 1) ||
	    setenv("SNAPSET_NAME", sb->set_name, 1) || export_program(sb) ||
	    sigprocmask(SIG_SETMASK, &sb->command_mask, NULL)) {
		report(sb->status_fd, SANDBOX_SETUP, errno, 0, 0);
		_exit(EXIT_RUN_FAILED);
	}
	execvp(sb->command[0], sb->command);
	err = errno;
	code = err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE;
	report(sb->status_fd, SANDBOX_EXEC, err, 0, W_EXITCODE(code, 0));
	_exit(code);
}

static void reap(const struct sandbox *sb, pid_t command)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != command)
			continue;
		report(sb->status_fd, SANDBOX_RAN, 0, 0, status);
		_exit(0);
	}
}

/*
 * What exec would close, closed now, as the init never execs: run's own
 * descriptors, the set's above all. Whatever run was handed without
 * close-on-exec is COMMAND's to inherit, as with env(1).
 */
static int close_run_fds(int keep1, int keep2)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *d;
	int fd;

	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		fd = atoi(d->d_name);
		if (d->d_name[0] == '.' || fd == dirfd(dir) || fd == keep1 ||
		    fd == keep2)
			continue;
		if (fcntl(fd, F_GETFD) > 0)
			close(fd);
	}
	closedir(dir);
	return 0;
}

static void __attribute__((noreturn)) init_main(const struct sandbox *sb)
{
	sigset_t signals;
	siginfo_t info;
	pid_t command;

	setup_mounts(sb);
	sandbox_signals(&signals);
	sigprocmask(SIG_BLOCK, &signals, NULL);
	command = fork();
	if (command < 0) {
		report(sb->status_fd, SANDBOX_SETUP, errno, 0, 0);
		_exit(EXIT_RUN_FAILED);
	}
	if (command == 0)
		exec_command(sb);
	close(sb->control_fd);
	for (;;) {
		if (sigwaitinfo(&signals, &info) < 0)
			continue;
		if (info.si_signo == SIGCHLD)
			reap(sb, command);
		else if (forwarded(&info))
			kill(command, info.si_signo);
	}
}

/* Whether run is gone: its end of @alive_fd closed with it. */
static bool parent_gone(int alive_fd)
{
	struct pollfd pfd = { .fd = alive_fd, .events = POLLIN };

	return poll(&pfd, 1, 0) != 0;
}

int sandbox_start(struct sandbox *sb)
{
	struct clone_args args = {
		.flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_PIDFD,
		.pidfd = (unsigned long)&sb->pidfd,
		.exit_signal = SIGCHLD,
	};
	int status[2], alive[2], err;
	pid_t pid;

	if (pipe2(status, O_CLOEXEC))
		return -errno;
	if (pipe2(alive, O_CLOEXEC)) {
		close(status[0]);
		close(status[1]);
		return -errno;
	}
	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0) {
		/*
		 * The death signal is armed first, then run is checked: run
		 * dying in between is then seen one way or the other.
		 */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(alive[1]);
		if (parent_gone(alive[0]))
			_exit(EXIT_RUN_FAILED);
		close(alive[0]);
		sb->status_fd = status[1];
		err = close_run_fds(sb->status_fd, sb->control_fd);
		if (err) {
			report(sb->status_fd, SANDBOX_SETUP, -err, 0, 0);
			_exit(EXIT_RUN_FAILED);
		}
		init_main(sb);
	}
	close(status[1]);
	close(alive[0]);
	if (pid < 0) {
		close(status[0]);
		close(alive[1]);
		return -errno;
	}
	/* Held until run exits: its closing tells a new init run is gone. */
	sb->alive_fd = alive[1];
	sb->pid = pid;
	sb->status_fd = status[0];
	return 0;
}

void sandbox_result(struct sandbox *sb, int init_status,
		    struct sandbox_report *result)
{
	struct sandbox_report r;

	/* Killed with its namespace, the init reports nothing itself. */
	memset(result, 0, sizeof(*result));
	result->stage = SANDBOX_RAN;
	result->wait_status = init_status;
	/*
	 * A failure report (mount, exec) comes before the init's report of
	 * COMMAND's status and explains it: the first one wins.
	 */
	while (read(sb->status_fd, &r, sizeof(r)) == sizeof(r))
		if (result->stage == SANDBOX_RAN)
			*result = r;
	close(sb->status_fd);
	close(sb->pidfd);
	sb->status_fd = -1;
	sb->pidfd = -1;
}
