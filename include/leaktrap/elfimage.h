/* SPDX-License-Identifier: MIT */
/*
 * elfimage.h - an ELF object as the loader mapped it, understood from the
 * headers it left in memory: the load bias, the machine, where the
 * .eh_frame_hdr and the note segments are, and the GNU build-id.  Pure
 * parsing of bytes the caller read; 64-bit little-endian objects only.
 * Section headers are never needed (they are not loaded).
 */
#ifndef LEAKTRAP_ELFIMAGE_H
#define LEAKTRAP_ELFIMAGE_H

#include <stddef.h>
#include <stdint.h>

enum { ELFIMAGE_MAX_NOTES = 4, ELFIMAGE_BUILD_ID_MAX = 64 };

struct elfimage {
	unsigned machine;             /* e_machine (EM_X86_64, ...) */
	unsigned type;                /* e_type (ET_EXEC, ET_DYN) */
	uint64_t bias;                /* runtime address - ELF virtual address */
	uint64_t eh_frame_hdr;        /* runtime address of PT_GNU_EH_FRAME, 0: none */
	uint64_t eh_frame_hdr_size;
	uint64_t text_start, text_end;/* runtime range of the executable PT_LOADs */
	unsigned n_notes;
	uint64_t note_addr[ELFIMAGE_MAX_NOTES];  /* runtime addresses of PT_NOTE */
	uint64_t note_size[ELFIMAGE_MAX_NOTES];
};

/* The class (ELFCLASS32/64) and machine of the ELF header at buf[0..len)
 * (at least EI_NIDENT + 4 bytes).  Returns 0, or -ENOEXEC if buf does not
 * start with an ELF header. */
__attribute__((warn_unused_result))
int elfimage_ident(const uint8_t *buf, size_t len, unsigned *class_ret,
		   unsigned *machine_ret);

/* Parse the ELF header at buf[0] and its program headers (which must lie
 * within buf[0..len)) of an object whose file offset 0 is mapped at
 * map_start.  Returns 0, -ENOEXEC (not a 64-bit little-endian ELF file),
 * or -EINVAL (program headers truncated or no PT_LOAD); on error *img_ret
 * is untouched. */
__attribute__((warn_unused_result))
int elfimage_parse(const uint8_t *buf, size_t len, uint64_t map_start,
		   struct elfimage *img_ret);

/* The GNU build-id (NT_GNU_BUILD_ID, owner "GNU") in the contents of a
 * note segment, copied to id_ret.  Returns its length, 0 if there is none
 * (or it is longer than id_max). */
size_t elfimage_build_id(const uint8_t *notes, size_t len, uint8_t *id_ret,
			 size_t id_max);

/* A short name for an ELF machine ("x86_64", "aarch64", ...), or NULL. */
const char *elfimage_machine_name(unsigned machine);

#endif
