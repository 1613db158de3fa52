# SPDX-License-Identifier: MIT
"""The fixed twin: app_fixed frees every table, so in attach mode nothing
is live at all (exact totals) and in launch mode no stack contains
fibonacci or child."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

STEPS = 20


def attach_mode(t):
    app = t.fixture('app_fixed', '--steps', STEPS)
    app.ready()
    out = t.path('attach.json')
    lt = t.attach(app, '-f', 'json', '-o', out, '-T', '0', threads=2)
    truth = app.go()
    t.stop(lt, app)
    r = h.load_report(out)
    h.check_eq(r['end_reason'], 'interrupt', 'attach: end_reason')
    h.check_eq(r['totals']['live_blocks'], 0, 'attach: totals.live_blocks')
    h.check_totals(r, truth)
    h.check_all_stacks(r)
    h.check_no_stack_with(r, ('fibonacci', 'child'))
    app.finish()


def launch_mode(t):
    out = t.path('launch.json')
    lt, pid = t.launch(['-f', 'json', '-o', out, '-T', '0'], 'app_fixed', '--steps', STEPS)
    lt.ready()
    lt.go()
    lt.finish(timeout=60)
    r = h.load_report(out)
    h.check_eq(r['pid'], pid, 'launch: report pid')
    h.check_eq(r['end_reason'], 'target-exit', 'launch: end_reason')
    h.check_all_stacks(r)
    h.check_no_stack_with(r, ('fibonacci', 'child'))
    h.check_fixture_frames(r, 'app_fixed', ('main', '_start'))


def body(t):
    t.require_ptrace()
    attach_mode(t)
    launch_mode(t)


h.main(body, fixtures=('app_fixed',))
