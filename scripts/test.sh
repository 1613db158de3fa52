#!/bin/sh
# SPDX-License-Identifier: MIT
# Install what is missing, build with warnings as errors, and run the whole
# suite: unit, integration, and the integration tests once more on the
# kernel fallbacks (suite compat, LEAKTRAP_COMPAT=all, docs/kernels.md); the
# unit tests once more under valgrind; then build again with
# AddressSanitizer and UndefinedBehaviorSanitizer and run unit + integration
# once more (test_compat covers the no-seize code there; the compat suite
# under ASan adds ~2.5 minutes, run it with LEAKTRAP_CI_ASAN_COMPAT=1); then
# build the libFuzzer targets with clang and fuzz each for FUZZ_SECONDS
# (default 10 here) from its seeds (docs/reliability.md).
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
run() {
    dir=$1; suites=$2; shift 2
    [ -d "$dir" ] || meson setup "$dir" -Dwerror=true "$@" >/dev/null
    ninja -C "$dir"
    # shellcheck disable=SC2086
    meson test -C "$dir" --print-errorlogs --num-processes 2 $suites
}
run build ""
meson test -C build --print-errorlogs --num-processes 2 --setup valgrind --suite unit
asan_suites="--suite unit --suite integration"
[ "${LEAKTRAP_CI_ASAN_COMPAT:-0}" = 1 ] && asan_suites=""
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run build-asan "$asan_suites" -Db_sanitize=address,undefined -Db_lundef=false
FUZZ_SECONDS=${FUZZ_SECONDS:-10} CC=clang ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run build-fuzz "" -Dfuzz=true -Dintegration=false -Db_sanitize=address,undefined -Db_lundef=false
