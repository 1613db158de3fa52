/* SPDX-License-Identifier: MIT */
/*
 * report-folded.c - the report as "folded stacks", the input of
 * flamegraph.pl, inferno and speedscope: one line per stack, frames from
 * the outermost (root) to the allocator's caller, separated by ';', then a
 * space and the stack's live bytes:
 *
 *   _start;__libc_start_main;main;leak_here 4096
 *
 * A frame is its function name without offset, so call sites in the same
 * function fold together; without a function it is "[module basename]",
 * without either its pc ("0x7f3c8a294ac2"); a stack without frames is
 * "[unknown]".  In names, ';', spaces and control characters become '_'
 * so that a line always splits on its last space and then on ';'.  Stacks
 * whose lines are equal are merged into one line with their bytes summed.
 * Lines are ordered by bytes, largest first, then by text.
 *
 * Only the stacks in the model are written (after --top); blocks counts,
 * source lines and modules of named functions are not written.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "leaktrap/report.h"

struct folded_line {
	char *text;       /* the frames, without the count */
	uint64_t bytes;
};

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

/* Write name with every character that would break a line replaced. */
static void put_name(const char *name, FILE *out)
{
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		fputc(*p == ';' || *p == ' ' || *p < 0x20 || *p == 0x7f ?
		      '_' : *p, out);
}

static void put_frame(const struct report_frame *f, FILE *out)
{
	if (f->function && f->function[0]) {
		put_name(f->function, out);
	} else if (f->module && f->module[0]) {
		fputc('[', out);
		put_name(base_name(f->module), out);
		fputc(']', out);
	} else {
		fprintf(out, "0x%" PRIx64, f->pc);
	}
}

/* The folded frames of rs, outermost first, malloc'ed; NULL: no memory. */
static char *fold_stack(const struct report_stack *rs)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	if (!mem)
		return NULL;
	if (rs->n_frames == 0)
		fputs("[unknown]", mem);
	for (unsigned i = rs->n_frames; i-- > 0;) {
		put_frame(&rs->frames[i], mem);
		if (i > 0)
			fputc(';', mem);
	}
	if (fclose(mem) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static int cmp_text(const void *pa, const void *pb)
{
	const struct folded_line *a = pa, *b = pb;

	return strcmp(a->text, b->text);
}

static int cmp_bytes(const void *pa, const void *pb)
{
	const struct folded_line *a = pa, *b = pb;

	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	return strcmp(a->text, b->text);
}

/* Merge equal lines of the text-sorted lines[n]; returns the new count. */
static size_t merge_lines(struct folded_line *lines, size_t n)
{
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		struct folded_line *last = kept > 0 ? &lines[kept - 1] : NULL;

		if (last && strcmp(last->text, lines[i].text) == 0) {
			last->bytes += lines[i].bytes;
			free(lines[i].text);
		} else {
			lines[kept++] = lines[i];
		}
	}
	return kept;
}

static void free_lines(struct folded_line *lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(lines[i].text);
	free(lines);
}

/* Fold every stack of rep into *lines_ret (n_stacks entries), merged and
 * sorted; *n_ret gets the count left.  Returns 0 or -ENOMEM. */
static int fold_report(const struct report *rep,
		       struct folded_line **lines_ret, size_t *n_ret)
{
	struct folded_line *lines = calloc(rep->n_stacks ? rep->n_stacks : 1,
					   sizeof(*lines));

	if (!lines)
		return -ENOMEM;
	for (unsigned i = 0; i < rep->n_stacks; i++) {
		lines[i].bytes = rep->stacks[i].bytes;
		lines[i].text = fold_stack(&rep->stacks[i]);
		if (!lines[i].text) {
			free_lines(lines, i);
			return -ENOMEM;
		}
	}
	qsort(lines, rep->n_stacks, sizeof(*lines), cmp_text);
	*n_ret = merge_lines(lines, rep->n_stacks);
	qsort(lines, *n_ret, sizeof(*lines), cmp_bytes);
	*lines_ret = lines;
	return 0;
}

int report_write_folded(const struct report *rep, FILE *out)
{
	struct folded_line *lines;
	size_t n;
	int err = fold_report(rep, &lines, &n);

	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s %" PRIu64 "\n", lines[i].text, lines[i].bytes);
	free_lines(lines, n);
	if (fflush(out) != 0 || ferror(out))
		return -EIO;
	return 0;
}
