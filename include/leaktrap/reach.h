/* SPDX-License-Identifier: MIT */
/*
 * reach.h - reachability of the blocks allocated while tracing, with
 * valgrind memcheck's semantics (mc_leakcheck.c; docs/leaktrap.1,
 * "REACHABILITY").
 *
 * reach-graph.c is pure: it is fed the blocks (nodes), the ranges freed in
 * the window, the root memory and the registers of a stopped target as
 * byte buffers, and classifies every block as definitely lost (with the
 * bytes it holds indirectly), indirectly lost, possibly lost or still
 * reachable.  The few questions that need the target again (is this a
 * vtable, is this a glibc free chunk, what does this block hold when it was
 * not fed) go through struct reach_env callbacks.  Unit-tested with
 * synthetic memory images (tests/unit/test-reach.c).
 *
 * reach-scan.c gathers all of that from a target whose threads are all in
 * a ptrace-stop (maps, registers, stacks, TLS, pagemap, process_vm_readv in
 * large chunks) and only ever reads.
 */
#ifndef LEAKTRAP_REACH_H
#define LEAKTRAP_REACH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* In memcheck's order (its Reachedness enum): the sort key of loss records. */
enum reach_kind {
	REACH_DEFINITE = 0,     /* Unreached: no pointer at all */
	REACH_INDIRECT = 1,     /* only pointed to from lost blocks */
	REACH_POSSIBLE = 2,     /* only interior pointers (or via possible) */
	REACH_REACHABLE = 3,    /* a start pointer from the roots */
	REACH_KINDS = 4
};
/* "definite", "indirect", "possible", "reachable" */
const char *reach_kind_name(enum reach_kind k);

/* Masks of (1 << enum reach_kind). */
enum {
	REACH_MASK_ALL = 0xf,
	REACH_MASK_DEFAULT = (1 << REACH_DEFINITE) | (1 << REACH_POSSIBLE),
};
/* valgrind's --show-leak-kinds / --errors-for-leak-kinds spellings: a
 * comma list of definite, indirect, possible, reachable, or all / none.
 * Returns 0 or -EINVAL. */
int reach_parse_kinds(const char *s, unsigned *mask_ret);

/* Interior-pointer heuristics, memcheck's order (LeakCheckHeuristic). */
enum reach_heuristic {
	REACH_H_NONE = 0,
	REACH_H_STDSTRING = 1,
	REACH_H_LENGTH64 = 2,
	REACH_H_NEWARRAY = 3,
	REACH_H_MULTIPLEINHERITANCE = 4,
	REACH_HEURISTICS = 5
};
enum { REACH_H_ALL = 0x1e };       /* masks of (1 << enum reach_heuristic) */
const char *reach_heuristic_name(enum reach_heuristic h);
/* --leak-check-heuristics: a comma list of stdstring, length64, newarray,
 * multipleinheritance, or all / none.  Returns 0 or -EINVAL. */
int reach_parse_heuristics(const char *s, unsigned *mask_ret);

/* One tracked block.  size is what was asked for (pointers into
 * [addr, addr + max(size, 1)) refer to it); usable >= size is the extent the
 * allocator gave (never scanned as root memory). */
struct reach_node {
	uint64_t addr, size, usable;
};

struct reach_range {
	uint64_t start, end;
};

struct reach_result {
	uint8_t kind;           /* enum reach_kind */
	uint8_t heuristic;      /* reachable through this heuristic, or 0 */
	uint64_t indirect;      /* definite blocks: bytes lost through it */
};

struct reach_env {
	void *arg;
	/* Non-zero if addr looks like a C++ vtable (a readable file mapping
	 * whose first non-null words are >= 2 pointers into code). */
	int (*is_vtable)(void *arg, uint64_t addr);
	/* Non-zero if chunk is the header of a free glibc chunk (arena top
	 * or a binned chunk); a root word equal to it is an allocator
	 * pointer, not a pointer into the block before it. */
	int (*is_free_chunk)(void *arg, uint64_t chunk);
	/* Read len bytes at addr (a block whose contents were not fed);
	 * 0 or a negative errno. */
	int (*read)(void *arg, uint64_t addr, void *buf, size_t len);
};

struct reach_graph;

/* Sort and index the blocks (n up to ~2^31) and the freed ranges.  Blocks
 * must not overlap.  Returns 0 or -ENOMEM. */
__attribute__((warn_unused_result))
int reach_graph_create(const struct reach_node *nodes, size_t n,
		       const struct reach_range *freed, size_t n_freed,
		       struct reach_graph **g_ret);
void reach_graph_destroy(struct reach_graph *g);   /* accepts NULL */

/* The index of the block containing addr, or -1.  O(1) page lookup then
 * a binary search among the blocks of that page. */
long reach_lookup(const struct reach_graph *g, uint64_t addr);

/* Target memory [base, base + len) as read: the contents of the blocks in
 * it are copied (floor(size / 8) words of each are scanned later).
 * Call for every chunk of memory read, root or not.  Returns 0 or -ENOMEM. */
__attribute__((warn_unused_result))
int reach_feed_contents(struct reach_graph *g, uint64_t base, const void *buf, size_t len);
/* [base, base + len) was never touched (pagemap): the blocks in it hold
 * zeros there; nothing is read. */
void reach_feed_untouched(struct reach_graph *g, uint64_t base, size_t len);
/* Root memory [base, base + len): its aligned words, minus the blocks'
 * usable extents and the freed ranges, are roots.  Returns 0 or -ENOMEM. */
__attribute__((warn_unused_result))
int reach_feed_roots(struct reach_graph *g, uint64_t base, const void *buf, size_t len);
/* Root values that are not memory (registers, the DTV rule).  0 or -ENOMEM. */
__attribute__((warn_unused_result))
int reach_feed_values(struct reach_graph *g, const uint64_t *v, size_t n);

/* Mark from the roots (heuristics: mask of enum reach_heuristic), then
 * group what is left into cliques.  Returns 0 or -ENOMEM. */
__attribute__((warn_unused_result))
int reach_classify(struct reach_graph *g, const struct reach_env *env, unsigned heuristics);

/* The result for nodes[i] as given to reach_graph_create. */
const struct reach_result *reach_result_of(const struct reach_graph *g, size_t i);

/* Totals per kind and per heuristic (reachable blocks found through one). */
struct reach_summary {
	uint64_t bytes[REACH_KINDS], blocks[REACH_KINDS];
	uint64_t h_bytes[REACH_HEURISTICS], h_blocks[REACH_HEURISTICS];
};
void reach_summarize(const struct reach_graph *g, struct reach_summary *sum_ret);
/* Root words examined (for the statistics line). */
uint64_t reach_root_words(const struct reach_graph *g);

/* ---- the classification a report is built from ------------------------ */

/* Results by address: sorted, looked up by binary search.  Owned by the
 * session, consulted by report_build(). */
struct reach_entry {
	uint64_t addr;
	struct reach_result r;
};

struct reach_report {
	int done;               /* the scan finished: entries are valid */
	char note[200];         /* why not, or "" */
	double stop_s;          /* how long the target was stopped for it */
	double cpu_s;           /* leaktrap's CPU time in it (user + system) */
	uint64_t scanned_bytes; /* root and block memory read */
	uint64_t n_threads;     /* threads whose registers and stack counted */
	struct reach_entry *entries;
	size_t n_entries;
	struct reach_summary sum;
	unsigned heuristics;    /* the set used */
};

/* The entry of addr, or NULL. */
const struct reach_result *reach_report_find(const struct reach_report *rr, uint64_t addr);
/* Fill rr->entries from g and nodes (same order); 0 or -ENOMEM. */
__attribute__((warn_unused_result))
int reach_report_fill(struct reach_report *rr, const struct reach_graph *g,
		      const struct reach_node *nodes, size_t n);
void reach_report_release(struct reach_report *rr);

/* ---- gathering from a stopped target (reach-scan.c) ------------------- */

struct mem;
struct ledger;

/* The ranges freed while tracing: dead memory whose stale words are not
 * roots.  Recorded only with --reachability. */
struct reach_freed {
	struct reach_range *v;
	size_t n, cap;
};
/* addr is about to be freed: record its usable extent, read from its
 * glibc chunk header (addr - 8).  mmap'ed chunks are unmapped by free
 * and not recorded; an implausible header records nothing. */
void reach_note_free(struct reach_freed *f, struct mem *m, uint64_t addr);
/* Record [start, end) (a realloc's old block, whose header is gone). */
void reach_note_range(struct reach_freed *f, uint64_t start, uint64_t end);
void reach_freed_release(struct reach_freed *f);

/* What a session with --reachability keeps (session.h: s->reach). */
struct reach_state {
	unsigned heuristics;
	struct reach_freed freed;
	struct reach_report rep;
};

/* Scan pid, every thread of which (tids) is in a ptrace-stop: the blocks
 * of lg are the nodes; the roots are every readable+writable mapping
 * (devices excepted) minus the blocks and the freed ranges, the stacks
 * from sp minus the red zone, every register, the DTV of every thread.
 * Only reads.  Fills rr (done = 1) and returns 0, or returns a negative
 * errno (-ESRCH: the target went away; -ENOMEM) with rr->note set. */
__attribute__((warn_unused_result))
int reach_scan(pid_t pid, struct mem *m, const pid_t *tids, size_t n_tids,
	       const struct ledger *lg, const struct reach_freed *freed,
	       unsigned heuristics, struct reach_report *rr);

#endif
