/* SPDX-License-Identifier: MIT */
/*
 * modules-dwfl.c - libdwfl over the module table (see modules.h).  The
 * find_elf callback hands libdwfl a duplicate of the file kept for each
 * object (or the vDSO's copy), so libdwfl never opens a path itself.
 * find_debuginfo searches the target's root first, resolving every path
 * inside it (rootfs.h) and checking the build-id and the .gnu_debuglink
 * CRC itself, then hands over to dwfl_standard_find_debuginfo() for the
 * host's directories (which checks them too) and debuginfod.
 */
#define _GNU_SOURCE
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "leaktrap/modules.h"
#include "leaktrap/rootfs.h"

/* ":.debug:" (next to the object), the --debuginfo-dir directories,
 * then /usr/lib/debug: the search path of dwfl_standard_find_debuginfo. */
static char *debuginfo_path;
static const char default_path[] = ":.debug:/usr/lib/debug";

int modules_add_debuginfo_dir(const char *dir)
{
	const char *old = debuginfo_path ? debuginfo_path : default_path;
	size_t keep = strlen(old) - strlen("/usr/lib/debug");
	char *abs = realpath(dir, NULL), *path;     /* libdwfl needs it absolute */
	if (!abs)
		return -errno;
	int err = strchr(abs, ':') ? -EINVAL : 0;   /* the path separator */
	if (!err && asprintf(&path, "%.*s%s:/usr/lib/debug", (int)keep, old, abs) < 0)
		err = -ENOMEM;
	free(abs);
	if (err)
		return err;
	free(debuginfo_path);       /* insert before the final /usr/lib/debug */
	debuginfo_path = path;
	return 0;
}

/* ---- checking a candidate debug file ------------------------------------ */

static int crc_matches(int fd, GElf_Word want)
{
	unsigned char buf[65536];
	uLong crc = crc32(0, Z_NULL, 0);
	off_t at = 0;
	for (ssize_t n; (n = pread(fd, buf, sizeof(buf), at)) != 0; at += n) {
		if (n < 0)
			return 0;
		crc = crc32(crc, buf, (uInt)n);
	}
	return (GElf_Word)crc == want;
}

/* Whether fd is m's debug file: the same build-id, and the CRC of the
 * debuglink if there is one (an object without a build-id needs it). */
static int is_debug_file(const struct module *m, int fd, GElf_Word crc)
{
	if (m->build_id_len && !modules_file_matches(m, fd))
		return 0;
	return crc ? crc_matches(fd, crc) : m->build_id_len != 0;
}

/* Open path inside the target's root; keep it if it is m's debug file. */
static int try_in_root(const struct module *m, const char *path, GElf_Word crc,
		       char **name_ret)
{
	int fd = rootfs_open(m->owner->rootfd, path);
	if (fd < 0)
		return -1;
	if (!is_debug_file(m, fd, crc) ||
	    asprintf(name_ret, "/proc/%d/root%s", (int)m->owner->pid, path) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* PREFIX + the object's directory + SUBDIR + "/" + link, in the root. */
static int try_debuglink(const struct module *m, const char *prefix,
			 const char *subdir, const char *link, GElf_Word crc,
			 char **name_ret)
{
	char path[4096];
	const char *inside = modules_path_in_root(m), *slash = strrchr(inside, '/');
	int dir = slash ? (int)(slash - inside) : 0;
	if ((size_t)snprintf(path, sizeof(path), "%s%.*s%s/%s", prefix, dir, inside,
			     subdir, link) >= sizeof(path))
		return -1;
	return try_in_root(m, path, crc, name_ret);
}

/* The build-id file, then the debuglink next to the object, in .debug/
 * there, and under /usr/lib/debug: all inside the target's root. */
static int find_in_root(const struct module *m, const char *link, GElf_Word crc,
			char **name_ret)
{
	char path[64 + 2 * ELFIMAGE_BUILD_ID_MAX], id[2 * ELFIMAGE_BUILD_ID_MAX + 1];
	int fd = -1;
	for (size_t i = 0; i < m->build_id_len; i++)
		snprintf(id + 2 * i, 3, "%02x", m->build_id[i]);
	if (m->build_id_len > 1) {
		snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug",
			 id, id + 2);
		fd = try_in_root(m, path, 0, name_ret);
	}
	if (link && fd < 0)
		fd = try_debuglink(m, "", "", link, crc, name_ret);
	if (link && fd < 0)
		fd = try_debuglink(m, "", "/.debug", link, crc, name_ret);
	if (link && fd < 0)
		fd = try_debuglink(m, "/usr/lib/debug", "", link, crc, name_ret);
	return fd;
}

/* ---- the callbacks ----------------------------------------------------- */

static int find_elf(Dwfl_Module *mod, void **userdata, const char *name,
		    Dwarf_Addr base, char **file_name, Elf **elfp)
{
	const struct module *m = *userdata;
	*elfp = NULL;
	if (m->state == MODULE_MEMORY) {
		(void)elf_version(EV_CURRENT);
		*elfp = elf_memory(m->image, m->image_len);
		return -1;
	}
	if (m->state != MODULE_FILE)
		return -1;
	int fd = fcntl(m->fd, F_DUPFD_CLOEXEC, 0);
	if (fd >= 0 && !(*file_name = strdup(m->path))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* libdwfl also asks for the alternate (dwz) file with the altlink name:
 * only the main debug file is searched in the root. */
static int is_main_lookup(Dwfl_Module *mod, const char *link)
{
	GElf_Addr bias;
	GElf_Word crc;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	const char *main_link = elf ? dwelf_elf_gnu_debuglink(elf, &crc) : NULL;
	return link == main_link || (link && main_link && !strcmp(link, main_link));
}

static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			  Dwarf_Addr base, const char *file_name, const char *link,
			  GElf_Word crc, char **debuginfo_file_name)
{
	const struct module *m = *userdata;
	if (m->state == MODULE_FILE && m->owner->rootfd >= 0 && !m->owner->same_root &&
	    is_main_lookup(mod, link)) {
		int fd = find_in_root(m, link, crc, debuginfo_file_name);
		if (fd >= 0)
			return fd;
	}
	return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name,
					    link, crc, debuginfo_file_name);
}

/* section_address: libdwfl calls it for a relocatable (ET_REL) file, and
 * calls it through a NULL pointer without one.  A target can map one (a
 * .o with program headers, or a file that differs from its headers in
 * memory): lay its sections out as an offline object would be. */
static const Dwfl_Callbacks callbacks = {
	.find_elf = find_elf,
	.find_debuginfo = find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

Dwfl *modules_dwfl(struct modules *mods)
{
	Dwfl *dwfl = dwfl_begin(&callbacks);
	if (!dwfl)
		return NULL;
	dwfl_report_begin(dwfl);
	for (size_t i = 0; i < mods->n; i++) {
		struct module *m = mods->v[i];
		Dwfl_Module *dm = dwfl_report_module(dwfl, m->path, m->start, m->end);
		void **userdata;
		if (dm && dwfl_module_info(dm, &userdata, NULL, NULL, NULL, NULL, NULL, NULL))
			*userdata = m;
	}
	dwfl_report_end(dwfl, NULL, NULL);
	return dwfl;
}

Dwfl *modules_dwfl_one(struct modules *mods, struct module *m)
{
	Dwfl *dwfl = dwfl_begin(&callbacks);
	if (!dwfl)
		return NULL;
	dwfl_report_begin(dwfl);
	Dwfl_Module *dm = dwfl_report_module(dwfl, m->path, m->start, m->end);
	void **userdata;
	if (dm && dwfl_module_info(dm, &userdata, NULL, NULL, NULL, NULL, NULL, NULL))
		*userdata = m;
	dwfl_report_end(dwfl, NULL, NULL);
	return dwfl;
}

struct module *modules_of_dwfl(Dwfl_Module *mod)
{
	void **userdata;
	if (!mod || !dwfl_module_info(mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL))
		return NULL;
	return *userdata;
}
