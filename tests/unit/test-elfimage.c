/* SPDX-License-Identifier: MIT */
/*
 * test-elfimage.c - ELF headers as loaded: the load bias of a PIE, of a
 * fixed-address executable and of an object whose first segment does
 * not start at address 0; PT_GNU_EH_FRAME, PT_NOTE and the executable
 * range; refusals (not ELF, 32-bit, big-endian, truncated program
 * headers, no PT_LOAD) with a canary; build-id notes after other notes
 * and malformed notes; the identity check; and this program's own
 * headers in memory against what the dynamic loader says.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>

#include "leaktrap/elfimage.h"
#include "test.h"

struct image {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[4];
};

static void make(struct image *im, unsigned type, unsigned n)
{
	memset(im, 0, sizeof(*im));
	memcpy(im->eh.e_ident, ELFMAG, SELFMAG);
	im->eh.e_ident[EI_CLASS] = ELFCLASS64;
	im->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	im->eh.e_type = (Elf64_Half)type;
	im->eh.e_machine = EM_X86_64;
	im->eh.e_phoff = sizeof(Elf64_Ehdr);
	im->eh.e_phentsize = sizeof(Elf64_Phdr);
	im->eh.e_phnum = (Elf64_Half)n;
}

static void seg(Elf64_Phdr *ph, unsigned type, unsigned flags, uint64_t off,
		uint64_t vaddr, uint64_t memsz)
{
	*ph = (Elf64_Phdr){ .p_type = type, .p_flags = flags, .p_offset = off,
		.p_vaddr = vaddr, .p_memsz = memsz, .p_filesz = memsz, .p_align = 0x1000 };
}

static void test_pie(void)
{
	struct image im;
	struct elfimage img;
	make(&im, ET_DYN, 4);
	seg(&im.ph[0], PT_LOAD, PF_R, 0, 0, 0x1000);
	seg(&im.ph[1], PT_LOAD, PF_R | PF_X, 0x1000, 0x1000, 0x2345);
	seg(&im.ph[2], PT_GNU_EH_FRAME, PF_R, 0x4000, 0x4000, 0x84);
	seg(&im.ph[3], PT_NOTE, PF_R, 0x2a8, 0x2a8, 0x24);
	TEST_ASSERT(elfimage_parse((const uint8_t *)&im, sizeof(im), 0x555500000000, &img) == 0);
	TEST_ASSERT_EQ_U64(img.machine, EM_X86_64);
	TEST_ASSERT_EQ_U64(img.type, ET_DYN);
	TEST_ASSERT_EQ_U64(img.bias, 0x555500000000);
	TEST_ASSERT_EQ_U64(img.eh_frame_hdr, 0x555500004000);
	TEST_ASSERT_EQ_U64(img.eh_frame_hdr_size, 0x84);
	TEST_ASSERT_EQ_U64(img.text_start, 0x555500001000);
	TEST_ASSERT_EQ_U64(img.text_end, 0x555500003345);
	TEST_ASSERT_EQ_U64(img.n_notes, 1);
	TEST_ASSERT_EQ_U64(img.note_addr[0], 0x5555000002a8);
	TEST_ASSERT_EQ_U64(img.note_size[0], 0x24);
}

static void test_fixed_and_shifted(void)
{
	struct image im;
	struct elfimage img;
	/* a non-PIE executable: linked at 0x400000, mapped there: bias 0 */
	make(&im, ET_EXEC, 2);
	seg(&im.ph[0], PT_LOAD, PF_R, 0, 0x400000, 0x1000);
	seg(&im.ph[1], PT_LOAD, PF_R | PF_X, 0x1000, 0x401000, 0x100);
	TEST_ASSERT(elfimage_parse((const uint8_t *)&im, sizeof(im), 0x400000, &img) == 0);
	TEST_ASSERT_EQ_U64(img.bias, 0);
	TEST_ASSERT_EQ_U64(img.eh_frame_hdr, 0);
	TEST_ASSERT_EQ_U64(img.n_notes, 0);
	/* an object linked at 0x200000 with its headers in the first page,
	 * the first PT_LOAD not at offset 0 of its page (p_vaddr - p_offset
	 * is what counts) and a PT_PHDR before it */
	make(&im, ET_DYN, 3);
	seg(&im.ph[0], PT_PHDR, PF_R, 0x40, 0x200040, 0xe0);
	seg(&im.ph[1], PT_LOAD, PF_R | PF_X, 0x40, 0x200040, 0x5000);
	seg(&im.ph[2], PT_LOAD, PF_R | PF_W, 0x6000, 0x206000, 0x100);
	TEST_ASSERT(elfimage_parse((const uint8_t *)&im, sizeof(im), 0x7f0000000000, &img) == 0);
	TEST_ASSERT_EQ_U64(img.bias, 0x7f0000000000 - 0x200000);
	TEST_ASSERT_EQ_U64(img.text_start, 0x7f0000000040);
}

static void test_refused(void)
{
	static const struct elfimage canary = { .machine = 77, .bias = 0xdead };
	struct image im;
	struct elfimage img = canary;
	make(&im, ET_DYN, 1);
	seg(&im.ph[0], PT_LOAD, PF_R, 0, 0, 0x1000);
	TEST_ASSERT(elfimage_parse((const uint8_t *)&im, sizeof(im), 0x1000, &img) == 0);
	img = canary;
	TEST_ASSERT(elfimage_parse((const uint8_t *)"\x7f" "ELX", 4, 0, &img) == -ENOEXEC);
	im.eh.e_ident[EI_CLASS] = ELFCLASS32;
	TEST_ASSERT(elfimage_parse((const uint8_t *)&im, sizeof(im), 0x1000, &img) == -ENOEXEC);
	im.eh.e_ident[EI_CLASS] = ELFCLASS64, im.eh.e_ident[EI_DATA] = ELFDATA2MSB;
	TEST_ASSERT(elfimage_parse((const uint8_t *)&im, sizeof(im), 0x1000, &img) == -ENOEXEC);
	im.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	/* program headers past the bytes given */
	TEST_ASSERT(elfimage_parse((const uint8_t *)&im, sizeof(im.eh) + 10, 0x1000, &img) ==
		    -EINVAL);
	im.eh.e_phoff = 1u << 30;
	TEST_ASSERT(elfimage_parse((const uint8_t *)&im, sizeof(im), 0x1000, &img) == -EINVAL);
	make(&im, ET_DYN, 1);
	seg(&im.ph[0], PT_NOTE, PF_R, 0, 0, 0x10);       /* no PT_LOAD */
	TEST_ASSERT(elfimage_parse((const uint8_t *)&im, sizeof(im), 0x1000, &img) == -EINVAL);
	TEST_ASSERT(elfimage_parse((const uint8_t *)&im, 10, 0x1000, &img) == -ENOEXEC);
	TEST_ASSERT(!memcmp(&img, &canary, sizeof(img)));
}

/* ---- notes ------------------------------------------------------------- */

static void test_build_id(void)
{
	/* .note.ABI-tag (owner "GNU", type 1, 16 bytes), then the build-id
	 * (owner "GNU", type 3, 20 bytes) */
	static const uint8_t notes[] = {
		4, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 'G', 'N', 'U', 0,
		0, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
		4, 0, 0, 0, 20, 0, 0, 0, 3, 0, 0, 0, 'G', 'N', 'U', 0,
		0x93, 0xac, 0x61, 0xec, 0x5a, 0x8e, 0xb1, 0x39, 0x6f, 0x9f,
		0xbd, 0x35, 0x0e, 0x31, 0x69, 0xa5, 0x58, 0x52, 0x8a, 0x40,
	};
	uint8_t id[ELFIMAGE_BUILD_ID_MAX];
	TEST_ASSERT_EQ_U64(elfimage_build_id(notes, sizeof(notes), id, sizeof(id)), 20);
	TEST_ASSERT(id[0] == 0x93 && id[19] == 0x40);
	/* truncated in the middle of the build-id, and too long to keep */
	TEST_ASSERT_EQ_U64(elfimage_build_id(notes, sizeof(notes) - 1, id, sizeof(id)), 0);
	TEST_ASSERT_EQ_U64(elfimage_build_id(notes, sizeof(notes), id, 16), 0);
	/* only the ABI tag; a note with another owner and type 3 */
	TEST_ASSERT_EQ_U64(elfimage_build_id(notes, 32, id, sizeof(id)), 0);
	static const uint8_t other[] = {
		4, 0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0, 'X', 'Y', 'Z', 0, 1, 2, 3, 4,
	};
	TEST_ASSERT_EQ_U64(elfimage_build_id(other, sizeof(other), id, sizeof(id)), 0);
	/* sizes that overflow */
	static const uint8_t huge[] = {
		0xff, 0xff, 0xff, 0xff, 4, 0, 0, 0, 3, 0, 0, 0, 'G', 'N', 'U', 0,
	};
	TEST_ASSERT_EQ_U64(elfimage_build_id(huge, sizeof(huge), id, sizeof(id)), 0);
}

static void test_ident(void)
{
	struct image im;
	unsigned class, machine;
	make(&im, ET_EXEC, 0);
	im.eh.e_machine = EM_AARCH64;
	TEST_ASSERT(elfimage_ident((const uint8_t *)&im, sizeof(im), &class, &machine) == 0);
	TEST_ASSERT_EQ_U64(class, ELFCLASS64);
	TEST_ASSERT_EQ_U64(machine, EM_AARCH64);
	TEST_ASSERT(elfimage_ident((const uint8_t *)"#!/bin/sh\n echo hello world",
				   28, &class, &machine) == -ENOEXEC);
	TEST_ASSERT(elfimage_ident((const uint8_t *)&im, 8, &class, &machine) == -ENOEXEC);
	TEST_ASSERT_STREQ(elfimage_machine_name(EM_AARCH64), "aarch64");
	TEST_ASSERT_STREQ(elfimage_machine_name(EM_X86_64), "x86_64");
	TEST_ASSERT(elfimage_machine_name(0xfffe) == NULL);
}

/* ---- this program, as loaded ------------------------------------------- */

static int main_program(struct dl_phdr_info *info, size_t size, void *arg)
{
	*(struct dl_phdr_info *)arg = *info;
	return 1;                       /* the first one is the program */
}

static void test_self(void)
{
	struct dl_phdr_info self;
	struct elfimage img;
	uint64_t start = ~0ULL, eh = 0;
	dl_iterate_phdr(main_program, &self);
	for (int i = 0; i < self.dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &self.dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && ph->p_offset == 0)
			start = self.dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_GNU_EH_FRAME)
			eh = self.dlpi_addr + ph->p_vaddr;
	}
	TEST_ASSERT(start != ~0ULL);
	TEST_ASSERT(elfimage_parse((const uint8_t *)(uintptr_t)start, 4096, start, &img) == 0);
	TEST_ASSERT_EQ_U64(img.bias, self.dlpi_addr);
	TEST_ASSERT_EQ_U64(img.eh_frame_hdr, eh);
	TEST_ASSERT((uint64_t)(uintptr_t)test_self >= img.text_start &&
		    (uint64_t)(uintptr_t)test_self < img.text_end);
	uint8_t id[ELFIMAGE_BUILD_ID_MAX];
	size_t n = 0;
	for (unsigned i = 0; i < img.n_notes && !n; i++)
		n = elfimage_build_id((const uint8_t *)(uintptr_t)img.note_addr[i],
				      img.note_size[i], id, sizeof(id));
	TEST_ASSERT(n >= 16);             /* meson links with a build-id */
}

int main(void)
{
	test_pie();
	test_fixed_and_shifted();
	test_refused();
	test_build_id();
	test_ident();
	test_self();
	return test_summary();
}
