// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile client of the daemon's writer socket, for
 * tests/hostile_writers_test.sh: not a test itself. One mode a process:
 *
 *   hang SOCKET        connects, says hello or nothing (in turn), never
 *                      answers; reads until the daemon drops it, again
 *   half SOCKET        says hello, and at its first event sends half an
 *                      ack and closes; again
 *   flood SOCKET SEED  sends garbage datagrams (seeded lengths and
 *                      bytes, with or without a hello first) until the
 *                      socket fails; again
 *   churn SOCKET N     connects and disconnects N times: at once, after
 *                      a hello, or after a status request left unread
 *
 * hang, half and flood run until SIGTERM. Each prints one line per
 * connection's end ("hang: bye deadline", "half: acked half of event
 * 1", ...), so that the test can wait for them, and a tally at the end.
 */
#include <signal.h>

#include "writer_client.h"

#define HELLO_OF(mode) \
	"{\"type\":\"hello\",\"version\":1,\"name\":\"hostile-" mode "\"}"
#define STATUS_REQUEST "{\"type\":\"status\",\"version\":1}"
/* Past the protocol's 65536 bytes too: those are refused by length. */
#define FLOOD_MAX_BYTES (65536 + 4096)

static volatile sig_atomic_t stopping;
/*
 * Seeded bytes, drawn once; each message is a tail of them. The flood
 * loads the daemon, not this process: under emulation, a byte drawn
 * costs more than a byte sent.
 */
static unsigned char garbage[FLOOD_MAX_BYTES];

static void stop(int sig)
{
	stopping = 1;
}

/* Reads until the daemon's bye or EOF; says which. */
static bool hang_once(const char *socket_path, bool with_hello)
{
	int fd = raw_connect(socket_path, with_hello ? HELLO_OF("hang") : NULL);
	char type[64] = "";

	if (fd < 0)
		return false;
	while (!stopping && strncmp(type, "bye", 3)) {
		raw_next_type(fd, -1, type, sizeof(type));
		if (!*type)
			break;
	}
	printf("hang: %s\n", *type ? type : "closed");
	close(fd);
	return true;
}

static bool half_once(const char *socket_path)
{
	static const char half_ack[] = "{\"type\":\"ack\",\"event\":1,\"res";
	int fd = raw_connect(socket_path, HELLO_OF("half"));
	char type[64] = "";

	if (fd < 0)
		return false;
	while (!stopping && strcmp(type, "event")) {
		raw_next_type(fd, -1, type, sizeof(type));
		if (!*type || !strncmp(type, "bye", 3))
			break;
	}
	if (!strcmp(type, "event") &&
	    send(fd, half_ack, strlen(half_ack), MSG_NOSIGNAL) > 0)
		printf("half: acked half of event 1\n");
	close(fd);
	return true;
}

/* Garbage until the daemon shuts the socket: how many went. */
static bool flood_once(const char *socket_path, bool with_hello)
{
	int fd =
	    raw_connect(socket_path, with_hello ? HELLO_OF("flood") : NULL);
	long sent = 0;

	if (fd < 0)
		return false;
	while (!stopping) {
		size_t at = random() % sizeof(garbage);

		if (send(fd, garbage + at, sizeof(garbage) - at, MSG_NOSIGNAL) <
		    0)
			break;
		sent++;
	}
	printf("flood: %ld garbage messages\n", sent);
	close(fd);
	return true;
}

/* One connection of @mode's; false when it could not connect. */
static bool once(const char *mode, const char *socket_path, long nth)
{
	if (!strcmp(mode, "hang"))
		return hang_once(socket_path, nth % 2);
	if (!strcmp(mode, "half"))
		return half_once(socket_path);
	return flood_once(socket_path, nth % 2);
}

static int churn(const char *socket_path, long count)
{
	static const char *const firsts[] = { NULL, HELLO_OF("churn"),
					      STATUS_REQUEST };
	long failed = 0;

	for (long i = 0; i < count; i++) {
		int fd = raw_connect(socket_path, firsts[i % 3]);

		if (fd < 0)
			failed++;
		else
			close(fd);
	}
	printf("churn: %ld connections, %ld failed\n", count, failed);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = stop };
	const char *mode = argc > 2 ? argv[1] : "";
	long connections = 0;

	/* No SA_RESTART: SIGTERM ends a blocked recv or send. */
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "churn") && argc == 4)
		return churn(argv[2], atol(argv[3]));
	if (!strcmp(mode, "flood") && argc == 4) {
		srandom(atol(argv[3]));
		for (size_t i = 0; i < sizeof(garbage); i++)
			garbage[i] = random();
	} else if (strcmp(mode, "hang") && strcmp(mode, "half"))
		mode = NULL;
	if (!mode) {
		fprintf(stderr, "usage: hostile_writer hang|half SOCKET | "
				"flood SOCKET SEED | churn SOCKET COUNT\n");
		return 2;
	}
	while (!stopping && once(mode, argv[2], connections))
		connections++;
	/* The daemon gone, or its socket: the test says so. */
	printf("%s: %ld connections%s\n", mode, connections,
	       stopping ? "" : ", then connect failed");
	return stopping ? 0 : 1;
}
