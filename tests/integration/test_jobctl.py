# SPDX-License-Identifier: MIT
"""Job control while traced (life --mode jobctl). A traced target stopped
with SIGSTOP must stay stopped (PTRACE_LISTEN, not PTRACE_CONT: it answers
no "ping") until SIGCONT, then carry on traced; a target already stopped
when leaktrap attaches must be attached, stay stopped, and be traced from
the moment SIGCONT resumes it. Both reports are exact. Without PTRACE_SEIZE
(LEAKTRAP_COMPAT no-seize, or all) there is no PTRACE_LISTEN and a stopped
target is refused instead: test_compat.py checks that."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

HOLD = 0.5      # how long a stop must hold (a resumed target answers in ms)


def states(pid):
    out = {}
    for tid in os.listdir(f'/proc/{pid}/task'):
        try:
            with open(f'/proc/{pid}/task/{tid}/stat') as f:
                out[int(tid)] = f.read().rsplit(')', 1)[1].split()[0]
        except OSError:
            pass
    return out


def wait_stopped(fx, what):
    end = time.monotonic() + h.LINE_TIMEOUT
    while time.monotonic() < end:
        st = states(fx.pid)
        if st and all(s in 'tT' for s in st.values()):
            return
        time.sleep(0.01)
    raise h.Failure(f'{what}: {fx.name} did not stop: {states(fx.pid)}\n{fx.describe()}')


def check_held(fx, lt, what, pongs):
    """fx stays stopped for HOLD s: no thread runs, no new pong."""
    time.sleep(HOLD)
    st = states(fx.pid)
    if not all(s in 'tT' for s in st.values()):
        raise h.Failure(f'{what}: the stopped target runs again while traced: {st}\n'
                        f'{fx.describe()}\n{lt.describe()}')
    got = sum(1 for ln in fx.out.lines if ln.startswith('pong '))
    h.check_eq(got, pongs, f'{what}: pongs while stopped')
    h.check(lt.alive(), f'{what}: leaktrap still tracing')


def stopped_while_traced(t):
    fx = t.fixture('life', '--mode', 'jobctl', name='life jobctl')
    fx.ready()
    out = t.path('jobctl.json')
    lt = t.attach(fx, '-f', 'json', '-o', out, '-T', '0', threads=2)
    fx.send('go')
    fx.expect_out('running')
    fx.send('ping')
    fx.expect_out('pong 1')
    fx.signal(signal.SIGSTOP)
    wait_stopped(fx, 'SIGSTOP while traced')
    fx.send('ping')
    check_held(fx, lt, 'SIGSTOP while traced', 1)
    fx.signal(signal.SIGCONT)
    fx.expect_out('pong 2')
    fx.send('stop')
    m = fx.expect_out(r'^done (\{.*\})$', h.WORK_TIMEOUT)
    truth = h.json.loads(m.group(1))
    t.stop(lt, fx)
    r = h.load_report(out)
    h.check_totals(r, truth)
    h.check_leak_stacks(r, ('leak_ping', 'mode_jobctl'), 2, 128, source='life.c')
    fx.finish()


def attach_stopped(t):
    fx = t.fixture('life', '--mode', 'jobctl', name='life jobctl (attach stopped)')
    fx.ready()
    fx.signal(signal.SIGSTOP)
    wait_stopped(fx, 'SIGSTOP before attaching')
    out = t.path('jobctl-stopped.json')
    lt = t.leaktrap('-f', 'json', '-o', out, '-T', '0', '-p', fx.pid)
    lt.expect_err(r'^leaktrap: pid \d+ is stopped \(job control\)')
    fx.send('go')
    fx.send('ping')
    check_held(fx, lt, 'attached while stopped', 0)
    h.check(not any(h.ATTACHED_RE.match(ln) for ln in lt.err.lines),
            'not armed while the target is stopped')
    fx.signal(signal.SIGCONT)
    lt.attached(pid=fx.pid, threads=2)
    fx.expect_out('running')
    fx.expect_out('pong 1')
    fx.send('stop')
    m = fx.expect_out(r'^done (\{.*\})$', h.WORK_TIMEOUT)
    truth = h.json.loads(m.group(1))
    t.stop(lt, fx)
    r = h.load_report(out)
    h.check_totals(r, truth)
    h.check_leak_stacks(r, ('leak_ping', 'mode_jobctl'), 1, 64, source='life.c')
    fx.finish()


def interrupted_stopped(t):
    """SIGINT to leaktrap while the target is still stopped: an empty
    report, exit 0, the target left stopped and untraced; SIGCONT resumes
    it."""
    fx = t.fixture('life', '--mode', 'jobctl', name='life jobctl (interrupted)')
    fx.ready()
    fx.signal(signal.SIGSTOP)
    wait_stopped(fx, 'SIGSTOP before attaching')
    out = t.path('jobctl-interrupted.json')
    lt = t.leaktrap('-f', 'json', '-o', out, '-T', '0', '-p', fx.pid)
    lt.expect_err(r'^leaktrap: pid \d+ is stopped \(job control\)')
    t.stop(lt)
    r = h.load_report(out)
    h.check_eq((r['end_reason'], r['totals']['allocs'], r['functions']), ('interrupt', 0, 0),
               '(end_reason, allocs, functions) of the report')
    st = states(fx.pid)
    h.check(st and all(s == 'T' for s in st.values()),
            f'the target is still stopped (T, untraced) after leaktrap left: {st}')
    with open(f'/proc/{fx.pid}/status') as f:
        h.check('TracerPid:\t0\n' in f.read(), 'the target is untraced')
    fx.signal(signal.SIGCONT)
    fx.send('go')
    fx.expect_out('running')
    fx.send('stop')
    fx.expect_out(r'^done (\{.*\})$', h.WORK_TIMEOUT)
    fx.finish()


def body(t):
    t.require_ptrace()
    stopped_while_traced(t)
    compat = os.environ.get('LEAKTRAP_COMPAT', '').split(',')
    if 'all' in compat or 'no-seize' in compat:
        print('skip: attaching to a stopped target needs PTRACE_SEIZE (test_compat.py)')
        return
    attach_stopped(t)
    interrupted_stopped(t)


h.main(body, fixtures=('life',))
