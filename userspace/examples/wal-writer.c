// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * wal-writer: an example libsnapset writer for a database that archives
 * its write-ahead log (PostgreSQL's archive_command, MySQL's binlogs).
 *
 * A block-level backup of the database's volume is only usable together
 * with the WAL written from the snapshot on. So:
 *  - the backup completed (BackupShutdown with completed=1): the segments
 *    archived before the snapshot was taken are in the backup; prune them;
 *  - it did not (completed=0: the requester failed, was killed, aborted):
 *    keep every segment, and leave a marker the DBA's monitoring sees.
 *
 *   wal-writer --archive DIR [--match UUID=...] [--socket PATH]
 *
 * It runs in its own poll() loop (libsnapset's fd + dispatch), the way a
 * database's background worker would, and reconnects when the daemon
 * restarts. Build: cc wal-writer.c $(pkg-config --cflags --libs snapset)
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <snapset/writer.h>

struct config {
	const char *archive;
	const char *match[2];
	const char *socket;
};

/* ISO 8601 UTC ("2026-11-25T13:50:01.123Z") as seconds; 0 if unreadable. */
static time_t parse_time(const char *text)
{
	struct tm tm = { 0 };

	if (!strptime(text, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return timegm(&tm);
}

/* Removes the archived segments older than @before; how many, or -errno. */
static int prune(const char *archive, time_t before)
{
	DIR *dir = opendir(archive);
	struct dirent *d;
	struct stat st;
	int removed = 0;

	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.' ||
		    fstatat(dirfd(dir), d->d_name, &st, 0) ||
		    !S_ISREG(st.st_mode) || st.st_mtime >= before)
			continue;
		if (!unlinkat(dirfd(dir), d->d_name, 0))
			removed++;
	}
	closedir(dir);
	return removed;
}

/* Marks the archive: these segments are needed, the backup failed. */
static int keep(const char *archive, const struct snapset_writer_event *ev)
{
	char path[4096];
	FILE *marker;

	snprintf(path, sizeof(path), "%s/BACKUP-FAILED-%s", archive,
		 ev->set_id);
	marker = fopen(path, "w");
	if (!marker)
		return -errno;
	fprintf(marker, "set %s (%s) ended without BackupComplete: %s\n",
		ev->set_id, ev->set_name, ev->reason);
	return fclose(marker) ? -errno : 0;
}

static void handle(struct snapset_writer *w,
		   const struct snapset_writer_event *ev, void *arg)
{
	const struct config *cfg = arg;
	char message[256] = "";
	int ret = 0;

	if (ev->kind == SNAPSET_WRITER_BACKUP_SHUTDOWN && ev->completed) {
		ret = prune(cfg->archive, parse_time(ev->armed_at));
		if (ret >= 0)
			printf("wal-writer: set %s complete: %d segments "
			       "pruned\n",
			       ev->set_id, ret);
	} else if (ev->kind == SNAPSET_WRITER_BACKUP_SHUTDOWN) {
		ret = keep(cfg->archive, ev);
		if (!ret)
			printf("wal-writer: set %s failed (%s): WAL kept\n",
			       ev->set_id, ev->reason);
	}
	if (ret < 0)
		snprintf(message, sizeof(message), "%s: %s", cfg->archive,
			 strerror(-ret));
	fflush(stdout);
	snapset_writer_ack(w, ev, ret < 0 ? -ret : 0, ret < 0 ? message : NULL);
}

/* The application's loop: the writer's fd among its own. */
static int serve(struct snapset_writer *w, struct config *cfg)
{
	int ret;

	for (;;) {
		struct pollfd pfd = { .fd = snapset_writer_fd(w),
				      .events = POLLIN };

		if (pfd.fd < 0) {
			/* The daemon is away: try again in a second. */
			sleep(1);
			ret = snapset_writer_reconnect(w);
			if (ret && ret != -ENOENT && ret != -ECONNREFUSED)
				return ret;
			continue;
		}
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return -errno;
		ret = snapset_writer_dispatch(w, handle, cfg);
		if (ret && ret != -ENOTCONN)
			return ret;
	}
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "archive", required_argument, NULL, 'a' },
		{ "match", required_argument, NULL, 'm' },
		{ "socket", required_argument, NULL, 's' },
		{}
	};
	struct config cfg = { 0 };
	struct snapset_writer *w;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == 'a')
			cfg.archive = optarg;
		else if (opt == 'm')
			cfg.match[0] = optarg;
		else if (opt == 's')
			cfg.socket = optarg;
		else
			return 2;
	}
	if (!cfg.archive) {
		fprintf(stderr, "usage: wal-writer --archive DIR "
				"[--match UUID=...] [--socket PATH]\n");
		return 2;
	}
	ret = snapset_writer_connect(cfg.socket, "wal-writer", cfg.match, &w);
	if (ret) {
		fprintf(stderr, "wal-writer: %s\n", strerror(-ret));
		return 1;
	}
	ret = serve(w, &cfg);
	snapset_writer_close(w);
	fprintf(stderr, "wal-writer: %s\n", strerror(-ret));
	return 1;
}
