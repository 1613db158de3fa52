/* SPDX-License-Identifier: MIT */
/*
 * maps.h - /proc/PID/maps as a sorted array.  maps_parse() is pure and
 * unit-tested; maps_read() reads the file.  The raw text is kept because
 * the symbolizer feeds it to libdwfl at report time, when the target may be
 * gone.
 */
#ifndef LEAKTRAP_MAPS_H
#define LEAKTRAP_MAPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum map_prot { MAP_R = 1 << 0, MAP_W = 1 << 1, MAP_X = 1 << 2, MAP_SHARED_ = 1 << 3 };

struct map_entry {
	uint64_t start, end, offset;
	uint64_t inode;
	unsigned prot;          /* enum map_prot */
	char *path;             /* NULL for anonymous mappings */
};

struct maps {
	struct map_entry *v;
	size_t n;
	char *text;
};

/* Parse maps text (copied).  Returns 0, -EINVAL on a malformed line,
 * -ENOMEM.  On error *maps_ret is untouched. */
__attribute__((warn_unused_result))
int maps_parse(const char *text, struct maps *maps_ret);
/* Read and parse /proc/PID/maps.  Returns 0 or a negative errno. */
__attribute__((warn_unused_result))
int maps_read(pid_t pid, struct maps *maps_ret);
void maps_release(struct maps *maps);

/* The mapping containing addr, or NULL. */
const struct map_entry *maps_find(const struct maps *maps, uint64_t addr);

/* A free gap of len bytes (page aligned) as close as possible to near, at
 * most max_dist away from both ends of [near, near_end); 0 if none. */
uint64_t maps_find_gap(const struct maps *maps, uint64_t near, uint64_t near_end,
		       uint64_t len, uint64_t max_dist);

#endif
