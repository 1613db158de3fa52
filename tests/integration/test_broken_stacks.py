# SPDX-License-Identifier: MIT
"""Broken stacks in the target (issue 7): allocations made with the
stack pointer inside a region of garbage (pointers into code, into the
region itself, to unmapped pages; no valid frame above the allocating
function's caller), while another thread's stack pointer points at an
unmapped page (it waits in raw pause(2) syscalls). leaktrap must unwind
what it can and stop at the garbage, count exactly, never crash or hang,
and leave both threads as they were; in attach and in launch mode."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

STEPS = 20
GARBAGE_BYTES = 160
FX_ARGS = ('--steps', STEPS, '--garbage-stack', '--unmapped-sp')


def check_garbage_stacks(r, depth):
    found = h.stacks_from(r, 'garbage_leak', 'call_on')
    h.check_eq((sum(s['blocks'] for s in found), sum(s['bytes'] for s in found)),
               (STEPS, STEPS * GARBAGE_BYTES), 'blocks/bytes allocated on the garbage stack')
    for s in found:
        h.check(len(s['frames']) <= depth, f'the garbage stack has at most {depth} frames '
                f'({len(s["frames"])})', h.fmt_stack(s))


def attach_mode(t):
    fx = t.fixture('broken_target', *FX_ARGS)
    fx.ready()
    h.check_eq(fx.threads(), 2, 'threads before attach (one with an unmapped stack pointer)')
    out = t.path('attach.json')
    lt = t.attach(fx, '-f', 'json', '-o', out, '-T', '0', '--depth', '64', threads=2)
    truth = fx.go()
    t.stop(lt, fx)
    h.check_eq(fx.threads(), 2, 'threads after detach')
    r = h.load_report(out)
    h.check_totals(r, truth)
    h.check_all_stacks(r)
    check_garbage_stacks(r, 64)
    fx.finish()


def launch_mode(t):
    r, truth, lt = t.launch_report(['-T', '0'], 'broken_target', *FX_ARGS)
    h.check(truth is not None, 'the launched fixture reported its truth')
    check_garbage_stacks(r, 32)
    found = h.stacks_from(r, 'garbage_leak', 'call_on')
    h.check_eq(sum(s['blocks'] for s in found), truth['garbage_blocks'],
               'garbage-stack blocks vs the truth')
    h.check('healthy' in lt.out.lines, 'the launched fixture passed its health check')


def body(t):
    t.require_ptrace()
    attach_mode(t)
    launch_mode(t)


h.main(body, fixtures=('broken_target',))
