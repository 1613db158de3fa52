/* SPDX-License-Identifier: MIT */
/*
 * modules.h - the ELF objects mapped in the target, and a handle on the
 * very file behind each, opened while the target is alive and kept until
 * the session ends: symbols and debug information are then read from the
 * right file after the target exited, from inside a container, and for
 * files deleted or replaced on disk since they were mapped.
 *
 * Each object's headers and build-id are read from the target's memory.
 * Its file is opened through /proc/PID/map_files/START-END (the inode that
 * is mapped; needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE), else by its
 * path resolved inside /proc/PID/root (rootfs.h), and refused when its
 * build-id is not the one in memory.  modules-dwfl.c serves these files
 * to libdwfl and finds separate debug information.
 */
#ifndef LEAKTRAP_MODULES_H
#define LEAKTRAP_MODULES_H

#include <elfutils/libdwfl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "leaktrap/elfimage.h"
#include "leaktrap/maps.h"
#include "leaktrap/mem.h"

enum module_state {
	MODULE_FILE,      /* fd is the mapped file */
	MODULE_MEMORY,    /* no file (the vDSO): image is a copy from memory */
	MODULE_NO_FILE,   /* no file could be opened: err says why */
	MODULE_MISMATCH,  /* the file found has another build-id: refused */
};

struct modules;

struct module {
	char *path;              /* as mapped, " (deleted)" removed; "[vdso]" */
	uint64_t inode;
	int deleted;             /* maps said " (deleted)" */
	uint64_t start, end;     /* from the offset-0 mapping to the last one */
	uint64_t first_end;      /* end of the offset-0 mapping */
	struct elfimage img;     /* headers as loaded: bias, machine, ... */
	uint8_t build_id[ELFIMAGE_BUILD_ID_MAX];
	size_t build_id_len;     /* 0: the object has no build-id */
	enum module_state state;
	int err;                 /* MODULE_NO_FILE: negative errno */
	int map_err;             /* negative errno from map_files, or 0 */
	const char *source;      /* "map_files", "root", "memory" or NULL */
	int fd;                  /* MODULE_FILE: read-only, -1 otherwise */
	void *image;             /* MODULE_MEMORY: the loaded bytes */
	size_t image_len;
	struct modules *owner;
	unsigned gen_added;      /* the table's generation that added it */
	unsigned gen_retired;    /* the generation that replaced it (another
	                          * object mapped over it), 0 while current */
};

struct modules {
	pid_t pid;
	int rootfd;              /* /proc/PID/root (O_PATH), -1 if unavailable */
	int same_root;           /* that root is leaktrap's own */
	char *root_prefix;       /* where that root shows in leaktrap's view
	                          * (a chroot: its directory), or "" */
	uint64_t entry;          /* AT_ENTRY: inside the main executable */
	struct module **v;       /* sorted by start; pointers are stable */
	size_t n, cap;
	unsigned generation;     /* bumped when objects are added or dropped */
	/* objects replaced by others mapped over them (dlclose, then a new
	 * dlopen there), kept with their files so that what they allocated
	 * still symbolizes in them */
	struct module **retired;
	size_t n_retired, cap_retired;
};

/* The ELF objects of a maps snapshot of pid, files opened (the target
 * must be alive; it need not be stopped).  mem reads the target.  Objects
 * whose file cannot be used are kept with their state and err.  Returns 0
 * or -ENOMEM, -ESRCH (the target is gone). */
__attribute__((warn_unused_result))
int modules_create(pid_t pid, const struct maps *maps, struct mem *mem,
		   struct modules **mods_ret);
/* Add the objects of a newer snapshot that are not known yet; a known
 * object whose range they overlap (unmapped since) is dropped, and the
 * generation changes: Dwfls and symbolizers made before must be remade.
 * Returns 0 or -ENOMEM. */
__attribute__((warn_unused_result))
int modules_update(struct modules *mods, const struct maps *maps, struct mem *mem);
void modules_destroy(struct modules *mods);   /* accepts NULL */

/* The object containing addr, or NULL. */
struct module *modules_find(const struct modules *mods, uint64_t addr);
/* The object that contained addr when the table's generation was gen
 * (a stack captured then): a current one, or one retired since. */
struct module *modules_find_at(const struct modules *mods, uint64_t addr, unsigned gen);
/* The object that should define the allocator: libc if it is mapped,
 * else the main executable (the object containing AT_ENTRY, else the
 * lowest).  NULL if there is none. */
struct module *modules_allocator_home(const struct modules *mods);
/* Whether the ELF file fd has m's build-id (0 when m has none). */
int modules_file_matches(const struct module *m, int fd);
/* m's path inside the target's root (for a chroot, without the chroot
 * directory that /proc/PID/maps shows). */
const char *modules_path_in_root(const struct module *m);
/* A phrase saying why m's symbols cannot be read ("cannot open ...:
 * reason"), or NULL when its file is in hand. */
const char *modules_problem(const struct module *m, char *buf, size_t len);

/* Before attaching: whether pid runs code of another architecture (an
 * emulator such as qemu-user has loaded objects of another machine).
 * Returns 1 with a description ("/bin/ls is an aarch64 object") in msg,
 * 0 if not (or when it cannot tell). */
int modules_foreign_code(pid_t pid, char *msg, size_t len);

/* ---- libdwfl (modules-dwfl.c) ------------------------------------------ */

/* A Dwfl with every object reported at its address: find_elf hands out
 * the files kept here (never a path of leaktrap's own file system), and
 * find_debuginfo looks for separate debug information by build-id and
 * .gnu_debuglink (with its CRC) in the target's root first, then in the
 * --debuginfo-dir directories, next to the object, in /usr/lib/debug, and
 * through debuginfod when DEBUGINFOD_URLS is set.  Each object's Dwfl
 * userdata is its struct module.  NULL on failure.  mods must outlive it;
 * release with dwfl_end(). */
Dwfl *modules_dwfl(struct modules *mods);
/* A Dwfl with the one object m (a retired one: it overlaps a current
 * object, which one Dwfl cannot hold).  NULL on failure. */
Dwfl *modules_dwfl_one(struct modules *mods, struct module *m);
/* The struct module behind a Dwfl module of modules_dwfl(). */
struct module *modules_of_dwfl(Dwfl_Module *mod);

/* Add a host directory searched for separate debug information like
 * /usr/lib/debug (.build-id/xx/yyyy.debug, and DIR/<object's directory>/
 * <debuglink>).  Before modules_dwfl(); process-wide.  Returns 0, -ENOENT
 * (and the other errors of realpath()), -EINVAL (a ':' in the path), or
 * -ENOMEM. */
__attribute__((warn_unused_result))
int modules_add_debuginfo_dir(const char *dir);

#endif
