/* SPDX-License-Identifier: MIT */
/*
 * test-allocsyms.c - which object --allocator OBJECT names: a path, a file
 * name, or a file name and a '.' suffix; nothing else.
 */
#include "leaktrap/allocsyms.h"
#include "test.h"

int main(void)
{
	const char *je = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
	TEST_ASSERT(allocsyms_object_matches(je, je));
	TEST_ASSERT(allocsyms_object_matches(je, "libjemalloc.so.2"));
	TEST_ASSERT(allocsyms_object_matches(je, "libjemalloc.so"));
	TEST_ASSERT(allocsyms_object_matches(je, "libjemalloc"));
	TEST_ASSERT(!allocsyms_object_matches(je, "libje"));
	TEST_ASSERT(!allocsyms_object_matches(je, "jemalloc.so.2"));
	TEST_ASSERT(!allocsyms_object_matches(je, "/lib/libjemalloc.so.2"));
	TEST_ASSERT(!allocsyms_object_matches(je, "/usr/lib/x86_64-linux-gnu/libjemalloc"));
	TEST_ASSERT(allocsyms_object_matches("/opt/app/server", "server"));
	TEST_ASSERT(!allocsyms_object_matches("/opt/app/server", "serv"));
	return test_summary();
}
