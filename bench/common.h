/* SPDX-License-Identifier: GPL-2.0 */
/* What the bench programs share: clocks, processes, the module's counters. */
#ifndef SNAPSET_BENCH_COMMON_H
#define SNAPSET_BENCH_COMMON_H

#include <stdbool.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC, in ns. */
long long now_ns(void);
/* "bench PROGRAM: @what: strerror(@err)", and exit 1. */
void __attribute__((noreturn)) die(const char *what, int err);
/* The state letter of /proc/@pid/stat ('S': asleep), or 0. */
char process_state(pid_t pid);
/* Whether every thread of @pid sleeps ('S'). */
bool process_asleep(pid_t pid);
/* A counter of /sys/class/misc/snapset (pending, agent...), 0 if none. */
unsigned int sysfs_number(const char *name);
/* qsort()'s comparison of long longs. */
int compare_ll(const void *a, const void *b);
/*
 * Sorts @ns, the trials' times in nanoseconds, and prints the series as
 * bench/report reads it: one JSON object on a line, with its name, its
 * trials, and p50, p99 and max in microseconds.
 */
void series_print(const char *name, unsigned int trials, long long *ns);
/*
 * A process that sleeps until it is killed; the owner of an armed set
 * if @armed. It dies with the bench.
 */
pid_t victim_start(bool armed);

#endif
