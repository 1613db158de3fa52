/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - shared by the fuzz targets (fuzz-*.c).  Each target defines
 * LLVMFuzzerTestOneInput(); built with -Dfuzz=true (clang) it links
 * libFuzzer, otherwise replay.c gives it a main() that runs the files of
 * the seed corpus and of the regression inputs once each (the unit tests
 * fuzz-*).  FUZZ_CHECK() is the oracle: a broken invariant aborts, which
 * both libFuzzer and the replay test report.
 */
#ifndef LEAKTRAP_FUZZ_H
#define LEAKTRAP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, \
			__LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* data[0..size) as a NUL-terminated string (stops at an embedded NUL). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s) {
		memcpy(s, data, size);
		s[size] = 0;
	}
	return s;
}

/* A little-endian integer taken from the front of the input (0 when it
 * is shorter); advances *data and *size. */
static inline uint64_t fuzz_take_u64(const uint8_t **data, size_t *size)
{
	uint64_t v = 0;
	size_t n = *size < 8 ? *size : 8;
	memcpy(&v, *data, n);
	*data += n, *size -= n;
	return v;
}

#endif
