/* SPDX-License-Identifier: GPL-2.0 */
/* bench/fanout: the reference notifier's part (bench/fanout_ref.c). */
#ifndef SNAPSET_BENCH_FANOUT_H
#define SNAPSET_BENCH_FANOUT_H

#include <stddef.h>

#include "common.h"

/* How long a writer's event, or an ack, may take before the bench fails. */
#define ACK_TIMEOUT_MS 30000

/* The reference's ends: its connections, and its pipes to the bench. */
struct reference {
	const int *conns;
	unsigned int n;
	const char *message; /* the daemon's event, byte for byte */
	size_t len;
	int victim_in; /* the next victim's pid; 0 to stop */
	int ready_out; /* 'r': watching the victim; 'd': every ack read */
};

/* The reference's life, in a child of the bench: one death per victim. */
void __attribute__((noreturn)) reference_run(const struct reference *r);

#endif
