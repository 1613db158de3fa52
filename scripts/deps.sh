#!/bin/sh
# SPDX-License-Identifier: MIT
# Install what leaktrap needs to build and test on Debian 12 (as root, or
# through sudo).  Does nothing when everything is already there.
set -eu
pkgs="gcc g++ binutils meson ninja-build pkg-config python3 libdw-dev libelf-dev
libunwind-dev zlib1g-dev libcapstone-dev libjson-c-dev util-linux
valgrind strace clang libclang-rt-14-dev
libjemalloc-dev libgoogle-perftools-dev libmimalloc-dev"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "leaktrap: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
