#!/bin/sh
# SPDX-License-Identifier: MIT
#
# ci-example.sh - fail a CI job when a test program leaks memory.
#
#   ci-example.sh [-s SUPPRESSIONS] [-o DIR] [--] TEST-COMMAND [ARG...]
#
# Runs TEST-COMMAND under leaktrap, traced from its entry point until it
# exits, with the suppressions of the allocations the project accepts
# (default: ci-example.supp next to this script), and exits with
#
#   0  no leak left after the suppressions;
#   1  a new leak: the report is printed (and kept in DIR/leaks.txt), with
#      a ready-to-paste suppression for each leaking stack for the case
#      where the leak is accepted rather than fixed;
#   2  leaktrap could not do its job (the command cannot be executed,
#      ptrace is not permitted, the --max-blocks limit cut the trace
#      short, ...): no verdict on the code;
#   3  the test command itself failed (exited non-zero or was killed):
#      leaktrap's status 8, which takes precedence over the leak verdict;
#      the report is printed all the same.
#
# LEAKTRAP names the leaktrap to run (default: leaktrap from PATH).  The
# test program keeps the script's standard input, output and error; the
# report goes to a file so that it does not mix with the program's output.
#
# leaktrap says only whether the test command failed (status 8), not how:
# let the tests report their own failures (their output, a result file).
# To accept the leaks a branch already has and fail only on new ones, save
# a JSON report (-f json -o base.json) of the main branch and add
# "--baseline base.json" below: only stacks that grew are reported.
#
# The tests run this script against leaktrap's fixtures
# (tests/integration/test_gate.py), so the example keeps working.

set -u

usage() {
	echo "usage: ${0##*/} [-s SUPPRESSIONS] [-o DIR] [--] TEST-COMMAND [ARG...]" >&2
	exit 2
}

leaktrap=${LEAKTRAP:-leaktrap}
supp=$(dirname "$0")/ci-example.supp
dir=
while getopts s:o: opt; do
	case $opt in
	s) supp=$OPTARG ;;
	o) dir=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || usage

if [ -z "$dir" ]; then
	dir=$(mktemp -d "${TMPDIR:-/tmp}/leaktrap-ci.XXXXXX") || exit 2
fi
mkdir -p "$dir" || exit 2

# Any status leaktrap does not use for itself (0 to 9) tells a leak apart.
leak_status=42

"$leaktrap" \
	--error-exitcode "$leak_status" \
	--suppressions "$supp" --print-suppressions \
	--gen-suppressions \
	--top 0 \
	--output "$dir/leaks.txt" \
	-- "$@"
status=$?

case $status in
0)
	echo "ci: no new leaks in $*"
	exit 0
	;;
"$leak_status")
	echo "ci: $* leaked memory; the report ($dir/leaks.txt):"
	cat "$dir/leaks.txt"
	echo "ci: fix the leak, or add the suppression printed above to $supp"
	exit 1
	;;
8)
	echo "ci: $* failed (see its output above); the leak report ($dir/leaks.txt):"
	cat "$dir/leaks.txt"
	exit 3
	;;
9)
	echo "ci: too many live blocks (--max-blocks): the report is partial, no verdict on $*" >&2
	exit 2
	;;
*)
	echo "ci: leaktrap failed with status $status: no verdict on $*" >&2
	exit 2
	;;
esac
