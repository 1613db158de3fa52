#!/bin/sh
# SPDX-License-Identifier: MIT
# smoke.sh FUZZER SEED_DIR... - fuzz for FUZZ_SECONDS (default 20) from
# the seeds, in a scratch corpus (the checked-in seeds stay untouched);
# fails on any crash, leak, timeout or sanitizer report.  A crashing
# input is kept in fuzz/crash-* of the build directory: copy it into
# fuzz/regress/NAME/ with the fix.
set -eu
fuzzer=$1; shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
exec_dir=$(dirname "$fuzzer")
"$fuzzer" -max_total_time="${FUZZ_SECONDS:-20}" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$exec_dir/" \
    "$work" "$@"
