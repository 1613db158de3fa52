/* SPDX-License-Identifier: MIT */
/*
 * procfs.c - /proc/TID/status look-ups (tgid, tracer, pending signals,
 * state, CPU features) and /proc/PID/auxv.  Plain reads; knows nothing
 * about ptrace.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "leaktrap/procfs.h"

int procfs_status(pid_t tid, const char *key, char *buf, size_t len)
{
	char path[64], line[512];
	size_t klen = strlen(key);
	int err = -ENOENT;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	buf[0] = 0;
	FILE *f = fopen(path, "re");
	if (!f)
		return -ENOENT;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			const char *v = line + klen + 1;
			snprintf(buf, len, "%s", v + strspn(v, " \t"));
			buf[strcspn(buf, "\n")] = 0;
			err = 0;
			break;
		}
	fclose(f);
	return err;
}

unsigned long long procfs_status_num(pid_t tid, const char *key, int base)
{
	char buf[64];
	if (procfs_status(tid, key, buf, sizeof(buf)) < 0)
		return 0;
	return strtoull(buf, NULL, base);
}

uint64_t procfs_auxv(pid_t pid, unsigned long type)
{
	char path[64];
	Elf64_auxv_t av;
	uint64_t val = 0;
	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while (read(fd, &av, sizeof(av)) == sizeof(av) && av.a_type != AT_NULL)
		if (av.a_type == type)
			val = av.a_un.a_val;
	close(fd);
	return val;
}
