/* SPDX-License-Identifier: MIT */
/*
 * fuzz-elfimage.c - the first page of a mapping as the target's memory
 * holds it: elfimage_ident() and elfimage_parse(), then, as modules.c
 * does, the build-id from each note segment and the .eh_frame_hdr header
 * (ehframe.c) where they lie inside the input.  The first 8 bytes are the
 * address the page is mapped at.  Oracle: a parsed image has a machine,
 * at most ELFIMAGE_MAX_NOTES notes, and a build-id no longer than asked.
 */
#include "fuzz.h"
#include "leaktrap/ehframe.h"
#include "leaktrap/elfimage.h"

/* The bytes at runtime address addr, n of them, if the input holds them. */
static const uint8_t *at(const uint8_t *buf, size_t len, uint64_t map_start,
			 uint64_t addr, uint64_t *n)
{
	if (addr < map_start || addr - map_start >= len)
		return NULL;
	uint64_t off = addr - map_start;
	if (*n > len - off)
		*n = len - off;
	return buf + off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t map_start = fuzz_take_u64(&data, &size) & ~0xfffULL;
	unsigned cls, machine;
	struct elfimage img;
	uint8_t id[ELFIMAGE_BUILD_ID_MAX];

	if (elfimage_ident(data, size, &cls, &machine) == 0)
		(void)elfimage_machine_name(machine);
	size_t n = elfimage_build_id(data, size, id, sizeof(id));
	FUZZ_CHECK(n <= sizeof(id));
	n = elfimage_build_id(data, size, id, 8);
	FUZZ_CHECK(n <= 8);
	if (elfimage_parse(data, size, map_start, &img) < 0)
		return 0;
	FUZZ_CHECK(img.n_notes <= ELFIMAGE_MAX_NOTES);
	for (unsigned i = 0; i < img.n_notes; i++) {
		uint64_t len = img.note_size[i];
		const uint8_t *notes = at(data, size, map_start, img.note_addr[i], &len);
		if (notes)
			FUZZ_CHECK(elfimage_build_id(notes, len, id, sizeof(id)) <= sizeof(id));
	}
	uint64_t len = EHFRAME_HDR_MAX;
	const uint8_t *hdr = img.eh_frame_hdr ?
		at(data, size, map_start, img.eh_frame_hdr, &len) : NULL;
	struct ehframe_table t;
	if (hdr && ehframe_parse_hdr(hdr, len, img.eh_frame_hdr, img.eh_frame_hdr_size, &t) == 0)
		FUZZ_CHECK(t.fde_count > 0 && t.fde_count <= img.eh_frame_hdr_size / 8);
	return 0;
}
