/* SPDX-License-Identifier: MIT */
/*
 * suppress.h - LeakSanitizer-style leak suppressions.  A suppressions file
 * holds lines "leak:PATTERN"; a report stack is suppressed when a pattern
 * matches the function, module or source file of any of its frames.  The
 * module parses files or strings, matches report stacks, keeps per-pattern
 * hit counters, drops suppressed stacks from a report and writes the
 * "--print-suppressions" and "--gen-suppressions" texts.  It is pure: no
 * global state, no printing except to the FILE * it is given.
 *
 * File format (LSan's): one entry per line; leading and trailing blanks
 * (space, tab, CR) are ignored; blank lines and lines whose first non-blank
 * character is '#' are ignored ("leak:foo # x" is the pattern "foo # x",
 * as in LSan); blanks after "leak:" are ignored too.  Only the "leak" type
 * is supported; LSan's other types ("interceptor_via_fun:", ...) are
 * errors, so that a file meant for another tool is not half-applied.
 *
 * Patterns follow LSan's TemplateMatch(): '*' matches any run of
 * characters, '^' as the first character anchors at the start, '$' anchors
 * at the end (anything after a '$' is ignored, and "x*$" is "x*"); without
 * anchors a pattern matches anywhere in the string.  '?' and every other
 * character is literal.  One difference: LSan checks '$' against the first
 * occurrence of the last literal run only ("ab$" does not match "abab"
 * there); here it is checked against the end of the string, as documented.
 * An empty string (an unknown name) never matches.
 *
 * A pattern is tried against each frame's function, module (full path and
 * basename; an unknown module is "<unknown module>", as in LSan) and source
 * file (full path and basename).  Which pattern gets the credit follows
 * LSan: frames innermost first; within a frame, the first pattern matching
 * the module, else the first matching the function or the file.
 */
#ifndef LEAKTRAP_SUPPRESS_H
#define LEAKTRAP_SUPPRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "leaktrap/report.h"

/* Longest accepted line, in bytes, not counting the newline. */
enum { SUPPRESSIONS_MAX_LINE = 4096 };

/* One loaded pattern and what it matched (read-only for callers). */
struct suppression {
	char *pattern;      /* without the "leak:" prefix */
	char *source;       /* file name (or the name given for a string) */
	unsigned line;      /* 1-based line in source */
	uint64_t stacks;    /* stacks counted against it */
	uint64_t bytes;
	uint64_t blocks;
};

struct suppressions;

/* Zero every suppression's counters (before the report that counts). */
void suppressions_reset_counts(struct suppressions *s);
/* While frozen (non-zero), suppressions_count() counts nothing: reports
 * that are written but must not be credited (interval reports, -i) are
 * built frozen.  Returns the previous setting. */
int suppressions_freeze_counts(struct suppressions *s, int frozen);

/* An empty set.  Returns NULL when out of memory; free with
 * suppressions_destroy(). */
struct suppressions *suppressions_create(void);
/* Frees s and its patterns; accepts NULL. */
void suppressions_destroy(struct suppressions *s);

/* Append the patterns of the file at path (call once per --suppressions).
 * Returns 0, -EINVAL for a malformed line, -ENOMEM, or the -errno of
 * opening or reading the file.  On failure nothing from this file is kept
 * and, if errlen > 0, err holds a one-line message without a trailing
 * newline for the caller to print, e.g. "supp.txt:3: empty pattern after
 * 'leak:'" or "cannot read suppressions file 'x': No such file or
 * directory".  err is untouched on success. */
__attribute__((warn_unused_result))
int suppressions_load_file(struct suppressions *s, const char *path,
			   char *err, size_t errlen);
/* Same for the NUL-terminated text; name stands for the file name in
 * messages and in struct suppression. */
__attribute__((warn_unused_result))
int suppressions_load_string(struct suppressions *s, const char *name,
			     const char *text, char *err, size_t errlen);

/* Number of patterns loaded, and the idx-th of them (NULL if out of
 * range).  The pointer is valid until the next load or destroy. */
unsigned suppressions_size(const struct suppressions *s);
const struct suppression *suppressions_get(const struct suppressions *s,
					   unsigned idx);

/* Index of the pattern that suppresses st (see the top of this file for
 * which one), or -1 when none does.  Does not count: see
 * suppressions_count().  s may be NULL (no suppressions). */
int suppressions_match(const struct suppressions *s,
		       const struct report_stack *st);
/* Count one suppressed stack of bytes/blocks against pattern idx, as
 * returned by suppressions_match(); an idx out of range is ignored. */
void suppressions_count(struct suppressions *s, int idx, uint64_t bytes,
			uint64_t blocks);

/* Drop every stack that s suppresses from rep (frames and block lists
 * freed, the order of the others kept), count each against its pattern,
 * and add them to rep->suppressed_stacks/_bytes/_blocks; total_stacks and
 * leak_bytes/leak_blocks are lowered to match, rep->totals is untouched.
 * Call after symbolizing and before report_truncate(), so that stacks
 * beyond --top are matched too.  s may be NULL (nothing happens). */
void report_apply_suppressions(struct report *rep, struct suppressions *s);

/* --print-suppressions, shaped like LSan's:
 *   Suppressions used:
 *     count      bytes template
 *         2       4096 foo_*
 * one row per pattern that matched at least one stack, in load order
 * (count = stacks); "Suppressions used: none" when none did.
 * Returns 0 or -EIO. */
int suppressions_write_used(const struct suppressions *s, FILE *out);

/* --gen-suppressions: for each stack of rep, in order (one block per
 * name: stacks with the same name are written once, their sizes added),
 *   # 4096 bytes in 2 allocations
 *   leak:FUNCTION
 * with blocks separated by a blank line.  FUNCTION is the first frame's
 * function name that is known (frame 0 is the allocator's caller); if no
 * frame has one, the basename of the first known module; if neither is
 * known, the comment says so and no "leak:" line is written.  '$', a
 * leading '^' and control characters in the name become '*', and a name
 * too long for a line is cut (a prefix still matches), so every line
 * written loads back and matches its stack.  Returns 0 or -EIO. */
int suppressions_write_generated(const struct report *rep, FILE *out);
/* The same for the n reports of reps (an exec'd program's images, then
 * the last), one block per pattern: stacks with the same name, in any
 * report, are written once with their bytes and allocations added up. */
int suppressions_write_generated_all(const struct report *reps, unsigned n, FILE *out);

#endif
