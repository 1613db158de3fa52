/* SPDX-License-Identifier: MIT */
/*
 * reach-graph.c - throughput of the pure reachability graph (no target):
 * N blocks of 16..520 bytes packed in a heap, a root area of M MiB where
 * one word in D points into a random block (a quarter of them interior),
 * fed in 1 MiB chunks like reach-scan does.  Prints the CPU time of the
 * index, the root scan (Mwords/s) and the classification.
 *
 *   reach-graph [N [M [D]]]        (defaults 100000, 256, 32)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "leaktrap/reach.h"

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	size_t mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 256;
	uint64_t dens = argc > 3 ? strtoul(argv[3], NULL, 10) : 32;
	if (!n || !mib || !dens)
		return 2;
	struct reach_node *nodes = malloc(n * sizeof(*nodes));
	size_t words = mib << 17, chunk = 1 << 17;
	uint64_t *buf = malloc(words * sizeof(*buf)), a = 0x555555560000ULL, s = 88172645463325252ULL;
	if (!nodes || !buf)
		return 1;
	for (size_t i = 0; i < n; i++) {
		uint64_t size = 16 + (rnd(&s) % 64) * 8;
		nodes[i] = (struct reach_node){ a, size, size + 8 };
		a += size + 16;
	}
	for (size_t i = 0; i < words; i++) {
		uint64_t r = rnd(&s);
		buf[i] = r % dens == 0 ? nodes[(r >> 8) % n].addr + ((r >> 40) % 4 == 0 ? 8 : 0)
				       : r >> 40;
	}
	struct reach_graph *g;
	double t0 = cpu_now();
	if (reach_graph_create(nodes, n, NULL, 0, &g) < 0)
		return 1;
	double t1 = cpu_now();
	for (size_t off = 0; off < words; off += chunk)
		if (reach_feed_roots(g, 0x7f0000000000ULL + off * 8, buf + off, chunk * 8) < 0)
			return 1;
	double t2 = cpu_now();
	if (reach_classify(g, NULL, REACH_H_ALL) < 0)
		return 1;
	double t3 = cpu_now();
	struct reach_summary sum;
	reach_summarize(g, &sum);
	printf("blocks %zu, roots %zu MiB (1 word in %lu a pointer): index %.3f s, roots %.3f s "
	       "(%.0f Mwords/s, %.3f s/GiB), classify %.3f s; reachable %lu\n",
	       n, mib, (unsigned long)dens, t1 - t0, t2 - t1, (double)words / (t2 - t1) / 1e6,
	       (t2 - t1) * 1024.0 / (double)mib, t3 - t2,
	       (unsigned long)sum.blocks[REACH_REACHABLE]);
	reach_graph_destroy(g);
	free(nodes);
	free(buf);
	return 0;
}
