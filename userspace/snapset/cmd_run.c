// SPDX-License-Identifier: GPL-2.0
/*
 * snapset run: the requester. It owns the set for exactly as long as it
 * lives: whatever ends this process ends the set, and the kernel records
 * how. What run survives, it reports itself.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/device.h"
#include "../common/format.h"
#include "../common/module.h"
#include "cli.h"
#include "commands.h"
#include "control.h"
#include "run.h"

/* What happened while COMMAND ran. */
struct supervision {
	bool completed; /* through snapset complete */
	bool timed_out;
	int forwarded;	 /* the last signal run passed on, or 0 */
	int init_status; /* the sandbox init's wait status */
};

static bool daemon_running(void)
{
	char value[32];

	return !sysfs_read("/sys/class/misc/snapset/agent", value,
			   sizeof(value)) &&
	       strcmp(value, "0");
}

static int arm_timer(int fd, long ms)
{
	struct itimerspec its = {
		.it_value = { ms / 1000, ms % 1000 * 1000000L },
	};

	return timerfd_settime(fd, 0, &its, NULL) ? -errno : 0;
}

/*
 * The first snapshot whose COW space overflowed, or NULL: dm dropped it,
 * so what was read from it is not the origin at the snapshot, and the
 * set must not be completed.
 */
static const struct run_dev *snapshot_overflowed(struct run_state *st)
{
	run_summary_collect(st);
	for (unsigned int i = 0; i < st->ndevs; i++)
		if (st->devs[i].cow_read && st->devs[i].cow.invalid)
			return &st->devs[i];
	return NULL;
}

/* One request from COMMAND's side of the control channel. */
static void control_serve(struct run_state *st, int fd, bool *open,
			  struct supervision *sv)
{
	struct control_reply reply = { .version = CONTROL_VERSION };
	int request = control_request_recv(fd);

	if (request == 0)
		*open = false; /* every copy in COMMAND's tree is closed */
	if (request == 0 || (request < 0 && request != -EPROTO))
		return;
	if (request == -EPROTO) {
		reply.result = -EPROTO;
	} else if (snapshot_overflowed(st)) {
		reply.result = -ENOSPC;
	} else {
		reply.result = module_complete(st->set_fd);
		if (reply.result == -EALREADY)
			reply.result = 0;
		if (!reply.result)
			sv->completed = true;
	}
	send(fd, &reply, sizeof(reply), MSG_DONTWAIT | MSG_NOSIGNAL);
}

/*
 * Children handed to run while it was a subreaper (a dmeventd that
 * lvcreate started) are reaped as they exit, not left zombies while
 * COMMAND runs. The sandbox's init is left to the wait that reads how
 * it ended; its exit waiting first holds others back until then.
 */
static void others_reap(const struct sandbox *sb)
{
	siginfo_t info;

	for (;;) {
		info.si_pid = 0;
		if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) ||
		    !info.si_pid || info.si_pid == sb->pid)
			return;
		waitpid(info.si_pid, NULL, 0);
	}
}

static void signal_serve(int fd, const struct sandbox *sb,
			 struct supervision *sv)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			others_reap(sb);
		/* The terminal signals COMMAND's process group itself. */
		if (si.ssi_code == SI_KERNEL || si.ssi_signo == SIGCHLD)
			continue;
		sv->forwarded = si.ssi_signo;
		sandbox_forward(sb, si.ssi_signo);
	}
}

static void timer_serve(int fd, const struct run_options *opts,
			const struct sandbox *sb, struct supervision *sv)
{
	uint64_t expirations;

	if (read(fd, &expirations, sizeof(expirations)) < 0)
		return;
	if (sv->timed_out) {
		sandbox_kill(sb);
		return;
	}
	sv->timed_out = true;
	sandbox_forward(sb, SIGTERM);
	/* Without a second timer, no SIGKILL would follow: send it now. */
	if (opts->kill_after_ms && arm_timer(fd, opts->kill_after_ms))
		sandbox_kill(sb);
}

enum {
	POLL_INIT,
	POLL_SIGNALS,
	POLL_CONTROL,
	POLL_TIMER,
	POLL_COUNT
};

/* Serves COMMAND until the sandbox's init exits. */
static int supervise(struct run_state *st, const struct sandbox *sb,
		     int signal_fd, int control_fd, struct supervision *sv)
{
	struct pollfd pfd[POLL_COUNT] = {
		[POLL_INIT] = { .fd = sb->pidfd, .events = POLLIN },
		[POLL_SIGNALS] = { .fd = signal_fd, .events = POLLIN },
		[POLL_CONTROL] = { .fd = control_fd, .events = POLLIN },
		[POLL_TIMER] = { .fd = -1, .events = POLLIN },
	};
	bool control_open = true;
	int ret = 0;

	if (st->opts->timeout_ms) {
		pfd[POLL_TIMER].fd =
		    timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		ret = pfd[POLL_TIMER].fd < 0
			  ? -errno
			  : arm_timer(pfd[POLL_TIMER].fd, st->opts->timeout_ms);
		if (ret) {
			run_fail(st, ret, "cannot time COMMAND: %s",
				 strerror(-ret));
			sandbox_kill(sb);
		}
	}
	while (!(pfd[POLL_INIT].revents & POLLIN)) {
		pfd[POLL_CONTROL].fd = control_open ? control_fd : -1;
		if (poll(pfd, POLL_COUNT, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = run_fail(st, -errno, "poll: %s", strerror(errno));
			sandbox_kill(sb);
			break;
		}
		if (pfd[POLL_SIGNALS].revents)
			signal_serve(signal_fd, sb, sv);
		if (pfd[POLL_CONTROL].revents)
			control_serve(st, control_fd, &control_open, sv);
		if (pfd[POLL_TIMER].revents)
			timer_serve(pfd[POLL_TIMER].fd, st->opts, sb, sv);
	}
	if (pfd[POLL_TIMER].fd >= 0)
		close(pfd[POLL_TIMER].fd);
	while (waitpid(sb->pid, &sv->init_status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return ret;
}

static int command_exit_status(int wait_status)
{
	if (WIFEXITED(wait_status))
		return WEXITSTATUS(wait_status);
	return 128 + WTERMSIG(wait_status);
}

/* How COMMAND ended, for the error line of a set that did not complete. */
static void describe_end(char *buf, size_t size, int wait_status,
			 const struct run_options *opts,
			 const struct supervision *sv)
{
	int n = 0;

	if (sv->timed_out)
		n = snprintf(buf, size, "timed out (--timeout %s); ",
			     opts->timeout_text);
	else if (sv->forwarded)
		n = snprintf(buf, size, "run passed on SIG%s; ",
			     sigabbrev_np(sv->forwarded) ?: "a signal");
	if (WIFEXITED(wait_status))
		snprintf(buf + n, size - n, "COMMAND exited with status %d",
			 WEXITSTATUS(wait_status));
	else
		snprintf(
		    buf + n, size - n, "COMMAND was killed by signal %d (%s)",
		    WTERMSIG(wait_status), strsignal(WTERMSIG(wait_status)));
}

void run_set_label(const struct run_state *st, char *buf, size_t size)
{
	const char *name = st->opts->name ? st->opts->name : "";

	set_label(name, strlen(name), st->id, buf, size);
}

static int sandbox_failed(struct run_state *st, const struct sandbox_report *r,
			  const struct sandbox *sb, const char *set)
{
	module_abort(st->set_fd, NULL);
	if (r->stage == SANDBOX_MOUNT)
		return run_fail(st, EXIT_RUN_FAILED,
				"%s: cannot mount %s on %s: %s; aborted", set,
				sb->mounts[r->index].node,
				sb->mounts[r->index].dir, strerror(r->err));
	return run_fail(st, EXIT_RUN_FAILED,
			"%s: cannot set up COMMAND's namespaces: %s; aborted",
			set, strerror(r->err));
}

/* Completes or aborts the set as COMMAND's end says; the exit status. */
static int finish(struct run_state *st, const struct sandbox_report *r,
		  const struct sandbox *sb, const struct supervision *sv)
{
	int ws = r->wait_status, ret;
	char set[SET_LABEL_LEN], end[160];
	const struct run_dev *overflowed;
	bool completed;

	run_set_label(st, set, sizeof(set));
	if (r->stage == SANDBOX_MOUNT || r->stage == SANDBOX_SETUP)
		return sandbox_failed(st, r, sb, set);
	if (r->stage == SANDBOX_EXEC) {
		module_abort(st->set_fd, &ws);
		return run_fail(st, command_exit_status(ws),
				"%s: %s: %s; aborted", set, sb->command[0],
				r->err == ENOENT ? "command not found"
						 : "cannot execute");
	}
	completed = sv->completed ||
		    (WIFEXITED(ws) && st->opts->complete_on[WEXITSTATUS(ws)]);
	describe_end(end, sizeof(end), ws, st->opts, sv);
	run_step(st, "%s", end);
	overflowed =
	    completed && !sv->completed ? snapshot_overflowed(st) : NULL;
	if (overflowed) {
		module_abort(st->set_fd, &ws);
		return run_fail(st, EXIT_RUN_FAILED,
				"%s: %s: its COW space overflowed, so the "
				"snapshot is invalid; aborted",
				set, overflowed->label);
	}
	if (completed && !sv->completed) {
		ret = module_complete(st->set_fd);
		if (ret && ret != -EALREADY)
			return run_fail(st, EXIT_RUN_FAILED,
					"%s: cannot complete: %s", set,
					run_set_error(ret));
	}
	if (!completed) {
		module_abort(st->set_fd, &ws);
		run_fail(st, 0, "%s: %s; aborted", set, end);
		return command_exit_status(ws);
	}
	st->outcome = RUN_COMPLETED;
	run_step(st, "%s completed%s", set,
		 sv->completed ? " by snapset complete" : "");
	return command_exit_status(ws);
}

/* Runs COMMAND in its sandbox with the armed set; the exit status. */
static int run_command(struct run_state *st, struct sandbox *sb, int signal_fd)
{
	struct supervision sv = { 0 };
	struct sandbox_report report;
	int control[2], ret;
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, control))
		return run_fail(st, EXIT_RUN_FAILED, "control channel: %s",
				strerror(errno));
	sb->command = st->opts->command;
	sb->control_fd = control[1];
	sb->set_id = st->id_text;
	sb->set_name = st->opts->name ? st->opts->name : "";
	/* Unknown (no /proc): COMMAND finds snapset on its PATH or not. */
	n = readlink("/proc/self/exe", sb->program, sizeof(sb->program) - 1);
	sb->program[n > 0 ? n : 0] = '\0';
	ret = sandbox_start(sb);
	close(control[1]);
	if (ret) {
		close(control[0]);
		module_abort(st->set_fd, NULL);
		return run_fail(st, EXIT_RUN_FAILED,
				"cannot start COMMAND in new namespaces: %s",
				strerror(-ret));
	}
	run_step(st, "COMMAND started: %s (pid %d)", sb->command[0],
		 (int)sb->pid);
	ret = supervise(st, sb, signal_fd, control[0], &sv);
	close(control[0]);
	sandbox_result(sb, sv.init_status, &report);
	if (ret) {
		module_abort(st->set_fd, NULL);
		return EXIT_RUN_FAILED;
	}
	return finish(st, &report, sb, &sv);
}

/* A signal that came while the set was being made ends it unarmed. */
static int signal_pending(struct run_state *st)
{
	sigset_t pending, forwarded;

	sandbox_signals(&forwarded);
	sigpending(&pending);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGCHLD && sigismember(&forwarded, sig) &&
		    sigismember(&pending, sig))
			return run_fail(st, -EINTR,
					"interrupted by %s before COMMAND "
					"started",
					sigabbrev_np(sig));
	return 0;
}

/* An add or the arm found the set ended: whose doing, said once. */
static void set_deleted(struct run_state *st)
{
	char set[SET_LABEL_LEN];

	run_set_label(st, set, sizeof(set));
	run_fail(st, -ESHUTDOWN, "%s: %s before it was armed; COMMAND not run",
		 set, run_set_error(-ESHUTDOWN));
}

/* Creates, fills and arms the set; a set that fails here leaves nothing. */
static int set_up(struct run_state *st, struct sandbox *sb)
{
	int ret = module_create(st->set_fd, st->opts->name, st->id);

	if (ret)
		return run_fail(st, ret, "cannot create a set: %s",
				strerror(-ret));
	id_format(st->id, st->id_text);
	if (st->opts->verbose) {
		char set[SET_LABEL_LEN];

		run_set_label(st, set, sizeof(set));
		run_step(st, "%s created", set);
	}
	ret = freeze_begin(st);
	if (!ret)
		ret = freeze_end(st, lvm_snapshots_create(st));
	if (!ret)
		ret = devices_add(st);
	if (!ret)
		ret = mounts_resolve(st, sb);
	if (!ret)
		ret = signal_pending(st);
	/*
	 * The engines' release before arm: a kill between the two then
	 * releases the snapshots as a kill after arm would, where the other
	 * order left armed devices that nothing would ever release.
	 */
	if (!ret)
		ret = devices_arm_release(st);
	if (!ret) {
		ret = module_arm(st->set_fd);
		if (ret == -ENOSPC)
			run_fail(st, ret,
				 "cannot arm the set: the module holds "
				 "max_records unacknowledged shutdown records "
				 "(is the snapset daemon running?)");
		else if (ret)
			run_fail(st, ret, "cannot arm the set: %s",
				 strerror(-ret));
	}
	if (!ret) {
		/* From here, however run ends, the kernel ends the set. */
		st->outcome = RUN_ABORTED;
		run_step(st, "set armed: its devices now live as long as run");
	}
	if (ret == -ESHUTDOWN)
		set_deleted(st);
	if (ret) {
		/* Never armed: closing it leaves no record, nor a release. */
		devices_disarm_release(st);
		close(st->set_fd);
		st->set_fd = -1;
		lvm_remove_created(st);
	}
	return ret;
}

/* A daemon releases what run cannot: LVM snapshots after its SIGKILL. */
static int check_daemon(struct run_state *st)
{
	if (st->opts->require_daemon && !daemon_running())
		return run_fail(st, -ESRCH,
				"no snapset daemon is running "
				"(--require-daemon)");
	return 0;
}

/*
 * Once the set is armed, and only when it has LVM snapshots to lose:
 * before that, an error is the one line run prints.
 */
static void warn_no_daemon(const struct run_state *st)
{
	bool lvm = false;

	for (unsigned int i = 0; i < st->ndevs; i++)
		if (!st->devs[i].persistent &&
		    st->devs[i].engine.kind == ENGINE_LVM)
			lvm = true;
	if (lvm && !daemon_running())
		fputs("snapset run: warning: no snapset daemon is running: if "
		      "run is killed, its LVM snapshots stay until one "
		      "starts\n",
		      stderr);
}

/* From here on, signals wait for run to forward them: their fd. */
static int block_signals(struct run_state *st, sigset_t *old_mask)
{
	sigset_t signals;
	int fd;

	/*
	 * An ignored SIGCHLD, inherited, would have children reaped unseen:
	 * the init would never learn that COMMAND ended.
	 */
	signal(SIGCHLD, SIG_DFL);
	sandbox_signals(&signals);
	sigprocmask(SIG_BLOCK, &signals, old_mask);
	fd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return run_fail(st, -errno, "signalfd: %s", strerror(errno));
	return fd;
}

/*
 * Devices are opened anew through /proc/self/fd, and the sandbox reads
 * it: without /proc (a chroot, a minimal container) that fails later
 * as a device's "No such file or directory", so it is said first.
 */
static int proc_check(struct run_state *st)
{
	if (!access("/proc/self/fd", F_OK))
		return 0;
	return run_fail(st, -errno, "needs /proc mounted: /proc/self/fd: %s",
			strerror(errno));
}

static int run(struct run_state *st)
{
	struct sandbox sb = { .pidfd = -1, .status_fd = -1 };
	int signal_fd, status, ret;

	/*
	 * An lvcreate whose keeper is killed comes back to run, which waits
	 * for it (lvm.h). Only while the snapshots are made: a subreaper
	 * gets every orphan below it, none of which it would wait for.
	 */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		run_fail(st, -errno, "cannot be a child subreaper: %s",
			 strerror(errno));
		return EXIT_RUN_FAILED;
	}
	if (proc_check(st))
		return EXIT_RUN_FAILED;
	signal_fd = block_signals(st, &sb.command_mask);
	if (signal_fd < 0)
		return EXIT_RUN_FAILED;
	st->set_fd = module_open();
	if (st->set_fd < 0) {
		run_fail(st, st->set_fd, "%s: %s", SNAPSET_DEV_PATH,
			 cli_open_cause(st->set_fd));
		return EXIT_RUN_FAILED;
	}
	ret = check_daemon(st);
	if (!ret)
		ret = freeze_open(st);
	if (!ret)
		ret = devices_resolve(st);
	if (!ret)
		ret = lvm_origins_check(st);
	if (!ret)
		ret = set_up(st, &sb);
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	freeze_close(st);
	devices_close(st);
	if (ret)
		return EXIT_RUN_FAILED;
	warn_no_daemon(st);
	status = run_command(st, &sb, signal_fd);
	run_summary_collect(st);
	close(st->set_fd);
	run_step(st, "set closed: the kernel released its devices");
	/* The set has ended: no device is held by it any more. */
	if (!daemon_running() && lvm_release(st))
		status = EXIT_RUN_FAILED;
	return status;
}

int run_main(int argc, char **argv)
{
	struct run_options opts;
	struct run_state st = { .opts = &opts, .set_fd = -1 };
	int status;

	if (!run_parse_args(argc, argv, &opts, &status))
		return status;
	clock_gettime(CLOCK_MONOTONIC, &st.started);
	status = run(&st);
	if (st.error[0])
		fprintf(stderr, "snapset run: %s\n", st.error);
	st.exit_status = status;
	run_summary_print(&st);
	return status;
}
