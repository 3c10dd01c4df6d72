// SPDX-License-Identifier: GPL-2.0
/*
 * The configuration file (libinih): defaults first, then every key the
 * file sets, each checked. The first bad line is reported as
 * "FILE:LINE: what is wrong" and the daemon does not start. Lines are
 * read by our own reader: Debian's libinih cuts a line at its buffer
 * (INI_MAX_LINE) and parses the rest as a line of its own, so that the
 * tail of a long comment could set a key.
 */
#include <errno.h>
#include <grp.h>
#include <ini.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <snapset/writer.h>

#include "../common/format.h"
#include "config.h"

#define HISTORY_SIZE_MAX 100000
/* Writer connections: more than root's reserve, each an fd. */
#define CONNECTIONS_MIN 32
#define CONNECTIONS_MAX 65536

/* The largest id; (uid_t)-1 means "no id" to the kernel. */
#define ID_MAX (UINT_MAX - 1)

struct parse_state {
	struct daemon_options *opts;
	FILE *file;
	int line;	 /* lines read */
	int bad_line;	 /* a line inih must not see, which ends the parse */
	char why[64];	 /* what is wrong with it */
	char error[256]; /* the first error, without its line */
};

void config_init(struct daemon_options *opts)
{
	*opts = (struct daemon_options){
		.writer_deadline_ms = 30000,
		.lvremove_deadline_ms = 60000,
		.history_size = 100,
		.max_connections = 4096,
	};
	strcpy(opts->socket_path, SNAPSET_WRITER_SOCKET);
	strcpy(opts->history_dir, "/var/lib/snapset");
	/* No metrics unless configured: node_exporter's directory varies. */
}

static const char *set_path(char *out, size_t size, const char *value,
			    bool may_be_empty)
{
	if (!*value && may_be_empty) {
		*out = '\0';
		return NULL;
	}
	if (*value != '/')
		return "not an absolute path";
	if (strlen(value) >= size)
		return "too long a path";
	strcpy(out, value);
	return NULL;
}

static const char *set_deadline(long *out, const char *value)
{
	long ms;

	if (parse_duration(value, &ms) || ms < 1)
		return "not a duration above 0 (e.g. 30, 0.5s, 2m)";
	*out = ms;
	return NULL;
}

/* A whole number from @min to @max, or @why. */
static const char *set_count(unsigned int *out, const char *value,
			     unsigned long min, unsigned long max,
			     const char *why)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(value, &end, 10);
	if (errno || end == value || *end || *value == '-' || n < min ||
	    n > max)
		return why;
	*out = (unsigned int)n;
	return NULL;
}

/* A comma-separated list of user (or group) names or numbers. */
static const char *set_ids(const char *value, bool groups, unsigned int *ids,
			   unsigned int *n)
{
	char list[1024], *save = NULL;

	if (strlen(value) >= sizeof(list))
		return "too long a list";
	strcpy(list, value);
	*n = 0;
	for (char *item = strtok_r(list, ", \t", &save); item;
	     item = strtok_r(NULL, ", \t", &save)) {
		struct passwd *pw = groups ? NULL : getpwnam(item);
		struct group *gr = groups ? getgrnam(item) : NULL;
		char *end;
		unsigned long id;

		errno = 0;
		id = strtoul(item, &end, 10);
		if (pw)
			id = pw->pw_uid;
		else if (gr)
			id = gr->gr_gid;
		else if (*end || end == item || *item == '-')
			return groups ? "names no group" : "names no user";
		else if (errno || id > ID_MAX)
			return groups ? "a group id above 4294967294"
				      : "a user id above 4294967294";
		if (*n == DAEMON_ALLOWED_MAX)
			return "more than 32 entries";
		ids[(*n)++] = (unsigned int)id;
	}
	return NULL;
}

static const char *set_key(struct daemon_options *o, const char *section,
			   const char *key, const char *value)
{
	if (!strcmp(section, "daemon")) {
		if (!strcmp(key, "socket"))
			return set_path(o->socket_path, sizeof(o->socket_path),
					value, false);
		if (!strcmp(key, "writer_deadline"))
			return set_deadline(&o->writer_deadline_ms, value);
		if (!strcmp(key, "lvremove_deadline"))
			return set_deadline(&o->lvremove_deadline_ms, value);
		if (!strcmp(key, "history_dir"))
			return set_path(o->history_dir, sizeof(o->history_dir),
					value, true);
		if (!strcmp(key, "history_size"))
			return set_count(&o->history_size, value, 0,
					 HISTORY_SIZE_MAX,
					 "not a number of entries from 0 to "
					 "100000");
		if (!strcmp(key, "metrics"))
			return set_path(o->metrics_path,
					sizeof(o->metrics_path), value, true);
	} else if (!strcmp(section, "writers")) {
		if (!strcmp(key, "allow_users"))
			return set_ids(value, false, o->allowed_uids,
				       &o->nallowed_uids);
		if (!strcmp(key, "allow_groups"))
			return set_ids(value, true, o->allowed_gids,
				       &o->nallowed_gids);
		if (!strcmp(key, "max_connections"))
			return set_count(&o->max_connections, value,
					 CONNECTIONS_MIN, CONNECTIONS_MAX,
					 "not a number from 32 to 65536");
	} else {
		return "unknown section (daemon or writers)";
	}
	return "unknown key";
}

static int handler(void *user, const char *section, const char *key,
		   const char *value)
{
	struct parse_state *st = user;
	const char *why = set_key(st->opts, section, key, value);

	if (!why)
		return 1;
	/* inih goes on after an error; its line is of the first one. */
	if (!st->error[0])
		snprintf(st->error, sizeof(st->error), "[%s] %s: %s", section,
			 key, why);
	return 0;
}

/*
 * inih's reader: one whole line, in @str of @size; NULL at the end, and
 * at a line inih would misread (st->bad_line), which ends the parse:
 * one that does not fit, or one with a NUL byte, where inih would see
 * the line end.
 */
static char *read_line(char *str, int size, void *stream)
{
	struct parse_state *st = stream;
	int c = getc(st->file), n = 0;

	if (c == EOF)
		return NULL;
	st->line++;
	for (; c != EOF && c != '\n'; c = getc(st->file)) {
		if (c == '\0') {
			snprintf(st->why, sizeof(st->why),
				 "a NUL byte at column %d", n + 1);
			break;
		}
		if (n == size - 1) {
			snprintf(st->why, sizeof(st->why),
				 "longer than %d bytes", size - 1);
			break;
		}
		str[n++] = (char)c;
	}
	if (st->why[0]) {
		st->bad_line = st->line;
		return NULL;
	}
	str[n] = '\0';
	return str;
}

int config_load(struct daemon_options *opts, const char *path, bool explicit,
		char error[CONFIG_ERROR_LEN])
{
	struct parse_state st = { .opts = opts };
	FILE *file = fopen(path, "re");
	int line;

	if (!file) {
		if (errno == ENOENT && !explicit)
			return 0; /* no file: the defaults */
		snprintf(error, CONFIG_ERROR_LEN, "%s: %s", path,
			 strerror(errno));
		return -errno;
	}
	st.file = file;
	line = ini_parse_stream(read_line, &st, handler, &st);
	if (line == 0 && ferror(file))
		line = -1;
	fclose(file);
	if (line == 0 && st.bad_line)
		snprintf(error, CONFIG_ERROR_LEN, "%s:%d: %s", path,
			 st.bad_line, st.why);
	else if (line == 0)
		return 0;
	else if (line < 0)
		snprintf(error, CONFIG_ERROR_LEN, "%s: cannot be read", path);
	else
		snprintf(error, CONFIG_ERROR_LEN, "%s:%d: %s", path, line,
			 st.error[0] ? st.error : "not a key = value line");
	return -EINVAL;
}
