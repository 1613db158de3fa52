# SPDX-License-Identifier: MIT
"""mt_leak, launch mode: leaktrap -- mt_leak --threads 4 reports at exit
exactly the leak_here <- worker blocks; no other live stack contains any
of the fixture's worker code (what remains is libc start-up noise)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

THREADS = 4
# ~30 allocator calls per round per worker: 1000 rounds are ~120k traced
# calls, a few seconds even where a ptrace stop costs 50 us (nested VMs).
# The truth is exact at any size.
ROUNDS = 1000
WORKER_CODE = ('worker', 'do_round', 'leak_here', 'dispose_pre', 'failures', 'xq_drain',
               'xq_push', 'take', 'blk_realloc', 'blk_realloc0', 'blk_free', 'fx_burst')


def body(t):
    t.require_ptrace()
    out = t.path('report.json')
    lt, pid = t.launch(['-f', 'json', '-o', out, '-T', '0'],
                       'mt_leak', '--threads', THREADS, '--rounds', ROUNDS)
    lt.ready()
    truth = lt.go()
    h.check_eq(truth['errors'], 0, 'errors the fixture saw in its own work')
    lt.finish(timeout=60)

    r = h.load_report(out)
    h.check_eq(r['pid'], pid, 'report pid vs the attached line')
    h.check_eq(r['end_reason'], 'target-exit', 'end_reason')
    h.check_all_stacks(r)
    leak = h.check_leak_stacks(r, ('leak_here', 'worker'), truth['leak_blocks'],
                               truth['leak_bytes'], source='mt-leak.c')
    h.check_no_stack_with(r, WORKER_CODE, allowed=leak)
    h.check_fixture_frames(r, 'mt_leak', ('main', '_start'), allowed=leak)


h.main(body, fixtures=('mt_leak',))
