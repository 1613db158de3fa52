# SPDX-License-Identifier: MIT
"""What each kernel fallback (LEAKTRAP_COMPAT, docs/kernels.md) costs per
traced allocation: bench_alloc (malloc(64)+free pairs under a 16-frame
chain, one thread) traced by `leaktrap -p --depth 16` with each fallback
forced.  For each: leaktrap's CPU time (user+sys, until the work is done) per pair, the traced wall
time per pair (noisy on a shared machine: the minimum of the rounds), and,
when strace is installed, leaktrap's system calls per pair (exact).

    python3 bench/compat.py LEAKTRAP BENCH_ALLOC [ROUNDS]
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

MODES = ['', 'no-seize', 'no-cma', 'no-sigmask', 'no-openat2', 'no-procmem', 'all']
PAIRS = 20000
DEPTH = 16


def cpu_s(pid):
    """utime + stime of pid so far, in seconds."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def child_of(pid):
    """pid's first child, or None."""
    try:
        with open(f'/proc/{pid}/task/{pid}/children') as f:
            kids = f.read().split()
    except OSError:
        return None
    return int(kids[0]) if kids else None


def run_once(leaktrap, bench_alloc, mode, strace_out=None):
    """Returns (leaktrap cpu s, traced ns/pair)."""
    env = dict(os.environ, LEAKTRAP_COMPAT=mode)
    b = subprocess.Popen([bench_alloc, '--threads', '1', '--pairs', str(PAIRS), '--depth',
                          str(DEPTH)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if b.stdout.readline().strip() != 'ready':
            raise RuntimeError('bench_alloc did not say ready')
        argv = [leaktrap, '--depth', str(DEPTH), '-o', os.devnull, '-p', str(b.pid)]
        if strace_out:
            argv = ['strace', '-f', '-qq', '-c', '-o', strace_out] + argv
        lt = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env=env)
        for line in lt.stderr:
            if line.startswith('leaktrap: attached to pid'):
                break
        else:
            raise RuntimeError(f'leaktrap did not attach ({mode})')
        b.stdin.write('go\n')
        b.stdin.flush()
        ns = None
        for line in b.stdout:
            m = re.match(r'^ns_per_pair ([\d.]+)$', line)
            if m:
                ns = float(m.group(1))
                break
        pid = lt.pid
        if strace_out:          # strace does not forward SIGINT: signal leaktrap
            pid = child_of(pid)
        # the pid started is leaktrap's guardian; the tracer is its child
        tracer = child_of(pid) or pid
        cpu = cpu_s(tracer)     # the traced work, without the detach
        os.kill(pid, signal.SIGINT)
        lt.stderr.read()
        if lt.wait() != 0:
            raise RuntimeError(f'leaktrap exited {lt.returncode} ({mode})')
        return cpu, ns
    finally:
        b.kill()
        b.wait()


def syscalls(path):
    """{name: calls} from strace -c output."""
    out = {}
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 5 and fields[0][0].isdigit() and fields[-1] != 'total':
                out[fields[-1]] = int(fields[3])
    return out


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    leaktrap, bench_alloc = sys.argv[1:3]
    rounds = int(sys.argv[3]) if len(sys.argv) == 4 else 5
    have_strace = shutil.which('strace') is not None
    print(f'{"LEAKTRAP_COMPAT":<16} {"cpu us/pair":>11} {"wall us/pair":>12} '
          f'{"syscalls/pair":>13}  main calls per pair')
    tmp = tempfile.mkdtemp(prefix='leaktrap-bench-')
    for mode in MODES:
        cpu, wall = [], []
        for _ in range(rounds):
            c, ns = run_once(leaktrap, bench_alloc, mode)
            cpu.append(c)
            wall.append(ns)
        cpu_us = min(cpu) / PAIRS * 1e6
        wall_us = min(wall) / 1000
        calls = ''
        total = ''
        if have_strace:
            path = os.path.join(tmp, 'strace.txt')
            run_once(leaktrap, bench_alloc, mode, strace_out=path)
            sc = syscalls(path)
            total = f'{sum(sc.values()) / PAIRS:.1f}'
            top = sorted(sc.items(), key=lambda kv: -kv[1])[:4]
            calls = ', '.join(f'{k} {v / PAIRS:.1f}' for k, v in top)
        print(f'{mode or "(none)":<16} {cpu_us:>11.1f} {wall_us:>12.1f} {total:>13}  {calls}',
              flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
