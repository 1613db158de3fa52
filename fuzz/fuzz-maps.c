/* SPDX-License-Identifier: MIT */
/*
 * fuzz-maps.c - maps_parse() on arbitrary text (what /proc/PID/maps of a
 * hostile or odd target could hold), then look-ups over the result.
 * Oracle: every entry has start < end and prot within the known bits; a
 * look-up returns an entry that contains the address; a gap never
 * overlaps an entry of a sorted table.
 */
#include "fuzz.h"
#include "leaktrap/maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	struct maps m;
	if (!text || maps_parse(text, &m) < 0) {
		free(text);
		return 0;
	}
	int sorted = 1;
	for (size_t i = 0; i < m.n; i++) {
		FUZZ_CHECK(m.v[i].start < m.v[i].end);
		FUZZ_CHECK((m.v[i].prot & ~(unsigned)(MAP_R | MAP_W | MAP_X | MAP_SHARED_)) == 0);
		FUZZ_CHECK(!m.v[i].path || m.v[i].path[0]);
		if (i && m.v[i].start < m.v[i - 1].end)
			sorted = 0;
	}
	for (size_t i = 0; i < m.n; i++) {
		const struct map_entry *e = maps_find(&m, m.v[i].start);
		FUZZ_CHECK(!e || (e->start <= m.v[i].start && m.v[i].start < e->end));
		if (sorted)
			FUZZ_CHECK(e == &m.v[i]);
		uint64_t gap = maps_find_gap(&m, m.v[i].start, m.v[i].end, 4096, 1ULL << 31);
		if (gap && sorted)
			for (size_t j = 0; j < m.n; j++)
				FUZZ_CHECK(gap + 4096 <= m.v[j].start || gap >= m.v[j].end);
	}
	maps_release(&m);
	free(text);
	return 0;
}
