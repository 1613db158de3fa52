/* SPDX-License-Identifier: MIT */
/*
 * fuzz-suppress.c - the suppressions parser on arbitrary text, from a
 * string and from a file (the line reader), then matching against a stack
 * whose names come from the input too, --print-suppressions, and
 * --gen-suppressions.  Oracle: a string and the same bytes in a file load
 * the same patterns (or both fail); what --gen-suppressions writes loads
 * back and suppresses the stack it was written for (suppress.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "leaktrap/suppress.h"

/* A stack of up to 4 frames named by the NUL-separated words of text[]. */
static void make_stack(const char *text, size_t len, struct report_stack *st,
		       struct report_frame *frames)
{
	const char *p = text, *end = text + len;
	memset(st, 0, sizeof(*st));
	memset(frames, 0, 4 * sizeof(*frames));
	st->frames = frames, st->bytes = 4096, st->blocks = 2;
	for (unsigned i = 0; i < 4 && p < end; i++) {
		frames[i].pc = 0x1000 + i;
		frames[i].function = *p ? (char *)p : NULL;
		p += strlen(p) + 1;
		frames[i].module = p < end && *p ? (char *)p : NULL;
		p += p < end ? strlen(p) + 1 : 0;
		frames[i].file = p < end && *p ? (char *)p : NULL;
		p += p < end ? strlen(p) + 1 : 0;
		st->n_frames = i + 1;
	}
}

static struct suppressions *load_file(const uint8_t *data, size_t size, int *err_ret)
{
	char path[64], err[256];
	struct suppressions *s = suppressions_create();
	int fd = memfd_create("supp", MFD_CLOEXEC);
	if (!s || fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		suppressions_destroy(s);
		return NULL;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	*err_ret = suppressions_load_file(s, path, err, sizeof(err));
	close(fd);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	int ferr = 0;
	char *text = fuzz_strndup(data, size);
	struct suppressions *s = suppressions_create();
	struct suppressions *f = load_file(data, size, &ferr);
	if (!text || !s || !f)
		goto out;
	int serr = suppressions_load_string(s, "fuzz", text, err, sizeof(err));
	FUZZ_CHECK(serr == 0 || serr == -EINVAL);
	if (serr == 0)
		FUZZ_CHECK(suppressions_size(s) > 0 || !strstr(text, "leak:") ||
			   strchr(text, '#'));
	/* without a NUL the file is the string */
	if (!memchr(data, 0, size)) {
		FUZZ_CHECK((serr == 0) == (ferr == 0));
		if (serr == 0) {
			FUZZ_CHECK(suppressions_size(s) == suppressions_size(f));
			for (unsigned i = 0; i < suppressions_size(s); i++)
				FUZZ_CHECK(!strcmp(suppressions_get(s, i)->pattern,
						   suppressions_get(f, i)->pattern));
		}
	}

	/* the stack: the bytes after the first NUL, or the text itself */
	const char *names = memchr(data, 0, size) ? text + strlen(text) + 1 : text;
	size_t names_len = (size_t)(text + size - names);
	struct report_stack st;
	struct report_frame frames[4];
	make_stack(names, names_len, &st, frames);
	int idx = suppressions_match(s, &st);
	FUZZ_CHECK(idx >= -1 && idx < (int)suppressions_size(s));
	suppressions_count(s, idx, st.bytes, st.blocks);
	FILE *null = fopen("/dev/null", "w");
	if (null) {
		(void)suppressions_write_used(s, null);
		fclose(null);
	}

	/* --gen-suppressions round trip */
	struct report rep = { .n_stacks = 1, .stacks = &st };
	char *gen = NULL;
	size_t gen_len = 0;
	FILE *mem = open_memstream(&gen, &gen_len);
	if (mem && suppressions_write_generated(&rep, mem) == 0 && fclose(mem) == 0) {
		struct suppressions *g = suppressions_create();
		if (g) {
			int gerr = suppressions_load_string(g, "generated", gen, err, sizeof(err));
			if (gerr)
				fprintf(stderr, "generated:\n%s\nerror: %s\n", gen, err);
			FUZZ_CHECK(gerr == 0);
			if (suppressions_size(g))
				FUZZ_CHECK(suppressions_match(g, &st) >= 0);
			suppressions_destroy(g);
		}
	} else if (mem) {
		fclose(mem);
	}
	free(gen);
out:
	suppressions_destroy(f);
	suppressions_destroy(s);
	free(text);
	return 0;
}
