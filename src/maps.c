/* SPDX-License-Identifier: MIT */
/*
 * maps.c - parser for /proc/PID/maps and address look-ups over it.
 * Knows nothing about ELF; the symbolizer and the allocator discovery use
 * the paths it returns.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "leaktrap/maps.h"

static unsigned parse_prot(const char *p)
{
	unsigned prot = 0;
	if (p[0] == 'r') prot |= MAP_R;
	if (p[1] == 'w') prot |= MAP_W;
	if (p[2] == 'x') prot |= MAP_X;
	if (p[3] == 's') prot |= MAP_SHARED_;
	return prot;
}

static int parse_line(const char *line, struct map_entry *e)
{
	char perms[8];
	int path_at = 0;
	uint64_t start, end, off, inode;
	unsigned dmaj, dmin;
	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n",
		   &start, &end, perms, &off, &dmaj, &dmin, &inode, &path_at) < 7 ||
	    strlen(perms) != 4 || end <= start)
		return -EINVAL;
	memset(e, 0, sizeof(*e));
	e->start = start, e->end = end, e->offset = off, e->inode = inode;
	e->prot = parse_prot(perms);
	const char *path = line + path_at;
	size_t len = strcspn(path, "\n");
	if (path_at && len) {
		e->path = strndup(path, len);
		if (!e->path)
			return -ENOMEM;
	}
	return 0;
}

static int push_entry(struct maps *m, size_t *cap, const struct map_entry *e)
{
	if (m->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct map_entry *v = realloc(m->v, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		m->v = v, *cap = ncap;
	}
	m->v[m->n++] = *e;
	return 0;
}

int maps_parse(const char *text, struct maps *maps_ret)
{
	struct maps m = { 0 };
	size_t cap = 0;
	int err = 0;
	m.text = strdup(text);
	if (!m.text)
		return -ENOMEM;
	for (const char *line = text; *line && !err;) {
		const char *nl = strchr(line, '\n');
		struct map_entry e;
		err = parse_line(line, &e);
		if (!err && (err = push_entry(&m, &cap, &e)))
			free(e.path);
		line = nl ? nl + 1 : line + strlen(line);
	}
	if (err) {
		maps_release(&m);
		return err;
	}
	*maps_ret = m;
	return 0;
}

static char *slurp(int fd)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	for (ssize_t n; buf; len += (size_t)n) {
		if (len + 1 >= cap) {
			char *nbuf = realloc(buf, cap *= 2);
			if (!nbuf)
				break;
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0) {
			if (n < 0)
				break;
			buf[len] = 0;
			return buf;
		}
	}
	free(buf);
	return NULL;
}

int maps_read(pid_t pid, struct maps *maps_ret)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char *text = slurp(fd);
	int err = text ? 0 : -errno;
	close(fd);
	if (!text)
		return err ? err : -ENOMEM;
	err = maps_parse(text, maps_ret);
	free(text);
	return err;
}

void maps_release(struct maps *maps)
{
	for (size_t i = 0; i < maps->n; i++)
		free(maps->v[i].path);
	free(maps->v);
	free(maps->text);
	memset(maps, 0, sizeof(*maps));
}

const struct map_entry *maps_find(const struct maps *maps, uint64_t addr)
{
	size_t lo = 0, hi = maps->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (addr < maps->v[mid].start)
			hi = mid;
		else if (addr >= maps->v[mid].end)
			lo = mid + 1;
		else
			return &maps->v[mid];
	}
	return NULL;
}

static uint64_t dist(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

/* Best candidate inside the free range [lo, hi) for a block of len. */
static uint64_t best_in_gap(uint64_t lo, uint64_t hi, uint64_t near, uint64_t len)
{
	if (hi < lo || hi - lo < len)
		return 0;
	if (hi <= near)
		return hi - len;        /* gap below: take its top */
	return lo;                      /* gap above: take its bottom */
}

uint64_t maps_find_gap(const struct maps *maps, uint64_t near, uint64_t near_end,
		       uint64_t len, uint64_t max_dist)
{
	const uint64_t min_addr = 0x10000, max_addr = 0x7ffffffff000ULL;
	uint64_t best = 0, prev_end = min_addr;
	const char *prev_path = NULL;
	for (size_t i = 0; i <= maps->n; i++) {
		uint64_t next = i < maps->n ? maps->v[i].start : max_addr;
		uint64_t c = best_in_gap(prev_end, next, near, len);
		/* never right above the heap: brk() must stay free to grow */
		if (c == prev_end && prev_path && !strcmp(prev_path, "[heap]"))
			c = 0;
		if (c && dist(c, near) <= max_dist && dist(c + len, near_end) <= max_dist &&
		    (!best || dist(c, near) < dist(best, near)))
			best = c;
		if (i < maps->n && maps->v[i].end > prev_end)
			prev_end = maps->v[i].end, prev_path = maps->v[i].path;
	}
	return best;
}
