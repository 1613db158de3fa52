#!/bin/sh
# SPDX-License-Identifier: MIT
# The demo: install what is missing, build, start the seed-case fixture (a
# thread leaking calloc(1024, sizeof(long long)) every 200 ms), attach to it
# by PID for 3 seconds, print the leak report, stop the fixture.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
./build/fixtures/app --demo &
app=$!
trap 'kill $app 2>/dev/null' EXIT
sleep 0.5     # let it start leaking before we attach (a demo, not a test)
./build/leaktrap -p "$app" -d 3
