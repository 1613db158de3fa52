/* SPDX-License-Identifier: MIT */
/*
 * fuzz-baseline.c - baseline_parse() on arbitrary bytes (a --baseline
 * file is user input: a truncated or hand-edited report, or not JSON at
 * all), then baseline_bytes() and baseline_filter() over a report whose
 * frame names come from the input.  Oracle: an error always comes with a
 * message naming the input; a filtered report keeps only stacks that
 * grew.
 */
#include <errno.h>

#include "fuzz.h"
#include "leaktrap/baseline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256] = "";
	struct baseline *b = NULL;
	char *json = fuzz_strndup(data, size);
	if (!json)
		return 0;
	int e = baseline_parse("fuzz.json", json, &b, err, sizeof(err));
	if (e) {
		FUZZ_CHECK(e == -EINVAL || e == -ENOMEM);
		FUZZ_CHECK(!strncmp(err, "fuzz.json: ", 11));
		free(json);
		return 0;
	}
	/* a report of three stacks, frames named by the input's words */
	const char *p = json;
	struct report rep = { .n_stacks = 3, .total_stacks = 3 };
	rep.stacks = calloc(3, sizeof(*rep.stacks));
	for (unsigned i = 0; rep.stacks && i < 3; i++) {
		struct report_stack *st = &rep.stacks[i];
		st->bytes = 100u << i, st->blocks = 1;
		if (!i || !(st->frames = calloc(2, sizeof(*st->frames))))
			continue;
		st->n_frames = 2;
		for (unsigned j = 0; j < 2; j++) {
			p += strspn(p, " ,\":{}[]\n");
			size_t n = strcspn(p, " ,\":{}[]\n");
			st->frames[j].function = n ? strndup(p, n) : NULL;
			st->frames[j].module = j ? strdup("/lib/libc.so.6") : NULL;
			p += n;
		}
		(void)baseline_bytes(b, st);
	}
	if (rep.stacks) {
		baseline_filter(b, &rep);
		for (unsigned i = 0; i < rep.n_stacks; i++)
			FUZZ_CHECK(rep.stacks[i].bytes > baseline_bytes(b, &rep.stacks[i]));
		report_release(&rep);
	}
	baseline_destroy(b);
	free(json);
	return 0;
}
