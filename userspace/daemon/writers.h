/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Within the daemon: one writer connection, shared by connections.c
 * (accepted, checked, refused) and writers.c (the protocol, deadlines
 * and notices told).
 */
#ifndef SNAPSET_DAEMON_WRITERS_H
#define SNAPSET_DAEMON_WRITERS_H

#include <stdbool.h>
#include <sys/socket.h>

#include "../lib/protocol.h"
#include "daemon.h"

struct outgoing;
struct delivery;
struct deadline_timer;

struct writer {
	struct daemon *d;
	struct writer *next;
	int fd;
	struct ucred cred;
	char name[PROTO_NAME_MAX + 1];
	char *match[PROTO_MATCH_MAX + 1];
	bool registered;
	bool dropped;
	bool refused;	  /* logged, if at all, by refuse() */
	unsigned int ops; /* ring operations in flight */
	struct op recv_op;
	struct op send_op;
	char *in;
	struct outgoing *out, *out_tail;
	struct delivery *queue, *queue_tail;
	struct delivery *current;     /* sent, waiting for its ack */
	long long event;	      /* the current event's number */
	struct deadline_timer *timer; /* before hello */
	/* In d->awaited_first's list while an event is outstanding. */
	bool awaited;
	struct writer *awaited_prev, *awaited_next;
	struct writer *next_unsettled; /* on d->unsettled */
	/*
	 * Its deadline, CLOCK_MONOTONIC; 0 until stamped, or -1: the event
	 * timer's (DUE_WITH_TIMER in writers.c).
	 */
	long long due_ms;
	unsigned long delivered, failed;
};

/* writers.c */
/* A new connection, in d->writers: its first message is awaited. */
void writer_start(struct writer *w);
/* Ends one of its ring operations; the last frees a dropped writer. */
void writer_put(struct writer *w);

/* connections.c: OP_ACCEPT and OP_ACCEPT_RETRY. */
void connections_event(struct daemon *d, struct op *op, int res);

#endif
