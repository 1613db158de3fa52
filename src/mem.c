/* SPDX-License-Identifier: MIT */
/*
 * mem.c - remote memory access (see mem.h for the fallback order).
 * Does not know about threads beyond the stopped tid a text write may need.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <unistd.h>

#include "leaktrap/mem.h"

int mem_open(struct mem *m, pid_t pid)
{
	char path[64];
	memset(m, 0, sizeof(*m));
	m->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	m->fd = open(path, O_RDWR | O_CLOEXEC);
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

ssize_t mem_read_partial(struct mem *m, uint64_t addr, void *buf, size_t len)
{
	if (!m->no_pvr) {
		ssize_t n = pvr_read(m, addr, buf, len);
		if (n >= 0 || !m->no_pvr)
			return n;
	}
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
	ssize_t n = pwrite(m->fd, buf, len, (off_t)addr);
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
		if (n < 0 && errno != EIO && errno != EPERM && errno != EACCES)
			return -errno;
		m->no_proc_write = 1;
	}
	return poke_text(stopped_tid, addr, buf, len);
}
