/* SPDX-License-Identifier: MIT */
/*
 * replay.c - main() for a fuzz target built without libFuzzer: runs
 * LLVMFuzzerTestOneInput() once on each file named, or on each file of
 * each directory named (the seed corpus, the regression inputs).  Exits 0
 * when every input ran (a crash or a FUZZ_CHECK aborts), 1 when an input
 * cannot be read or there was none.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = f ? open_memstream(&buf, &len) : NULL;
	char chunk[65536];
	for (size_t n; mem && (n = fread(chunk, 1, sizeof(chunk), f)) > 0;)
		fwrite(chunk, 1, n, mem);
	if (f)
		fclose(f);
	if (!mem || fclose(mem)) {
		fprintf(stderr, "cannot read %s: %s\n", path, strerror(errno));
		free(buf);
		return -1;
	}
	/* a copy of exactly len bytes, so that ASan sees reads beyond it */
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order.  Returns the count or -1. */
static int run_dir(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, NULL), ran = 0, bad = 0;
	if (n < 0) {
		fprintf(stderr, "cannot read %s: %s\n", dir, strerror(errno));
		return -1;
	}
	qsort(names, (size_t)n, sizeof(*names), cmp);
	for (int i = 0; i < n; i++) {
		char *path;
		struct stat st;
		if (names[i]->d_name[0] != '.' &&
		    asprintf(&path, "%s/%s", dir, names[i]->d_name) >= 0) {
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				if (run_file(path) < 0)
					bad = 1;
				ran++;
			}
			free(path);
		}
		free(names[i]);
	}
	free(names);
	return bad ? -1 : ran;
}

int main(int argc, char **argv)
{
	int total = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int n = stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) ? run_dir(argv[i])
								     : (run_file(argv[i]) ? -1 : 1);
		if (n < 0)
			return 1;
		total += n;
	}
	printf("%d inputs ran\n", total);
	return total > 0 ? 0 : 1;
}
