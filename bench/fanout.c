// SPDX-License-Identifier: GPL-2.0
/*
 * Fan-out: one shutdown told to N connected writers, by the daemon and
 * by a reference notifier (bench/fanout_ref.c: epoll on the victim's
 * pidfd, then send() and recv() per writer), in the same boot.
 *
 * This process holds the N writers' connections and polls them all with
 * epoll, acknowledging each event as it reads it. A trial: a victim that
 * owns an armed set is made, the notifier is seen at rest, the victim is
 * SIGKILLed, and the times from the kill to the first and to the last
 * writer holding its event are noted. Then, in a separate pass under
 * `perf stat -e raw_syscalls:sys_enter -p NOTIFIER`, a fixed number of
 * shutdowns: the notifier's system calls, less those of as many
 * shutdowns with no writer, per writer notified.
 *
 * One JSON object per line and number of writers, for the daemon
 * ("fanout-N") and the reference ("fanout-ref-N"): p50, p99 and max of
 * the time to the last writer, the first writer's p50 and p99, and the
 * system calls per writer. bench/report compares them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "fanout.h"

/* Who tells the writers: the daemon, or a reference child of ours. */
struct notifier {
	pid_t pid;
	pid_t daemon;	/* the module's agent, at rest between trials */
	int victim_out; /* the reference's: its next victim */
	int ready_in;	/* the reference's: 'r', then 'd' */
};

/* This process's ends of the writers' connections. */
struct writers {
	unsigned int n;
	int *fds;
	int epfd;
	char *message; /* the last event read, for the reference */
	size_t len;
};

/*
 * Until the daemon has acknowledged every record and sleeps, every thread
 * of it (what it does at an arm may still run in one), and the notifier
 * sleeps: each trial starts from rest.
 */
static void wait_rest(const struct notifier *t)
{
	struct timespec tick = { 0, 200000 };
	long long deadline = now_ns() + 10 * 1000000000LL;

	while (sysfs_number("pending") || !process_asleep(t->daemon) ||
	       !process_asleep(t->pid)) {
		if (now_ns() > deadline)
			die("no rest in 10 s", EBUSY);
		nanosleep(&tick, NULL);
	}
}

static void writers_init(struct writers *w, unsigned int n)
{
	*w = (struct writers){ .n = n, .fds = calloc(n ? n : 1, sizeof(int)) };
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!w->fds || w->epfd < 0)
		die("writers", errno ? errno : ENOMEM);
}

static void writers_add(struct writers *w, unsigned int i, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

	w->fds[i] = fd;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev))
		die("epoll_ctl", errno);
}

static void writers_close(struct writers *w)
{
	for (unsigned int i = 0; i < w->n; i++)
		close(w->fds[i]);
	close(w->epfd);
	free(w->fds);
}

/* @n raw protocol writers of the daemon at @socket, welcomed. */
static void writers_connect(struct writers *w, const char *path, unsigned int n)
{
	static const char hello[] =
	    "{\"type\":\"hello\",\"version\":1,\"name\":\"fanout\"}";
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char welcome[256];

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	writers_init(w, n);
	for (unsigned int i = 0; i < n; i++) {
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		ssize_t got;

		if (fd < 0 ||
		    connect(fd, (struct sockaddr *)&addr, sizeof(addr)) ||
		    send(fd, hello, strlen(hello), MSG_NOSIGNAL) < 0)
			die("writer (is the daemon running?)", errno);
		got = recv(fd, welcome, sizeof(welcome) - 1, 0);
		welcome[got > 0 ? got : 0] = '\0';
		if (!strstr(welcome, "\"welcome\""))
			die(got > 0 ? welcome : "writer: no welcome",
			    got < 0 ? errno : EPROTO);
		writers_add(w, i, fd);
	}
}

/* @n writers connected to the reference: its ends in @conns. */
static void writers_pair(struct writers *w, unsigned int n, int *conns)
{
	int pair[2];

	writers_init(w, n);
	for (unsigned int i = 0; i < n; i++) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair))
			die("socketpair", errno);
		conns[i] = pair[1];
		writers_add(w, i, pair[0]);
	}
}

/* The "event" member of @message, 0 if it has none. */
static long long event_number(const char *message)
{
	const char *at = strstr(message, "\"event\":");

	return at ? strtoll(at + strlen("\"event\":"), NULL, 10) : 0;
}

static void writer_answer(struct writers *w, int fd)
{
	static char buf[65536 + 1];
	char ack[96];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		die("writer: recv", n ? errno : ECONNRESET);
	buf[n] = '\0';
	snprintf(ack, sizeof(ack),
		 "{\"type\":\"ack\",\"event\":%lld,\"result\":\"ok\"}",
		 event_number(buf));
	if (send(fd, ack, strlen(ack), MSG_NOSIGNAL) < 0)
		die("writer: ack", errno);
	if (w->len != (size_t)n) {
		free(w->message);
		w->message = malloc(n);
		if (!w->message)
			die("writer", ENOMEM);
		w->len = n;
	}
	memcpy(w->message, buf, n);
}

/* Every writer's event read and acknowledged; when the first and last were. */
static void writers_collect(struct writers *w, long long *first,
			    long long *last)
{
	struct epoll_event evs[256];

	for (unsigned int got = 0; got < w->n;) {
		int k = epoll_wait(w->epfd, evs, 256, ACK_TIMEOUT_MS);

		if (k <= 0)
			die("writers: no event", k ? errno : ETIMEDOUT);
		for (int i = 0; i < k; i++, got++) {
			writer_answer(w, w->fds[evs[i].data.u32]);
			*last = now_ns();
			if (!got)
				*first = *last;
		}
	}
}

/* One shutdown: from the kill to the first and last writer, in ns. */
static void trial(const struct notifier *t, struct writers *w, long long *first,
		  long long *last)
{
	pid_t victim = victim_start(true);
	long long killed;
	char byte;

	if (t->victim_out >= 0 &&
	    (write(t->victim_out, &victim, sizeof(victim)) != sizeof(victim) ||
	     read(t->ready_in, &byte, 1) != 1))
		die("reference", EPIPE);
	wait_rest(t);
	killed = now_ns();
	if (kill(victim, SIGKILL))
		die("kill", errno);
	*first = *last = killed;
	writers_collect(w, first, last);
	*first -= killed;
	*last -= killed;
	waitpid(victim, NULL, 0);
	if (t->victim_out >= 0 && read(t->ready_in, &byte, 1) != 1)
		die("reference", EPIPE);
}

/* perf stat counting @pid's system calls, enabled and disabled on demand. */
struct counter {
	pid_t perf;
	int ctl, ack;
	char output[64];
};

static void counter_command(struct counter *c, const char *command)
{
	char ack[16] = "";

	if (write(c->ctl, command, strlen(command)) !=
		(ssize_t)strlen(command) ||
	    read(c->ack, ack, sizeof(ack) - 1) <= 0 || strncmp(ack, "ack", 3))
		die("perf stat (is tracefs mounted?)", EPROTO);
}

/* perf attached to @pid, its events disabled until counter_command(). */
static void counter_start(struct counter *c, pid_t pid)
{
	int ctl[2], ack[2];
	char control[64], target[16];

	if (pipe(ctl) || pipe(ack))
		die("pipe", errno);
	snprintf(c->output, sizeof(c->output), "/tmp/bench-fanout-%d.perf",
		 getpid());
	snprintf(control, sizeof(control), "fd:%d,%d", ctl[0], ack[1]);
	snprintf(target, sizeof(target), "%d", pid);
	c->perf = fork();
	if (c->perf < 0)
		die("fork", errno);
	if (c->perf == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		/* Not its "Events enabled" lines: the bench's own say more. */
		if (null < 0 || dup2(null, STDERR_FILENO) < 0)
			_exit(1);
		close(ctl[1]);
		close(ack[0]);
		execlp("perf", "perf", "stat", "-e", "raw_syscalls:sys_enter",
		       "-x,", "-o", c->output, "-D", "-1", "--control", control,
		       "-p", target, NULL);
		die("perf", errno);
	}
	close(ctl[0]);
	close(ack[1]);
	c->ctl = ctl[1];
	c->ack = ack[0];
}

/* The system calls counted; perf ended. */
static unsigned long long counter_stop(struct counter *c)
{
	unsigned long long n = 0;
	char line[256];
	FILE *f;

	close(c->ctl);
	close(c->ack);
	kill(c->perf, SIGINT);
	waitpid(c->perf, NULL, 0);
	f = fopen(c->output, "re");
	if (!f)
		die(c->output, errno);
	/* "COUNT,,raw_syscalls:sys_enter,..."; "<not counted>" for none. */
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "raw_syscalls:sys_enter"))
			n = strtoull(line, NULL, 10);
	fclose(f);
	unlink(c->output);
	return n;
}

/* The notifier's system calls over @shutdowns trials. */
static unsigned long long syscalls_counted(const struct notifier *t,
					   struct writers *w,
					   unsigned int shutdowns)
{
	struct counter c;
	long long first, last;

	counter_start(&c, t->pid);
	/* A first trial, uncounted: perf is attached once it answers. */
	counter_command(&c, "disable\n");
	trial(t, w, &first, &last);
	counter_command(&c, "enable\n");
	for (unsigned int i = 0; i < shutdowns; i++)
		trial(t, w, &first, &last);
	counter_command(&c, "disable\n");
	return counter_stop(&c);
}

/* The @p th percentile of @ns, sorted, in µs. */
static double percentile_us(const long long *ns, unsigned int n, int p)
{
	return ns[(n - 1) * p / 100] / 1e3;
}

struct run {
	const char *name; /* "fanout" or "fanout-ref" */
	unsigned int trials, shutdowns;
	unsigned long long idle_syscalls; /* @shutdowns with no writer */
};

/*
 * @r's series for @w's writers: the times to the last writer first (as
 * every bench series has p50, p99 and max), then the first writer's,
 * then the system calls per writer notified.
 */
static void series_run(const struct run *r, const struct notifier *t,
		       struct writers *w)
{
	long long *first = calloc(r->trials, sizeof(*first));
	long long *last = calloc(r->trials, sizeof(*last));
	unsigned long long syscalls;

	if (!first || !last)
		die("calloc", ENOMEM);
	trial(t, w, &first[0], &last[0]); /* warm-up */
	for (unsigned int i = 0; i < r->trials; i++)
		trial(t, w, &first[i], &last[i]);
	syscalls = syscalls_counted(t, w, r->shutdowns);
	qsort(first, r->trials, sizeof(*first), compare_ll);
	qsort(last, r->trials, sizeof(*last), compare_ll);
	printf("{\"series\": \"%s-%u\", \"trials\": %u, \"p50_us\": %.1f, "
	       "\"p99_us\": %.1f, \"max_us\": %.1f, \"first_p50_us\": %.1f, "
	       "\"first_p99_us\": %.1f, \"writers\": %u, \"shutdowns\": %u, "
	       "\"syscalls\": %llu, \"idle_syscalls\": %llu, "
	       "\"syscalls_per_writer\": %.3f}\n",
	       r->name, w->n, r->trials, percentile_us(last, r->trials, 50),
	       percentile_us(last, r->trials, 99),
	       percentile_us(last, r->trials, 100),
	       percentile_us(first, r->trials, 50),
	       percentile_us(first, r->trials, 99), w->n, r->shutdowns,
	       syscalls, r->idle_syscalls,
	       ((double)syscalls - r->idle_syscalls) / r->shutdowns / w->n);
	fflush(stdout);
	free(first);
	free(last);
}

/* The reference notifier for @w's writers, sending @message. */
static void reference_start(struct notifier *t, struct writers *w,
			    const char *message, size_t len)
{
	int *conns = calloc(w->n ? w->n : 1, sizeof(int));
	int victim[2], ready[2];

	if (!conns || pipe2(victim, O_CLOEXEC) || pipe2(ready, O_CLOEXEC))
		die("reference", errno ? errno : ENOMEM);
	writers_pair(w, w->n, conns);
	t->pid = fork();
	if (t->pid < 0)
		die("fork", errno);
	if (t->pid == 0) {
		struct reference r = { conns, w->n,	 message,
				       len,   victim[0], ready[1] };

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(victim[1]);
		close(ready[0]);
		for (unsigned int i = 0; i < w->n; i++)
			close(w->fds[i]);
		reference_run(&r);
	}
	close(victim[0]);
	close(ready[1]);
	for (unsigned int i = 0; i < w->n; i++)
		close(conns[i]);
	free(conns);
	t->victim_out = victim[1];
	t->ready_in = ready[0];
}

static void reference_stop(struct notifier *t)
{
	pid_t stop = 0;

	if (write(t->victim_out, &stop, sizeof(stop)) != sizeof(stop))
		die("reference", EPIPE);
	waitpid(t->pid, NULL, 0);
	close(t->victim_out);
	close(t->ready_in);
}

/* WRITERS[:TRIALS] */
static unsigned int writers_arg(const char *arg, unsigned int *trials)
{
	char *end;
	unsigned long n = strtoul(arg, &end, 10);

	if (*end == ':')
		*trials = strtoul(end + 1, &end, 10);
	if (*end || !n || n > 65536 || !*trials) {
		fprintf(stderr, "bench fanout: %s: not WRITERS[:TRIALS]\n",
			arg);
		exit(2);
	}
	return n;
}

/* The daemon's series for @n writers, then the reference's with its bytes. */
static void writers_run(struct run *daemon_run, struct run *ref_run,
			const char *socket, pid_t daemon, unsigned int n)
{
	struct notifier t = { .pid = daemon,
			      .daemon = daemon,
			      .victim_out = -1,
			      .ready_in = -1 };
	struct writers w;

	writers_connect(&w, socket, n);
	series_run(daemon_run, &t, &w);
	writers_close(&w);
	w.n = n;
	reference_start(&t, &w, w.message, w.len);
	series_run(ref_run, &t, &w);
	reference_stop(&t);
	free(w.message);
	writers_close(&w);
}

/* Room for the writers' connections: the soft limit up to the hard one. */
static void files_limit_raise(void)
{
	struct rlimit limit;

	if (!getrlimit(RLIMIT_NOFILE, &limit)) {
		limit.rlim_cur = limit.rlim_max;
		setrlimit(RLIMIT_NOFILE, &limit);
	}
}

static void __attribute__((noreturn)) usage(int status)
{
	fputs("Usage: fanout --socket PATH --daemon PID [--trials N] "
	      "[--shutdowns N] WRITERS[:TRIALS]...\n",
	      status ? stderr : stdout);
	exit(status);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "daemon", required_argument, NULL, 'd' },
		{ "trials", required_argument, NULL, 't' },
		{ "shutdowns", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct run daemon_run = { "fanout", 100, 20, 0 };
	struct run ref_run = { "fanout-ref", 100, 20, 0 };
	struct notifier t = { .victim_out = -1, .ready_in = -1 };
	const char *socket = NULL;
	struct writers none;
	int opt;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == 's')
			socket = optarg;
		else if (opt == 'd')
			t.pid = t.daemon = strtol(optarg, NULL, 10);
		else if (opt == 't')
			daemon_run.trials = strtoul(optarg, NULL, 10);
		else if (opt == 'n')
			daemon_run.shutdowns = strtoul(optarg, NULL, 10);
		else
			usage(opt == 'h' ? 0 : 2);
	}
	if (!socket || t.daemon <= 0 || optind == argc || !daemon_run.trials ||
	    !daemon_run.shutdowns)
		usage(2);
	ref_run.shutdowns = daemon_run.shutdowns;
	files_limit_raise();
	/* A perf that is gone fails its command, not the bench silently. */
	signal(SIGPIPE, SIG_IGN);
	/* What a shutdown costs each notifier with no writer. */
	writers_init(&none, 0);
	daemon_run.idle_syscalls =
	    syscalls_counted(&t, &none, daemon_run.shutdowns);
	reference_start(&t, &none, "", 0);
	ref_run.idle_syscalls = syscalls_counted(&t, &none, ref_run.shutdowns);
	reference_stop(&t);
	writers_close(&none);
	for (int i = optind; i < argc; i++) {
		unsigned int n = writers_arg(argv[i], &daemon_run.trials);

		ref_run.trials = daemon_run.trials;
		writers_run(&daemon_run, &ref_run, socket, t.daemon, n);
	}
	return 0;
}
