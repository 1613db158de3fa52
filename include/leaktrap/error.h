/* SPDX-License-Identifier: MIT */
/*
 * error.h - the one place messages to the user are written, and the exit
 * status contract.  Messages are lowercase, failure first, one line, written
 * with a single write(2) (the tracee may share our stderr).
 */
#ifndef LEAKTRAP_ERROR_H
#define LEAKTRAP_ERROR_H

/* Exit statuses; documented in --help and docs/leaktrap.1. */
enum lt_exit {
	LT_EXIT_OK = 0,            /* report written */
	LT_EXIT_ERROR = 1,         /* internal error (after a clean detach) */
	LT_EXIT_USAGE = 2,         /* bad command line */
	LT_EXIT_NO_PROCESS = 3,    /* no such process, or it is not traceable */
	LT_EXIT_PERMISSION = 4,    /* ptrace not permitted */
	LT_EXIT_NO_ALLOCATOR = 5,  /* no allocator symbols in the target */
	LT_EXIT_TARGET_GONE = 6,   /* the target exited during attach */
	LT_EXIT_UNSUPPORTED = 7,   /* a target leaktrap cannot trace safely */
	LT_EXIT_COMMAND_FAILED = 8,/* launch mode: COMMAND exited non-zero or was
	                            * killed (the report was written) */
	LT_EXIT_PARTIAL = 9,       /* --max-blocks reached: report of what was seen */
};

/* "leaktrap: <message>\n" on stderr. */
void lt_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, with ": <strerror(-err)>" appended. */
void lt_error_errno(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "leaktrap: warning: <message>\n" */
void lt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Verbose diagnostics, printed only when lt_verbose is set (-v). */
void lt_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int lt_verbose;

#endif
