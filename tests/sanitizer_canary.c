// SPDX-License-Identifier: GPL-2.0
/*
 * The sanitizers' positive control: built with the program's ASan and
 * UBSan flags (make sanitize-build), it commits the fault its argument
 * names, so that tests/tools_test.sh can show that tools/sanitized turns
 * each kind of report into a failure, from any process, whatever that
 * process did with its stderr. With no argument, it does nothing wrong.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Volatile, so that the compiler cannot see the fault coming. */
static volatile int past_end = 8;

/* Its block's only pointer dies with its frame: no root keeps it. */
static __attribute__((noinline)) void leak(void)
{
	volatile char *block = malloc(32);

	if (block)
		block[0] = 1;
}

int main(int argc, char **argv)
{
	const char *fault = argc > 1 ? argv[1] : "";
	char *buffer = malloc(8);
	int big = INT_MAX;

	if (!buffer)
		return 2;
	if (!strcmp(fault, "overflow"))
		buffer[past_end] = 1;
	if (!strcmp(fault, "undefined"))
		big += argc; /* signed overflow */
	if (!strcmp(fault, "leak"))
		leak();
	/* A child's report counts as much as its parent's. */
	if (!strcmp(fault, "child-overflow")) {
		if (fork() == 0) {
			buffer[past_end] = 1;
			_exit(0);
		}
		wait(NULL);
	}
	free(buffer);
	return big == INT_MAX ? 0 : 3;
}
