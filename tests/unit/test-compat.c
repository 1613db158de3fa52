/* SPDX-License-Identifier: MIT */
/*
 * test-compat.c - LEAKTRAP_COMPAT: the names of the kernel fallbacks,
 * lists of them, "all", an unknown name (reported with where it starts),
 * and compat_describe() naming exactly the fallbacks in use.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "leaktrap/compat.h"
#include "test.h"

static unsigned parse(const char *spec, int want_err, const char *want_bad)
{
	unsigned flags = 12345;
	const char *bad = NULL;
	int err = compat_parse(spec, &flags, &bad);
	TEST_ASSERT_EQ_U64((uint64_t)(long)err, (uint64_t)(long)want_err);
	if (want_bad)
		TEST_ASSERT(bad && !strncmp(bad, want_bad, strlen(want_bad)));
	return err ? 0 : flags;
}

int main(void)
{
	char buf[128];
	TEST_ASSERT_EQ_U64(parse("", 0, NULL), 0);
	TEST_ASSERT_EQ_U64(parse("no-seize", 0, NULL), COMPAT_NO_SEIZE);
	TEST_ASSERT_EQ_U64(parse("no-cma", 0, NULL), COMPAT_NO_CMA);
	TEST_ASSERT_EQ_U64(parse("no-procmem", 0, NULL), COMPAT_NO_PROCMEM | COMPAT_NO_CMA);
	TEST_ASSERT_EQ_U64(parse("no-sigmask,no-openat2", 0, NULL),
			   COMPAT_NO_SIGMASK | COMPAT_NO_OPENAT2);
	TEST_ASSERT_EQ_U64(parse("no-seize,,no-cma,", 0, NULL), COMPAT_NO_SEIZE | COMPAT_NO_CMA);
	TEST_ASSERT_EQ_U64(parse("all", 0, NULL), COMPAT_ALL);
	parse("no-seize,bogus,no-cma", -EINVAL, "bogus,");
	parse("no-seiz", -EINVAL, "no-seiz");
	parse("no-seize2", -EINVAL, "no-seize2");
	parse("NO-SEIZE", -EINVAL, "NO-SEIZE");

	compat_flags = 0;
	TEST_ASSERT_STREQ(compat_describe(buf, sizeof(buf)), "");
	compat_flags = COMPAT_NO_SEIZE | COMPAT_NO_SIGMASK;
	TEST_ASSERT_STREQ(compat_describe(buf, sizeof(buf)), "no-seize,no-sigmask");
	compat_flags = COMPAT_NO_CMA;
	TEST_ASSERT_STREQ(compat_describe(buf, sizeof(buf)), "no-cma");
	compat_flags = COMPAT_ALL;
	TEST_ASSERT_STREQ(compat_describe(buf, sizeof(buf)),
			  "no-seize,no-cma,no-procmem,no-sigmask,no-openat2");
	TEST_ASSERT(compat_has(COMPAT_NO_OPENAT2));
	compat_flags = 0;
	TEST_ASSERT(!compat_has(COMPAT_NO_OPENAT2));
	return test_summary();
}
