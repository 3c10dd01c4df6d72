/* SPDX-License-Identifier: GPL-2.0 */
/* Deadlines and waits: CLOCK_MONOTONIC, which no clock setting moves. */
#ifndef SNAPSET_COMMON_CLOCK_H
#define SNAPSET_COMMON_CLOCK_H

/* CLOCK_MONOTONIC in milliseconds. */
long long monotonic_ms(void);

#endif
