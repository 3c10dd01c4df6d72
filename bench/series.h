/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A timed series as the bench programs print it for bench/report: one
 * JSON object on a line, with the series' name, its trials, and p50,
 * p99 and max in microseconds.
 */
#ifndef SNAPSET_BENCH_SERIES_H
#define SNAPSET_BENCH_SERIES_H

#include <stdio.h>
#include <stdlib.h>

static int compare_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* Sorts @ns, the trials' times in nanoseconds, and prints the series. */
static void series_print(const char *name, unsigned int trials, long long *ns)
{
	qsort(ns, trials, sizeof(*ns), compare_ll);
	printf("{\"series\": \"%s\", \"trials\": %u, \"p50_us\": %.1f, "
	       "\"p99_us\": %.1f, \"max_us\": %.1f}\n",
	       name, trials, ns[(trials - 1) * 50 / 100] / 1e3,
	       ns[(trials - 1) * 99 / 100] / 1e3, ns[trials - 1] / 1e3);
	fflush(stdout);
}

#endif
