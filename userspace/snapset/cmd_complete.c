// SPDX-License-Identifier: GPL-2.0
/*
 * snapset complete: BackupComplete, asked for from inside COMMAND over
 * the control channel snapset run handed down.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "control.h"

static const char complete_usage[] =
    "Usage: snapset complete\n"
    "\n"
    "Mark the set of the enclosing `snapset run` BackupComplete, e.g.\n"
    "  snapset run ... -- sh -c 'borg create ... && snapset complete &&\n"
    "                            borg prune ...'\n"
    "The set then completes whatever COMMAND does afterwards.\n";

static const struct option complete_options[] = {
	{ "help", no_argument, NULL, 'h' }, {}
};

/* The control channel's descriptor, checked to be one. */
static int control_fd(void)
{
	const char *text = getenv(CONTROL_FD_ENV);
	int fd, type;
	socklen_t len = sizeof(type);
	char *end;

	if (!text || !*text)
		return -ENOENT;
	errno = 0;
	fd = strtol(text, &end, 10);
	if (errno || *end || fd < 0)
		return -EBADF;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) ||
	    type != SOCK_SEQPACKET)
		return -EBADF;
	return fd;
}

/* Asks run to complete the set; its answer, 0 or -errno. */
static int request_complete(int fd)
{
	struct control_request req = {
		.version = CONTROL_VERSION,
		.op = CONTROL_COMPLETE,
	};
	/* run answers at once; a wedged run must not wedge COMMAND. */
	struct timeval timeout = { .tv_sec = 30 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)))
		return -errno;
	if (send(fd, &req, sizeof(req), MSG_NOSIGNAL) != sizeof(req))
		return -errno;
	return control_reply_recv(fd);
}

int complete_main(int argc, char **argv)
{
	int opt, fd, ret;

	opt = cli_getopt(argc, argv, complete_options);
	if (opt != -1)
		return cli_other_option(argv, opt, complete_usage);
	if (optind < argc)
		return cli_usage_error("complete", argv[optind],
				       "unexpected argument");
	fd = control_fd();
	if (fd == -ENOENT) {
		fprintf(stderr,
			"snapset complete: not run by snapset run "
			"(%s is not set)\n",
			CONTROL_FD_ENV);
		return EXIT_RUNTIME;
	}
	if (fd < 0) {
		fprintf(stderr,
			"snapset complete: %s=%s: not snapset run's control "
			"channel\n",
			CONTROL_FD_ENV, getenv(CONTROL_FD_ENV));
		return EXIT_RUNTIME;
	}
	ret = request_complete(fd);
	if (ret) {
		fprintf(stderr, "snapset complete: set %s: %s\n",
			getenv("SNAPSET_ID") ?: "?",
			ret == -ESHUTDOWN ? "already ended"
			: ret == -ENOSPC  ? "a snapshot's COW space "
					    "overflowed: it is invalid, and so "
					    "is what was read from it"
					  : strerror(-ret));
		return EXIT_RUNTIME;
	}
	return EXIT_SUCCESS;
}
