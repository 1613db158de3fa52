/* SPDX-License-Identifier: MIT */
/*
 * procfs.h - small readers of /proc/TID files that several modules need.
 */
#ifndef LEAKTRAP_PROCFS_H
#define LEAKTRAP_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The value of the line "Key:\tvalue" of /proc/TID/status (tid may be any
 * thread), leading blanks and the newline removed, in buf.  Returns 0, or
 * -ENOENT when the file or the line is missing (buf is then ""). */
int procfs_status(pid_t tid, const char *key, char *buf, size_t len);

/* The same line parsed as a number in the given base; 0 if missing. */
unsigned long long procfs_status_num(pid_t tid, const char *key, int base);

/* The value of the auxiliary vector entry type (AT_ENTRY, ...) of pid,
 * from /proc/PID/auxv; 0 if missing or unreadable. */
uint64_t procfs_auxv(pid_t pid, unsigned long type);

#endif
