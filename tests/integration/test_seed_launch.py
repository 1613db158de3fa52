# SPDX-License-Identifier: MIT
"""Seed case, launch mode: leaktrap -- app --steps 20 reports, when app
exits, exactly the 20 tables leaked from fibonacci <- child; any other live
stack is libc start-up noise with no fixture code but main in it."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

STEPS = 20


def body(t):
    t.require_ptrace()
    out = t.path('report.json')
    lt, pid = t.launch(['-f', 'json', '-o', out, '-T', '0'], 'app', '--steps', STEPS)
    lt.ready()
    truth = lt.go()
    lt.finish(timeout=60)
    lt.attached_once()

    r = h.load_report(out)
    h.check_eq(r['pid'], pid, 'report pid vs the attached line')
    h.check_eq(r['end_reason'], 'target-exit', 'end_reason')
    h.check_all_stacks(r)
    leak = h.check_leak_stacks(r, ('fibonacci', 'child'), STEPS, STEPS * 8192, source='app.c')
    h.check_eq((STEPS, STEPS * 8192), (truth['leak_blocks'], truth['leak_bytes']),
               'expected leak vs the truth')
    h.check_no_stack_with(r, ('fibonacci', 'child'), allowed=leak)
    h.check_fixture_frames(r, 'app', ('main', '_start'), allowed=leak)


h.main(body, fixtures=('app',))
