# SPDX-License-Identifier: MIT
"""Fault injection: leaktrap gets SIGINT, SIGTERM or SIGHUP at a random
moment of a phase: during the attach (before it says it is attached), while
tracing, or during the detach and the report (a second signal a few ms
after the first). The target is mt_leak (4 workers allocating as fast as
they can, with an exact truth) or storm --mode sleep (4 threads almost
always inside a system call), alternately: 30 trials cover every phase,
target and signal. leaktrap must exit 0 with a valid, self-consistent
report (or, for a signal that lands before it has set up its handlers, die
of it having touched nothing); the target must then finish its work and
pass its health check (no breakpoint left, allocator intact, not killed).
bench/faults.py runs the same series 1000 times.
Set LEAKTRAP_STRESS_SEED to replay a run."""

import json
import os
import random
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

THREADS = 4
TRIALS = 30
PHASES = ('attach', 'trace', 'detach')
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
TARGETS = ('mt_leak', 'storm')


def start_target(t, which, n):
    if which == 'mt_leak':
        fx = t.fixture('mt_leak', '--threads', THREADS, name=f'mt_leak#{n}')
    else:
        fx = t.fixture('storm', '--threads', THREADS, '--mode', 'sleep', name=f'storm#{n}')
    fx.ready()
    return fx


def go(fx, which):
    fx.send('go')
    if which == 'storm':
        fx.expect_out('^storming$')


def finish_target(fx, which, started):
    """The work ends untraced: mt_leak's truth, storm's error count."""
    if which == 'mt_leak' and not started:
        fx.send('go')
    if which == 'mt_leak':
        m = fx.expect_out(r'^done (\{.*\})$', h.WORK_TIMEOUT)
        fx.finish()
    else:                   # storm's work ends with the exit command
        fx.send('exit')
        fx.close_stdin()
        h.check_eq(fx.wait(), 0, f'{fx.name} exit status')
        h.check('healthy' in fx.out.lines, f'{fx.name} passed its health check')
        m = next(re.match(r'^done (\{.*\})$', ln) for ln in fx.out.lines
                 if ln.startswith('done '))
    truth = json.loads(m.group(1))
    h.check_eq(truth['errors'], 0, 'errors the fixture saw in its own work')
    return truth


def trial(t, n, rng):
    phase, which = PHASES[n % 3], TARGETS[(n // 3) % 2]
    sig = SIGNALS[(n // 6) % 3]
    h.log(f'--- trial {n}: {sig.name} during {phase}, target {which}')
    fx = start_target(t, which, n)
    out = t.path(f'report{n}.json')
    args = ('-f', 'json', '-o', out, '-T', '0')
    if phase == 'attach':
        lt = t.leaktrap(*args, '-p', fx.pid, name=f'leaktrap#{n}')
        time.sleep(rng.uniform(0, 0.1))     # fault injection: anywhere in the attach
        lt.signal(sig)
    else:
        lt = t.attach(fx, *args)
        go(fx, which)
        time.sleep(rng.uniform(0, 0.3))     # fault injection, not waiting for readiness
        lt.signal(sig)
        if phase == 'detach':
            time.sleep(rng.uniform(0, 0.03))
            lt.signal(rng.choice(SIGNALS))  # lands in the detach or the report
    rc = lt.wait()
    if rc == -sig and phase == 'attach' and not os.path.exists(out):
        h.log(f'leaktrap died of {sig.name} before setting up its handlers')
    else:
        h.check_eq(rc, 0, f'leaktrap exit status ({sig.name} during {phase})')
        fx.check_detached()
        r = h.load_report(out)
        h.check_eq(r['end_reason'], 'interrupt', 'end_reason')
        h.check_all_stacks(r)
    truth = finish_target(fx, which, phase != 'attach')
    if which == 'mt_leak' and rc == 0:
        for k in ('allocs', 'frees', 'frees_unknown'):
            h.check(r['totals'][k] <= truth[k],
                    f'totals.{k} {r["totals"][k]} <= the whole run\'s {truth[k]}')


def body(t):
    t.require_ptrace()
    seed = int(os.environ.get('LEAKTRAP_STRESS_SEED', random.randrange(1 << 30)))
    h.log(f'seed {seed} (LEAKTRAP_STRESS_SEED={seed} replays this run)')
    rng = random.Random(seed)
    start = time.monotonic()
    for n in range(TRIALS):
        trial(t, n, rng)
    h.log(f'{TRIALS} trials in {time.monotonic() - start:.1f} s')


h.main(body, fixtures=('mt_leak', 'storm'))
