/* SPDX-License-Identifier: MIT */
/*
 * modules.c - the table of mapped ELF objects and their files (see
 * modules.h).  An object starts at a readable offset-0 mapping of a file
 * (or the vDSO) whose first page is an ELF header, and extends over the
 * following mappings of the same file.  Everything about the object is
 * read from memory first (headers, build-id); the file is only trusted
 * once its build-id matches.  The Dwfl side is in modules-dwfl.c.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "leaktrap/arch.h"
#include "leaktrap/error.h"
#include "leaktrap/modules.h"
#include "leaktrap/procfs.h"
#include "leaktrap/rootfs.h"

enum { HEADER_BYTES = 4096, NOTE_BYTES = 4096, IMAGE_MAX = 1 << 16 };

static const char deleted_suffix[] = " (deleted)";

/* ---- files ------------------------------------------------------------- */

int modules_file_matches(const struct module *m, int fd)
{
	const void *bits;
	(void)elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	ssize_t n = elf ? dwelf_elf_gnu_build_id(elf, &bits) : -1;
	int same = m->build_id_len && n == (ssize_t)m->build_id_len &&
		   !memcmp(bits, m->build_id, m->build_id_len);
	elf_end(elf);
	return same;
}

/* Whether fd holds the object m: the same build-id, or without one, the
 * same inode (a map_files link is the mapped inode by definition). */
static int file_is_object(const struct module *m, int fd, int mapped)
{
	struct stat st;
	if (m->build_id_len)
		return modules_file_matches(m, fd);
	return mapped || (fstat(fd, &st) == 0 && st.st_ino == m->inode);
}

/* Keep fd if it is the object; 1 if kept, 0 if refused (closed). */
static int take_file(struct module *m, int fd, int mapped, const char *source)
{
	if (!file_is_object(m, fd, mapped)) {
		close(fd);
		m->state = MODULE_MISMATCH;
		return 0;
	}
	m->fd = fd, m->state = MODULE_FILE, m->source = source;
	return 1;
}

/* Maps paths are leaktrap's view: a file of a chroot that leaktrap can
 * reach shows as ROOT/path, a file of another mount namespace as its path
 * there. */
const char *modules_path_in_root(const struct module *m)
{
	const char *prefix = m->owner->root_prefix;
	size_t n = prefix ? strlen(prefix) : 0;
	if (n && !strncmp(m->path, prefix, n) && m->path[n] == '/')
		return m->path + n;
	return m->path;
}

static void open_file(struct modules *mods, struct module *m)
{
	char link[96];
	snprintf(link, sizeof(link), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
		 (int)mods->pid, m->start, m->first_end);
	m->state = MODULE_NO_FILE;
	int fd = open(link, O_RDONLY | O_CLOEXEC);
	m->map_err = fd < 0 ? -errno : 0;
	if (fd >= 0 && take_file(m, fd, 1, "map_files"))
		return;
	fd = mods->rootfd;
	if (fd >= 0)
		fd = rootfs_open(mods->rootfd, modules_path_in_root(m));
	if (fd >= 0)
		(void)take_file(m, fd, 0, "root");
	else if (m->state == MODULE_NO_FILE)
		m->err = fd;
}

static void copy_image(struct module *m, struct mem *mem)
{
	size_t len = m->end - m->start;
	m->state = MODULE_NO_FILE, m->err = -EFBIG;
	if (len > IMAGE_MAX || !(m->image = malloc(len)))
		return;
	m->err = mem_read(mem, m->start, m->image, len);
	if (m->err == 0)
		m->image_len = len, m->state = MODULE_MEMORY, m->source = "memory";
}

/* ---- building an entry from memory ------------------------------------- */

static int same_file(const struct map_entry *a, const struct map_entry *b)
{
	return a->path && b->path && a->inode == b->inode && !strcmp(a->path, b->path);
}

static int starts_object(const struct map_entry *e)
{
	return e->path && e->offset == 0 && (e->prot & MAP_R) &&
	       (e->path[0] == '/' || !strcmp(e->path, "[vdso]"));
}

/* The end of the object whose offset-0 mapping is maps->v[i]. */
static uint64_t object_end(const struct maps *maps, size_t i)
{
	uint64_t end = maps->v[i].end;
	for (size_t j = i + 1; j < maps->n; j++) {
		if (maps->v[j].path && !same_file(&maps->v[i], &maps->v[j]))
			break;
		if (maps->v[j].path && maps->v[j].offset == 0)
			break;          /* the same file mapped again */
		if (maps->v[j].path)
			end = maps->v[j].end;
	}
	return end;
}

static void read_build_id(struct module *m, struct mem *mem)
{
	uint8_t notes[NOTE_BYTES];
	for (unsigned i = 0; i < m->img.n_notes && !m->build_id_len; i++) {
		size_t len = m->img.note_size[i] < sizeof(notes) ? m->img.note_size[i]
								  : sizeof(notes);
		if (m->img.note_addr[i] >= m->start && m->img.note_addr[i] < m->end &&
		    mem_read(mem, m->img.note_addr[i], notes, len) == 0)
			m->build_id_len = elfimage_build_id(notes, len, m->build_id,
							    sizeof(m->build_id));
	}
}

static int set_path(struct module *m, const char *path)
{
	size_t len = strlen(path), slen = sizeof(deleted_suffix) - 1;
	if (len > slen && !strcmp(path + len - slen, deleted_suffix))
		len -= slen, m->deleted = 1;
	m->path = strndup(path, len);
	return m->path ? 0 : -ENOMEM;
}

/* A module for the object starting at maps->v[i]; NULL with *err_ret 0
 * when it is not an ELF object. */
static struct module *probe(struct modules *mods, const struct maps *maps, size_t i,
			    struct mem *mem, int *err_ret)
{
	const struct map_entry *e = &maps->v[i];
	uint8_t page[HEADER_BYTES];
	struct elfimage img;
	size_t len = e->end - e->start < sizeof(page) ? e->end - e->start : sizeof(page);
	ssize_t n = mem_read_partial(mem, e->start, page, len);
	*err_ret = n == -ESRCH ? -ESRCH : 0;
	if (n <= 0 || elfimage_parse(page, (size_t)n, e->start, &img) < 0)
		return NULL;
	struct module *m = calloc(1, sizeof(*m));
	if (!m || set_path(m, e->path) < 0) {
		free(m);
		*err_ret = -ENOMEM;
		return NULL;
	}
	m->owner = mods, m->fd = -1, m->img = img, m->inode = e->inode;
	m->start = e->start, m->first_end = e->end, m->end = object_end(maps, i);
	read_build_id(m, mem);
	if (e->path[0] == '[')
		copy_image(m, mem);
	else
		open_file(mods, m);
	return m;
}

/* ---- the table --------------------------------------------------------- */

static void module_free(struct module *m)
{
	if (m->fd >= 0)
		close(m->fd);
	free(m->image);
	free(m->path);
	free(m);
}

static int known(const struct modules *mods, const struct map_entry *e)
{
	const struct module *m = modules_find(mods, e->start);
	return m && m->start == e->start && m->inode == e->inode;
}

/* Move mods->v[at] to the retired objects as of generation gen. */
static int retire(struct modules *mods, size_t at, unsigned gen)
{
	if (mods->n_retired == mods->cap_retired) {
		size_t ncap = mods->cap_retired ? mods->cap_retired * 2 : 8;
		struct module **v = realloc(mods->retired, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		mods->retired = v, mods->cap_retired = ncap;
	}
	mods->v[at]->gen_retired = gen;
	mods->retired[mods->n_retired++] = mods->v[at];
	mods->n--;
	memmove(&mods->v[at], &mods->v[at + 1], (mods->n - at) * sizeof(*mods->v));
	return 0;
}

/* Retire the objects whose offset-0 mapping is gone (unloaded): the same
 * file loaded again at the same place is then a new object. */
static int retire_unmapped(struct modules *mods, const struct maps *maps)
{
	int retired = 0;
	for (size_t i = 0; i < mods->n;) {
		const struct module *m = mods->v[i];
		const struct map_entry *e = maps_find(maps, m->start);
		if (e && e->start == m->start && e->offset == 0 && e->inode == m->inode) {
			i++;
			continue;
		}
		if (retire(mods, i, mods->generation + 1) < 0)
			return -ENOMEM;
		retired = 1;
	}
	if (retired)
		mods->generation++;
	return 0;
}

/* Insert m at its place by start, retiring the objects it overlaps. */
static int insert(struct modules *mods, struct module *m)
{
	size_t at = 0;
	while (at < mods->n && mods->v[at]->end <= m->start)
		at++;
	while (at < mods->n && mods->v[at]->start < m->end)
		if (retire(mods, at, m->gen_added) < 0)
			return -ENOMEM;
	if (mods->n == mods->cap) {
		size_t ncap = mods->cap ? mods->cap * 2 : 32;
		struct module **v = realloc(mods->v, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		mods->v = v, mods->cap = ncap;
	}
	memmove(&mods->v[at + 1], &mods->v[at], (mods->n++ - at) * sizeof(*mods->v));
	mods->v[at] = m;
	return 0;
}

static void debug_module(const struct module *m)
{
	char id[2 * ELFIMAGE_BUILD_ID_MAX + 1] = "none", why[512];
	for (size_t i = 0; i < m->build_id_len; i++)
		snprintf(id + 2 * i, 3, "%02x", m->build_id[i]);
	if (m->source)
		lt_debug("module %s at 0x%" PRIx64 ": build-id %s, file from %s", m->path,
			 m->start, id, m->source);
	else
		lt_debug("module %s at 0x%" PRIx64 ": build-id %s, no file: %s", m->path,
			 m->start, id, modules_problem(m, why, sizeof(why)));
}

int modules_update(struct modules *mods, const struct maps *maps, struct mem *mem)
{
	if (retire_unmapped(mods, maps) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < maps->n; i++) {
		int err;
		if (!starts_object(&maps->v[i]) || known(mods, &maps->v[i]))
			continue;
		struct module *m = probe(mods, maps, i, mem, &err);
		if (!m && err)
			return err;
		if (m)
			m->gen_added = mods->generation + 1;
		if (m && (err = insert(mods, m)) < 0) {
			module_free(m);
			return err;
		}
		if (m) {
			mods->generation++;
			debug_module(m);
		}
	}
	return 0;
}

/* Whether pid sees leaktrap's file system: the same mount namespace and
 * the same root directory (a copied namespace has the same root inode). */
static int sees_our_root(pid_t pid, int rootfd)
{
	char ns[64];
	struct stat a, b, c, d;
	snprintf(ns, sizeof(ns), "/proc/%d/ns/mnt", (int)pid);
	return stat(ns, &a) == 0 && stat("/proc/self/ns/mnt", &b) == 0 &&
	       a.st_ino == b.st_ino && a.st_dev == b.st_dev &&
	       fstat(rootfd, &c) == 0 && stat("/", &d) == 0 &&
	       c.st_dev == d.st_dev && c.st_ino == d.st_ino;
}

/* Where pid's root is in leaktrap's view ("" when it is not visible or
 * is "/"); NULL when out of memory. */
static char *root_prefix(pid_t pid)
{
	char link[64], buf[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/%d/root", (int)pid);
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);
	buf[n > 1 && buf[0] == '/' ? n : 0] = 0;
	return strdup(buf);
}

/* One descriptor is kept per object, and libdwfl duplicates them: a
 * process with hundreds of libraries needs more than the usual soft limit
 * of 1024.  Raise it to the hard limit (as systemd's tools do). */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int modules_create(pid_t pid, const struct maps *maps, struct mem *mem,
		   struct modules **mods_ret)
{
	struct modules *mods = calloc(1, sizeof(*mods));
	if (!mods)
		return -ENOMEM;
	raise_fd_limit();
	mods->pid = pid;
	mods->rootfd = rootfs_open_root(pid);
	mods->same_root = mods->rootfd >= 0 && sees_our_root(pid, mods->rootfd);
	if (!mods->same_root && !(mods->root_prefix = root_prefix(pid))) {
		modules_destroy(mods);
		return -ENOMEM;
	}
	mods->entry = procfs_auxv(pid, AT_ENTRY);
	int err = modules_update(mods, maps, mem);
	if (err) {
		modules_destroy(mods);
		return err;
	}
	*mods_ret = mods;
	return 0;
}

void modules_destroy(struct modules *mods)
{
	if (!mods)
		return;
	for (size_t i = 0; i < mods->n; i++)
		module_free(mods->v[i]);
	for (size_t i = 0; i < mods->n_retired; i++)
		module_free(mods->retired[i]);
	free(mods->retired);
	if (mods->rootfd >= 0)
		close(mods->rootfd);
	free(mods->root_prefix);
	free(mods->v);
	free(mods);
}

struct module *modules_find(const struct modules *mods, uint64_t addr)
{
	size_t lo = 0, hi = mods->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (addr < mods->v[mid]->start)
			hi = mid;
		else if (addr >= mods->v[mid]->end)
			lo = mid + 1;
		else
			return mods->v[mid];
	}
	return NULL;
}

struct module *modules_find_at(const struct modules *mods, uint64_t addr, unsigned gen)
{
	struct module *m = modules_find(mods, addr);
	if (!gen || (m && m->gen_added <= gen))
		return m;
	for (size_t i = mods->n_retired; i-- > 0;) {
		struct module *r = mods->retired[i];
		if (addr >= r->start && addr < r->end && r->gen_added <= gen &&
		    gen < r->gen_retired)
			return r;
	}
	return m;
}

/* ---- explaining -------------------------------------------------------- */

static int is_libc(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return !strncmp(base, "libc.so", 7) || !strncmp(base, "ld-musl-", 8) ||
	       (!strncmp(base, "libc-", 5) && strstr(base, ".so"));
}

struct module *modules_allocator_home(const struct modules *mods)
{
	for (size_t i = 0; i < mods->n; i++)
		if (is_libc(mods->v[i]->path))
			return mods->v[i];
	struct module *exe = modules_find(mods, mods->entry);
	return exe ? exe : mods->n ? mods->v[0] : NULL;
}

/* strerror(-err) in lowercase ("no such file or directory"), git style. */
static const char *reason(int err, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(-err));
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

const char *modules_problem(const struct module *m, char *buf, size_t len)
{
	char why[160] = "", r1[64], r2[64];
	if (m->state == MODULE_FILE || m->state == MODULE_MEMORY)
		return NULL;
	if (m->map_err)
		snprintf(why, sizeof(why), "; /proc/%d/map_files: %s%s", (int)m->owner->pid,
			 reason(m->map_err, r1, sizeof(r1)), m->map_err == -EPERM ?
			 " (needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE)" : "");
	if (m->state == MODULE_MISMATCH)
		snprintf(buf, len, "%s on disk is not the file that is mapped (another "
			 "build-id)%s", m->path, why);
	else
		snprintf(buf, len, "cannot open %s: %s%s", m->path,
			 reason(m->err, r2, sizeof(r2)), why);
	return buf;
}

/* ---- code of another architecture -------------------------------------- */

/* Whether the file of maps->v[i] is mapped as a loader maps an object:
 * several segments, or executable. */
static int loaded_like_code(const struct maps *maps, size_t i)
{
	for (size_t j = 0; j < maps->n; j++)
		if (same_file(&maps->v[i], &maps->v[j]) &&
		    (maps->v[j].offset != 0 || (maps->v[j].prot & MAP_X)))
			return 1;
	return 0;
}

static int foreign_at(const struct maps *maps, size_t i, struct mem *mem,
		      char *msg, size_t len)
{
	uint8_t ident[EI_NIDENT + 4];
	unsigned class, machine;
	const struct map_entry *e = &maps->v[i];
	if (!starts_object(e) || mem_read(mem, e->start, ident, sizeof(ident)) ||
	    elfimage_ident(ident, sizeof(ident), &class, &machine) ||
	    machine == arch_elf_machine || !loaded_like_code(maps, i))
		return 0;
	const char *name = elfimage_machine_name(machine);
	if (name)
		snprintf(msg, len, "%s is %s code", e->path, name);
	else
		snprintf(msg, len, "%s is code for ELF machine %u", e->path, machine);
	return 1;
}

int modules_foreign_code(pid_t pid, char *msg, size_t len)
{
	struct maps maps;
	struct mem mem = { .pid = pid, .fd = -1 };
	int found = 0;
	if (maps_read(pid, &maps) < 0)
		return 0;
	for (size_t i = 0; i < maps.n && !found; i++)
		found = foreign_at(&maps, i, &mem, msg, len);
	maps_release(&maps);
	return found;
}
