// SPDX-License-Identifier: GPL-2.0
/*
 * snapset status [--json]: the daemon's view on one screen (its writers
 * and its recent history, asked over its socket) and the module's live
 * sets and pending records. Exit 3 when no daemon runs (LSB status),
 * still showing what the module holds.
 */
#include <errno.h>
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

#define EXIT_NOT_RUNNING 3
#define ANSWER_TIMEOUT_MS 5000

static const char status_usage[] =
    "Usage: snapset status [--json] [--socket PATH]\n"
    "\n"
    "Show the daemon (its writers and recent sets) and the module's live\n"
    "sets and pending records. Exit status 3 when no daemon runs.\n"
    "\n"
    "  --json          one JSON object\n"
    "  --socket PATH   the daemon's socket (" SNAPSET_WRITER_SOCKET ")\n";

/* The daemon's answer, or NULL (with why in @why) when none came. */
static struct json_object *ask_daemon(const char *socket, const char **why)
{
	struct proto_msg msg;
	char *buf = NULL, *request = proto_status_request(), reason[256];
	struct json_object *answer = NULL;
	struct pollfd pfd = { .events = POLLIN };
	ssize_t n;

	pfd.fd = proto_connect(socket);
	*why = pfd.fd == -ENOENT || pfd.fd == -ECONNREFUSED ? "not running"
							    : strerror(-pfd.fd);
	if (pfd.fd < 0 || !request || !(buf = malloc(PROTO_MESSAGE_MAX)))
		goto out;
	*why = "no answer";
	if (send(pfd.fd, request, strlen(request), MSG_NOSIGNAL) < 0 ||
	    poll(&pfd, 1, ANSWER_TIMEOUT_MS) != 1)
		goto out;
	n = recv(pfd.fd, buf, PROTO_MESSAGE_MAX, MSG_TRUNC);
	if (n <= 0 || proto_parse(buf, n, PROTO_FROM_DAEMON, &msg, reason,
				  sizeof(reason)))
		goto out;
	*why = msg.type == PROTO_BYE ? "refused this user" : "a wrong answer";
	if (msg.type == PROTO_STATUS)
		answer = json_object_get(msg.obj);
	proto_msg_free(&msg);
out:
	if (pfd.fd >= 0)
		close(pfd.fd);
	free(request);
	free(buf);
	return answer;
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

/* The module's sets and records; -errno when it cannot be read. */
static int module_sets(struct json_object **sets, bool print)
{
	const struct snapset_event *ev;
	size_t len, off = 0;
	void *buf;
	int fd = cli_open_module("status"), ret;

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
		if (print) {
			fputs("  ", stdout);
			record_print_line(stdout, ev);
		}
	}
	free(buf);
	return 0;
}

static const struct option status_options[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "socket", required_argument, NULL, 's' },
	{ "help", no_argument, NULL, 'h' },
	{}
};

int status_main(int argc, char **argv)
{
	const char *socket = SNAPSET_WRITER_SOCKET, *why;
	struct json_object *status, *sets = NULL, *all;
	bool json = false;
	int opt;

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
	status = ask_daemon(socket, &why);
	if (!json)
		print_daemon(status, why);
	if (module_sets(&sets, !json))
		sets = NULL;
	if (json) {
		all = json_object_new_object();
		/* Without the daemon: "daemon": null, the module still there.
		 */
		json_object_object_foreach(status, key, value)
		{
			if (strcmp(key, "type"))
				json_object_object_add(all, key,
						       json_object_get(value));
		}
		if (!status)
			json_object_object_add(all, "daemon", NULL);
		json_object_object_add(all, "module", sets);
		puts(json_object_to_json_string_ext(all,
						    JSON_C_TO_STRING_PRETTY));
		json_object_put(all);
	} else {
		json_object_put(sets);
	}
	json_object_put(status);
	return status ? (sets ? EXIT_SUCCESS : EXIT_RUNTIME) : EXIT_NOT_RUNNING;
}
