# SPDX-License-Identifier: MIT
"""Control: every fixture, untraced, follows its protocol and its truth is
self-consistent (so a failing tracer test points at leaktrap, not at the
fixture). app keeps /proc/PID/maps unchanged across its work, which
test_seed_attach relies on. leaktrap itself is not run."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

FIXTURES = ('app', 'app_fixed', 'mt_leak', 'forker', 'bench_alloc', 'app_static_stripped')


def consistent(truth, name):
    h.check(truth['live_blocks'] == truth['allocs'] - truth['frees'],
            f'{name}: live_blocks == allocs - frees')
    h.check((truth['live_blocks'], truth['live_bytes']) ==
            (truth['leak_blocks'], truth['leak_bytes']), f'{name}: everything live is the leak')


def app(t, which, steps, fixed):
    fx = t.fixture(which, '--steps', steps)
    fx.ready()
    before = fx.maps()
    truth = fx.go()
    h.check_eq(fx.maps(), before, f'{which}: /proc/PID/maps after the work')
    consistent(truth, which)
    live = 0 if fixed else steps
    h.check_eq((truth['allocs'], truth['frees'], truth['frees_unknown']),
               (steps, steps if fixed else 0, 0), f'{which}: allocs, frees, frees_unknown')
    h.check_eq((truth['leak_blocks'], truth['leak_bytes'], truth['leak_function']),
               (live, live * 8192, 'fibonacci'), f'{which}: leak')
    fx.finish()


def body(t):
    app(t, 'app', 20, False)
    app(t, 'app_fixed', 20, True)
    app(t, 'app_static_stripped', 3, False)

    demo = h.Proc([t.fx['app'], '--demo'], name='app --demo')
    demo.expect_out(r'^app pid \d+ leaking 8 KiB every 200 ms$')
    demo.kill()

    fx = t.fixture('mt_leak', '--threads', 4, '--rounds', 250)
    fx.ready()
    truth = fx.go()
    consistent(truth, 'mt_leak')
    h.check_eq((truth['errors'], truth['frees_unknown'], truth['leak_blocks'], truth['threads']),
               (0, 100, 20, 4), 'mt_leak: errors, frees_unknown, leak_blocks, threads')
    fx.finish()

    fx = t.fixture('forker')
    fx.ready()
    truth = fx.go()
    consistent(truth, 'forker')
    h.check_eq([truth[k] for k in ('child_status', 'child_signal', 'spawn_rc', 'spawn_status')],
               [0, 0, 0, 0], 'forker: child and spawn statuses')
    h.check_eq([truth[k] for k in h.TOTALS], [5, 3, 0, 2, 768], 'forker: totals')
    fx.finish()

    fx = t.fixture('bench_alloc', '--threads', 2, '--pairs', 10000, '--depth', 16)
    fx.ready()
    fx.send('go')
    fx.expect_out(r'^ns_per_pair \d+\.\d$')
    fx.expect_exit(0)


h.main(body, fixtures=FIXTURES)
