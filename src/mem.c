/* SPDX-License-Identifier: MIT */
/*
 * mem.c - remote memory access (see mem.h for the fallback order).
 * Does not know about threads beyond the stopped tid a text write may need.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <unistd.h>

#include "leaktrap/compat.h"
#include "leaktrap/error.h"
#include "leaktrap/mem.h"

int mem_open(struct mem *m, pid_t pid)
{
	char path[64];
	memset(m, 0, sizeof(*m));
	m->pid = pid;
	m->no_pvr = compat_has(COMPAT_NO_CMA);
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	if (compat_has(COMPAT_NO_PROCMEM)) {
		m->fd = -1;
		snprintf(path, sizeof(path), "/proc/%d", (int)pid);
		return access(path, F_OK) == 0 ? 0 : -ESRCH;
	}
	m->fd = open(path, O_RDWR | O_CLOEXEC);
	if (m->fd < 0 && (errno == EACCES || errno == EPERM)) {
		/* a kernel or policy that refuses /proc/PID/mem: words
		 * through ptrace (the process exists: we are its tracer) */
		lt_debug("cannot open %s (%s): reading through PTRACE_PEEKDATA", path,
			 strerror(errno));
		compat_flags |= COMPAT_NO_PROCMEM;
		m->no_pvr = compat_has(COMPAT_NO_CMA);
		return 0;
	}
	if (m->fd < 0)
		return -errno;
	return 0;
}

void mem_close(struct mem *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

static ssize_t pvr_read(struct mem *m, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(m->pid, &local, 1, &remote, 1, 0);
	if (n < 0 && (errno == ENOSYS || errno == EPERM))
		m->no_pvr = 1;
	return n < 0 ? -errno : n;
}

static ssize_t procmem_read(struct mem *m, uint64_t addr, void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(m->fd, (char *)buf + done, len - done,
				  (off_t)(addr + done));
		if (n <= 0)
			return done ? (ssize_t)done : (n < 0 ? -errno : -EFAULT);
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* ---- PTRACE_PEEKDATA / POKEDATA: no /proc/PID/mem ---------------------- */

/* A thread of the process in a ptrace-stop (any ptrace request but a few
 * fails with ESRCH on a running one): the last one found, else a scan. */
static int find_stopped(struct mem *m)
{
	char path[64];
	unsigned long msg;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)m->pid);
	DIR *d = opendir(path);
	m->peek_tid = 0;
	if (!d)
		return -ESRCH;
	for (struct dirent *de; !m->peek_tid && (de = readdir(d));) {
		pid_t tid = (pid_t)atoi(de->d_name);
		if (tid > 0 && ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg) == 0)
			m->peek_tid = tid;
	}
	closedir(d);
	return m->peek_tid ? 0 : -ESRCH;
}

static int peek_word(struct mem *m, uint64_t addr, long *word)
{
	for (int pass = 0; pass < 2; pass++) {
		if (m->peek_tid) {
			errno = 0;
			*word = ptrace(PTRACE_PEEKDATA, m->peek_tid, (void *)(uintptr_t)addr, NULL);
			if (!errno)
				return 0;
			if (errno != ESRCH)
				return -EFAULT;     /* EIO: not mapped */
		}
		if (pass == 0 && find_stopped(m) < 0)
			break;
	}
	return -ESRCH;
}

static ssize_t peek_read(struct mem *m, uint64_t addr, void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		uint64_t a = addr + done, w = a & ~7ULL;
		size_t skip = (size_t)(a - w), n = len - done < 8 - skip ? len - done : 8 - skip;
		long word;
		int err = peek_word(m, w, &word);
		if (err)
			return done ? (ssize_t)done : err;
		memcpy((char *)buf + done, (char *)&word + skip, n);
		done += n;
	}
	return (ssize_t)done;
}

static int poke_text(pid_t tid, uint64_t addr, const uint8_t *buf, size_t len);

static int poke_data(struct mem *m, uint64_t addr, const void *buf, size_t len)
{
	long word;
	int err = peek_word(m, addr & ~7ULL, &word);   /* finds a stopped thread */
	return err ? err : poke_text(m->peek_tid, addr, buf, len);
}

ssize_t mem_read_partial(struct mem *m, uint64_t addr, void *buf, size_t len)
{
	if (!m->no_pvr) {
		ssize_t n = pvr_read(m, addr, buf, len);
		if (n >= 0 || !m->no_pvr)
			return n;
	}
	if (m->fd < 0)
		return peek_read(m, addr, buf, len);
	return procmem_read(m, addr, buf, len);
}

int mem_read(struct mem *m, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = mem_read_partial(m, addr, buf, len);
	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EFAULT;
}

int mem_write_data(struct mem *m, uint64_t addr, const void *buf, size_t len)
{
	if (!m->no_pvr) {
		struct iovec local = { (void *)buf, len };
		struct iovec remote = { (void *)(uintptr_t)addr, len };
		ssize_t n = process_vm_writev(m->pid, &local, 1, &remote, 1, 0);
		if (n == (ssize_t)len)
			return 0;
		if (n >= 0 || (errno != ENOSYS && errno != EPERM))
			return n < 0 ? -errno : -EFAULT;
		m->no_pvr = 1;
	}
	if (m->fd < 0)
		return poke_data(m, addr, buf, len);
	ssize_t n = pwrite(m->fd, buf, len, (off_t)addr);
	if (n < 0 && (errno == EINVAL || errno == EPERM || errno == EACCES))
		return poke_data(m, addr, buf, len);
	return n == (ssize_t)len ? 0 : (n < 0 ? -errno : -EFAULT);
}

/* Word-wise read-modify-write through a stopped thread. */
static int poke_text(pid_t tid, uint64_t addr, const uint8_t *buf, size_t len)
{
	while (len) {
		uint64_t word_addr = addr & ~7ULL;
		unsigned skip = (unsigned)(addr - word_addr);
		size_t n = len < 8 - skip ? len : 8 - skip;
		errno = 0;
		long word = ptrace(PTRACE_PEEKDATA, tid, (void *)(uintptr_t)word_addr, NULL);
		if (errno)
			return -errno;
		memcpy((char *)&word + skip, buf, n);
		if (ptrace(PTRACE_POKEDATA, tid, (void *)(uintptr_t)word_addr,
			   (void *)word) < 0)
			return -errno;
		addr += n, buf += n, len -= n;
	}
	return 0;
}

int mem_write_text(struct mem *m, pid_t stopped_tid, uint64_t addr,
		   const void *buf, size_t len)
{
	if (!m->no_proc_write && m->fd >= 0) {
		ssize_t n = pwrite(m->fd, buf, len, (off_t)addr);
		if (n == (ssize_t)len)
			return 0;
		if (n < 0 && errno == EINVAL) {
			/* no write support at all: before 2.6.39, whose
			 * /proc/PID/mem reads also need PID itself stopped */
			lt_debug("/proc/%d/mem is read-only: using PTRACE_PEEKDATA/POKEDATA",
				 (int)m->pid);
			close(m->fd);
			m->fd = -1;
			compat_flags |= COMPAT_NO_PROCMEM;
		} else if (n < 0 && errno != EIO && errno != EPERM && errno != EACCES) {
			return -errno;
		}
		m->no_proc_write = 1;
	}
	return poke_text(stopped_tid, addr, buf, len);
}
