# SPDX-License-Identifier: MIT
"""Seed case, attach mode: leaktrap -p on `app --steps 20` finds the 20
calloc'ed Fibonacci tables leaked from fibonacci <- child, with exact
totals, and leaves the process exactly as it found it."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

STEPS = 20


def body(t):
    t.require_ptrace()
    app = t.fixture('app', '--steps', STEPS)
    app.ready()
    maps_before = app.maps()

    out = t.path('report.json')
    lt = t.attach(app, '-f', 'json', '-o', out, '-T', '0', threads=2)
    truth = app.go()
    t.stop(lt, app)
    lt.attached_once()
    maps_after = app.maps()

    r = h.load_report(out)
    h.check_eq(r['pid'], app.pid, 'report pid')
    h.check_eq(r['end_reason'], 'interrupt', 'end_reason')
    h.check_eq(r['threads'], 2, 'report threads')
    h.check_totals(r, truth)
    h.check_all_stacks(r)

    h.check(len(r['stacks']) > 0, 'the report has stacks')
    top = r['stacks'][0]
    names = h.funcs(top)
    h.check(names[:2] == ['fibonacci', 'child'],
            f'top stack starts fibonacci <- child (got {names[:4]})', h.fmt_stacks(r))
    h.check_leak_stacks(r, ('fibonacci', 'child'), STEPS, STEPS * 8192, source='app.c')
    h.check_eq((top['blocks'], top['bytes']), (truth['leak_blocks'], truth['leak_bytes']),
               'top stack blocks/bytes vs the truth')

    diff = h.maps_diff(maps_before, maps_after)
    h.check(not diff, '/proc/PID/maps after detach is identical to before attach', diff)
    app.finish()


h.main(body, fixtures=('app',))
