# SPDX-License-Identifier: MIT
"""Allocation overhead of leaktrap: bench_alloc (malloc(64)+free pairs at
the bottom of a 16-frame recursive chain) untraced and traced by
`leaktrap -p --depth 16`, against the floor (one ptrace stop/continue round
trip, from bench/floor). Prints a table and whether traced ns/pair stays
within 6 floors.

    python3 bench/run.py LEAKTRAP BENCH_ALLOC FLOOR
"""

import os
import re
import signal
import subprocess
import sys
import threading
import queue

DEPTH = 16
UNTRACED_PAIRS = 500000   # per thread
TRACED_PAIRS = 20000      # in total, split between the threads
FLOOR_LIMIT = 6
FLOOR_TRAPS = 20000
TIMEOUT = 120


class Child:
    """A process whose stdout/stderr lines are read with a timeout."""

    def __init__(self, argv, stdin=subprocess.PIPE):
        self.p = subprocess.Popen([str(a) for a in argv], stdin=stdin, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, start_new_session=True)
        self.q = {'out': queue.Queue(), 'err': queue.Queue()}
        self.lines = {'out': [], 'err': []}
        for name, pipe in (('out', self.p.stdout), ('err', self.p.stderr)):
            threading.Thread(target=self._pump, args=(name, pipe), daemon=True).start()

    def _pump(self, name, pipe):
        for raw in iter(pipe.readline, b''):
            line = raw.decode(errors='replace').rstrip('\n')
            self.lines[name].append(line)
            self.q[name].put(line)
        self.q[name].put(None)

    def expect(self, stream, pattern, timeout=TIMEOUT):
        rx = re.compile(pattern)
        while True:
            try:
                line = self.q[stream].get(timeout=timeout)
            except queue.Empty:
                raise RuntimeError(f'timed out waiting for {pattern!r}')
            if line is None:
                raise RuntimeError(f'{stream} closed before {pattern!r}; stderr: '
                                   + ' | '.join(self.lines['err'][-5:]))
            m = rx.search(line)
            if m:
                return m

    def send(self, line):
        self.p.stdin.write((line + '\n').encode())
        self.p.stdin.flush()

    def wait(self, timeout=TIMEOUT):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RuntimeError(f'{self.p.args[0]} did not exit within {timeout} s')

    def kill(self):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()


def bench(bench_alloc, threads, pairs, leaktrap=None):
    """ns per malloc+free pair, untraced or with leaktrap attached."""
    b = Child([bench_alloc, '--threads', threads, '--pairs', pairs, '--depth', DEPTH])
    lt = None
    try:
        b.expect('out', r'^ready$')
        if leaktrap:
            lt = Child([leaktrap, '--depth', DEPTH, '-o', os.devnull, '-p', b.p.pid],
                       stdin=subprocess.DEVNULL)
            lt.expect('err', r'^leaktrap: attached to pid')
        b.send('go')
        ns = float(b.expect('out', r'^ns_per_pair ([\d.]+)$').group(1))
        if lt:
            if lt.p.poll() is None:
                lt.p.send_signal(signal.SIGINT)
            rc = lt.wait()
            if rc != 0:
                print(f'warning: leaktrap exited {rc}', file=sys.stderr)
        b.p.stdin.close()
        if b.wait() != 0:
            raise RuntimeError(f'bench_alloc exited {b.p.returncode}')
        return ns
    finally:
        b.kill()
        if lt:
            lt.kill()


def floor_us(floor):
    out = subprocess.run([floor, str(FLOOR_TRAPS)], capture_output=True, text=True,
                         timeout=TIMEOUT)
    m = re.search(r'^floor_us ([\d.]+)$', out.stdout, re.M)
    if out.returncode != 0 or not m:
        raise RuntimeError(f'floor failed: {out.stderr.strip()}')
    return float(m.group(1))


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    leaktrap, bench_alloc, floor = sys.argv[1:]
    floors = sorted(floor_us(floor) for _ in range(3))   # noisy on VMs: take the median
    fl = floors[1]
    print(f'floor: {fl:.2f} us per ptrace stop/continue round trip '
          f'(median of {", ".join(f"{f:.2f}" for f in floors)})')
    print(f'{"threads":>7} {"untraced ns/pair":>17} {"traced ns/pair":>15} {"ratio":>8} '
          f'{"traced/floor":>13}')
    worst = 0.0
    for threads in (1, 2):
        untraced = bench(bench_alloc, threads, UNTRACED_PAIRS)
        traced = bench(bench_alloc, threads, TRACED_PAIRS // threads, leaktrap)
        ratio_floor = traced / (fl * 1000)
        worst = max(worst, ratio_floor)
        print(f'{threads:>7} {untraced:>17.1f} {traced:>15.1f} {traced / untraced:>8.0f} '
              f'{ratio_floor:>13.2f}', flush=True)
    verdict = 'yes' if worst <= FLOOR_LIMIT else 'no'
    print(f'traced ns/pair <= {FLOOR_LIMIT} floors: {verdict} (worst {worst:.2f} floors)')
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        print(f'bench: {e}', file=sys.stderr)
        sys.exit(1)
