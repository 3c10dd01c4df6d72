/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A raw client of the daemon's writer socket in a selftest: connect,
 * hello or status, the next message's type; and a user's answer.
 */
#ifndef SNAPSET_SELFTEST_WRITER_CLIENT_H
#define SNAPSET_SELFTEST_WRITER_CLIENT_H

#include <grp.h>
#include <json-c/json.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "daemon_fixture.h"

/* A raw protocol client: connected, and its hello sent if @hello. */
static inline int raw_connect(const char *socket_path, const char *hello)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
		goto fail;
	/*
	 * The daemon turns a peer it does not allow away before its hello:
	 * the send then fails with EPIPE, and the bye is there to be read.
	 */
	if (hello && send(fd, hello, strlen(hello), MSG_NOSIGNAL) < 0 &&
	    errno != EPIPE)
		goto fail;
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* The next message on @fd within @ms, as JSON; NULL at EOF or timeout. */
static inline struct json_object *raw_next(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	static char buf[65536];
	ssize_t n;

	if (poll(&pfd, 1, ms) != 1)
		return NULL;
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return json_tokener_parse(buf);
}

/* The next message's "type", "code" for a bye; @out "" if none came. */
static inline void raw_next_type(int fd, int ms, char *out, size_t size)
{
	struct json_object *msg = raw_next(fd, ms);

	snprintf(out, size, "%s", "");
	if (msg && !strcmp(jstr(msg, "type"), "bye"))
		snprintf(out, size, "bye %s", jstr(msg, "code"));
	else if (msg)
		snprintf(out, size, "%s", jstr(msg, "type"));
	json_object_put(msg);
}

/*
 * Whether the daemon answers a status request. Once it has, it has also
 * sent what it queued before, such as a writer's welcome.
 */
static inline bool status_answered(const char *socket_path)
{
	int fd =
	    raw_connect(socket_path, "{\"type\":\"status\",\"version\":1}");
	char type[64];

	if (fd < 0)
		return false;
	raw_next_type(fd, EVENT_TIMEOUT_MS, type, sizeof(type));
	close(fd);
	return !strcmp(type, "status");
}

#define HELLO(name) "{\"type\":\"hello\",\"version\":1,\"name\":\"" name "\"}"

static inline bool file_has(const char *path, const char *text)
{
	return sh("grep -qF -- '%s' %s", text, path) == 0;
}

/*
 * Whether user and group @id, connecting with a hello, is answered
 * @expected first: a message type, "bye CODE", or "EACCES" when the
 * connect itself is refused.
 */
static inline bool user_gets(const char *socket_path, unsigned int id,
			     gid_t group, const char *expected)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		char type[64] = "EACCES";
		int fd;

		/* @group: a supplementary group, 0 for none. */
		if (setgroups(group ? 1 : 0, &group) || setgid(id) ||
		    setuid(id))
			_exit(2);
		fd = raw_connect(socket_path, HELLO("someone"));
		if (fd < 0 && errno != EACCES)
			_exit(3);
		if (fd >= 0)
			raw_next_type(fd, 10000, type, sizeof(type));
		if (strcmp(type, expected))
			printf("# uid %u: \"%s\", not \"%s\"\n", id, type,
			       expected);
		fflush(stdout);
		_exit(strcmp(type, expected) ? 1 : 0);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid &&
	       WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

#endif
