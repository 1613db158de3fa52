# SPDX-License-Identifier: MIT
"""Report filters and views against fixtures whose block sizes are known.

mt_leak (launch mode) leaks from leak_here blocks of 48 + worker + 16 * k
bytes (k = 0..4): -z/--min-size and -Z/--max-size must keep exactly the
blocks in range, of every stack (checked block by block with -a against
an unfiltered run of the same deterministic launch); --sort bytes|blocks|age
orders the stacks by that key; -T cuts the list but not leak_bytes; -a
lists each block (hex address, size, age) in JSON and text; --depth caps
the frames. app (8192-byte blocks) checks --older-than: blocks old enough
are all kept, a limit older than the run keeps none, and on the demo
(a block every 200 ms) only blocks at least that old are listed."""

import collections
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

THREADS = 4
ROUNDS = 20
LEAKS_PER_WORKER = 5
TABLE = 8192
MT = ('--threads', THREADS, '--rounds', ROUNDS)

LEAK_SIZES = sorted(48 + w + 16 * k for w in range(THREADS) for k in range(LEAKS_PER_WORKER))


def sig(s):
    """A stack's identity across runs: its function names."""
    return tuple(h.funcs(s))


def sizes_by_stack(r):
    """Block sizes by stack identity (stacks with the same names merged)."""
    out = collections.defaultdict(list)
    for s in r['stacks']:
        out[sig(s)] += [b['size'] for b in s['addresses']]
    return {k: sorted(v) for k, v in out.items()}


def is_leak_here(key):
    return key[:2] == ('leak_here', 'worker')


# ---- sizes ----------------------------------------------------------------------

def unfiltered(t):
    r, truth, _ = t.launch_report(['-T', '0', '-a'], 'mt_leak', *MT, name='all.json')
    h.check_eq(truth['errors'], 0, 'errors the fixture saw in its own work')
    h.check_leak_stacks(r, ('leak_here', 'worker'), truth['leak_blocks'], truth['leak_bytes'])
    every = sizes_by_stack(r)
    leak = [k for k in every if is_leak_here(k)]
    h.check_eq([every[k] for k in leak], [LEAK_SIZES], 'leak_here block sizes (-a)')
    return every


def expect_sizes(every, lo, hi):
    """The blocks (by stack) a filter lo <= size <= hi keeps."""
    kept = {k: [z for z in v if lo <= z <= hi] for k, v in every.items()}
    return {k: v for k, v in kept.items() if v}


def size_filter(t, every, args, lo, hi, name):
    r, _, _ = t.launch_report(['-T', '0', '-a', *args], 'mt_leak', *MT, name=name)
    want = expect_sizes(every, lo, hi)
    h.check_eq(sizes_by_stack(r), want, f'{" ".join(args)}: block sizes kept, stack by stack')
    h.check_eq(r['leak_bytes'], sum(sum(v) for v in want.values()),
               f'{" ".join(args)}: leak_bytes')
    h.check_eq(r['leak_blocks'], sum(len(v) for v in want.values()),
               f'{" ".join(args)}: leak_blocks')
    h.check(r['totals']['live_blocks'] == sum(len(v) for v in every.values()),
            f'{" ".join(args)}: the totals are not filtered')
    return r


def sizes(t, every):
    big = max(z for v in every.values() for z in v)
    size_filter(t, every, ['-z', '65', '-Z', '97'], 65, 97, 'z65Z97.json')
    size_filter(t, every, ['--min-size', '64', '--max-size', '96'], 64, 96, 'min64max96.json')
    # units: 0.0625K is 64 bytes
    size_filter(t, every, ['--min-size', '0.0625K'], 64, big, 'min64K.json')
    size_filter(t, every, ['-Z', '49'], 0, 49, 'Z49.json')
    r = size_filter(t, every, ['-z', '1M'], 1 << 20, big, 'z1M.json')
    h.check_eq((r['stacks'], r['total_stacks']), ([], 0), '-z 1M: nothing left')


# ---- sort, top, addresses, depth -----------------------------------------------

def expected_order(every, lo, key):
    """Stack identities in the order --sort key must give, from the
    unfiltered run's blocks (ties broken by the other key)."""
    kept = expect_sizes(every, lo, 1 << 62)
    def k(item):
        n, b = len(item[1]), sum(item[1])
        return (b, n) if key == 'bytes' else (n, b)
    return [name for name, _ in sorted(kept.items(), key=k, reverse=True)]


def sort_orders(t, every):
    # At -z 97 the leak_here stack has more blocks, another (if any) more bytes.
    for key in ('bytes', 'blocks'):
        r, _, _ = t.launch_report(['-T', '0', '-z', '97', '--sort', key], 'mt_leak', *MT,
                                  name=f'sort-{key}.json', sort=key)
        h.check_eq([sig(s) for s in r['stacks']], expected_order(every, 97, key),
                   f'--sort {key}: stack order')
    if len(expect_sizes(every, 97, 1 << 62)) > 1:
        h.check(expected_order(every, 97, 'bytes') != expected_order(every, 97, 'blocks'),
                'at -z 97 the bytes and blocks orders differ (the test means something)')
    # Every live block not from leak_here was allocated before "go": with
    # --sort age, leak_here comes last.
    r, _, _ = t.launch_report(['-T', '0', '--sort', 'age'], 'mt_leak', *MT, name='sort-age.json',
                              sort='age')
    order = [sig(s) for s in r['stacks']]
    h.check(is_leak_here(order[-1]), '--sort age: the youngest stack (leak_here) is last',
            h.fmt_stacks(r))
    h.check_eq(r['stacks'][-1]['blocks'], THREADS * LEAKS_PER_WORKER, '--sort age: its blocks')


def top(t, every):
    n = len(every)
    r, _, _ = t.launch_report(['-T', '1'], 'mt_leak', *MT, name='top1.json')
    h.check_eq((len(r['stacks']), r['total_stacks']), (1, n), '-T 1: stacks shown / total')
    h.check_eq(r['leak_bytes'], sum(sum(v) for v in every.values()),
               '-T 1: leak_bytes counts the stacks not shown')
    out = t.path('top1.txt')
    rc, _ = t.run_launch(['-T', '1', '-o', out], 'mt_leak', *MT)
    h.check_eq(rc, 0, 'leaktrap -T 1 (text) exit status')
    with open(out) as f:
        text = f.read()
    headers = re.findall(r'^\d+ bytes? in \d+ allocations? from stack$', text, re.M)
    h.check_eq(len(headers), 1, '-T 1 (text): stack headings')
    more = n - 1
    if more:
        h.check(f'leaktrap: {more} more stack{"s" if more > 1 else ""} not shown '
                '(use -T to show more)' in text, '-T 1 (text): the "more stacks" line', text)


ADDR_RE = re.compile(r'^    addr = ([0-9a-f]+) size = (\d+) age = (\d+\.\d) s$')
HEAD_RE = re.compile(r'^(\d+) bytes? in (\d+) allocations? from stack$')


def addresses_text(t, every):
    out = t.path('addresses.txt')
    rc, _ = t.run_launch(['-a', '-T', '0', '-o', out], 'mt_leak', *MT)
    h.check_eq(rc, 0, 'leaktrap -a (text) exit status')
    with open(out) as f:
        lines = f.read().splitlines()
    stacks = []
    for ln in lines:
        m = HEAD_RE.match(ln)
        if m:
            stacks.append([int(m.group(1)), int(m.group(2)), []])
            continue
        m = ADDR_RE.match(ln)
        if m:
            if not stacks:
                raise h.Failure(f'-a line {ln!r} before any stack heading')
            stacks[-1][2].append((int(m.group(1), 16), int(m.group(2))))
        elif 'addr =' in ln:
            raise h.Failure(f'-a line {ln!r} is not "    addr = HEX size = N age = S.S s"')
    h.check_eq(len(stacks), len(every), '-a (text): stacks')
    for nbytes, blocks, blist in stacks:
        h.check_eq((len(blist), sum(z for _, z in blist)), (blocks, nbytes),
                   '-a (text): address lines vs the heading\'s blocks and bytes')
        h.check([a for a, _ in blist] == sorted(a for a, _ in blist),
                '-a (text): blocks listed by address')
    h.check_eq(sorted(sorted(z for _, z in b) for _, _, b in stacks),
               sorted(every.values()), '-a (text): sizes as in the JSON')


def addresses_json(every, r_all):
    for s in r_all['stacks']:
        addrs = [b['addr'] for b in s['addresses']]
        h.check(all(re.fullmatch(r'0x[0-9a-f]+', a) for a in addrs),
                f'-a: {len(addrs)} addresses in hex')
        h.check([int(a, 16) for a in addrs] == sorted(int(a, 16) for a in addrs),
                '-a: listed by address')


def depth(t):
    r, _, _ = t.launch_report(['-T', '0', '--depth', '2'], 'app', '--steps', 2, name='depth.json')
    h.check(all(len(s['frames']) <= 2 for s in r['stacks']), '--depth 2: at most 2 frames')
    h.check_leak_stacks(r, ('fibonacci', 'child'), 2, 2 * TABLE)


# ---- age ------------------------------------------------------------------------

def older_kept(t):
    """Blocks allocated right after the attach are ~1 s old at a -d 1.2
    report: --older-than 0.5 keeps all of them."""
    app = t.fixture('app', '--steps', 4)
    app.ready()
    out = t.path('older-kept.json')
    lt = t.attach(app, '-d', '1.2', '--older-than', '0.5', '-a', '-f', 'json', '-o', out)
    truth = app.go()
    lt.expect_exit(0)
    app.check_detached()
    app.finish()
    r = h.load_report(out)
    h.check_eq(r['end_reason'], 'duration', 'end_reason')
    h.check_leak_stacks(r, ('fibonacci', 'child'), truth['leak_blocks'], truth['leak_bytes'])
    ages = [b['age_s'] for s in r['stacks'] for b in s['addresses']]
    h.check(all(a >= 0.5 for a in ages), f'--older-than 0.5: every block listed is >= 0.5 s '
            f'old ({ages})')


def older_none(t):
    for fmt in ('json', 'text'):
        out = t.path(f'older-none.{fmt}')
        rc, _ = t.run_launch(['--older-than', '1h', '-f', fmt, '-o', out], 'app', '--steps', 3)
        h.check_eq(rc, 0, f'--older-than 1h ({fmt}) exit status')
        if fmt == 'json':
            r = h.load_report(out)
            h.check_eq((r['stacks'], r['total_stacks'], r['leak_blocks']), ([], 0, 0),
                       '--older-than 1h: nothing is that old')
            h.check(r['totals']['live_blocks'] >= 3, 'but the totals still count the blocks')
        else:
            with open(out) as f:
                text = f.read()
            h.check('leaktrap: 0 bytes in 0 blocks left after filters, suppressions and '
                    'baseline\n' in text, '--older-than 1h (text): the "left after filters" line',
                    text)


def older_demo(t):
    """app --demo leaks a block every 200 ms: at -d 1.5 --older-than 0.6
    the blocks of the last 0.6 s are left out and the others kept."""
    app = h.Fixture([t.fx['app'], '--demo'], name='app --demo')
    app.expect_out(r'^app pid \d+ leaking 8 KiB every 200 ms$')
    out = t.path('older-demo.json')
    lt = t.attach(app, '-d', '1.5', '--older-than', '0.6', '-a', '--sort', 'age',
                  '-f', 'json', '-o', out)
    lt.expect_exit(0)
    app.check_detached()
    app.kill()
    r = h.load_report(out, sort='age')
    ages = sorted(b['age_s'] for s in r['stacks'] for b in s['addresses'])
    h.check(all(a >= 0.6 for a in ages), f'every block listed is >= 0.6 s old ({ages})')
    h.check(1 <= r['leak_blocks'] < r['totals']['live_blocks'],
            f'some blocks kept ({r["leak_blocks"]}), the younger of the '
            f'{r["totals"]["live_blocks"]} live ones left out')
    h.check(all(b['size'] == TABLE for s in r['stacks'] for b in s['addresses']),
            'the blocks are the 8192-byte tables')


def body(t):
    t.require_ptrace()
    every = unfiltered(t)
    addresses_json(every, h.load_report(t.path('all.json')))
    sizes(t, every)
    sort_orders(t, every)
    top(t, every)
    addresses_text(t, every)
    depth(t)
    older_kept(t)
    older_none(t)
    older_demo(t)


h.main(body, fixtures=('app', 'mt_leak'))
