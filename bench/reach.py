# SPDX-License-Identifier: MIT
"""Stop time of leaktrap --reachability per GiB of writable memory.

bench_reach (fixtures/bench-reach.c) maps and touches MIB MiB, then, traced,
allocates BLOCKS blocks linked into a random graph and fills its memory so
that one word in 32 (typical) or in 4 (a stress test) points into a block.  leaktrap -p --reachability
is stopped with SIGINT; the report's reachability.stop_s is how long the
scan kept the target stopped.  Writable memory is the Rss of the target's
writable mappings (/proc/PID/smaps) just before the scan.  Budget: at most
BUDGET_S_PER_GIB seconds per GiB with up to 100k tracked blocks.

Also the cost --reachability adds to every free (it reads the chunk
header): bench_alloc's malloc+free pairs traced with and without it.

    python3 bench/reach.py LEAKTRAP BENCH_REACH BENCH_ALLOC [MIB [BLOCKS]]
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import Child  # noqa: E402  (bench/run.py: lines with timeouts)

BUDGET_S_PER_GIB = 1.0
PAIRS = 20000


def writable_rss(pid):
    """Bytes resident in pid's writable mappings."""
    total, rw = 0, False
    with open(f'/proc/{pid}/smaps') as f:
        for line in f:
            m = re.match(r'^[0-9a-f]+-[0-9a-f]+ (\S+)', line)
            if m:
                rw = m.group(1)[:2] == 'rw'
            elif rw and line.startswith('Rss:'):
                total += int(line.split()[1]) * 1024
    return total


def scan(leaktrap, bench_reach, mib, blocks, density):
    b = Child([bench_reach, '--mib', mib, '--blocks', blocks, '--density', density])
    lt = None
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'r.json')
        try:
            b.expect('out', r'^ready$')
            lt = Child([leaktrap, '--reachability', '-f', 'json', '-o', out, '-p', b.p.pid],
                       stdin=subprocess.DEVNULL)
            lt.expect('err', r'^leaktrap: attached to pid')
            b.send('go')
            b.expect('out', r'^done ')
            rss = writable_rss(b.p.pid)
            lt.p.send_signal(signal.SIGINT)
            if lt.wait() != 0:
                raise RuntimeError(f'leaktrap exited {lt.p.returncode}: '
                                   + ' | '.join(lt.lines['err'][-5:]))
            b.send('exit')
            if b.wait() != 0:
                raise RuntimeError(f'bench_reach exited {b.p.returncode}')
            with open(out) as f:
                r = json.load(f)
        finally:
            b.kill()
            if lt:
                lt.kill()
    rr = r['reachability']
    if not rr['complete']:
        raise RuntimeError(f'the scan did not complete: {rr["note"]}')
    return rss, rr, r['summary'], r['totals']['live_blocks']


def pairs_ns(leaktrap, bench_alloc, reach):
    b = Child([bench_alloc, '--threads', 1, '--pairs', PAIRS, '--depth', 16])
    lt = None
    try:
        b.expect('out', r'^ready$')
        lt = Child([leaktrap, '--depth', 16, '-o', os.devnull, '-p', b.p.pid]
                   + (['--reachability'] if reach else []), stdin=subprocess.DEVNULL)
        lt.expect('err', r'^leaktrap: attached to pid')
        b.send('go')
        ns = float(b.expect('out', r'^ns_per_pair ([\d.]+)$').group(1))
        lt.p.send_signal(signal.SIGINT)
        lt.wait()
        b.p.stdin.close()
        b.wait()
        return ns
    finally:
        b.kill()
        if lt:
            lt.kill()


def main():
    if len(sys.argv) not in (4, 5, 6):
        print(__doc__, file=sys.stderr)
        return 2
    leaktrap, bench_reach, bench_alloc = sys.argv[1:4]
    mib = int(sys.argv[4]) if len(sys.argv) > 4 else 1024
    blocks = int(sys.argv[5]) if len(sys.argv) > 5 else 100000
    worst = 0.0
    print(f'{"ptrs":>6} {"area MiB":>8} {"blocks":>8} {"writable GiB":>12} {"scanned GiB":>11} '
          f'{"stop s":>7} {"s/GiB":>6} {"cpu s":>6} {"cpu/GiB":>7}  '
          f'definite/indirect/possible/reachable blocks')
    for density, m in ((32, mib), (4, mib), (32, 256)):
        rss, rr, summ, live = scan(leaktrap, bench_reach, m, blocks, density)
        gib = rss / (1 << 30)
        per = rr['stop_s'] / gib
        if density == 32:
            worst = max(worst, per)     # the budget is for typical memory
        kinds = '/'.join(str(summ[k]['blocks'])
                         for k in ('definite', 'indirect', 'possible', 'reachable'))
        print(f'{"1/" + str(density):>6} {m:>8} {live:>8} {gib:>12.2f} {rr["scanned_bytes"] / (1 << 30):>11.2f} '
              f'{rr["stop_s"]:>7.3f} {per:>6.3f} {rr["cpu_s"]:>6.3f} {rr["cpu_s"] / gib:>7.3f}'
              f'  {kinds}', flush=True)
    plain = pairs_ns(leaktrap, bench_alloc, False)
    reach = pairs_ns(leaktrap, bench_alloc, True)
    print(f'traced malloc+free pair: {plain:.0f} ns, with --reachability {reach:.0f} ns '
          f'({reach - plain:+.0f} ns: the chunk header read at each free)')
    verdict = 'yes' if worst <= BUDGET_S_PER_GIB else 'no'
    print(f'stop time <= {BUDGET_S_PER_GIB} s per GiB of writable memory (1 word in 32 '
          f'a pointer): {verdict} (worst {worst:.3f} s/GiB; stop s is wall clock: on a busy '
          f'machine compare cpu/GiB)')
    return 0 if worst <= BUDGET_S_PER_GIB else 1


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        print(f'bench: {e}', file=sys.stderr)
        sys.exit(1)
