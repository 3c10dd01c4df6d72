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

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);

/* 0: none fails; N: the Nth allocation from now fails, once. */
static unsigned int alloc_fail_at;

static int alloc_fails(void)
{
	return alloc_fail_at && --alloc_fail_at == 0;
}

void *malloc(size_t size)
{
	return alloc_fails() ? NULL : __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	return alloc_fails() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	return alloc_fails() ? NULL : __libc_realloc(p, size);
}

#endif
