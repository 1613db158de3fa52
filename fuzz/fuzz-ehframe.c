/* SPDX-License-Identifier: MIT */
/*
 * fuzz-ehframe.c - ehframe_parse_hdr() on arbitrary bytes: the header of
 * a PT_GNU_EH_FRAME segment read from the target.  The first 8 bytes are
 * its runtime address, the next 8 the segment size.  Oracle: a table is
 * found only when it has entries and fits in the segment, and it starts
 * after the header.
 */
#include "fuzz.h"
#include "leaktrap/ehframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t hdr = fuzz_take_u64(&data, &size);
	uint64_t seg = fuzz_take_u64(&data, &size) & 0xffffff;
	struct ehframe_table t;
	if (ehframe_parse_hdr(data, size, hdr, seg, &t) < 0)
		return 0;
	FUZZ_CHECK(t.fde_count > 0);
	FUZZ_CHECK(t.table - hdr >= 4 && t.table - hdr <= EHFRAME_HDR_MAX);
	FUZZ_CHECK(t.table - hdr + t.fde_count * 8 <= seg);
	FUZZ_CHECK(t.hdr == hdr);
	return 0;
}
