/* SPDX-License-Identifier: MIT */
/*
 * error.c - formatting of user-facing messages.  Each message is built in a
 * buffer and written with one write(2), so that it cannot interleave with the
 * output of a tracee sharing our stderr.  Async-signal safety is not a goal.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "leaktrap/error.h"

int lt_verbose;

__attribute__((format(printf, 3, 0)))
static void emit(const char *prefix, int err, const char *fmt, va_list ap)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "leaktrap: %s", prefix);
	if (n < 0)
		return;
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	if (n >= (int)sizeof(buf) - 64)
		n = (int)sizeof(buf) - 64;
	if (err) {
		int at = n + 2;
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, ": %s", strerror(err));
		if (at < n && buf[at] >= 'A' && buf[at] <= 'Z')
			buf[at] += 'a' - 'A';     /* "no such file", git style */
	}
	buf[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, buf, (size_t)n);
	(void)w;
}

void lt_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("", 0, fmt, ap);
	va_end(ap);
}

void lt_error_errno(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("", err < 0 ? -err : err, fmt, ap);
	va_end(ap);
}

void lt_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("warning: ", 0, fmt, ap);
	va_end(ap);
}

void lt_debug(const char *fmt, ...)
{
	va_list ap;
	if (!lt_verbose)
		return;
	va_start(ap, fmt);
	emit("debug: ", 0, fmt, ap);
	va_end(ap);
}
