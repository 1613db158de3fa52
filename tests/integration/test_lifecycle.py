# SPDX-License-Identifier: MIT
"""lifecycle: attach and detach over and over while the target keeps
creating and joining threads, forking, vforking (the child alive across the
detach), clone(CLONE_VM)ing, raising SIGTRAP into its own handler, and
losing its main thread (pthread_exit). Each mode regresses a bug that hung
the detach, broke the target's own system calls or signals, or crashed it.

For every mode: the fixture runs the mode continuously; `leaktrap -p PID
-d 0.3 -o /dev/null` runs CYCLES times in a row (more for fork-loop), each
bounded by RUN_TIMEOUT (a hang is killed with SIGKILL and reported) and
each must attach, exit 0 and leave the target alive, running and untraced; then
"exit": the fixture must report no failure of its own, print "healthy" and
exit 0 (never die of a signal). leader-exit: one leaktrap attached before
the main thread's pthread_exit must detach after it without hanging; later
attaches (the leader a zombie) are refused with exit 7 by check_target()
or, should leaktrap learn to trace such a process, succeed cleanly.
Launch mode: leaktrap -- lifecycle --mode fork-loop, stdin passed through.
Every mode is first run untraced (the control: a failure there is the
fixture's). The modes are all run even when one fails; the failures are
reported together."""

import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

MODES = ('thread-churn', 'fork-loop', 'vfork-sleep', 'clone-vm', 'sigtrap-handler')
CYCLES = 8            # attach/detach cycles per mode, but:
# the fork-loop bug (an injection through the thread stopped at its fork
# event: fork() failed with ENOSYS) struck about 1 attach in 4
CYCLES_OF = {'fork-loop': 20}
RUN_TIMEOUT = 8       # one `leaktrap -d 0.3` run; more is a hang (the detach
                      # gives up stopping threads only after 10 s)
AFTER_LEADER = 3      # attaches once the leader is a zombie
# Warnings leaktrap prints when its detach could not stop everything.
STUCK_RE = re.compile(r'does not stop|never came')
REFUSED_RE = re.compile(r'main thread has exited')


def task_states(pid):
    """{tid: (state, TracerPid)} of every thread of pid."""
    out = {}
    for tid in os.listdir(f'/proc/{pid}/task'):
        try:
            with open(f'/proc/{pid}/task/{tid}/stat') as f:
                state = f.read().rsplit(')', 1)[1].split()[0]
            with open(f'/proc/{pid}/task/{tid}/status') as f:
                tracer = int(re.search(r'^TracerPid:\s*(\d+)', f.read(), re.M).group(1))
        except (OSError, AttributeError, IndexError):
            continue                # a thread that just exited
        out[int(tid)] = (state, tracer)
    return out


def check_untouched(fx, what, zombie_leader=False):
    """fx alive; no thread stopped or traced; the leader running unless
    zombie_leader (a joined thread may show Z or X for a moment)."""
    if not fx.alive():
        raise h.Failure(f'{what}: {fx.name} died: exited {h.describe_status(fx.p.poll())}\n'
                        f'{fx.describe()}')
    bad = {tid: st for tid, st in task_states(fx.pid).items()
           if st[0] in 'tT' or st[1] != 0
           or (tid == fx.pid and st[0] in 'ZX' and not zombie_leader)}
    if bad:
        raise h.Failure(f'{what}: {fx.name} is not cleanly detached: threads '
                        f'{{tid: (state, TracerPid)}} {bad}\n{fx.describe()}')


def leaktrap_run(t, fx, what, args=('-d', '0.3', '-o', os.devnull)):
    """One bounded leaktrap run against fx; returns (rc, stderr, seconds)."""
    lt = t.leaktrap(*args, '-p', fx.pid, stdin=subprocess.DEVNULL)
    start = time.monotonic()
    try:
        rc = lt.p.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        lt.kill()   # SIGKILL
        raise h.Failure(f'{what}: leaktrap HUNG (no exit within {RUN_TIMEOUT} s; killed '
                        f'with SIGKILL)\n{lt.describe()}\n{fx.describe()}')
    lt.out.join(5)
    lt.err.join(5)
    took = time.monotonic() - start
    err = lt.err.text()
    if STUCK_RE.search(err):
        raise h.Failure(f'{what}: leaktrap could not stop every thread or child '
                        f'(took {took:.2f} s)\n{lt.describe()}\n{fx.describe()}')
    return rc, err, took, lt


def start(t, mode):
    fx = t.fixture('lifecycle', '--mode', mode, name=f'lifecycle {mode}')
    fx.ready()
    fx.send('go')
    fx.expect_out('running')
    return fx


def finish(fx):
    """exit: done line without failures, healthy, exit 0."""
    fx.finish()
    done = next((ln for ln in fx.out.lines if ln.startswith('done ')), None)
    if done is None:
        raise h.Failure(f'{fx.name}: no done line\n{fx.describe()}')
    stats = json.loads(done[5:])
    h.check(stats['iterations'] > 0 and stats['failures'] == 0,
            f'{fx.name}: {stats["iterations"]} iterations, {stats["failures"]} failures')
    return stats


def control(t):
    """Every mode untraced, all at once: a failure here is the fixture's."""
    fxs = [start(t, m) for m in MODES + ('leader-exit',)]
    time.sleep(0.3)
    for fx in fxs:
        if fx.name.endswith('leader-exit'):
            fx.send('leave')
            fx.expect_out('leader-gone')
        finish(fx)


def cycles(t, mode):
    fx = start(t, mode)
    times = []
    n = CYCLES_OF.get(mode, CYCLES)
    for i in range(n):
        what = f'{mode}: attach/detach cycle {i + 1}/{n}'
        rc, err, took, lt = leaktrap_run(t, fx, what)
        if rc != 0:
            raise h.Failure(f'{what}: leaktrap exited {h.describe_status(rc)}, want 0\n'
                            f'{lt.describe()}\n{fx.describe()}')
        if not any(h.ATTACHED_RE.match(ln) for ln in lt.err.lines):
            raise h.Failure(f'{what}: leaktrap exited 0 without attaching\n{lt.describe()}')
        check_untouched(fx, what)
        times.append(took)
    h.log(f'ok: {mode}: {n} cycles, each exited 0 and left the target running '
          f'untraced (seconds: {", ".join(f"{x:.2f}" for x in times)})')
    finish(fx)


def leader_exit(t):
    mode = 'leader-exit'
    fx = start(t, mode)
    # attached before the main thread's pthread_exit, detached after it
    lt = t.attach(fx, '-o', os.devnull, threads=2)
    fx.send('leave')
    fx.expect_out('leader-gone')
    h.check(fx.alive(), f'{mode}: the process runs on, traced, without its main thread')
    time.sleep(0.3)     # the worker allocates, traced, with a zombie leader
    lt.signal(signal.SIGINT)
    try:
        rc = lt.p.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        lt.kill()
        raise h.Failure(f'{mode}: leaktrap HUNG detaching from a process whose leader '
                        f'exited while traced (no exit within {RUN_TIMEOUT} s of SIGINT; '
                        f'killed with SIGKILL)\n{lt.describe()}\n{fx.describe()}')
    lt.err.join(5)
    if rc != 0 or STUCK_RE.search(lt.err.text()):
        raise h.Failure(f'{mode}: detach after the leader exited: leaktrap exited '
                        f'{h.describe_status(rc)}, want 0 and no stuck threads\n'
                        f'{lt.describe()}\n{fx.describe()}')
    check_untouched(fx, f'{mode}: after the detach', zombie_leader=True)
    h.log(f'ok: {mode}: attached before pthread_exit in main, detached after it, exit 0')

    # attached after: refused (check_target) or, one day, traced cleanly
    for i in range(AFTER_LEADER):
        what = f'{mode}: attach {i + 1}/{AFTER_LEADER} with the leader a zombie'
        rc, err, took, lt = leaktrap_run(t, fx, what)
        if rc == 7 and REFUSED_RE.search(err):
            h.log(f'ok: {what}: refused, exit 7: {err.strip()}')
        elif rc == 0 and any(h.ATTACHED_RE.match(ln) for ln in lt.err.lines):
            h.log(f'ok: {what}: traced and detached, exit 0')
        else:
            raise h.Failure(f'{what}: leaktrap exited {h.describe_status(rc)}; want 7 '
                            f'("main thread has exited") or 0 after attaching\n'
                            f'{lt.describe()}\n{fx.describe()}')
        check_untouched(fx, what, zombie_leader=True)
    finish(fx)


def launch(t):
    """leaktrap -- lifecycle --mode fork-loop: the protocol over leaktrap's
    stdio, traced from the first instruction to the exit."""
    lt, pid = t.launch(['-o', os.devnull], 'lifecycle', '--mode', 'fork-loop')
    lt.ready()
    lt.send('go')
    lt.expect_out('running')
    time.sleep(0.5)     # fork, traced
    finish(lt)


def body(t):
    t.require_ptrace()
    control(t)
    failed = []
    for name, fn in [(m, lambda t, m=m: cycles(t, m)) for m in MODES] + [
            ('leader-exit', leader_exit), ('launch fork-loop', launch)]:
        h.log(f'=== {name}')
        try:
            fn(t)
        except h.Failure as e:
            h.log(f'FAILED: {name}: {e}')
            failed.append(name)
        h.kill_all()
    if failed:
        raise h.Failure('modes that failed: ' + ', '.join(failed))


h.main(body, fixtures=('lifecycle',))
