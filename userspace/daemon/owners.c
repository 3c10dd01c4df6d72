// SPDX-License-Identifier: GPL-2.0
/*
 * Owners of sets closed before their arm, watched until they exit. run
 * closes a set whose arm failed and only then removes the LVs it made,
 * since the set holds them open: killed in between, or its lvremove
 * failing, it leaves them behind, and the set is remembered as ended, so
 * no reconciliation takes them for lost before the daemon's next start.
 * Once the owner has exited, the LVs tagged for its set are removed as
 * for a requester that exited; normally run removed them all, and
 * finding none is silent.
 *
 * pids are reused: the owner is its pid and its start time. Its pidfd is
 * taken first and its start time read after, so a pid reused before the
 * pidfd was taken is caught. The ring polls the pidfd: readable once the
 * process has exited.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/format.h"
#include "daemon.h"

/*
 * Past this many owners, the LVs of a set go at once: with run's own
 * lvremove at the same time, one of the two finds nothing.
 */
#define OWNERS_MAX 64
/* /proc/PID/stat's field of the start time, in clock ticks since boot. */
#define STAT_STARTTIME 22

struct owner_watch {
	struct owner_watch *next;
	struct op exit_op;
	int pidfd;
	struct snapset_event *ev;
};

/* When process @pid started, in clock ticks since boot; -errno. */
static long long start_ticks(pid_t pid)
{
	char path[32], buf[1024], *field, *save;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	/* The name (field 2) may hold spaces and ')': the rest follows it. */
	field = strrchr(buf, ')');
	if (!field)
		return -EIO;
	field = strtok_r(field + 1, " ", &save);
	for (int i = 3; field && i < STAT_STARTTIME; i++)
		field = strtok_r(NULL, " ", &save);
	return field ? strtoll(field, NULL, 10) : -EIO;
}

/* Whether @pid is the process that started at @start_ns (CLOCK_BOOTTIME). */
static bool started_at(pid_t pid, __u64 start_ns)
{
	long hz = sysconf(_SC_CLK_TCK);
	long long ticks = start_ticks(pid);

	/* Rounded down to ticks, as the kernel does for /proc. */
	return hz > 0 && ticks >= 0 &&
	       (unsigned long long)ticks == start_ns / (1000000000ULL / hz);
}

static void owner_free(struct owner_watch *w)
{
	close(w->pidfd);
	free(w->ev);
	free(w);
}

/* A pidfd of @ev's owner while it lives, or -errno: -ESRCH once gone. */
static int owner_pidfd(const struct snapset_event *ev)
{
	pid_t pid = ev->set.owner_tgid;
	int pidfd;

	/* 0: outside our pid namespace, so it cannot be watched: gone. */
	if (!pid)
		return -ESRCH;
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return -errno;
	if (!started_at(pid, ev->set.owner_start_time)) {
		close(pidfd);
		return -ESRCH;
	}
	return pidfd;
}

/* The ring waits for the owner behind @pidfd (taken) to exit. */
static int watch_pidfd(struct daemon *d, const struct snapset_event *ev,
		       int pidfd)
{
	struct owner_watch *w = calloc(1, sizeof(*w));

	if (!w || !(w->ev = malloc(ev->size))) {
		free(w);
		close(pidfd);
		return -ENOMEM;
	}
	memcpy(w->ev, ev, ev->size);
	w->pidfd = pidfd;
	w->exit_op = (struct op){ OP_OWNER_EXIT, w };
	w->next = d->owners;
	d->owners = w;
	d->nowners++;
	io_uring_prep_poll_add(daemon_sqe(d, &w->exit_op), pidfd, POLLIN);
	return 0;
}

/* Its owner cannot be watched (@why): its LVs go now, and it is said. */
static void release_unwatched(struct daemon *d, const struct snapset_event *ev,
			      const char *why)
{
	char set[SET_LABEL_LEN];

	set_label(ev->set.name, sizeof(ev->set.name), ev->set.id, set,
		  sizeof(set));
	report_note("%s: its owner cannot be watched (%s): the LVs tagged "
		    "for it are removed now",
		    set, why);
	records_dissolved_release(d, ev);
}

void owner_watch(struct daemon *d, const struct snapset_event *ev)
{
	int pidfd, ret;

	if (d->nowners >= OWNERS_MAX) {
		release_unwatched(d, ev, "too many watched already");
		return;
	}
	pidfd = owner_pidfd(ev);
	ret = pidfd < 0 ? pidfd : watch_pidfd(d, ev, pidfd);
	/* Gone: it removes nothing more, and what it left goes now. */
	if (ret == -ESRCH)
		records_dissolved_release(d, ev);
	else if (ret)
		release_unwatched(d, ev, strerror(-ret));
}

void owners_event(struct daemon *d, struct op *op, int res)
{
	struct owner_watch *w = op->owner, **p = &d->owners;

	while (*p != w)
		p = &(*p)->next;
	*p = w->next;
	d->nowners--;
	/* Stopping: the next daemon's reconciliation finds what is left. */
	if (!d->stopping && res < 0)
		release_unwatched(d, w->ev, strerror(-res));
	else if (!d->stopping)
		records_dissolved_release(d, w->ev);
	owner_free(w);
}

void owners_end(struct daemon *d)
{
	struct owner_watch *w;

	while ((w = d->owners)) {
		d->owners = w->next;
		owner_free(w);
	}
	d->nowners = 0;
}
