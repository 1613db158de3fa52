/* SPDX-License-Identifier: MIT */
/*
 * rootfs.h - opening a file as another process sees it: a path resolved
 * inside that process's root directory (/proc/PID/root: its chroot and
 * mount namespace), never outside it.  ".." stops at the root and an
 * absolute symlink starts again from it, so a container cannot make
 * leaktrap open a file of the host.  openat2(RESOLVE_IN_ROOT) where the
 * kernel has it (5.6), otherwise a walk of one component at a time with
 * O_NOFOLLOW that interprets symlinks itself.  Only regular files are
 * opened (never a FIFO or a device).
 */
#ifndef LEAKTRAP_ROOTFS_H
#define LEAKTRAP_ROOTFS_H

#include <sys/types.h>

/* A handle on pid's root directory (O_PATH), or a negative errno. */
int rootfs_open_root(pid_t pid);

/* Open path (absolute, or relative to the root: the same thing) inside
 * the root directory rootfd, read-only and close-on-exec.  Returns the fd
 * or a negative errno: -ENOENT, -ELOOP (more than 40 symlinks), -ENOTDIR,
 * -EINVAL (not a regular file), ... */
int rootfs_open(int rootfd, const char *path);

/* The same with the component walk only (kernels without openat2, and the
 * unit tests). */
int rootfs_open_walk(int rootfd, const char *path);

#endif
