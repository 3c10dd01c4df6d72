/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TESTS_UNDER_ASAN: 1 when the test is built with AddressSanitizer (make
 * sanitize-build). gcc says so with __SANITIZE_ADDRESS__, clang with
 * __has_feature.
 */
#ifndef SNAPSET_TESTS_SANITIZERS_H
#define SNAPSET_TESTS_SANITIZERS_H

#if defined(__SANITIZE_ADDRESS__)
#define TESTS_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TESTS_UNDER_ASAN 1
#endif
#endif
#ifndef TESTS_UNDER_ASAN
#define TESTS_UNDER_ASAN 0
#endif

#endif
