/* SPDX-License-Identifier: MIT */
/*
 * ehframe.c - .eh_frame_hdr header parsing (see ehframe.h).  Only the
 * fixed-size encodings are accepted (no LEB128, no indirect pointers):
 * that is all linkers emit for this header, and anything else is treated
 * as malformed rather than guessed at.
 */
#include <errno.h>
#include <stdlib.h>
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

/* ---- a search table from .eh_frame ------------------------------------- */

static int read_uleb(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	unsigned shift = 0;
	*v = 0;
	while (*p < end && shift < 64) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return 0;
	}
	return -EINVAL;
}

/* A pointer encoded with enc at runtime address addr (of *p). */
static int eh_read_ptr(const uint8_t **p, const uint8_t *end, uint8_t enc, uint64_t addr,
			uint64_t *v)
{
	uint64_t x = 0;
	size_t n;
	int sign = 0;
	switch (enc & 0x0f) {
	case EH_PE_absptr: case EH_PE_udata8: case EH_PE_sdata8: n = 8; break;
	case EH_PE_udata4: n = 4; break;
	case EH_PE_sdata4: n = 4, sign = 1; break;
	case EH_PE_udata2: n = 2; break;
	case EH_PE_sdata2: n = 2, sign = 1; break;
	default: return -EINVAL;
	}
	if ((size_t)(end - *p) < n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		x |= (uint64_t)(*p)[i] << (8 * i);
	if (sign && n < 8 && (x >> (8 * n - 1)) & 1)
		x |= ~(uint64_t)0 << (8 * n);
	*p += n;
	switch (enc & 0x70) {
	case 0: break;
	case EH_PE_pcrel: x += addr; break;
	default: return -EINVAL;
	}
	*v = x;
	return 0;
}

/* The FDE pointer encoding of the CIE at cie (inside [buf, end)). */
static int cie_encoding(const uint8_t *cie, const uint8_t *end, uint64_t cie_addr,
			uint8_t *enc_ret)
{
	const uint8_t *p = cie;
	uint64_t v;
	*enc_ret = EH_PE_absptr;
	if (end - p < 9)
		return -EINVAL;
	uint32_t len;
	memcpy(&len, p, 4);
	if (len == 0xffffffff || len > (uint64_t)(end - p - 4))
		return -EINVAL;
	end = p + 4 + len;
	p += 8;                                 /* length, CIE id */
	uint8_t version = *p++;
	const char *aug = (const char *)p;
	const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
	if (!nul)
		return -EINVAL;
	p = nul + 1;
	if (aug[0] == 'e' && aug[1] == 'h')
		return -EINVAL;                 /* a pre-historic form */
	if (read_uleb(&p, end, &v) || read_uleb(&p, end, &v))   /* code, data align */
		return -EINVAL;
	if (version == 1)
		p++;
	else if (read_uleb(&p, end, &v))
		return -EINVAL;
	if (aug[0] != 'z')
		return 0;
	if (read_uleb(&p, end, &v))
		return -EINVAL;
	for (const char *a = aug + 1; *a && p < end; a++) {
		switch (*a) {
		case 'L': p++; break;
		case 'R': *enc_ret = *p++; return 0;
		case 'P': {
			uint8_t penc = *p++;
			if (eh_read_ptr(&p, end, penc & 0x7f, cie_addr + (uint64_t)(p - cie), &v))
				return -EINVAL;
			break;
		}
		case 'S': case 'B': break;
		default: return -EINVAL;
		}
	}
	return 0;
}

static int by_start(const void *a, const void *b)
{
	const struct ehframe_entry *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

int ehframe_build_table(const uint8_t *buf, size_t len, uint64_t eh_addr,
			struct ehframe_entry **v_ret, size_t *n_ret)
{
	struct ehframe_entry *v = NULL;
	size_t n = 0, cap = 0;
	const uint8_t *p = buf, *end = buf + len;
	while (end - p >= 8) {
		uint32_t rlen, id;
		memcpy(&rlen, p, 4);
		if (rlen == 0)
			break;                  /* the terminator */
		if (rlen == 0xffffffff || rlen > (uint64_t)(end - p - 4))
			break;                  /* 64-bit DWARF: not in .eh_frame */
		const uint8_t *rec = p, *rend = p + 4 + rlen;
		memcpy(&id, p + 4, 4);
		p = rend;
		if (id == 0 || id > (uint64_t)(rec + 4 - buf))
			continue;               /* a CIE, or a bad CIE pointer */
		const uint8_t *cie = rec + 4 - id;
		uint8_t enc;
		uint64_t start;
		const uint8_t *q = rec + 8;
		if (cie_encoding(cie, end, eh_addr + (uint64_t)(cie - buf), &enc) ||
		    eh_read_ptr(&q, rend, enc & 0x7f, eh_addr + (uint64_t)(q - buf), &start))
			continue;
		int64_t ds = (int64_t)(start - eh_addr), df = (int64_t)(rec - buf);
		if (ds < INT32_MIN || ds > INT32_MAX || df > INT32_MAX)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct ehframe_entry *nv = realloc(v, ncap * sizeof(*nv));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv, cap = ncap;
		}
		v[n].start = (int32_t)ds, v[n].fde = (int32_t)df;
		n++;
	}
	if (!n) {
		free(v);
		return -ENOENT;
	}
	qsort(v, n, sizeof(*v), by_start);
	*v_ret = v, *n_ret = n;
	return 0;
}
