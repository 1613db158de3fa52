/* SPDX-License-Identifier: MIT */
/*
 * elfimage.c - ELF and program headers as loaded in memory (see
 * elfimage.h).  Structures are copied out of the byte buffer with memcpy
 * (no alignment assumed) and read in host order: leaktrap runs on
 * little-endian hosts and accepts little-endian objects only.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "leaktrap/elfimage.h"

int elfimage_ident(const uint8_t *buf, size_t len, unsigned *class_ret,
		   unsigned *machine_ret)
{
	uint16_t machine;
	if (len < EI_NIDENT + 4 || memcmp(buf, ELFMAG, SELFMAG))
		return -ENOEXEC;
	/* e_machine is at the same offset in both classes */
	memcpy(&machine, buf + offsetof(Elf64_Ehdr, e_machine), sizeof(machine));
	*class_ret = buf[EI_CLASS];
	*machine_ret = machine;
	return 0;
}

static int read_ehdr(const uint8_t *buf, size_t len, Elf64_Ehdr *eh)
{
	if (len < sizeof(*eh) || memcmp(buf, ELFMAG, SELFMAG) ||
	    buf[EI_CLASS] != ELFCLASS64 || buf[EI_DATA] != ELFDATA2LSB)
		return -ENOEXEC;
	memcpy(eh, buf, sizeof(*eh));
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    eh->e_phoff > len || (len - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum)
		return -EINVAL;
	return 0;
}

static void add_segment(struct elfimage *img, const Elf64_Phdr *ph)
{
	uint64_t at = img->bias + ph->p_vaddr;
	if (ph->p_type == PT_GNU_EH_FRAME) {
		img->eh_frame_hdr = at;
		img->eh_frame_hdr_size = ph->p_memsz;
	} else if (ph->p_type == PT_NOTE && img->n_notes < ELFIMAGE_MAX_NOTES) {
		img->note_addr[img->n_notes] = at;
		img->note_size[img->n_notes++] = ph->p_memsz;
	} else if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
		if (!img->text_end || at < img->text_start)
			img->text_start = at;
		if (at + ph->p_memsz > img->text_end)
			img->text_end = at + ph->p_memsz;
	}
}

int elfimage_parse(const uint8_t *buf, size_t len, uint64_t map_start,
		   struct elfimage *img_ret)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	struct elfimage img = { 0 };
	int err = read_ehdr(buf, len, &eh), have_load = 0;
	if (err)
		return err;
	img.machine = eh.e_machine, img.type = eh.e_type;
	/* The first PT_LOAD maps file offset p_offset at bias + p_vaddr, and
	 * p_vaddr - p_offset is page aligned: offset 0 is at map_start. */
	for (unsigned i = 0; i < eh.e_phnum && !have_load; i++) {
		memcpy(&ph, buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD)
			img.bias = map_start - (ph.p_vaddr - ph.p_offset), have_load = 1;
	}
	if (!have_load)
		return -EINVAL;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		memcpy(&ph, buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		add_segment(&img, &ph);
	}
	*img_ret = img;
	return 0;
}

static size_t align4(size_t n) { return (n + 3) & ~(size_t)3; }

size_t elfimage_build_id(const uint8_t *notes, size_t len, uint8_t *id_ret,
			 size_t id_max)
{
	size_t at = 0;
	while (len - at >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		memcpy(&nh, notes + at, sizeof(nh));
		at += sizeof(nh);
		size_t name_at = at, desc_at = at + align4(nh.n_namesz);
		if (nh.n_namesz > len || nh.n_descsz > len || desc_at > len ||
		    len - desc_at < nh.n_descsz)
			return 0;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    !memcmp(notes + name_at, "GNU", 4)) {
			if (nh.n_descsz == 0 || nh.n_descsz > id_max)
				return 0;
			memcpy(id_ret, notes + desc_at, nh.n_descsz);
			return nh.n_descsz;
		}
		at = desc_at + align4(nh.n_descsz);
		if (at > len)
			return 0;
	}
	return 0;
}

static const struct {
	unsigned machine;
	const char *name;
} machines[] = {
	{ EM_X86_64, "x86_64" }, { EM_386, "i386" }, { EM_AARCH64, "aarch64" },
	{ EM_ARM, "arm" }, { EM_RISCV, "riscv" }, { EM_PPC64, "ppc64" },
	{ EM_PPC, "ppc" }, { EM_S390, "s390x" }, { EM_MIPS, "mips" },
	{ EM_SPARCV9, "sparc64" }, { 258 /* EM_LOONGARCH */, "loongarch" },
};

const char *elfimage_machine_name(unsigned machine)
{
	for (size_t i = 0; i < sizeof(machines) / sizeof(machines[0]); i++)
		if (machines[i].machine == machine)
			return machines[i].name;
	return NULL;
}
