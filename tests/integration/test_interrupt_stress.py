# SPDX-License-Identifier: MIT
"""Fault injection: attach to mt_leak, send go, and signal leaktrap after a
random 0-300 ms, in the middle of the traced work: 10 trials with SIGINT,
one with SIGTERM, one with SIGHUP. leaktrap must exit 0 with a valid,
self-consistent report; mt_leak must then finish its work and pass its
health check (no breakpoint left, allocator intact, not killed).
Set LEAKTRAP_STRESS_SEED to replay a run."""

import json
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

THREADS = 4
SIGNALS = [signal.SIGINT] * 10 + [signal.SIGTERM, signal.SIGHUP]


def trial(t, n, sig, delay):
    h.log(f'--- trial {n}: {sig.name} after {delay * 1000:.0f} ms')
    fx = t.fixture('mt_leak', '--threads', THREADS, name=f'mt_leak#{n}')
    fx.ready()
    out = t.path(f'report{n}.json')
    lt = t.attach(fx, '-f', 'json', '-o', out, '-T', '0', threads=THREADS + 1)
    fx.send('go')
    time.sleep(delay)   # fault injection, not waiting for readiness
    t.stop(lt, fx, sig)

    r = h.load_report(out)
    h.check_eq(r['end_reason'], 'interrupt', 'end_reason')
    h.check_all_stacks(r)
    m = fx.expect_out(r'^done (\{.*\})$', h.LINE_TIMEOUT)
    truth = json.loads(m.group(1))
    h.check_eq(truth['errors'], 0, 'errors the fixture saw in its own work')
    for k in ('allocs', 'frees', 'frees_unknown'):
        h.check(r['totals'][k] <= truth[k],
                f'totals.{k} {r["totals"][k]} <= the whole run\'s {truth[k]}')
    fx.finish()


def body(t):
    t.require_ptrace()
    seed = int(os.environ.get('LEAKTRAP_STRESS_SEED', random.randrange(1 << 30)))
    h.log(f'seed {seed} (LEAKTRAP_STRESS_SEED={seed} replays this run)')
    rng = random.Random(seed)
    start = time.monotonic()
    for n, sig in enumerate(SIGNALS):
        trial(t, n, sig, rng.uniform(0, 0.3))
    h.log(f'{len(SIGNALS)} trials in {time.monotonic() - start:.1f} s')


h.main(body, fixtures=('mt_leak',))
