# SPDX-License-Identifier: MIT
"""Fault injection against leaktrap, many trials, printing survival counts
(the CI versions are tests/integration/test_interrupt_stress.py and
test_guardian.py).

    python3 bench/faults.py LEAKTRAP STORM signals [N]     (default 1000)
    python3 bench/faults.py LEAKTRAP STORM kill9 [N] [--no-guardian] [--guardian-pid]

signals: leaktrap gets SIGINT, SIGTERM or SIGHUP at a random moment of a
random phase: during the attach, while tracing, or during the detach and
the report (a second signal right after the first); the target is the
storm fixture (4 threads) allocating as fast as it can or mostly
sleeping, alternately. A trial survives when leaktrap exits 0 and the
target finishes its work and passes its health check.

kill9: SIGKILL of the tracing process at a random moment (0-500 ms after
the work started) while the storm runs, N trials against the idle target
(--mode sleep) and N against the allocating one (--mode alloc).  A trial
survives when the target finishes and passes its health check.
--no-guardian measures leaktrap without its guardian;
--guardian-pid kills the process the user started (the guardian) instead.

Set FAULTS_SEED to replay a series."""

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import queue

TIMEOUT = 60


class Child:
    def __init__(self, argv, env=None):
        self.p = subprocess.Popen([str(a) for a in argv], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  start_new_session=True,
                                  env=dict(os.environ, **env) if env else None)
        self.q = {'out': queue.Queue(), 'err': queue.Queue()}
        self.lines = {'out': [], 'err': []}
        self.threads = []
        for name, pipe in (('out', self.p.stdout), ('err', self.p.stderr)):
            th = threading.Thread(target=self._pump, args=(name, pipe), daemon=True)
            th.start()
            self.threads.append(th)

    def _pump(self, name, pipe):
        for raw in iter(pipe.readline, b''):
            line = raw.decode(errors='replace').rstrip('\n')
            self.lines[name].append(line)
            self.q[name].put(line)
        self.q[name].put(None)

    def expect(self, name, pattern, timeout=TIMEOUT):
        end = time.monotonic() + timeout
        while True:
            try:
                line = self.q[name].get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                return None
            if line is None:
                return None
            m = re.search(pattern, line)
            if m:
                return m

    def send(self, line):
        try:
            self.p.stdin.write((line + '\n').encode())
            self.p.stdin.flush()
            return True
        except OSError:
            return False

    def wait(self, timeout=TIMEOUT):
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        for th in self.threads:
            th.join(2)
        return rc

    def kill(self):
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def tracer_of(pid):
    try:
        with open(f'/proc/{pid}/status') as f:
            return int(re.search(r'^TracerPid:\s*(\d+)', f.read(), re.M).group(1))
    except (OSError, AttributeError):
        return 0


def finish_target(fx):
    """exit -> the target must say done (no errors) and healthy, exit 0."""
    fx.send('exit')
    rc = fx.wait()
    ok = rc == 0 and 'healthy' in fx.lines['out']
    why = '' if ok else f'target rc {rc}'
    return ok, why


def signal_trial(lt_path, storm, rng, n):
    mode = 'alloc' if n % 2 == 0 else 'sleep'
    phase = rng.choice(['attach', 'trace', 'detach'])
    sig = rng.choice([signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
    fx = Child([storm, '--mode', mode])
    if not fx.expect('out', '^ready$'):
        fx.kill()
        return None, 'fixture not ready'
    if phase != 'attach':
        fx.send('go')
        fx.expect('out', '^storming$')
    lt = Child([lt_path, '-p', fx.p.pid, '-o', f'/tmp/faults-{os.getpid()}.txt'])
    if phase == 'attach':
        time.sleep(rng.uniform(0, 0.12))        # somewhere in the attach
        os.kill(lt.p.pid, sig)
    else:
        if not lt.expect('err', 'attached to pid'):
            lt.kill(), fx.kill()
            return False, 'leaktrap did not attach'
        time.sleep(rng.uniform(0, 0.3))
        os.kill(lt.p.pid, sig)
        if phase == 'detach':                   # a second one in the detach/report
            time.sleep(rng.uniform(0, 0.03))
            if lt.p.poll() is None:
                os.kill(lt.p.pid, rng.choice([signal.SIGINT, signal.SIGTERM, signal.SIGHUP]))
    rc = lt.wait()
    ok, why = finish_target(fx)
    if rc == -sig and phase == 'attach' and ok and tracer_of(fx.p.pid) == 0:
        return ok, 'leaktrap died of the signal before installing its handlers'
    if rc != 0:
        ok, why = False, f'leaktrap rc {rc}: {" | ".join(lt.lines["err"][-3:])} {why}'
    return ok, f'{mode}/{phase}/{sig.name}: {why}'


def kill9_trial(lt_path, storm, rng, mode, env, guardian_pid):
    fx = Child([storm, '--mode', mode])
    if not fx.expect('out', '^ready$'):
        fx.kill()
        return None, 'fixture not ready'
    lt = Child([lt_path, *(['-v'] if os.environ.get('FAULTS_VERBOSE') else []), '-p', fx.p.pid,
                '-o', f'/tmp/faults-{os.getpid()}.txt'], env=env)
    if not lt.expect('err', 'attached to pid'):
        lt.kill(), fx.kill()
        return None, 'leaktrap did not attach'
    fx.send('go')
    fx.expect('out', '^storming$')
    time.sleep(rng.uniform(0, 0.5))
    victim = lt.p.pid if guardian_pid else tracer_of(fx.p.pid)
    if victim:
        os.kill(victim, signal.SIGKILL)
    lt.wait()
    if guardian_pid:        # the tracer detaches on its own: wait for it
        end = time.monotonic() + TIMEOUT
        while tracer_of(fx.p.pid) and time.monotonic() < end:
            time.sleep(0.01)
    ok, why = finish_target(fx)
    if not ok:
        why += ' | ' + ' | '.join(ln for ln in lt.lines['err'] if 'guardian' in ln)
    return ok, why


def main():
    if len(sys.argv) < 4 or sys.argv[3] not in ('signals', 'kill9'):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    lt_path, storm, what = sys.argv[1:4]
    # a background job of a shell ignores SIGINT, and leaktrap keeps an
    # ignored SIGINT ignored: give the children the default
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    rest = sys.argv[4:]
    n = int(rest[0]) if rest and rest[0].isdigit() else (1000 if what == 'signals' else 100)
    seed = int(os.environ.get('FAULTS_SEED', random.randrange(1 << 30)))
    rng = random.Random(seed)
    print(f'seed {seed} (FAULTS_SEED={seed} replays this series)', flush=True)
    start = time.monotonic()
    if what == 'signals':
        ok = bad = 0
        for i in range(n):
            res, why = signal_trial(lt_path, storm, rng, i)
            if res:
                ok += 1
            elif res is False:
                bad += 1
                print(f'trial {i}: FAILED {why}', flush=True)
            if (i + 1) % 50 == 0:
                print(f'{i + 1} trials: {ok} survived', flush=True)
        print(f'signals: {ok}/{ok + bad} trials survived ({time.monotonic() - start:.0f} s)')
        sys.exit(0 if bad == 0 else 1)
    env = {'LEAKTRAP_NO_GUARDIAN': '1'} if '--no-guardian' in rest else None
    gpid = '--guardian-pid' in rest
    results = {}
    for mode in ('sleep', 'alloc'):
        ok = bad = 0
        for i in range(n):
            res, why = kill9_trial(lt_path, storm, rng, mode, env, gpid)
            if res:
                ok += 1
            elif res is False:
                bad += 1
                print(f'{mode} trial {i}: target died ({why})', flush=True)
        results[mode] = (ok, ok + bad)
    label = ('without guardian' if env else 'guardian pid killed' if gpid
             else 'tracer killed, guardian rescues')
    for mode, name in (('sleep', 'idle'), ('alloc', 'heavy allocation')):
        ok, total = results[mode]
        print(f'kill -9 ({label}), {name}: {ok}/{total} survived '
              f'({100.0 * ok / max(total, 1):.1f} %)')
    print(f'{time.monotonic() - start:.0f} s')


if __name__ == '__main__':
    main()
