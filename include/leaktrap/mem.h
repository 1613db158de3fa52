/* SPDX-License-Identifier: MIT */
/*
 * mem.h - reading and writing the target's memory.
 * Reads: process_vm_readv, falling back to pread(/proc/PID/mem), then to
 * PTRACE_PEEKDATA through a thread in a ptrace-stop (compat.h: no-cma,
 * no-procmem; such reads fail while every thread runs).
 * Data writes (stack slots): process_vm_writev, falling back to pwrite,
 * then PTRACE_POKEDATA.
 * Text writes (breakpoint bytes, scratch pages, which are not writable):
 * pwrite(/proc/PID/mem) (forced access), falling back to PTRACE_POKEDATA
 * through a ptrace-stopped thread when the kernel refuses forced writes
 * (proc_mem.force_override).
 */
#ifndef LEAKTRAP_MEM_H
#define LEAKTRAP_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mem {
	pid_t pid;
	int fd;            /* /proc/PID/mem, O_RDWR; -1 if it could not be opened */
	int no_pvr;        /* process_vm_readv/writev unavailable */
	int no_proc_write; /* forced writes through fd refused */
	pid_t peek_tid;    /* fd < 0: a stopped thread for PEEK/POKEDATA */
};

/* Open the target's memory.  Returns 0 or a negative errno. */
__attribute__((warn_unused_result))
int mem_open(struct mem *m, pid_t pid);
void mem_close(struct mem *m);

/* Reads and writes go through PTRACE_PEEKDATA/POKEDATA: they work only
 * while some thread of the process is in a ptrace-stop. */
static inline int mem_through_ptrace(const struct mem *m) { return m->fd < 0 && m->no_pvr; }

/* Read up to len bytes; returns the number read (short at the first
 * unreadable page) or a negative errno if nothing could be read. */
ssize_t mem_read_partial(struct mem *m, uint64_t addr, void *buf, size_t len);
/* Read exactly len bytes: 0 or a negative errno (-EFAULT when short). */
__attribute__((warn_unused_result))
int mem_read(struct mem *m, uint64_t addr, void *buf, size_t len);
/* Write to writable memory (a stack slot): 0 or a negative errno. */
__attribute__((warn_unused_result))
int mem_write_data(struct mem *m, uint64_t addr, const void *buf, size_t len);
/* Write to non-writable memory (code).  stopped_tid must be a thread of
 * the same address space in a ptrace-stop (used only for the fallback).
 * Returns 0 or a negative errno. */
__attribute__((warn_unused_result))
int mem_write_text(struct mem *m, pid_t stopped_tid, uint64_t addr,
		   const void *buf, size_t len);

#endif
