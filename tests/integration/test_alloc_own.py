# SPDX-License-Identifier: MIT
"""An allocator compiled into the executable (alloc-own.c under
alloc-api.c): with the standard names it replaces libc's for the whole
process and must be traced there (exact totals, leak at leak_malloc);
with prefixed names (xx_malloc, ...) it is only traced with
--symbol-prefix xx_, and then exactly."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h


def traced(t, which, *lt_args, name='r.json'):
    fx = t.fixture(which)
    fx.ready()
    out = t.path(name)
    lt = t.attach(fx, '-f', 'json', '-o', out, '-T', '0', *lt_args, threads=1)
    truth = fx.go()
    t.stop(lt, fx)
    fx.finish()
    return h.load_report(out), truth


def exact(r, truth):
    h.check_totals(r, truth)
    h.check_all_stacks(r)
    h.check_leak_stacks(r, ('leak_malloc', 'main'), truth['leak_blocks'],
                        truth['leak_bytes'], source='alloc-api.c')


def body(t):
    t.require_ptrace()
    h.log('--- the executable defines malloc, free, ...')
    exact(*traced(t, 'alloc_own', name='own.json'))
    h.log('--- xx_malloc, xx_free, ... with --symbol-prefix xx_')
    exact(*traced(t, 'alloc_prefixed', '--symbol-prefix', 'xx_', name='pfx.json'))
    h.log('--- the same without --symbol-prefix: the calls are not seen')
    r, _ = traced(t, 'alloc_prefixed', name='nopfx.json')
    h.check_eq(r['totals']['allocs'], 0, 'allocs without --symbol-prefix')
    rc, _, err = t.run_leaktrap('--symbol-prefix', '', '-p', '1')
    h.check_eq(rc, 2, 'exit status for an empty --symbol-prefix')


h.main(body, fixtures=('alloc_own', 'alloc_prefixed'))
