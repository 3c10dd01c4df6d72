// SPDX-License-Identifier: GPL-2.0
#include <time.h>

#include "clock.h"

long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}
