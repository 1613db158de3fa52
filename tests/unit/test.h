/* SPDX-License-Identifier: MIT */
/*
 * test.h - a minimal unit-test harness: assertions that report
 * "file:line: assertion failed: ..." and count failures without stopping,
 * and test_summary() printing "N passed, M failed".  Header-only: each
 * test program includes it once.  No fixtures, no forking, no timing.
 */
#ifndef LEAKTRAP_TEST_H
#define LEAKTRAP_TEST_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static unsigned test_passed;
static unsigned test_failed;

static inline int test_check(int ok, const char *file, int line,
			     const char *expr)
{
	if (ok) {
		test_passed++;
		return 1;
	}
	test_failed++;
	fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
	return 0;
}

static inline int test_check_u64(uint64_t a, uint64_t b, const char *file,
				 int line, const char *ea, const char *eb)
{
	if (a == b) {
		test_passed++;
		return 1;
	}
	test_failed++;
	fprintf(stderr, "%s:%d: assertion failed: %s == %s (%" PRIu64
		" != %" PRIu64 ")\n", file, line, ea, eb, a, b);
	return 0;
}

static inline int test_check_str(const char *a, const char *b,
				 const char *file, int line,
				 const char *ea, const char *eb)
{
	if ((a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0)) {
		test_passed++;
		return 1;
	}
	test_failed++;
	fprintf(stderr, "%s:%d: assertion failed: %s == %s\n"
		"  got:      \"%s\"\n  expected: \"%s\"\n", file, line, ea, eb,
		a ? a : "(null)", b ? b : "(null)");
	return 0;
}

#define TEST_ASSERT(expr) \
	test_check(!!(expr), __FILE__, __LINE__, #expr)
#define TEST_ASSERT_EQ_U64(a, b) \
	test_check_u64((uint64_t)(a), (uint64_t)(b), __FILE__, __LINE__, #a, #b)
#define TEST_ASSERT_STREQ(a, b) \
	test_check_str((a), (b), __FILE__, __LINE__, #a, #b)

static inline int test_summary(void)
{
	printf("%u passed, %u failed\n", test_passed, test_failed);
	return test_failed ? 1 : 0;
}

#endif
