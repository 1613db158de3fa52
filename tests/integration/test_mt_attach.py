# SPDX-License-Identifier: MIT
"""mt_leak, attach mode: 4 workers using every allocator API (grow/shrink
reallocs, realloc(NULL, n), realloc(p, 0), reallocarray, the memalign
family, failed calls, cross-thread frees, frees of blocks allocated before
the attach) and one exact leak: every total equals the fixture's truth and
the leak_here <- worker stacks hold exactly the leaked blocks and bytes."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

THREADS = 4
# ~30 allocator calls per round per worker: 1000 rounds are ~120k traced
# calls, a few seconds even where a ptrace stop costs 50 us (nested VMs).
# The truth is exact at any size.
ROUNDS = 1000


def body(t):
    t.require_ptrace()
    fx = t.fixture('mt_leak', '--threads', THREADS, '--rounds', ROUNDS)
    fx.ready()
    out = t.path('report.json')
    lt = t.attach(fx, '-f', 'json', '-o', out, '-T', '0', threads=THREADS + 1)
    truth = fx.go()
    h.check_eq(truth['errors'], 0, 'errors the fixture saw in its own work')
    t.stop(lt, fx)

    r = h.load_report(out)
    h.check_eq(r['end_reason'], 'interrupt', 'end_reason')
    h.check_eq(r['threads'], THREADS + 1, 'report threads')
    h.check_totals(r, truth)
    h.check_all_stacks(r)
    h.check_leak_stacks(r, ('leak_here', 'worker'), truth['leak_blocks'], truth['leak_bytes'],
                        source='mt-leak.c')
    fx.finish()


h.main(body, fixtures=('mt_leak',))
