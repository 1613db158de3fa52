# SPDX-License-Identifier: MIT
"""Bounded resources: --max-blocks N stops tracing when N blocks are live
(leaktrap's memory grows with them): leaktrap says so, detaches cleanly,
writes the report of what it saw with end_reason "max-blocks" and exits 9;
the target runs on and finishes its work untraced. mt_leak's workers keep
a few blocks live at any time and leak 20 in all: a limit of 8 is reached
while they work. Also: 0 means no limit, a bad value is a usage error."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

LIMIT = 8


def body(t):
    t.require_ptrace()
    rc, _, err = t.run_leaktrap('--max-blocks', 'many', '-p', '1')
    h.check_eq(rc, 2, '--max-blocks many: usage error')
    h.check('invalid value for --max-blocks' in err, 'the message names the option')

    fx = t.fixture('mt_leak', '--threads', 4, '--rounds', 1000)
    fx.ready()
    out = t.path('limit.json')
    lt = t.attach(fx, '--max-blocks', LIMIT, '-f', 'json', '-o', out, '-T', '0')
    truth = fx.go()
    lt.expect_exit(9)
    lt.expect_err(rf'^leaktrap: stopped tracing pid {fx.pid}: {LIMIT} blocks are live, the '
                  r'--max-blocks limit; detaching; the report is partial \(exit status 9\)$')
    fx.check_detached()
    h.check_eq(truth['errors'], 0, 'errors the fixture saw in its own work')
    r = h.load_report(out)
    h.check_eq(r['end_reason'], 'max-blocks', 'end_reason')
    # calls in flight at the stop may still complete during the detach
    h.check(LIMIT <= r['totals']['live_blocks'] <= LIMIT + 4,
            f'live blocks {r["totals"]["live_blocks"]} just over the limit {LIMIT}')
    h.check(r['totals']['allocs'] < truth['allocs'],
            f'a partial report: {r["totals"]["allocs"]} of {truth["allocs"]} allocations')
    fx.finish()

    fx = t.fixture('mt_leak', '--threads', 2, '--rounds', 200, name='mt_leak#nolimit')
    fx.ready()
    out = t.path('nolimit.json')
    lt = t.attach(fx, '--max-blocks', 0, '-f', 'json', '-o', out)
    truth = fx.go()
    t.stop(lt, fx)
    r = h.load_report(out)
    h.check_eq(r['end_reason'], 'interrupt', '--max-blocks 0: no limit')
    h.check_totals(r, truth)
    fx.finish()


h.main(body, fixtures=('mt_leak',))
