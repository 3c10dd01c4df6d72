/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Allocation failures on demand, for host tests of the paths that run
 * out of memory: the test program's malloc, calloc and realloc stand in
 * for glibc's (json-c and the daemon's objects call them too) and fail
 * the alloc_fail_at'th call from now. Include it in one file per test.
 */
#ifndef SNAPSET_TESTS_ALLOC_FAIL_H
#define SNAPSET_TESTS_ALLOC_FAIL_H

#include <stddef.h>

#include "sanitizers.h"

/*
 * The allocator behind ours: glibc's, or under ASan (make sanitize-build)
 * ASan's, which must hand out every block that its free takes.
 */
#if TESTS_UNDER_ASAN
#define real_malloc __interceptor_malloc
#define real_calloc __interceptor_calloc
#define real_realloc __interceptor_realloc
#else
#define real_malloc __libc_malloc
#define real_calloc __libc_calloc
#define real_realloc __libc_realloc
#endif

void *real_malloc(size_t size);
void *real_calloc(size_t n, size_t size);
void *real_realloc(void *p, size_t size);

/* 0: none fails; N: the Nth allocation from now fails, once. */
static unsigned int alloc_fail_at;

static int alloc_fails(void)
{
	return alloc_fail_at && --alloc_fail_at == 0;
}

void *malloc(size_t size)
{
	return alloc_fails() ? NULL : real_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	return alloc_fails() ? NULL : real_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	return alloc_fails() ? NULL : real_realloc(p, size);
}

#endif
