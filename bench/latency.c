// SPDX-License-Identifier: GPL-2.0
/*
 * How soon the news of a killed backup arrives, against the kernel's own
 * news of a death, in the same boot.
 *
 * Every series is the same trial, repeated: a victim process is made,
 * a waiter process is made ready for it and seen asleep, the victim is
 * SIGKILLed (or, for the pipe, a byte is written) and the waiter notes
 * when it woke with the news. What differs is what the waiter sleeps on:
 *
 *   pipe     a pipe's read end: the cost of one wakeup, the floor;
 *   pidfd    poll() on the victim's pidfd: the kernel's own death notice;
 *   agent    poll() on /dev/snapset as the agent, then the record read:
 *            the module's part (the victim owns an armed set);
 *   chain    a libsnapset writer, BackupShutdown in hand: module, daemon
 *            and writer socket (a daemon must be running); and as
 *            chain-readable, when the writer's socket had the event,
 *            before libsnapset read and parsed it;
 *   poll-Ns  a loop that looks at the victim every N seconds, as scripts
 *            watching a backup's pid do today; the kill comes at a
 *            random moment of its interval (seeded with --seed).
 *
 * Each series prints one JSON object per line: its name, its trials and
 * p50, p99 and max in microseconds. bench/report compares them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <snapset/writer.h>

#include "../userspace/common/module.h"
#include "common.h"

enum wait_kind {
	WAIT_PIPE,
	WAIT_PIDFD,
	WAIT_AGENT,
	WAIT_CHAIN,
	WAIT_POLL
};

struct series {
	const char *name;
	enum wait_kind kind;
	long interval_ms; /* WAIT_POLL */
	unsigned int trials;
};

/* What the waiter tells the process that times it. */
struct shared {
	_Atomic long long woke_ns;
	/* chain: when the writer's socket had the event, before its parse */
	_Atomic long long readable_ns;
};

/* The waiter's end of the trial's pipes, and what it sleeps on. */
struct waiter {
	enum wait_kind kind;
	long interval_ms;
	int victim_in;		       /* the next victim's pid, 0 to stop */
	int ready_out;		       /* one byte: about to sleep */
	int done_out;		       /* one byte: woke_ns is set */
	int wake_in;		       /* WAIT_PIPE: the byte that wakes it */
	int agent_fd;		       /* WAIT_AGENT */
	struct snapset_writer *writer; /* WAIT_CHAIN */
	struct shared *shared;
};

/* Blocks until @fd is readable; -errno. */
static int wait_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (poll(&pfd, 1, -1) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* The agent's news: the record read, then acknowledged. */
static int agent_wake(int agent_fd)
{
	static char buf[64 * 1024];
	const struct snapset_event *ev;
	size_t off = 0;
	ssize_t n;
	int ret = wait_readable(agent_fd);

	if (ret)
		return ret;
	n = read(agent_fd, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	while ((ev = record_next(buf, n, &off)))
		module_ack(agent_fd, ev->set.id);
	return 0;
}

/* When the writer had BackupShutdown in hand, parsed: 0 until then. */
static void note_shutdown(struct snapset_writer *w,
			  const struct snapset_writer_event *event, void *arg)
{
	long long *in_hand = arg;

	if (event->kind == SNAPSET_WRITER_BACKUP_SHUTDOWN)
		*in_hand = now_ns();
	snapset_writer_ack(w, event, 0, NULL);
}

/*
 * The writer's news: BackupShutdown in hand (armed sets tell more); when
 * its socket became readable with it, for the part libsnapset takes.
 */
static int chain_wake(struct waiter *wt, long long *woke)
{
	int ret;

	*woke = 0;
	while (!*woke) {
		ret = wait_readable(snapset_writer_fd(wt->writer));
		atomic_store(&wt->shared->readable_ns, now_ns());
		if (!ret)
			ret = snapset_writer_dispatch(wt->writer, note_shutdown,
						      woke);
		if (ret)
			return ret;
	}
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Whether @pid is dead: gone, or a zombie its parent has not reaped. */
static bool victim_dead(pid_t pid)
{
	char state = process_state(pid);

	return !state || state == 'Z';
}

static int poll_wake(pid_t victim, long interval_ms, long long *woke)
{
	do
		sleep_ms(interval_ms);
	while (!victim_dead(victim));
	*woke = now_ns();
	return 0;
}

/*
 * What the waiter sleeps on is ready before it says so: a pidfd opened
 * after the kill would find the victim dead already.
 */
static int waiter_prepare(struct waiter *wt, pid_t victim, int *pidfd)
{
	*pidfd = -1;
	if (wt->kind != WAIT_PIDFD)
		return 0;
	*pidfd = syscall(SYS_pidfd_open, victim, 0);
	return *pidfd < 0 ? -errno : 0;
}

static int waiter_wake(struct waiter *wt, pid_t victim, int pidfd)
{
	long long woke = 0;
	char byte;
	int ret;

	switch (wt->kind) {
	case WAIT_PIPE:
		ret = wait_readable(wt->wake_in);
		woke = now_ns();
		if (!ret && read(wt->wake_in, &byte, 1) != 1)
			ret = -EIO;
		break;
	case WAIT_PIDFD:
		ret = wait_readable(pidfd);
		woke = now_ns();
		break;
	case WAIT_AGENT:
		ret = agent_wake(wt->agent_fd);
		woke = now_ns();
		break;
	case WAIT_CHAIN:
		ret = chain_wake(wt, &woke);
		break;
	default:
		ret = poll_wake(victim, wt->interval_ms, &woke);
		break;
	}
	atomic_store(&wt->shared->woke_ns, woke);
	return ret;
}

/* The waiter's life: one wake per victim, until a victim of 0. */
static void __attribute__((noreturn)) waiter_run(struct waiter *wt)
{
	pid_t victim;
	int pidfd, ret;

	while (read(wt->victim_in, &victim, sizeof(victim)) == sizeof(victim) &&
	       victim) {
		ret = waiter_prepare(wt, victim, &pidfd);
		if (!ret && write(wt->ready_out, "r", 1) != 1)
			ret = -EPIPE;
		if (!ret)
			ret = waiter_wake(wt, victim, pidfd);
		if (pidfd >= 0)
			close(pidfd);
		if (ret)
			die("waiter", -ret);
		if (write(wt->done_out, "d", 1) != 1)
			_exit(1);
	}
	_exit(0);
}

/*
 * Until @pid sleeps, and for the chain until the daemon has acknowledged
 * every record and sleeps too: a trial starts from rest, not from the
 * tail of the one before.
 */
static void wait_asleep(pid_t pid, enum wait_kind kind)
{
	struct timespec tick = { 0, 200000 };
	pid_t daemon = kind == WAIT_CHAIN ? (pid_t)sysfs_number("agent") : 0;
	long long deadline = now_ns() + 10 * 1000000000LL;

	while (process_state(pid) != 'S' ||
	       (daemon &&
		(sysfs_number("pending") || process_state(daemon) != 'S'))) {
		if (now_ns() > deadline) {
			fprintf(stderr,
				"bench latency: no rest in 10 s: waiter %d "
				"state %c, daemon %d, %u records pending\n",
				pid, process_state(pid) ?: '-', daemon,
				sysfs_number("pending"));
			exit(1);
		}
		nanosleep(&tick, NULL);
	}
}

struct trial_pipes {
	int victim[2]; /* to the waiter: the next victim */
	int ready[2];
	int done[2];
	int wake[2]; /* WAIT_PIPE */
};

/* The waiter's own setup, in the waiter: the agent, or the writer. */
static void waiter_setup(struct waiter *wt, const char *socket)
{
	int ret = 0;

	if (wt->kind == WAIT_AGENT) {
		wt->agent_fd = module_open();
		ret = wt->agent_fd < 0
			  ? wt->agent_fd
			  : module_subscribe(wt->agent_fd,
					     SNAPSET_SUBSCRIBE_AGENT);
		if (ret)
			die("agent (is a daemon running?)", -ret);
	} else if (wt->kind == WAIT_CHAIN) {
		ret =
		    snapset_writer_connect(socket, "bench", NULL, &wt->writer);
		if (ret)
			die("writer (is the daemon running?)", -ret);
	}
}

static pid_t waiter_start(const struct series *s, struct trial_pipes *p,
			  struct shared *shared, const char *socket)
{
	struct waiter wt = {
		.kind = s->kind,
		.interval_ms = s->interval_ms,
		.victim_in = p->victim[0],
		.ready_out = p->ready[1],
		.done_out = p->done[1],
		.wake_in = p->wake[0],
		.shared = shared,
	};
	pid_t pid = fork();

	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		close(p->victim[1]);
		close(p->ready[0]);
		close(p->done[0]);
		close(p->wake[1]);
		waiter_setup(&wt, socket);
		waiter_run(&wt);
	}
	/* A waiter that dies is an end of file here, not a hang. */
	close(p->victim[0]);
	close(p->ready[1]);
	close(p->done[1]);
	close(p->wake[0]);
	return pid;
}

/*
 * One trial: the time from the kill (or the write) to the waiter's wake;
 * for the chain, to its socket's readiness in *@readable too.
 */
static long long trial(const struct series *s, const struct trial_pipes *p,
		       pid_t waiter, struct shared *shared, long long *readable)
{
	pid_t victim =
	    s->kind == WAIT_PIPE
		? getpid()
		: victim_start(s->kind == WAIT_AGENT || s->kind == WAIT_CHAIN);
	long long sent;
	char byte;

	if (write(p->victim[1], &victim, sizeof(victim)) != sizeof(victim) ||
	    read(p->ready[0], &byte, 1) != 1)
		die("waiter", EPIPE);
	wait_asleep(waiter, s->kind);
	/*
	 * A backup dies at any moment of a poller's interval: not always
	 * right after it looked, which would be its worst case.
	 */
	if (s->kind == WAIT_POLL)
		sleep_ms(random() % s->interval_ms);
	sent = now_ns();
	if (s->kind == WAIT_PIPE ? write(p->wake[1], "w", 1) != 1
				 : kill(victim, SIGKILL))
		die("wake", errno);
	if (read(p->done[0], &byte, 1) != 1)
		die("waiter", EPIPE);
	if (victim != getpid())
		waitpid(victim, NULL, 0);
	*readable = atomic_load(&shared->readable_ns) - sent;
	return atomic_load(&shared->woke_ns) - sent;
}

static void series_run(const struct series *s, struct shared *shared,
		       const char *socket)
{
	struct trial_pipes p;
	long long *ns = calloc(s->trials, sizeof(*ns));
	long long *readable = calloc(s->trials, sizeof(*readable));
	pid_t waiter, stop = 0;

	if (!ns || !readable)
		die("calloc", ENOMEM);
	if (pipe2(p.victim, O_CLOEXEC) || pipe2(p.ready, O_CLOEXEC) ||
	    pipe2(p.done, O_CLOEXEC) || pipe2(p.wake, O_CLOEXEC))
		die("pipe", errno);
	waiter = waiter_start(s, &p, shared, socket);
	/* The first trial warms up (and waits out a daemon's settling). */
	trial(s, &p, waiter, shared, readable);
	for (unsigned int i = 0; i < s->trials; i++)
		ns[i] = trial(s, &p, waiter, shared, &readable[i]);
	if (write(p.victim[1], &stop, sizeof(stop)) != sizeof(stop))
		die("waiter", EPIPE);
	waitpid(waiter, NULL, 0);
	close(p.victim[1]);
	close(p.ready[0]);
	close(p.done[0]);
	close(p.wake[1]);
	series_print(s->name, s->trials, ns);
	if (s->kind == WAIT_CHAIN)
		series_print("chain-readable", s->trials, readable);
	free(ns);
	free(readable);
}

static struct series all_series[] = {
	{ "pipe", WAIT_PIPE, 0, 0 },	   { "pidfd", WAIT_PIDFD, 0, 0 },
	{ "agent", WAIT_AGENT, 0, 0 },	   { "chain", WAIT_CHAIN, 0, 0 },
	{ "poll-1s", WAIT_POLL, 1000, 0 }, { "poll-5s", WAIT_POLL, 5000, 0 },
};

static struct series *series_find(const char *name)
{
	for (size_t i = 0; i < sizeof(all_series) / sizeof(all_series[0]); i++)
		if (!strcmp(all_series[i].name, name))
			return &all_series[i];
	return NULL;
}

static void __attribute__((noreturn)) usage(int status)
{
	fputs("Usage: latency [--trials N] [--poll-trials N] [--socket PATH] "
	      "[--seed N] SERIES...\n"
	      "SERIES: pipe pidfd agent (no daemon running) chain (a daemon "
	      "running) poll-1s poll-5s\n",
	      status ? stderr : stdout);
	exit(status);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "trials", required_argument, NULL, 't' },
		{ "poll-trials", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned int trials = 1000, poll_trials = 5;
	const char *socket = NULL;
	struct shared *shared;
	struct series *s;
	int opt;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == 't')
			trials = strtoul(optarg, NULL, 10);
		else if (opt == 'p')
			poll_trials = strtoul(optarg, NULL, 10);
		else if (opt == 's')
			socket = optarg;
		else if (opt == 'r')
			srandom(strtoul(optarg, NULL, 10));
		else
			usage(opt == 'h' ? 0 : 2);
	}
	if (optind == argc || !trials || !poll_trials)
		usage(2);
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		die("mmap", errno);
	for (int i = optind; i < argc; i++) {
		s = series_find(argv[i]);
		if (!s) {
			fprintf(stderr, "bench latency: %s: no such series\n",
				argv[i]);
			usage(2);
		}
		s->trials = s->kind == WAIT_POLL ? poll_trials : trials;
		series_run(s, shared, socket);
	}
	return 0;
}
