/* SPDX-License-Identifier: MIT */
/*
 * test-rootfs.c - resolving paths inside a root directory, with openat2
 * and with the component walk: plain files, symlinked directories,
 * relative symlinks and ".." that try to climb out of the root, absolute
 * symlinks (resolved from the root, never from the host's /), symlink
 * loops, a FIFO (refused without blocking), directories and paths
 * through a file.  Built in a temporary directory: a "host" file sits
 * next to the root under the same relative name as one inside it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "leaktrap/rootfs.h"
#include "test.h"

static char top[64];      /* the temporary directory */

/* top/rel, in a static buffer. */
static const char *at(const char *rel)
{
	static char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", top, rel);
	return path;
}

static void put(const char *rel, const char *content)
{
	FILE *f = fopen(at(rel), "w");
	TEST_ASSERT(f != NULL);
	if (f) {
		fputs(content, f);
		fclose(f);
	}
}

static void dir(const char *rel)
{
	TEST_ASSERT(mkdir(at(rel), 0755) == 0);
}

static void link_to(const char *target, const char *rel)
{
	TEST_ASSERT(symlink(target, at(rel)) == 0);
}

static void build_tree(void)
{
	char host_abs[PATH_MAX];
	dir("root"), dir("root/etc"), dir("root/usr"), dir("root/usr/lib");
	dir("root/outside"), dir("outside");
	put("outside/secret", "host");            /* must never be read */
	put("root/outside/secret", "inside");
	put("root/etc/passwd", "container passwd");
	put("root/usr/lib/libc.so.6", "container libc");
	link_to("usr/lib", "root/lib");            /* relative, to a directory */
	link_to("/usr/lib/libc.so.6", "root/abs"); /* absolute: from the root */
	link_to("../../outside/secret", "root/up");
	link_to("../../../../../../../../../outside/secret", "root/usr/lib/deep");
	snprintf(host_abs, sizeof(host_abs), "%s/outside/secret", top);
	link_to(host_abs, "root/hostpath");        /* a host path: absent inside */
	link_to("/proc/self/root/etc/passwd", "root/magic");
	link_to("loop2", "root/loop1");
	link_to("loop1", "root/loop2");
	TEST_ASSERT(mkfifo(at("root/fifo"), 0600) == 0);
}

static const struct {
	const char *path;
	const char *content;     /* NULL: must fail */
} cases[] = {
	{ "/etc/passwd", "container passwd" },
	{ "etc/passwd", "container passwd" },
	{ "/lib/libc.so.6", "container libc" },
	{ "/lib/../lib/./libc.so.6", "container libc" },
	{ "/abs", "container libc" },
	{ "/up", "inside" },
	{ "/usr/lib/deep", "inside" },
	{ "/../../../outside/secret", "inside" },
	{ "/usr/../../outside/secret", "inside" },
	{ "/hostpath", NULL },
	{ "/magic", NULL },
	{ "/loop1", NULL },
	{ "/fifo", NULL },
	{ "/usr", NULL },
	{ "/etc/passwd/x", NULL },
	{ "/missing", NULL },
	/* a trailing slash after a file, directly or through a link (found
	 * by fuzz/fuzz-rootfs.c: the walk used to open the file) */
	{ "/etc/passwd/", NULL },
	{ "/abs/", NULL },
	{ "/abs//", NULL },
	{ "/lib/", NULL },
};

static void check(int (*open_in)(int, const char *), int rootfd, const char *how)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64] = "";
		int fd = open_in(rootfd, cases[i].path);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof(buf) - 1);
			buf[n > 0 ? n : 0] = 0;
			close(fd);
		}
		if (!test_check_str(fd >= 0 ? buf : NULL, cases[i].content, __FILE__,
				    __LINE__, how, cases[i].path))
			fprintf(stderr, "  (%s: returned %d)\n", cases[i].path, fd);
	}
	TEST_ASSERT(open_in(rootfd, "/loop1") == -ELOOP);
	TEST_ASSERT(open_in(rootfd, "/missing") == -ENOENT);
	TEST_ASSERT(open_in(rootfd, "/etc/passwd/x") == -ENOTDIR);
	TEST_ASSERT(open_in(rootfd, "/etc/passwd/") == -ENOTDIR);
	TEST_ASSERT(open_in(rootfd, "/abs/") == -ENOTDIR);
}

int main(void)
{
	char tmpl[] = "/tmp/leaktrap-test-rootfs-XXXXXX";
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(top, sizeof(top), "%s", tmpl);
	build_tree();
	int rootfd = open(at("root"), O_PATH | O_DIRECTORY | O_CLOEXEC);
	TEST_ASSERT(rootfd >= 0);
	check(rootfs_open_walk, rootfd, "walk");
	check(rootfs_open, rootfd, "openat2");
	close(rootfd);
	TEST_ASSERT(rootfs_open_root(getpid()) >= 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", top);
	return test_summary();
}
