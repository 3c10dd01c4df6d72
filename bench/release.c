// SPDX-License-Identifier: GPL-2.0
/*
 * How soon a killed backup's LVM snapshot is gone, against an lvremove
 * run by hand right after a kill, in the same boot. The trials of the
 * two series alternate, on the same origin LV:
 *
 *   release   `snapset run --lvm-snapshot VG/LV:SIZE -- COMMAND` is
 *             SIGKILLed while COMMAND runs; the daemon (running, with
 *             the same LVM environment) removes the snapshot;
 *   lvremove  a snapshot of the same size is made with lvcreate, a
 *             process is SIGKILLed, and this program, which polls its
 *             pidfd, runs `lvm lvremove -y VG/SNAPSHOT` itself.
 *
 * Each is timed from the kill to the snapshot's device-mapper node
 * leaving /dev/mapper, seen through inotify (lvm runs without udev:
 * libdevmapper unlinks the node itself); lvs then confirms, once after
 * the trials, that the VG lists no snapshot (a baseline snapshot still
 * there would also fail the next lvcreate of its name). Prints one JSON object
 * per series: its name, trials, and p50, p99 and max in microseconds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define MAPPER "/dev/mapper"
#define STEP_TIMEOUT_MS (120 * 1000)
#define BASELINE_LV "bench-release-snap"

struct bench {
	const char *snapset; /* the program */
	const char *vg, *origin, *size;
	char fifo[64]; /* COMMAND says it runs, and its pid, here */
};

/* Starts @argv with its stdout on /dev/null; its pid. */
static pid_t spawn(const char *const argv[])
{
	pid_t pid = fork();
	int null;

	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		dup2(null, 1);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Runs @argv to its end; its exit status, or -1. */
static int run(const char *const argv[])
{
	int status;

	if (waitpid(spawn(argv), &status, 0) < 0)
		die("waitpid", errno);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Appends @name to @out at @o, its dashes doubled; the new end. */
static size_t dm_escape(const char *name, char *out, size_t o, size_t size)
{
	for (; *name && o + 3 < size; name++) {
		if (*name == '-')
			out[o++] = '-';
		out[o++] = *name;
	}
	out[o] = '\0';
	return o;
}

/* "VG-LV" as device-mapper names an LV: their dashes doubled. */
static void dm_name(const char *vg, const char *lv, char *out, size_t size)
{
	size_t o = dm_escape(vg, out, 0, size);

	out[o++] = '-';
	dm_escape(lv, out, o, size);
}

/*
 * How many LVs besides the origin lvs lists in the VG: none once the
 * trials are over (each waited for its snapshot's node to go; this says
 * that LVM agrees, with one lvs for the lot).
 */
static unsigned int snapshots_left(const struct bench *b)
{
	char cmd[256], line[256], *name;
	unsigned int left = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "lvm lvs --noheadings -o lv_name %s", b->vg);
	p = popen(cmd, "re");
	if (!p)
		die("lvs", errno);
	while (fgets(line, sizeof(line), p)) {
		name = strtok(line, " \n");
		if (name && strcmp(name, b->origin)) {
			fprintf(stderr, "bench release: %s/%s is left\n", b->vg,
				name);
			left++;
		}
	}
	if (pclose(p))
		die("lvs failed", EIO);
	return left;
}

/* Watches /dev/mapper for unlinked nodes; the inotify fd. */
static int mapper_watch(void)
{
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

	if (fd < 0 || inotify_add_watch(fd, MAPPER, IN_DELETE) < 0)
		die("inotify on " MAPPER, errno);
	return fd;
}

/* Until /dev/mapper/@node is unlinked: when, seen from here. */
static long long wait_node_gone(int watch, const char *node)
{
	char buf[4096] __attribute__((aligned(8)));
	struct pollfd pfd = { .fd = watch, .events = POLLIN };
	const struct inotify_event *ev;
	ssize_t n;

	for (;;) {
		n = poll(&pfd, 1, STEP_TIMEOUT_MS);
		if (n == 0)
			die(node, ETIMEDOUT);
		n = n < 0 ? -1 : read(watch, buf, sizeof(buf));
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			die("inotify", errno);
		for (ssize_t off = 0; off < n; off += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			if (ev->len && !strcmp(ev->name, node))
				return now_ns();
		}
	}
}

/* Until @fd is readable; dies if @abort_fd is first (a pidfd: run died). */
static void wait_readable(int fd, int abort_fd, const char *what)
{
	struct pollfd pfd[] = { { .fd = fd, .events = POLLIN },
				{ .fd = abort_fd, .events = POLLIN } };
	int n;

	while ((n = poll(pfd, abort_fd < 0 ? 1 : 2, STEP_TIMEOUT_MS)) < 0 &&
	       errno == EINTR)
		;
	if (n <= 0)
		die(what, n ? errno : ETIMEDOUT);
	if (!pfd[0].revents)
		die(what, ECHILD);
}

static int pidfd_of(pid_t pid)
{
	int fd = syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0)
		die("pidfd_open", errno);
	return fd;
}

/*
 * The node of the snapshot run made of the origin, named after the set
 * ("ORIGIN-snapset-XXXXXXXX"): the only one, trials never overlap.
 */
static void run_snapshot(const struct bench *b, char node[256])
{
	char lv[160], prefix[256];
	struct dirent *e;
	size_t len;
	DIR *dir;

	snprintf(lv, sizeof(lv), "%s-snapset-", b->origin);
	dm_name(b->vg, lv, prefix, sizeof(prefix));
	len = strlen(prefix);
	dir = opendir(MAPPER);
	if (!dir)
		die(MAPPER, errno);
	while ((e = readdir(dir)))
		if (!strncmp(e->d_name, prefix, len) &&
		    !strchr(e->d_name + len, '-'))
			break;
	if (!e)
		die("run made no snapshot in " MAPPER, ENOENT);
	snprintf(node, 256, "%s", e->d_name);
	closedir(dir);
}

/* Kill to gone, through the daemon: run killed while COMMAND runs. */
static long long release_trial(const struct bench *b)
{
	static const char script[] = "echo $$ > \"$1\"; exec sleep 1000";
	char spec[256], node[256], line[32] = "";
	const char *argv[] = { b->snapset, "run",  "--lvm-snapshot",
			       spec,	   "--",   "sh",
			       "-c",	   script, "sh",
			       b->fifo,	   NULL };
	int fifo, pidfd, watch;
	long long sent, gone;
	pid_t pid;

	snprintf(spec, sizeof(spec), "%s/%s:%s", b->vg, b->origin, b->size);
	fifo = open(b->fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fifo < 0)
		die(b->fifo, errno);
	pid = spawn(argv);
	pidfd = pidfd_of(pid);
	wait_readable(fifo, pidfd, "snapset run's COMMAND");
	if (read(fifo, line, sizeof(line) - 1) <= 0)
		die("snapset run's COMMAND", EIO);
	run_snapshot(b, node);
	watch = mapper_watch();
	sent = now_ns();
	if (kill(pid, SIGKILL))
		die("kill", errno);
	gone = wait_node_gone(watch, node);
	waitpid(pid, NULL, 0);
	kill(atoi(line), SIGKILL);
	close(watch);
	close(pidfd);
	close(fifo);
	return gone - sent;
}

/* Kill to gone by hand: the death seen through a pidfd, then lvremove. */
static long long lvremove_trial(const struct bench *b)
{
	char target[256], node[256];
	const char *create[] = {
		"lvm",	 "lvcreate", "-y",	  "-s",	  "-L",
		b->size, "-n",	     BASELINE_LV, target, NULL
	};
	const char *remove[] = { "lvm", "lvremove", "-y", target, NULL };
	long long sent, gone;
	int pidfd, watch, status;
	pid_t victim, lvremove;

	snprintf(target, sizeof(target), "%s/%s", b->vg, b->origin);
	if (run(create))
		die("lvcreate", EIO);
	snprintf(target, sizeof(target), "%s/%s", b->vg, BASELINE_LV);
	dm_name(b->vg, BASELINE_LV, node, sizeof(node));
	victim = fork();
	if (victim < 0)
		die("fork", errno);
	if (victim == 0)
		for (;;)
			pause();
	pidfd = pidfd_of(victim);
	watch = mapper_watch();
	sent = now_ns();
	kill(victim, SIGKILL);
	wait_readable(pidfd, -1, "the killed process");
	lvremove = spawn(remove);
	gone = wait_node_gone(watch, node);
	if (waitpid(lvremove, &status, 0) < 0 || status)
		die("lvremove", EIO);
	waitpid(victim, NULL, 0);
	close(watch);
	close(pidfd);
	return gone - sent;
}

static void __attribute__((noreturn)) usage(int status)
{
	fputs("Usage: release [--trials N] --snapset PROGRAM VG/LV:SIZE\n"
	      "(a daemon running; lvm's environment as the daemon's)\n",
	      status ? stderr : stdout);
	exit(status);
}

static void bench_parse(struct bench *b, char *spec)
{
	char *slash = strchr(spec, '/'), *colon = strrchr(spec, ':');

	if (!slash || !colon || colon < slash)
		usage(2);
	*slash = *colon = '\0';
	b->vg = spec;
	b->origin = slash + 1;
	b->size = colon + 1;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "trials", required_argument, NULL, 't' },
		{ "snapset", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct bench b = { 0 };
	unsigned int trials = 50;
	long long *release, *lvremove;
	int opt;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == 't')
			trials = strtoul(optarg, NULL, 10);
		else if (opt == 's')
			b.snapset = optarg;
		else
			usage(opt == 'h' ? 0 : 2);
	}
	if (optind != argc - 1 || !trials || !b.snapset)
		usage(2);
	bench_parse(&b, argv[optind]);
	release = calloc(trials, sizeof(*release));
	lvremove = calloc(trials, sizeof(*lvremove));
	if (!release || !lvremove)
		die("calloc", ENOMEM);
	snprintf(b.fifo, sizeof(b.fifo), "/tmp/bench-release-%d", getpid());
	if (mkfifo(b.fifo, 0600))
		die(b.fifo, errno);
	/* Alternated, so that a slow spell of the machine hits both. */
	for (unsigned int i = 0; i < trials; i++) {
		release[i] = release_trial(&b);
		lvremove[i] = lvremove_trial(&b);
	}
	unlink(b.fifo);
	if (snapshots_left(&b))
		die("snapshots left in the VG", EEXIST);
	series_print("release", trials, release);
	series_print("lvremove", trials, lvremove);
	return 0;
}
