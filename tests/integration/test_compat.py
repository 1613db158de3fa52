# SPDX-License-Identifier: MIT
"""Kernel fallbacks (docs/kernels.md), forced with LEAKTRAP_COMPAT.

An unknown fallback name is a usage error (exit 2) that touches nothing;
-v names the fallbacks in use.  With the no-seize fallback a stopped target
is refused and left stopped, with nothing pending that would stop it again
(with PTRACE_SEIZE it is traced from its SIGCONT: test_jobctl.py).  A job-control stop of the target is
honoured while leaktrap is attached, with PTRACE_SEIZE + PTRACE_LISTEN and
with the no-seize fallback (PTRACE_ATTACH, where a group-stop looks like a
signal stop and leaktrap holds the threads until SIGCONT is pending): the
stop survives the detach, and a SIGCONT while attached resumes the target,
whose traced work is then reported exactly.

The rest of the fallback coverage is the whole integration suite run once
more with LEAKTRAP_COMPAT=all (meson suite 'compat')."""

import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

STEPS = 20
STOPPED_S = 1.0


def states(pid):
    """{tid: state letter} of every thread of pid."""
    out = {}
    for tid in os.listdir(f'/proc/{pid}/task'):
        try:
            with open(f'/proc/{pid}/task/{tid}/stat') as f:
                out[int(tid)] = f.read().rsplit(')', 1)[1].split()[0]
        except (OSError, IndexError):
            continue
    return out


def wait_states(pid, want, what, timeout=h.LINE_TIMEOUT):
    """Poll until every thread of pid is in one of the states want."""
    deadline = time.monotonic() + timeout
    while True:
        st = states(pid)
        if st and all(s in want for s in st.values()):
            h.log(f'ok: {what}: thread states {st}')
            return st
        if time.monotonic() > deadline:
            raise h.Failure(f'{what}: thread states {st}, want all in {want!r}')
        time.sleep(0.01)


def usage_error(t):
    app = t.fixture('app', '--steps', STEPS)
    app.ready()
    rc, _, err = t.run_leaktrap('-p', app.pid, '-o', t.path('never.txt'),
                                env={'LEAKTRAP_COMPAT': 'no-seize,bogus'})
    h.check_eq(rc, 2, 'exit status with LEAKTRAP_COMPAT=no-seize,bogus')
    h.check("unknown fallback 'bogus'" in err, 'the error names the unknown fallback', err)
    h.check(not os.path.exists(t.path('never.txt')), 'no report written')
    app.check_detached()
    app.go()
    app.finish()


def job_control(t, mode):
    env = {'LEAKTRAP_COMPAT': mode}
    label = mode or 'seize'

    # 0. already stopped, without PTRACE_SEIZE (no LISTEN): refused (7),
    # left stopped and untraced; after a SIGCONT it runs on (no SIGSTOP of
    # leaktrap's left pending).  With SEIZE: test_jobctl.py.
    if mode:
        app = t.fixture('app', '--steps', STEPS, name=f'app ({label})')
        app.ready()
        os.kill(app.pid, signal.SIGSTOP)
        wait_states(app.pid, 'T', f'{label}: stopped before the attach')
        rc, _, err = t.run_leaktrap('-p', app.pid, '-o', t.path(f'refused-{label}.txt'), env=env)
        h.check_eq(rc, 7, f'{label}: exit status attaching to a stopped process')
        h.check('is stopped (job control)' in err, f'{label}: the error says why', err)
        wait_states(app.pid, 'T', f'{label}: still stopped after the refusal')
        os.kill(app.pid, signal.SIGCONT)
        app.go()
        app.check_detached()
        app.finish()

    # 1. stopped while attached: still stopped (T) after the detach
    app = t.fixture('app', '--steps', STEPS, name=f'app ({label})')
    app.ready()
    lt = t.leaktrap('-v', '-o', t.path(f'stopped-{label}.txt'), '-p', app.pid, env=env)
    lt.attached(pid=app.pid, threads=2)
    if mode:
        h.check(any(f'kernel fallbacks in use: {mode}' in ln for ln in lt.err.lines),
                f'-v names the fallback {mode}', lt.err.text())
    os.kill(app.pid, signal.SIGSTOP)
    wait_states(app.pid, 'tT', f'{label}: SIGSTOP while attached')
    lt.signal(signal.SIGINT)
    lt.expect_exit(0)
    wait_states(app.pid, 'T', f'{label}: after the detach the stop is kept')
    os.kill(app.pid, signal.SIGCONT)
    app.go()
    app.finish()

    # 2. stopped and continued while attached: the work runs traced
    app = t.fixture('app', '--steps', STEPS, name=f'app ({label})')
    app.ready()
    out = t.path(f'cont-{label}.json')
    lt = t.leaktrap('-f', 'json', '-o', out, '-T', '0', '-p', app.pid, env=env)
    lt.attached(pid=app.pid, threads=2)
    os.kill(app.pid, signal.SIGSTOP)
    wait_states(app.pid, 'tT', f'{label}: SIGSTOP while attached')
    # A stopped target must not run: told to work, it stays silent.  (A
    # slow machine can only make this check miss a bug, never fail a
    # correct leaktrap: "done" cannot come before the SIGCONT.)
    app.send('go')
    time.sleep(STOPPED_S)
    h.check(not any(ln.startswith('done') for ln in app.out.lines),
            f'{label}: no work done in {STOPPED_S} s while stopped', app.out.text())
    os.kill(app.pid, signal.SIGCONT)
    m = app.expect_out(r'^done (\{.*\})$', h.WORK_TIMEOUT)
    truth = json.loads(m.group(1))
    t.stop(lt, app)
    r = h.load_report(out)
    h.check_totals(r, truth)
    h.check_leak_stacks(r, ('fibonacci', 'child'), STEPS, STEPS * 8192, source='app.c')
    app.finish()


def body(t):
    t.require_ptrace()
    usage_error(t)
    job_control(t, '')
    job_control(t, 'no-seize')


h.main(body, fixtures=('app',))
