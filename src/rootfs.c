/* SPDX-License-Identifier: MIT */
/*
 * rootfs.c - resolving paths inside another process's root (see
 * rootfs.h).  Both methods first get an O_PATH handle, check that it is a
 * regular file, and only then open it for reading through
 * /proc/self/fd/N, so that a FIFO or a device planted in a container is
 * never opened.  The walk keeps a stack of the directories it went
 * through: ".." pops it (and stays at the root when it is empty), an
 * absolute symlink empties it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "leaktrap/compat.h"
#include "leaktrap/rootfs.h"

enum { WALK_MAX_DEPTH = 256, WALK_MAX_LINKS = 40, WALK_PATH_MAX = 2 * PATH_MAX };

struct walk {
	int rootfd;
	int dirs[WALK_MAX_DEPTH];     /* directories entered below the root */
	unsigned depth, links;
	char rest[WALK_PATH_MAX];     /* what is left to resolve */
};

int rootfs_open_root(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Open the regular file behind an O_PATH handle for reading; closes it. */
static int reopen_regular(int pathfd)
{
	struct stat st;
	char proc[64];
	int fd = -EINVAL;
	if (fstat(pathfd, &st) < 0)
		fd = -errno;
	else if (S_ISREG(st.st_mode)) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pathfd);
		fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			fd = -errno;
	}
	close(pathfd);
	return fd;
}

static int cur_dir(const struct walk *w)
{
	return w->depth ? w->dirs[w->depth - 1] : w->rootfd;
}

static void pop(struct walk *w, unsigned to_depth)
{
	while (w->depth > to_depth)
		close(w->dirs[--w->depth]);
}

/* Cut the next component off w->rest into comp; 0 when none is left. */
static int next_component(struct walk *w, char *comp, size_t size)
{
	char *p = w->rest + strspn(w->rest, "/");
	size_t n = strcspn(p, "/");
	if (n == 0)
		return 0;
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(comp, p, n);
	comp[n] = 0;
	memmove(w->rest, p + n, strlen(p + n) + 1);
	return 1;
}

/* Replace the symlink just met (handle fd) by its target. */
static int follow(struct walk *w, int fd)
{
	char target[PATH_MAX], joined[WALK_PATH_MAX];
	ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = 0;
	if (++w->links > WALK_MAX_LINKS)
		return -ELOOP;
	/* w->rest is empty or starts with the '/' after the link's name */
	if ((size_t)snprintf(joined, sizeof(joined), "%s%s", target, w->rest) >=
	    sizeof(joined))
		return -ENAMETOOLONG;
	memcpy(w->rest, joined, strlen(joined) + 1);
	if (target[0] == '/')
		pop(w, 0);              /* absolute: from the root again */
	return 0;
}

/* One component: 1 with *file_ret set when it is the final regular file,
 * 0 to go on, or a negative errno. */
static int step(struct walk *w, const char *comp, int *file_ret)
{
	struct stat st;
	if (!strcmp(comp, "."))
		return 0;
	if (!strcmp(comp, "..")) {
		pop(w, w->depth ? w->depth - 1 : 0);
		return 0;
	}
	int fd = openat(cur_dir(w), comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int err = fstat(fd, &st) < 0 ? -errno : 0;
	if (!err && S_ISLNK(st.st_mode))
		err = follow(w, fd);
	else if (!err && S_ISDIR(st.st_mode) && w->depth < WALK_MAX_DEPTH) {
		w->dirs[w->depth++] = fd;
		return 0;
	} else if (!err && w->rest[0])
		/* more components, or a trailing slash ("file/"): the kernel
		 * says ENOTDIR for both */
		err = S_ISDIR(st.st_mode) ? -ENAMETOOLONG : -ENOTDIR;
	else if (!err) {
		*file_ret = fd;
		return 1;
	}
	close(fd);
	return err;
}

int rootfs_open_walk(int rootfd, const char *path)
{
	struct walk w = { .rootfd = rootfd };
	char comp[NAME_MAX + 1];
	int r, file = -1;
	if (strlen(path) >= sizeof(w.rest))
		return -ENAMETOOLONG;
	memcpy(w.rest, path, strlen(path) + 1);
	while ((r = next_component(&w, comp, sizeof(comp))) > 0)
		if ((r = step(&w, comp, &file)) != 0)
			break;
	pop(&w, 0);
	if (r < 0)
		return r;
	return file < 0 ? -EISDIR : reopen_regular(file);
}

static int openat2_unsupported;

int rootfs_open(int rootfd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	if (openat2_unsupported || compat_has(COMPAT_NO_OPENAT2))
		return rootfs_open_walk(rootfd, path);
	long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	if (fd >= 0)
		return reopen_regular((int)fd);
	if (errno != ENOSYS && errno != EPERM)   /* EPERM: an old seccomp filter */
		return -errno;
	openat2_unsupported = 1;
	return rootfs_open_walk(rootfd, path);
}
