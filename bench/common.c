// SPDX-License-Identifier: GPL-2.0
/* What the bench programs share (bench/common.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "../userspace/common/module.h"
#include "common.h"

long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void die(const char *what, int err)
{
	fprintf(stderr, "bench %s: %s: %s\n", program_invocation_short_name,
		what, strerror(err));
	exit(1);
}

char process_state(pid_t pid)
{
	char path[64], stat[512], *end;
	FILE *f;
	char state = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(stat, sizeof(stat), f) && (end = strrchr(stat, ')')))
		state = end[2];
	fclose(f);
	return state;
}

bool process_asleep(pid_t pid)
{
	char path[64];
	struct dirent *task;
	bool asleep = true;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return false;
	while (asleep && (task = readdir(dir)))
		if (task->d_name[0] != '.')
			asleep = process_state(atoi(task->d_name)) == 'S';
	closedir(dir);
	return asleep;
}

unsigned int sysfs_number(const char *name)
{
	char path[96];
	unsigned int value = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/misc/snapset/%s", name);
	f = fopen(path, "re");
	if (f && fscanf(f, "%u", &value) != 1)
		value = 0;
	if (f)
		fclose(f);
	return value;
}

int compare_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

void series_print(const char *name, unsigned int trials, long long *ns)
{
	qsort(ns, trials, sizeof(*ns), compare_ll);
	printf("{\"series\": \"%s\", \"trials\": %u, \"p50_us\": %.1f, "
	       "\"p99_us\": %.1f, \"max_us\": %.1f}\n",
	       name, trials, ns[(trials - 1) * 50 / 100] / 1e3,
	       ns[(trials - 1) * 99 / 100] / 1e3, ns[trials - 1] / 1e3);
	fflush(stdout);
}

pid_t victim_start(bool armed)
{
	__u8 id[SNAPSET_ID_LEN];
	int ready[2], fd = -1;
	pid_t pid;
	char byte;

	if (pipe2(ready, O_CLOEXEC))
		die("pipe", errno);
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		/* A bench that dies takes its victim and its set along. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (armed) {
			fd = module_open();
			if (fd < 0 || module_create(fd, "bench", id) ||
			    module_arm(fd))
				_exit(1);
		}
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (read(ready[0], &byte, 1) != 1)
		die("victim", EIO);
	close(ready[0]);
	return pid;
}
