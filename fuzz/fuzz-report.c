/* SPDX-License-Identifier: MIT */
/*
 * fuzz-report.c - the report writers fed names from hostile objects and
 * processes: function names from a symbol table, module paths from
 * /proc/PID/maps, source file names from DWARF, and the command name can
 * hold any bytes but NUL (quotes, control characters, invalid UTF-8).
 * The input's NUL-separated words name up to 3 stacks of 3 frames.
 * Oracle: the JSON report is valid UTF-8 and parses back with the same
 * number of stacks; every folded line is "frames bytes" with no newline
 * inside; the SVG is valid UTF-8; the text report holds no control
 * character but its newlines (no terminal escapes from a symbol name).
 */
#define _GNU_SOURCE
#include <json-c/json.h>

#include "fuzz.h"
#include "leaktrap/report.h"

/* Whether s[0..len) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
static int valid_utf8(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned c = s[i], n;
		uint32_t cp;
		if (c < 0x80) { i++; continue; }
		if (c >= 0xc2 && c <= 0xdf) n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef) n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4) n = 3, cp = c & 0x07;
		else return 0;
		if (len - i <= n)
			return 0;
		for (unsigned k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static char *write_with(int (*writer)(const struct report *, FILE *),
			const struct report *rep, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		return NULL;
	int err = writer(rep, f);
	fclose(f);
	FUZZ_CHECK(err == 0);
	return buf;
}

static const char *word(const char **p, const char *end)
{
	if (*p >= end)
		return NULL;
	const char *w = *p;
	*p += strlen(w) + 1;
	return *w ? w : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	const char *p = text, *end = text + size;
	struct report_frame frames[3][3];
	struct report_stack stacks[3];
	memset(frames, 0, sizeof(frames));
	memset(stacks, 0, sizeof(stacks));
	struct report rep = { .pid = 42, .duration_s = 1.5, .end_reason = "interrupt",
			      .threads = 1, .functions = 9, .stacks = stacks };
	rep.command = (char *)word(&p, end);
	for (unsigned i = 0; i < 3 && p < end; i++) {
		for (unsigned j = 0; j < 3; j++) {
			struct report_frame *f = &frames[i][j];
			f->pc = 0x401000 + 16 * i + j;
			f->function = (char *)word(&p, end);
			f->module = (char *)word(&p, end);
			f->file = (char *)word(&p, end);
			f->line = f->file ? (int)(i * 10 + j + 1) : 0;
			f->offset = j;
		}
		stacks[i] = (struct report_stack){ .stack_id = i + 1, .bytes = 4096 >> i,
			.blocks = 1, .n_frames = 3, .frames = frames[i] };
		rep.n_stacks = rep.total_stacks = i + 1;
		rep.leak_bytes += stacks[i].bytes, rep.leak_blocks++;
		rep.totals.allocs++, rep.totals.live_blocks++;
		rep.totals.live_bytes += stacks[i].bytes;
	}

	size_t len;
	char *out = write_with(report_write_json, &rep, &len);
	if (out) {
		if (!valid_utf8((const unsigned char *)out, len))
			fprintf(stderr, "JSON report is not UTF-8:\n%s\n", out);
		FUZZ_CHECK(valid_utf8((const unsigned char *)out, len));
		struct json_object *root = json_tokener_parse(out), *st;
		FUZZ_CHECK(root != NULL);
		FUZZ_CHECK(json_object_object_get_ex(root, "stacks", &st));
		FUZZ_CHECK(json_object_array_length(st) == rep.n_stacks);
		json_object_put(root);
		free(out);
	}
	out = write_with(report_write_folded, &rep, &len);
	if (out) {
		unsigned lines = 0;
		for (char *line = out, *nl; (nl = memchr(line, '\n', len - (size_t)(line - out)));
		     line = nl + 1, lines++) {
			char *sp = memrchr(line, ' ', (size_t)(nl - line));
			FUZZ_CHECK(sp && sp + 1 < nl);
			for (char *d = sp + 1; d < nl; d++)
				FUZZ_CHECK(*d >= '0' && *d <= '9');
		}
		FUZZ_CHECK(lines <= rep.n_stacks);
		free(out);
	}
	out = write_with(report_write_svg, &rep, &len);
	if (out) {
		FUZZ_CHECK(valid_utf8((const unsigned char *)out, len));
		free(out);
	}
	out = write_with(report_write_text, &rep, &len);
	for (size_t i = 0; out && i < len; i++)
		FUZZ_CHECK(out[i] == '\n' || ((unsigned char)out[i] >= 0x20 && out[i] != 0x7f));
	free(out);
	free(text);
	return 0;
}
