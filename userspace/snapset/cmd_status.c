// SPDX-License-Identifier: GPL-2.0
/*
 * snapset status [--json]: the daemon's view on one screen (its writers
 * and its recent history, asked over its socket) and the module's live
 * sets and pending records. Exit 3 when no daemon runs, 4 when it
 * cannot be asked (LSB status), still showing what the module holds.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <snapset/writer.h>

#include "../common/format.h"
#include "../common/module.h"
#include "../lib/protocol.h"
#include "cli.h"
#include "commands.h"
#include "versions.h"

/* LSB init-script status codes: not running, and unknown. */
#define EXIT_NOT_RUNNING 3
#define EXIT_UNKNOWN 4
#define ANSWER_TIMEOUT_MS 5000

static const char status_usage[] =
    "Usage: snapset status [--json] [--socket PATH]\n"
    "\n"
    "Show the daemon (its writers and recent sets) and the module's live\n"
    "sets and pending records. Exit status 3 when no daemon runs, 4 when\n"
    "the daemon cannot be asked (this user is not allowed, no answer).\n"
    "\n"
    "  --json          one JSON object\n"
    "  --socket PATH   the daemon's socket (" SNAPSET_WRITER_SOCKET ")\n";

/*
 * The daemon's answer in @answer; or -ENOENT or -ECONNREFUSED when no
 * daemon listens, -EACCES when this user may not ask it, -EPROTO when it
 * answered something else, -ETIMEDOUT.
 */
static int ask_daemon(const char *socket, struct json_object **answer)
{
	struct proto_msg msg;
	char *buf = NULL, *request = proto_status_request(), reason[256];
	struct pollfd pfd = { .events = POLLIN };
	int ret = -ENOMEM;
	ssize_t n;

	*answer = NULL;
	pfd.fd = proto_connect(socket);
	if (pfd.fd < 0)
		ret = pfd.fd;
	if (pfd.fd < 0 || !request || !(buf = malloc(PROTO_MESSAGE_MAX)))
		goto out;
	ret = -ETIMEDOUT;
	if (send(pfd.fd, request, strlen(request), MSG_NOSIGNAL) < 0 ||
	    poll(&pfd, 1, ANSWER_TIMEOUT_MS) != 1)
		goto out;
	ret = -EPROTO;
	n = recv(pfd.fd, buf, PROTO_MESSAGE_MAX, MSG_TRUNC);
	if (n <= 0 || proto_parse(buf, n, PROTO_FROM_DAEMON, &msg, reason,
				  sizeof(reason)))
		goto out;
	/* The daemon says goodbye to a user it does not allow. */
	ret = msg.type == PROTO_BYE ? -EACCES : -EPROTO;
	if (msg.type == PROTO_STATUS) {
		*answer = json_object_get(msg.obj);
		ret = 0;
	}
	proto_msg_free(&msg);
out:
	if (pfd.fd >= 0)
		close(pfd.fd);
	free(request);
	free(buf);
	return ret;
}

/* The first line without an answer, and the exit status it means. */
static int no_answer(const char *socket, int err, char *line, size_t size)
{
	if (err == -ENOENT || err == -ECONNREFUSED) {
		snprintf(line, size, "not running (nothing listens on %s)",
			 socket);
		return EXIT_NOT_RUNNING;
	}
	if (err == -EACCES || err == -EPERM)
		snprintf(line, size,
			 "unknown: %s: this user may not ask the daemon "
			 "(root, or allow_users/allow_groups in its "
			 "configuration)",
			 socket);
	else if (err == -ETIMEDOUT)
		snprintf(line, size, "unknown: %s: no answer within %d s",
			 socket, ANSWER_TIMEOUT_MS / 1000);
	else if (err == -EPROTO)
		snprintf(line, size, "unknown: %s: not a status answer",
			 socket);
	else
		snprintf(line, size, "unknown: %s: %s", socket, strerror(-err));
	return EXIT_UNKNOWN;
}

static void print_daemon(struct json_object *status, const char *why)
{
	struct json_object *daemon, *writers, *history;

	if (!status) {
		printf("daemon: %s\n", why);
		return;
	}
	json_object_object_get_ex(status, "daemon", &daemon);
	json_object_object_get_ex(status, "writers", &writers);
	json_object_object_get_ex(status, "history", &history);
	printf("daemon: running, pid %s, since %s, socket %s\n",
	       json_member(daemon, "pid", "-"),
	       json_member(daemon, "started", "-"),
	       json_member(daemon, "socket", "-"));
	printf("writers: %zu\n", json_object_array_length(writers));
	for (size_t i = 0; i < json_object_array_length(writers); i++) {
		struct json_object *w = json_object_array_get_idx(writers, i);

		printf("  %-20s pid %-7s delivered %-5s failed %-5s match %s\n",
		       json_member(w, "name", "-"), json_member(w, "pid", "-"),
		       json_member(w, "delivered", "-"),
		       json_member(w, "failed", "-"),
		       json_member(w, "match", "-"));
	}
	printf("recent sets: %zu\n", json_object_array_length(history));
	for (size_t i = 0; i < json_object_array_length(history); i++) {
		struct json_object *h = json_object_array_get_idx(history, i);

		printf("  %-24s %-36s %-16s %-9s %s%s%s\n",
		       json_member(h, "ended_at", "-"),
		       json_member(h, "id", "-"), json_member(h, "name", "-"),
		       json_member(h, "reason", "-"),
		       json_member(h, "result", "-"),
		       strcmp(json_member(h, "release", "-"), "ok") ? ": " : "",
		       strcmp(json_member(h, "release", "-"), "ok")
			   ? json_member(h, "release", "-")
			   : "");
	}
}

/*
 * The module's sets and records, in @sets, and how many records are
 * pending; -errno when they cannot be read.
 */
static int module_sets(struct json_object **sets, bool print,
		       unsigned int *pending)
{
	const struct snapset_event *ev;
	size_t len, off = 0;
	void *buf;
	int fd = cli_open_module("status"), ret;

	*pending = 0;
	if (fd < 0)
		return -ENODEV;
	ret = module_list(fd, &buf, &len);
	close(fd);
	if (ret) {
		cli_module_error("status", ret);
		return ret;
	}
	*sets = json_object_new_array();
	if (print)
		printf("module: live sets and pending records\n");
	while ((ev = record_next(buf, len, &off))) {
		json_object_array_add(*sets, record_to_json(ev));
		*pending += ev->type == SNAPSET_RECORD_PENDING;
		if (print) {
			fputs("  ", stdout);
			record_print_line(stdout, ev);
		}
	}
	free(buf);
	return 0;
}

/* Pending records wait for a daemon: say so, and how to clear them. */
static void print_pending(unsigned int pending)
{
	printf("%u pending record%s: ended sets that no daemon has delivered "
	       "yet. Each keeps the module loaded until a daemon releases, "
	       "reports and acknowledges it: start snapset daemon, or run "
	       "snapset cleanup --pending.\n",
	       pending, pending == 1 ? "" : "s");
}

/* A module of another release than this program: one line, last. */
static void print_versions_differ(const struct versions *v)
{
	char module[256];

	if (!versions_differ(v))
		return;
	versions_module_text(v, module, sizeof(module));
	printf("warning: %s is loaded, this program is snapset %s (API %d): "
	       "install the module and the program of one release\n",
	       module, SNAPSET_VERSION, SNAPSET_API);
}

static const struct option status_options[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "socket", required_argument, NULL, 's' },
	{ "help", no_argument, NULL, 'h' },
	{}
};

int status_main(int argc, char **argv)
{
	const char *socket = SNAPSET_WRITER_SOCKET;
	struct json_object *status, *sets = NULL, *all;
	char why[PATH_MAX + 128];
	struct versions versions;
	int opt, ret, exit_status = EXIT_SUCCESS;
	unsigned int pending;
	bool json = false;

	while ((opt = cli_getopt(argc, argv, status_options)) != -1) {
		if (opt == 'j')
			json = true;
		else if (opt == 's')
			socket = optarg;
		else
			return cli_other_option(argv, opt, status_usage);
	}
	if (optind < argc)
		return cli_usage_error("status", argv[optind],
				       "unexpected argument");
	versions_read(&versions);
	ret = ask_daemon(socket, &status);
	if (ret)
		exit_status = no_answer(socket, ret, why, sizeof(why));
	if (!json)
		print_daemon(status, why);
	if (module_sets(&sets, !json, &pending) && !exit_status)
		exit_status = EXIT_RUNTIME;
	if (!json && pending && exit_status == EXIT_NOT_RUNNING)
		print_pending(pending);
	if (!json) {
		print_versions_differ(&versions);
		json_object_put(sets);
		json_object_put(status);
		return exit_status;
	}
	/* No answer: "daemon": null and why; the module still there. */
	all = status ? status : json_object_new_object();
	json_object_object_del(all, "type");
	if (!status) {
		json_object_object_add(all, "daemon", NULL);
		json_add_string(all, "daemon_error", why);
	}
	json_object_object_add(all, "module", sets);
	json_object_object_add(all, "versions", versions_to_json(&versions));
	puts(json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY));
	json_object_put(all);
	return exit_status;
}
