/* SPDX-License-Identifier: MIT */
/*
 * ehframe.h - the header of .eh_frame_hdr (PT_GNU_EH_FRAME), the index
 * the unwinder binary-searches for a pc's FDE: version 1, the encoded
 * address of .eh_frame, the encoded FDE count, then fde_count pairs
 * (initial location, FDE address), each a 4-byte signed offset from the
 * start of .eh_frame_hdr (DW_EH_PE_datarel | DW_EH_PE_sdata4).  Pure.
 */
#ifndef LEAKTRAP_EHFRAME_H
#define LEAKTRAP_EHFRAME_H

#include <stddef.h>
#include <stdint.h>

/* DWARF exception-header pointer encodings (LSB, "DWARF Extensions"),
 * named apart from <dwarf.h>'s DW_EH_PE_* so both can be included. */
enum eh_pe {
	EH_PE_absptr = 0x00, EH_PE_udata2 = 0x02, EH_PE_udata4 = 0x03,
	EH_PE_udata8 = 0x04, EH_PE_sdata2 = 0x0a, EH_PE_sdata4 = 0x0b,
	EH_PE_sdata8 = 0x0c, EH_PE_pcrel = 0x10, EH_PE_datarel = 0x30,
	EH_PE_omit = 0xff,
};

enum { EHFRAME_HDR_MAX = 4 + 8 + 8 };   /* bytes ehframe_parse_hdr reads at most */

struct ehframe_table {
	uint64_t hdr;           /* runtime address of .eh_frame_hdr: the base
	                         * the table's offsets are relative to */
	uint64_t eh_frame;      /* runtime address of .eh_frame, 0 if omitted */
	uint64_t table;         /* runtime address of the search table */
	uint64_t fde_count;     /* entries of 8 bytes in the table */
};

/* Parse the first len bytes of a .eh_frame_hdr that is at runtime address
 * hdr_addr and seg_size bytes long.  Returns 0; -ENOENT when there is no
 * search table (FDE count or table omitted, or zero entries); -EINVAL when
 * the header is malformed, truncated, of another version, uses encodings
 * other than the ones above, or the table does not fit in seg_size.  On
 * error *table_ret is untouched. */
__attribute__((warn_unused_result))
int ehframe_parse_hdr(const uint8_t *buf, size_t len, uint64_t hdr_addr,
		      uint64_t seg_size, struct ehframe_table *table_ret);

/* One entry of a search table built from .eh_frame itself (objects
 * without .eh_frame_hdr: gcc -static does not pass --eh-frame-hdr to
 * the linker): offsets from the base given to ehframe_build_table, as
 * in .eh_frame_hdr's table. */
struct ehframe_entry {
	int32_t start;          /* initial location - base */
	int32_t fde;            /* FDE address - base */
};

/* Walk the .eh_frame section at runtime address eh_addr (its len bytes in
 * buf), and return in *v_ret (malloc'd) the search table of its FDEs
 * sorted by initial location, offsets relative to eh_addr; *n_ret gets
 * the count.  CIEs with augmentations z, L, P, R, S and FDE encodings
 * absptr/udata/sdata (2, 4, 8) with pcrel/datarel are understood; an FDE
 * whose CIE is not, or whose offsets do not fit 32 bits, is skipped.
 * Returns 0, -ENOENT (no FDE), -ENOMEM. */
__attribute__((warn_unused_result))
int ehframe_build_table(const uint8_t *buf, size_t len, uint64_t eh_addr,
			struct ehframe_entry **v_ret, size_t *n_ret);

#endif
