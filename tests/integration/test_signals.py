# SPDX-License-Identifier: MIT
"""Signals while traced (life --mode signals, attach mode): a SIGSEGV
raised inside realloc is handled by the target, whose handler allocates
(a new outermost call on a signal frame, while the realloc is pending) and
returns into realloc (on the thread's stack, then on an alternate signal
stack); then the same handler siglongjmp()s out of realloc;
then a plain allocation; then the target's own raise(SIGTRAP) and int3,
caught by its handler. The report must count exactly what the fixture did
(the handler's blocks included), the traps must reach the target, and the
target must be healthy after the detach.

Then the target killed with SIGKILL while traced (life --mode exit-status):
leaktrap must notice, report what it saw and exit 0 on its own."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h


def handlers(t):
    fx = t.fixture('life', '--mode', 'signals', name='life signals')
    fx.ready()
    out = t.path('signals.json')
    lt = t.attach(fx, '-f', 'json', '-o', out, '-T', '0', threads=1)
    truth = fx.go()
    h.check_eq(truth['traps'], 2, 'SIGTRAPs (raise, int3) that reached the target handler')
    t.stop(lt, fx)
    r = h.load_report(out)
    h.check_eq(r['end_reason'], 'interrupt', 'end_reason')
    h.check_totals(r, truth)
    h.check_all_stacks(r)
    h.check_leak_stacks(r, ('leak_in_handler', 'on_segv'), 3, 144, source='life.c')
    h.check_leak_stacks(r, ('leak_after', 'mode_signals'), 1, 32, source='life.c')
    fx.finish()


def killed(t):
    fx = t.fixture('life', '--mode', 'exit-status', '0', name='life exit-status')
    fx.ready()
    out = t.path('killed.json')
    lt = t.attach(fx, '-f', 'json', '-o', out, '-T', '0', threads=1)
    truth = fx.go()
    fx.signal(signal.SIGKILL)
    h.check_eq(fx.wait(), -signal.SIGKILL, 'the target died of SIGKILL')
    lt.expect_exit(0)
    r = h.load_report(out)
    h.check_eq(r['end_reason'], 'target-exit', 'end_reason after SIGKILL')
    h.check_totals(r, truth)
    h.check_leak_stacks(r, ('leak_here', 'main'), 1, 64, source='life.c')


def body(t):
    t.require_ptrace()
    handlers(t)
    killed(t)


h.main(body, fixtures=('life',))
