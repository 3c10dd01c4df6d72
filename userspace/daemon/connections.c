// SPDX-License-Identifier: GPL-2.0
/*
 * Connections to the writer socket: listened on, accepted through the
 * ring, and checked before they become writers (writers.c). Only root
 * and the allowed users and groups connect; slots are bounded per user,
 * and the last few are root's, so that no allowed user can hold them
 * all and shut out the root writers and snapset status. Refused
 * connections read "bye denied", are counted in the metrics and are
 * logged at most once a minute.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/files_limit.h"
#include "writers.h"

/*
 * Open connections, writers or not, are at most max_connections (each
 * costs a message buffer and an fd). Of those, the last ones only root
 * may take.
 */
#define ROOT_RESERVED 16
/* Connections of one user other than root. */
#define PER_USER_MAX 16
/* Files the daemon keeps open besides its writers': ring, agent, lvm... */
#define FILES_BESIDES_WRITERS 256
/* Refusals are logged at most this often; the others are counted. */
#define REFUSED_LOG_MS 60000

static struct op accept_op = { OP_ACCEPT, NULL };
static struct op accept_retry_op = { OP_ACCEPT_RETRY, NULL };
static struct __kernel_timespec accept_backoff = { .tv_sec = 1 };

static bool gid_allowed(const struct daemon_options *o, gid_t gid)
{
	for (unsigned int i = 0; i < o->nallowed_gids; i++)
		if (o->allowed_gids[i] == gid)
			return true;
	return false;
}

/* The peer's supplementary groups, as they were at connect(). */
static bool groups_allowed(const struct daemon_options *o, int fd)
{
	socklen_t len = 0;
	gid_t *groups;
	bool allowed = false;

	/* The first call says how much room the list needs. */
	if (!getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, NULL, &len) ||
	    errno != ERANGE || !(groups = malloc(len)))
		return false;
	if (!getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len))
		for (size_t i = 0; i < len / sizeof(*groups) && !allowed; i++)
			allowed = gid_allowed(o, groups[i]);
	free(groups);
	return allowed;
}

static bool peer_allowed(const struct daemon_options *o, int fd,
			 const struct ucred *c)
{
	if (c->uid == 0)
		return true;
	for (unsigned int i = 0; i < o->nallowed_uids; i++)
		if (o->allowed_uids[i] == c->uid)
			return true;
	return o->nallowed_gids &&
	       (gid_allowed(o, c->gid) || groups_allowed(o, fd));
}

/* Open connections: all of them, and @uid's. */
static unsigned int connections(const struct daemon *d, uid_t uid,
				unsigned int *of_uid)
{
	unsigned int n = 0;

	*of_uid = 0;
	for (const struct writer *w = d->writers; w; w = w->next) {
		n++;
		*of_uid += w->cred.uid == uid;
	}
	return n;
}

/*
 * Turns @w away, counted by @label (a metrics label), and logged unless
 * a refusal was less than REFUSED_LOG_MS ago: a refused user could
 * flood the journal.
 */
static void refuse(struct writer *w, const char *label, const char *reason)
{
	struct daemon *d = w->d;
	long long now = monotonic_ms();
	char more[64] = "";

	metrics_refused(d, label);
	if (d->refused_log_at && now < d->refused_log_at + REFUSED_LOG_MS) {
		d->refused_unlogged++;
	} else {
		if (d->refused_unlogged)
			snprintf(more, sizeof(more),
				 " (and %u more unlogged before)",
				 d->refused_unlogged);
		report_note("writer connection (pid %d, uid %u): dropped: %s%s",
			    w->cred.pid, w->cred.uid, reason, more);
		d->refused_log_at = now;
		d->refused_unlogged = 0;
	}
	w->refused = true;
	writer_drop(w, PROTO_BYE_DENIED, reason);
}

/* Why @w may not have a connection slot (@label for metrics), or NULL. */
static const char *no_slot(const struct writer *w, const char **label)
{
	unsigned int of_uid, n = connections(w->d, w->cred.uid, &of_uid);
	unsigned int max = w->d->max_writers;

	*label = "full";
	if (n > max)
		return "too many connections";
	if (w->cred.uid == 0)
		return NULL;
	if (n > max - ROOT_RESERVED)
		return "too many connections; the rest are root's";
	*label = "user_limit";
	if (of_uid > PER_USER_MAX)
		return "too many connections of this user";
	return NULL;
}

static void accepted(struct daemon *d, int fd)
{
	struct writer *w = calloc(1, sizeof(*w));
	socklen_t len = sizeof(w->cred);
	const char *why, *label;

	if (!w || !(w->in = malloc(PROTO_MESSAGE_MAX))) {
		free(w);
		close(fd);
		report_note("out of memory: a writer connection refused");
		return;
	}
	w->d = d;
	w->fd = fd;
	w->recv_op = (struct op){ OP_WRITER_RECV, w };
	w->send_op = (struct op){ OP_WRITER_SEND, w };
	w->next = d->writers;
	d->writers = w;
	w->ops = 1; /* this function's own */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &w->cred, &len)) {
		refuse(w, "no_credentials", "no peer credentials");
	} else if (!peer_allowed(d->opts, fd, &w->cred)) {
		refuse(w, "not_allowed", "this user is not allowed");
	} else if ((why = no_slot(w, &label))) {
		refuse(w, label, why);
	} else if (d->stopping) {
		writer_drop(w, PROTO_BYE_STOPPING, "the daemon is stopping");
	} else {
		writer_start(w);
	}
	writer_put(w);
}

void writers_accept(struct daemon *d)
{
	io_uring_prep_accept(daemon_sqe(d, &accept_op), d->listen_fd, NULL,
			     NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

void connections_event(struct daemon *d, struct op *op, int res)
{
	if (op->kind == OP_ACCEPT && res >= 0) {
		accepted(d, res);
	} else if (op->kind == OP_ACCEPT) {
		/* Out of fds, say: try again in a while, not at once. */
		report_note("accepting writers: %s", strerror(-res));
		io_uring_prep_timeout(daemon_sqe(d, &accept_retry_op),
				      &accept_backoff, 0, 0);
		return;
	}
	if (!d->stopping)
		writers_accept(d);
}

/*
 * A stale socket from an earlier daemon goes: we are the agent now. But
 * only a socket of root's: a file or a link put there by someone else
 * is not ours to remove (-ENOTSOCK).
 */
static int remove_stale(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode) || st.st_uid != 0)
		return -ENOTSOCK;
	return unlink(path) ? -errno : 0;
}

/*
 * Room for max_connections writers and the daemon's own files: the soft
 * limit raised up to the hard one (systemd's soft default is 1024). Under
 * a lower limit, fewer writers: an fd for an lvm command or a file must
 * never be taken by a writer, nor root's last slots by the kernel's EMFILE.
 */
static void writers_limit(struct daemon *d)
{
	unsigned int max = d->opts->max_connections;
	rlim_t want = (rlim_t)max + FILES_BESIDES_WRITERS, got;

	d->max_writers = max;
	/* Not raised as far as wanted: @got says how far it went. */
	files_limit_raise(want, &got);
	if (!got || got >= want)
		return;
	d->max_writers = got > FILES_BESIDES_WRITERS + 2 * ROOT_RESERVED
			     ? got - FILES_BESIDES_WRITERS
			     : 2 * ROOT_RESERVED;
	report_note("at most %llu open files: %u writer connections, not "
		    "max_connections %u",
		    (unsigned long long)got, d->max_writers, max);
}

int writers_listen(struct daemon *d)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *path = d->opts->socket_path;
	char dir[sizeof(addr.sun_path)];
	bool open_to_others = d->opts->nallowed_uids || d->opts->nallowed_gids;
	int fd, ret;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	strcpy(dir, path);
	if (strrchr(dir, '/') && strrchr(dir, '/') != dir) {
		*strrchr(dir, '/') = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
	}
	ret = remove_stale(path);
	if (ret)
		return ret;
	writers_limit(d);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    /*
	     * SO_PEERCRED decides; the mode only keeps others out early.
	     * Never through a link someone put in our socket's place.
	     */
	    fchmodat(AT_FDCWD, path, open_to_others ? 0666 : 0600,
		     AT_SYMLINK_NOFOLLOW) ||
	    listen(fd, 64)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	d->listen_fd = fd;
	return 0;
}
