# SPDX-License-Identifier: MIT
"""forker, attach mode: the traced process fork()s a child that allocates
through every API and posix_spawn()s /bin/true; both children must exit 0
(a breakpoint inherited by the fork child would kill it with SIGTRAP), the
report must count the parent's calls exactly, and the parent must be
healthy after the detach."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h


def body(t):
    t.require_ptrace()
    fx = t.fixture('forker')
    fx.ready()
    out = t.path('report.json')
    lt = t.attach(fx, '-f', 'json', '-o', out, '-T', '0', threads=1)
    truth = fx.go()
    h.check_eq((truth['child_status'], truth['child_signal']), (0, 0),
               'fork child (exit status, signal)')
    h.check_eq(truth['spawn_rc'], 0, 'posix_spawn return value')
    h.check_eq((truth['spawn_status'], truth['spawn_signal']), (0, 0),
               'spawned /bin/true (exit status, signal)')
    t.stop(lt, fx)

    r = h.load_report(out)
    h.check_eq(r['pid'], fx.pid, 'report pid (the parent, not a child)')
    h.check_eq(r['end_reason'], 'interrupt', 'end_reason')
    h.check_totals(r, truth)
    h.check_all_stacks(r)
    h.check_leak_stacks(r, ('leak_here',), truth['leak_blocks'], truth['leak_bytes'],
                        source='forker.c')
    fx.finish()


h.main(body, fixtures=('forker',))
