// SPDX-License-Identifier: GPL-2.0
/*
 * Owners of sets ended before their arm while they lived (closed, or
 * deleted by an administrator), watched until they exit. run closes a
 * set whose arm failed and only then removes the LVs it made,
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
 * process has exited. A daemon in a time namespace of its own, or without
 * its pid namespace's /proc, reads no owner's start time right: every
 * owner reads as gone, and its LVs go at once.
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

/* /proc/PID/stat's field of the start time, in clock ticks since boot. */
#define STAT_STARTTIME 22

/* One owner, and the sets it closed before their arm while it lived. */
struct owner_watch {
	struct owner_watch *next;
	struct op exit_op;
	int pidfd;
	pid_t tgid;
	__u64 start_time;
	unsigned int nsets;
	struct snapset_event *sets[OWNER_SETS_MAX];
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
	for (unsigned int i = 0; i < w->nsets; i++)
		free(w->sets[i]);
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
	/* EINVAL: the number is a thread's now, not a process's. */
	if (pidfd < 0)
		return errno == EINVAL ? -ESRCH : -errno;
	if (!started_at(pid, ev->set.owner_start_time)) {
		close(pidfd);
		return -ESRCH;
	}
	return pidfd;
}

/* The watch of @ev's owner, when it has one already. */
static struct owner_watch *owner_find(struct daemon *d,
				      const struct snapset_event *ev)
{
	for (struct owner_watch *w = d->owners; w; w = w->next)
		if (w->tgid == (pid_t)ev->set.owner_tgid &&
		    w->start_time == ev->set.owner_start_time)
			return w;
	return NULL;
}

/* @ev joins the sets @w's owner left: 0, or -errno. */
static int owner_add_set(struct owner_watch *w, const struct snapset_event *ev)
{
	struct snapset_event *copy;

	if (w->nsets == OWNER_SETS_MAX)
		return -EMFILE;
	copy = malloc(ev->size);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, ev, ev->size);
	w->sets[w->nsets++] = copy;
	return 0;
}

/* The ring waits for @ev's owner, behind @pidfd (taken), to exit. */
static int watch_pidfd(struct daemon *d, const struct snapset_event *ev,
		       int pidfd)
{
	struct owner_watch *w = calloc(1, sizeof(*w));

	if (!w || owner_add_set(w, ev)) {
		free(w);
		close(pidfd);
		return -ENOMEM;
	}
	w->pidfd = pidfd;
	w->tgid = ev->set.owner_tgid;
	w->start_time = ev->set.owner_start_time;
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

/* A new watch of @ev's owner: 0, -ESRCH when it is gone, or -errno. */
static int owner_watch_new(struct daemon *d, const struct snapset_event *ev)
{
	int pidfd;

	if (d->nowners >= OWNERS_MAX)
		return -EMFILE;
	pidfd = owner_pidfd(ev);
	return pidfd < 0 ? pidfd : watch_pidfd(d, ev, pidfd);
}

void owner_watch(struct daemon *d, const struct snapset_event *ev)
{
	struct owner_watch *w;
	int ret;

	/* Closed by another: nobody known to us is removing what it made. */
	if (ev->set.reason == SNAPSET_REASON_CLOSE &&
	    ev->set.closer_tgid != ev->set.owner_tgid) {
		records_dissolved_release(d, ev);
		return;
	}
	w = owner_find(d, ev);
	ret = w ? owner_add_set(w, ev) : owner_watch_new(d, ev);
	/* Gone: it removes nothing more, and what it left goes now. */
	if (ret == -ESRCH)
		records_dissolved_release(d, ev);
	else if (ret == -EMFILE)
		release_unwatched(d, ev, "too many watched already");
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
	for (unsigned int i = 0; i < w->nsets && !d->stopping; i++) {
		if (res < 0)
			release_unwatched(d, w->sets[i], strerror(-res));
		else
			records_dissolved_release(d, w->sets[i]);
	}
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
