/* SPDX-License-Identifier: MIT */
/*
 * ehframe.c - .eh_frame_hdr header parsing (see ehframe.h).  Only the
 * fixed-size encodings are accepted (no LEB128, no indirect pointers):
 * that is all linkers emit for this header, and anything else is treated
 * as malformed rather than guessed at.
 */
#include <errno.h>
#include <string.h>

#include "leaktrap/ehframe.h"

/* Size of a fixed-size encoded value, 0 if the format is not supported. */
static size_t enc_size(unsigned enc)
{
	switch (enc & 0x0f) {
	case EH_PE_absptr: case EH_PE_udata8: case EH_PE_sdata8: return 8;
	case EH_PE_udata4: case EH_PE_sdata4: return 4;
	case EH_PE_udata2: case EH_PE_sdata2: return 2;
	default: return 0;
	}
}

static uint64_t read_raw(const uint8_t *p, unsigned enc)
{
	int16_t s2; int32_t s4; uint16_t u2; uint32_t u4; uint64_t u8;
	switch (enc & 0x0f) {
	case EH_PE_udata2: memcpy(&u2, p, 2); return u2;
	case EH_PE_sdata2: memcpy(&s2, p, 2); return (uint64_t)(int64_t)s2;
	case EH_PE_udata4: memcpy(&u4, p, 4); return u4;
	case EH_PE_sdata4: memcpy(&s4, p, 4); return (uint64_t)(int64_t)s4;
	default: memcpy(&u8, p, 8); return u8;
	}
}

/* Decode the value at buf[*at] (runtime address hdr + *at) and advance.
 * Returns 0, or -EINVAL for an unsupported encoding or a short buffer. */
static int read_encoded(const uint8_t *buf, size_t len, size_t *at, unsigned enc,
			uint64_t hdr, uint64_t *val_ret)
{
	size_t size = enc_size(enc);
	unsigned app = enc & 0x70;
	if (!size || (enc & 0x80) || len - *at < size ||
	    (app != 0 && app != EH_PE_pcrel && app != EH_PE_datarel))
		return -EINVAL;
	uint64_t v = read_raw(buf + *at, enc);
	if (app == EH_PE_pcrel)
		v += hdr + *at;
	else if (app == EH_PE_datarel)
		v += hdr;
	*at += size;
	*val_ret = v;
	return 0;
}

int ehframe_parse_hdr(const uint8_t *buf, size_t len, uint64_t hdr_addr,
		      uint64_t seg_size, struct ehframe_table *table_ret)
{
	struct ehframe_table t = { .hdr = hdr_addr };
	size_t at = 4;
	if (len < 4 || buf[0] != 1)
		return -EINVAL;
	unsigned ptr_enc = buf[1], count_enc = buf[2], table_enc = buf[3];
	if (ptr_enc != EH_PE_omit &&
	    read_encoded(buf, len, &at, ptr_enc, hdr_addr, &t.eh_frame) < 0)
		return -EINVAL;
	if (count_enc == EH_PE_omit || table_enc == EH_PE_omit)
		return -ENOENT;
	if ((count_enc & 0x70) != 0 ||
	    read_encoded(buf, len, &at, count_enc, hdr_addr, &t.fde_count) < 0 ||
	    table_enc != (EH_PE_datarel | EH_PE_sdata4))
		return -EINVAL;
	if (t.fde_count == 0)
		return -ENOENT;
	if (at > seg_size || (seg_size - at) / 8 < t.fde_count)
		return -EINVAL;
	t.table = hdr_addr + at;
	*table_ret = t;
	return 0;
}
