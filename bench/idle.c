// SPDX-License-Identifier: GPL-2.0
/*
 * What the daemon costs while nothing happens: it is given writers to
 * hold (this process connects them with libsnapset), is seen at rest,
 * and is then watched for a window of idle time. Over the window: how
 * often its threads ran (their schedstat run counts, and their context
 * switches), how many system calls they entered (a perf counter on the
 * raw_syscalls:sys_enter tracepoint per thread), and at its end its
 * resident memory and whether it has io_uring worker threads.
 *
 * Prints one JSON object, "series": "idle"; bench/report compares it
 * with its targets (none of these has a baseline: 0 is the target).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <snapset/writer.h>

#define MAX_TASKS 64
#define REST_TIMEOUT_S 10

/* One thread of the daemon, at the window's start. */
struct task {
	pid_t tid;
	unsigned long long runs;     /* schedstat: times it ran on a CPU */
	unsigned long long switches; /* voluntary + involuntary */
	int syscalls_fd;	     /* its perf counter */
};

struct daemon_tasks {
	pid_t pid;
	unsigned int count;
	struct task task[MAX_TASKS];
};

static void __attribute__((noreturn)) die(const char *what, int err)
{
	fprintf(stderr, "bench idle: %s: %s\n", what, strerror(err));
	exit(1);
}

/* /proc/@pid/task/@tid/@name into @buf: the bytes read, or -errno. */
static ssize_t task_read(pid_t pid, pid_t tid, const char *name, char *buf,
			 size_t size)
{
	char path[96];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", pid, tid, name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

/* The value of "@key:" in /proc/@pid/task/@tid/status, or 0. */
static unsigned long long status_field(pid_t pid, pid_t tid, const char *key)
{
	char status[4096], *line;

	if (task_read(pid, tid, "status", status, sizeof(status)) <= 0)
		return 0;
	for (line = status; line; line = strchr(line, '\n')) {
		line += *line == '\n';
		if (!strncmp(line, key, strlen(key)) &&
		    line[strlen(key)] == ':')
			return strtoull(line + strlen(key) + 1, NULL, 10);
	}
	return 0;
}

/* The thread's state letter ('S': asleep), or 0 when it is gone. */
static char task_state(pid_t pid, pid_t tid)
{
	char stat[1024], *end;

	if (task_read(pid, tid, "stat", stat, sizeof(stat)) <= 0)
		return 0;
	end = strrchr(stat, ')');
	return end && end[1] == ' ' ? end[2] : 0;
}

static void task_sample(pid_t pid, struct task *t)
{
	char schedstat[128];

	t->runs = 0;
	if (task_read(pid, t->tid, "schedstat", schedstat, sizeof(schedstat)) >
	    0)
		sscanf(schedstat, "%*u %*u %llu", &t->runs);
	t->switches = status_field(pid, t->tid, "voluntary_ctxt_switches") +
		      status_field(pid, t->tid, "nonvoluntary_ctxt_switches");
}

/* The daemon's threads now; those named iou-wrk* counted in *@io_workers. */
static void tasks_list(struct daemon_tasks *dt, unsigned int *io_workers)
{
	char path[64], comm[32];
	struct dirent *e;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", dt->pid);
	dir = opendir(path);
	if (!dir)
		die("the daemon's threads", errno);
	dt->count = 0;
	*io_workers = 0;
	while ((e = readdir(dir)) && dt->count < MAX_TASKS) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		dt->task[dt->count] =
		    (struct task){ .tid = atoi(e->d_name), .syscalls_fd = -1 };
		if (task_read(dt->pid, dt->task[dt->count].tid, "comm", comm,
			      sizeof(comm)) > 0 &&
		    !strncmp(comm, "iou-wrk", 7))
			(*io_workers)++;
		dt->count++;
	}
	if (e)
		die("the daemon's threads: more than counted", E2BIG);
	closedir(dir);
}

/* Every thread asleep, and none with a child (lvs at start, lvremove). */
static bool at_rest(const struct daemon_tasks *dt)
{
	char children[64];

	for (unsigned int i = 0; i < dt->count; i++)
		/* Its children file is empty when it has none. */
		if (task_state(dt->pid, dt->task[i].tid) != 'S' ||
		    task_read(dt->pid, dt->task[i].tid, "children", children,
			      sizeof(children)) != 0)
			return false;
	return dt->count > 0;
}

/*
 * Until the daemon rests: it has done with the writers' hellos (they
 * were answered) and with its start (its look for lost sets' LVs).
 */
static void wait_at_rest(struct daemon_tasks *dt)
{
	struct timespec tick = { 0, 1000000 }, start, now;
	unsigned int io_workers;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		tasks_list(dt, &io_workers);
		if (at_rest(dt))
			return;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > REST_TIMEOUT_S)
			die("the daemon never rested", ETIMEDOUT);
		nanosleep(&tick, NULL);
	}
}

/* The tracepoint's id, from tracefs wherever it is mounted; -errno. */
static int sys_enter_id(void)
{
	static const char *const paths[] = {
		"/sys/kernel/tracing/events/raw_syscalls/sys_enter/id",
		"/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id",
	};
	int id = -ENOENT;
	FILE *f;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]) && id < 0;
	     i++) {
		f = fopen(paths[i], "re");
		if (f && fscanf(f, "%d", &id) != 1)
			id = -EIO;
		if (f)
			fclose(f);
	}
	return id;
}

/* A counter of the thread's system calls, from now on; -errno. */
static int syscalls_counter(pid_t tid, int tracepoint)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.config = tracepoint,
		.exclude_kernel = 0,
	};
	int fd = syscall(SYS_perf_event_open, &attr, tid, -1, -1,
			 PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Samples every thread and starts counting its system calls. */
static void window_open(struct daemon_tasks *dt)
{
	int tracepoint = sys_enter_id();

	if (tracepoint < 0)
		die("raw_syscalls:sys_enter (is tracefs mounted?)",
		    -tracepoint);
	for (unsigned int i = 0; i < dt->count; i++) {
		dt->task[i].syscalls_fd =
		    syscalls_counter(dt->task[i].tid, tracepoint);
		if (dt->task[i].syscalls_fd < 0)
			die("perf_event_open", -dt->task[i].syscalls_fd);
		task_sample(dt->pid, &dt->task[i]);
	}
}

struct idle_figures {
	unsigned long long wakeups, switches, syscalls, rss_kib;
	unsigned int threads, io_workers;
};

static const struct task *task_find(const struct daemon_tasks *dt, pid_t tid)
{
	for (unsigned int i = 0; i < dt->count; i++)
		if (dt->task[i].tid == tid)
			return &dt->task[i];
	return NULL;
}

/*
 * What the threads did since window_open(): a thread born meanwhile ran
 * (its whole count), one that ended ran to end (one, at least).
 */
static void window_close(const struct daemon_tasks *before,
			 struct idle_figures *f)
{
	struct daemon_tasks after = { .pid = before->pid };
	const struct task *was;
	unsigned long long count;

	tasks_list(&after, &f->io_workers);
	for (unsigned int i = 0; i < after.count; i++) {
		task_sample(after.pid, &after.task[i]);
		was = task_find(before, after.task[i].tid);
		f->wakeups += after.task[i].runs - (was ? was->runs : 0);
		f->switches +=
		    after.task[i].switches - (was ? was->switches : 0);
	}
	for (unsigned int i = 0; i < before->count; i++) {
		if (!task_find(&after, before->task[i].tid))
			f->wakeups++;
		if (read(before->task[i].syscalls_fd, &count, sizeof(count)) ==
		    sizeof(count))
			f->syscalls += count;
		close(before->task[i].syscalls_fd);
	}
	f->threads = after.count;
	f->rss_kib = status_field(after.pid, after.pid, "VmRSS");
}

/* @n writers, connected and registered (the daemon answered each). */
static void writers_connect(const char *socket, unsigned int n,
			    struct snapset_writer **w)
{
	char name[32];
	int ret;

	for (unsigned int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "idle-%u", i);
		ret = snapset_writer_connect(socket, name, NULL, &w[i]);
		if (ret)
			die("writer (is the daemon running?)", -ret);
	}
}

static void __attribute__((noreturn)) usage(int status)
{
	fputs("Usage: idle --pid DAEMON --socket PATH [--writers N] "
	      "[--seconds S]\n",
	      status ? stderr : stdout);
	exit(status);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' },
		{ "writers", required_argument, NULL, 'w' },
		{ "seconds", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct daemon_tasks tasks = { 0 };
	struct snapset_writer *writers[256];
	unsigned int nwriters = 10, seconds = 10;
	struct idle_figures f = { 0 };
	const char *socket = NULL;
	struct timespec window;
	int opt;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == 'p')
			tasks.pid = atoi(optarg);
		else if (opt == 's')
			socket = optarg;
		else if (opt == 'w')
			nwriters = strtoul(optarg, NULL, 10);
		else if (opt == 't')
			seconds = strtoul(optarg, NULL, 10);
		else
			usage(opt == 'h' ? 0 : 2);
	}
	if (tasks.pid <= 0 || !socket || !seconds ||
	    nwriters > sizeof(writers) / sizeof(writers[0]))
		usage(2);
	writers_connect(socket, nwriters, writers);
	wait_at_rest(&tasks);
	window_open(&tasks);
	window = (struct timespec){ .tv_sec = seconds };
	while (nanosleep(&window, &window) && errno == EINTR)
		;
	window_close(&tasks, &f);
	printf("{\"series\": \"idle\", \"writers\": %u, \"seconds\": %u, "
	       "\"wakeups\": %llu, \"context_switches\": %llu, "
	       "\"syscalls\": %llu, \"rss_kib\": %llu, \"threads\": %u, "
	       "\"iou_wrk_threads\": %u}\n",
	       nwriters, seconds, f.wakeups, f.switches, f.syscalls, f.rss_kib,
	       f.threads, f.io_workers);
	for (unsigned int i = 0; i < nwriters; i++)
		snapset_writer_close(writers[i]);
	return 0;
}
