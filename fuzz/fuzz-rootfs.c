/* SPDX-License-Identifier: MIT */
/*
 * fuzz-rootfs.c - resolving a path inside a container's root (rootfs.c)
 * when the container planted symlinks.  A scratch directory holds a root
 * (files f, a/g, a FIFO p, directories a and a/b) and, beside it,
 * outside the root, a file named secret.  The input's lines
 *     D NAME <tab> TARGET      (D: 0 root, 1 root/a, 2 root/a/b)
 * plant symlinks NAME -> TARGET; its last line is the path to open.
 * Oracle: the component walk (rootfs_open_walk) and openat2
 * RESOLVE_IN_ROOT (rootfs_open) agree on whether the path opens and on
 * which file it opens, and what opens is a regular file of the root,
 * never the secret beside it nor the FIFO.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "leaktrap/rootfs.h"

enum { MAX_LINKS = 16 };

static int dirs[3] = { -1, -1, -1 };   /* root, root/a, root/a/b */
static ino_t secret_ino, fifo_ino;

static char top[64];

/* Remove the scratch directory at exit (the symlinks are gone already). */
static void cleanup(void)
{
	static const char *const names[] = { "root/a/g", "root/f", "root/p", "root/a/b",
					     "root/a", "root", "secret" };
	char path[128];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", top, names[i]);
		if (unlink(path) < 0)
			rmdir(path);
	}
	rmdir(top);
}

static int setup(void)
{
	char tmpl[] = "/tmp/leaktrap-fuzz-rootfs-XXXXXX";
	struct stat st;
	if (dirs[0] >= 0)
		return 0;
	if (!mkdtemp(tmpl))
		return -1;
	snprintf(top, sizeof(top), "%s", tmpl);
	atexit(cleanup);
	int topfd = open(top, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (topfd < 0 || mkdirat(topfd, "root", 0755) < 0)
		return -1;
	int fd = openat(topfd, "secret", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	secret_ino = st.st_ino;
	close(fd);
	dirs[0] = openat(topfd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirs[0] < 0 || mkdirat(dirs[0], "a", 0755) < 0 || mkdirat(dirs[0], "a/b", 0755) < 0)
		return -1;
	dirs[1] = openat(dirs[0], "a", O_PATH | O_DIRECTORY | O_CLOEXEC);
	dirs[2] = openat(dirs[0], "a/b", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirs[1] < 0 || dirs[2] < 0 || mkfifoat(dirs[0], "p", 0644) < 0 ||
	    fstatat(dirs[0], "p", &st, 0) < 0)
		return -1;
	fifo_ino = st.st_ino;
	for (int i = 0; i < 2; i++) {
		fd = openat(dirs[i], i ? "g" : "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return -1;
		close(fd);
	}
	close(topfd);
	return 0;
}

/* The inode of what fd (>= 0) opened, after checking it is a regular file
 * of the root; closes fd. */
static ino_t check_opened(int fd)
{
	struct stat st;
	FUZZ_CHECK(fstat(fd, &st) == 0);
	FUZZ_CHECK(S_ISREG(st.st_mode));
	FUZZ_CHECK(st.st_ino != secret_ino && st.st_ino != fifo_ino);
	close(fd);
	return st.st_ino;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct { int dir; char *name; } made[MAX_LINKS];
	unsigned n_made = 0;
	char *text = fuzz_strndup(data, size), *path = text;
	if (!text || setup() < 0) {
		free(text);
		return 0;
	}
	/* every line but the last plants a link (if well formed) */
	for (char *nl; (nl = strchr(path, '\n'));) {
		*nl = 0;
		char *tab = strchr(path, '\t');
		if (tab && path[0] >= '0' && path[0] <= '2' && n_made < MAX_LINKS) {
			*tab = 0;
			const char *name = path + 1;
			if (*name && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..") &&
			    symlinkat(tab + 1, dirs[path[0] - '0'], name) == 0)
				made[n_made].dir = dirs[path[0] - '0'], made[n_made++].name = (char *)name;
		}
		path = nl + 1;
	}

	int walk = rootfs_open_walk(dirs[0], path);
	int kernel = rootfs_open(dirs[0], path);
	ino_t wi = walk >= 0 ? check_opened(walk) : 0;
	ino_t ki = kernel >= 0 ? check_opened(kernel) : 0;
	if ((walk >= 0) != (kernel >= 0) || wi != ki)
		fprintf(stderr, "path '%s': walk %d (ino %lu), openat2 %d (ino %lu)\n", path,
			walk, (unsigned long)wi, kernel, (unsigned long)ki);
	FUZZ_CHECK((walk >= 0) == (kernel >= 0) && wi == ki);

	for (unsigned i = 0; i < n_made; i++)
		unlinkat(made[i].dir, made[i].name, 0);
	free(text);
	return 0;
}
