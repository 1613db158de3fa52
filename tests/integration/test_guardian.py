# SPDX-License-Identifier: MIT
"""The guardian (DESIGN.md 7.2): when the tracing process dies (kill -9, a
crash) while the target is modified, the guardian seizes the target,
writes back every original byte and every hijacked return address, and
detaches; the target runs on. Deterministic states only (storm --mode
park: one thread blocked inside malloc with its return hijacked, one
holding the arena lock, the main thread reading stdin):

  1. kill -9 of the tracing process -> rescued, exactly one return address
     written back, the target healthy;
  2. the control: the same without a guardian kills the target (SIGTRAP):
     the rescue is what makes 1 pass;
  3. LEAKTRAP_DEBUG_CRASH: the tracer crashes (SIGSEGV, SIGABRT) right after
     writing the breakpoints, in the middle of the detach, and after it;
  3b. it crashes while a thread sits in a breakpoint stop: the kernel then
     delivers SIGTRAP, the trap net catches it (one thread caught) and the
     target lives; the control without the net dies of SIGTRAP;
  4. kill -9 of the leaktrap process the user started (the guardian): the
     tracer detaches cleanly and still writes its report."""

import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

# A sanitizer build reports a SIGSEGV and exits 1 instead of dying of it.
SEGV = r'(was killed by signal 11 \(Segmentation fault\)|exited with status 1)'

RESCUED_RE = (r'^leaktrap: the tracing process \(pid (\d+)\) (.*) while attached to pid '
              r'(\d+); the guardian detached from its (\d+) threads: (\d+) breakpoints '
              r'restored, (\d+) threads moved off leaktrap.s code \((\d+) queued traps '
              r'removed, (\d+) caught by the trap net\), (\d+) return addresses written '
              r'back;')


def tracer_of(pid):
    with open(f'/proc/{pid}/status') as f:
        return int(re.search(r'^TracerPid:\s*(\d+)', f.read(), re.M).group(1))


def wait_until(what, cond, timeout=h.LINE_TIMEOUT):
    """Poll a /proc state the fixture has announced it is heading for."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise h.Failure(f'timed out waiting for {what}')
        time.sleep(0.01)


def syscall_of(pid, tid):
    try:
        with open(f'/proc/{pid}/task/{tid}/syscall') as f:
            return f.read().split()[0]
    except OSError:
        return ''


def park(fx):
    """go: wait until the malloc thread sleeps on the arena lock."""
    fx.send('go')
    m = fx.expect_out(r'^parked (\d+) (\d+)$')
    stats, blocked = m.group(1), m.group(2)
    wait_until('the malloc thread to block in futex',
               lambda: syscall_of(fx.pid, blocked) == '202')
    wait_until('the malloc_stats thread to block in write',
               lambda: syscall_of(fx.pid, stats) == '1')


def start(t, name, env=None, go=True):
    """A parked fixture (go) and leaktrap attached to it; funcs is None when
    leaktrap is to die before it says it is attached."""
    fx = t.fixture('storm', '--mode', 'park', name=f'storm#{name}')
    fx.ready()
    lt = t.leaktrap('-p', fx.pid, '-o', t.path(f'{name}.txt'), name=f'leaktrap#{name}',
                    env=env)
    funcs = lt.attached(pid=fx.pid)[2] if go else None
    if go:
        park(fx)
    return fx, lt, funcs


def expect_rescue(lt, fx, funcs, returns, how, after=None, caught=0):
    lt.expect_exit(1)
    m = lt.expect_err(RESCUED_RE, 5)
    h.check(re.fullmatch(how, m.group(2)) is not None,
            f'the tracer {m.group(2)} (want {how})')
    h.check_eq(int(m.group(3)), fx.pid, 'rescued pid')
    h.check_eq(int(m.group(8)), caught, 'threads caught by the trap net')
    if funcs is not None:
        h.check_eq(int(m.group(5)), funcs, 'breakpoints restored (all of them)')
    else:
        h.check(int(m.group(5)) > 0, f'{m.group(5)} breakpoints restored')
    h.check_eq(int(m.group(9)), returns, 'return addresses written back')
    fx.check_detached()
    if after:
        after(fx)           # the parked states, untraced now
    fx.finish()


def kill_tracer(t):
    h.log('--- kill -9 of the tracing process')
    fx, lt, funcs = start(t, 'kill9')
    tracer = tracer_of(fx.pid)
    h.check(tracer not in (0, lt.pid), f'the tracer {tracer} is a child of leaktrap {lt.pid}')
    os.kill(tracer, signal.SIGKILL)
    expect_rescue(lt, fx, funcs, 1, r'was killed by signal 9 \(Killed\)')


def control_without_guardian(t):
    h.log('--- control: kill -9 without a guardian')
    fx, lt, _ = start(t, 'control', env={'LEAKTRAP_NO_GUARDIAN': '1',
                                         'LEAKTRAP_NO_TRAPNET': '1'})
    h.check_eq(tracer_of(fx.pid), lt.pid, 'without a guardian leaktrap is the tracer')
    os.kill(lt.pid, signal.SIGKILL)
    lt.wait()
    fx.close_stdin()
    rc = fx.wait()
    h.check_eq(rc, -signal.SIGTRAP, 'the unguarded target dies of SIGTRAP')


def crash(t, phase, sig, returns):
    h.log(f'--- the tracer crashes ({sig}) at {phase}')
    env = {'LEAKTRAP_DEBUG_CRASH': f'{phase}:{sig}'}
    fx, lt, funcs = start(t, f'crash-{phase}', env=env, go=(phase != 'attach'))
    if phase != 'attach':
        lt.signal(signal.SIGINT)
    if phase == 'report':
        lt.expect_exit(1)
        lt.expect_err(r'^leaktrap: the tracing process \(pid \d+\) was killed by signal '
                      r'\d+ .* after detaching from pid \d+, which runs on unchanged', 5)
        fx.check_detached()
        fx.finish()
        return
    want = {'SEGV': SEGV,
            'ABRT': r'was killed by signal 6 \(Aborted\)'}[sig]
    expect_rescue(lt, fx, funcs, returns, want, after=park if phase == 'attach' else None)


def crash_at_probe(t, net=True):
    """The tracer dies while a thread sits in its breakpoint stop: the kernel
    delivers that SIGTRAP; the trap net catches it, the guardian moves the
    thread back to the restored entry point. Without the net it is fatal."""
    h.log(f'--- the tracer crashes at a probe hit ({"with" if net else "without"} the trap net)')
    env = {'LEAKTRAP_DEBUG_CRASH': 'probe:SEGV'}
    if not net:
        env['LEAKTRAP_NO_TRAPNET'] = '1'
    fx, lt, funcs = start(t, f'probe-net{int(net)}', env=env, go=False)
    funcs = lt.attached(pid=fx.pid)[2]
    fx.send('go')           # the fixture's first allocation hits a probe
    if net:
        expect_rescue(lt, fx, funcs, 0, SEGV,
                      after=lambda f: None, caught=1)
        return
    lt.expect_exit(1)
    fx.close_stdin()
    h.check_eq(fx.wait(), -signal.SIGTRAP, 'without the trap net the target dies of SIGTRAP')


def kill_guardian(t):
    h.log('--- kill -9 of the leaktrap process the user started (the guardian)')
    fx, lt, _ = start(t, 'guardian')
    tracer = tracer_of(fx.pid)
    os.kill(lt.pid, signal.SIGKILL)
    lt.wait()
    wait_until('the tracer to detach', lambda: tracer_of(fx.pid) == 0)
    wait_until('the report', lambda: os.path.exists(t.path('guardian.txt')))
    wait_until('the tracer to exit', lambda: not os.path.exists(f'/proc/{tracer}/status')
               or 'State:\tZ' in open(f'/proc/{tracer}/status').read())
    with open(t.path('guardian.txt')) as f:
        report = f.read()
    h.check(re.search(rf'^leaktrap: pid {fx.pid} \(storm\) traced', report, re.M),
            'the tracer wrote its report')
    fx.check_detached()
    fx.finish()


def body(t):
    t.require_ptrace()
    kill_tracer(t)
    control_without_guardian(t)
    crash(t, 'attach', 'SEGV', 0)
    crash(t, 'detach', 'ABRT', 1)
    crash(t, 'report', 'ABRT', 0)
    crash_at_probe(t, net=True)
    crash_at_probe(t, net=False)
    kill_guardian(t)


h.main(body, fixtures=('storm',))
