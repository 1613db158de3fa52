# SPDX-License-Identifier: MIT
"""--reachability: memcheck's leak kinds for a process leaktrap attached to
(or launched), on fixtures whose classification is known exactly.

- reach (fixtures/reach.c): memcheck's nine pointer-chain cases, a cycle, a
  tree, pointers held only in another thread's r12 or xmm7, in TLS of the
  main thread and of a helper, in pthread_setspecific data, in a blocked
  thread's stack slot, below sp in a dead frame (must not count), tagged
  (p | 1) and XOR-ed pointers, and blocks reached only through memory
  allocated before the window.  Every (allocation site, kind) loss record
  the fixture's blocks make is asserted exactly (blocks, bytes, indirect
  bytes), in attach mode and in launch mode (where the blocks allocated
  before "ready" are traced too: the fixture's truth says how that
  changes two cases); every other record (libc's own) must be reachable,
  and the summary must add up.
- reach_cpp (fixtures/reach-cpp.cpp): a std::string, a length64 block, a
  new[] array and a multiple-inheritance object, held only by interior
  pointers: reachable through each heuristic (and counted per heuristic),
  possible with --leak-check-heuristics none, and only stdstring with
  --leak-check-heuristics stdstring.
- --show-leak-kinds selects the records listed (every format), and
  --errors-for-leak-kinds what trips --error-exitcode; the text report has
  memcheck's loss record lines and LEAK SUMMARY; the options need
  --reachability; without it the JSON report's reachability keys are null.
- A scan that cannot run (the target exec'd) degrades to the plain report
  with a note, exit 0."""

import collections
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

ALL = ('--show-leak-kinds', 'all', '-T', '0')


def site_of(stack, sites):
    """The first frame whose function (C++: without its parameters) is one
    of sites, or None."""
    for f in stack['frames']:
        fn = (f.get('function') or '').split('(')[0]
        if fn in sites:
            return fn
    return None


def records(r, sites):
    """{(site, kind): [blocks, bytes, indirect]} of the fixture's records,
    and the list of the other records."""
    got, other = collections.defaultdict(lambda: [0, 0, 0]), []
    for s in r['stacks']:
        site = site_of(s, sites)
        if site is None:
            other.append(s)
            continue
        g = got[(site, s['kind'])]
        g[0] += s['blocks']
        g[1] += s['bytes']
        g[2] += s['indirect_bytes']
    return dict(got), other


def expected(truth, launch):
    """The truth's records, with the launch-mode ones replacing a site's
    attach-mode ones in launch mode."""
    want = collections.defaultdict(lambda: [0, 0, 0])
    replaced = {rec[0] for rec in truth['launch']} if launch else set()
    recs = [rec for rec in truth['records'] if rec[0] not in replaced]
    recs += truth['launch'] if launch else []
    for site, kind, blocks, nbytes, indirect in recs:
        w = want[(site, kind)]
        w[0] += blocks
        w[1] += nbytes
        w[2] += indirect
    return dict(want)


def fmt(recs):
    return '\n'.join(f'  {k[0]:<14} {k[1]:<10} {v}' for k, v in sorted(recs.items()))


def check_records(r, truth, launch, what):
    sites = {rec[0] for rec in truth['records'] + truth['launch']}
    want = expected(truth, launch)
    got, other = records(r, sites)
    if got != want:
        raise h.Failure(f'{what}: loss records of the fixture differ\ngot:\n{fmt(got)}\n'
                        f'want:\n{fmt(want)}\nreport:\n{h.fmt_stacks(r, 60)}')
    h.log(f'ok: {what}: all {len(want)} (site, kind) records exactly as the truth says')
    bad = [s for s in other if s['kind'] != 'reachable']
    h.check(not bad, f'{what}: the {len(other)} other records (not the fixture\'s) are '
            'all reachable', '\n'.join(h.fmt_stack(s) + ' ' + s['kind'] for s in bad))
    for kind in h.LEAK_KINDS:
        ks = [s for s in r['stacks'] if s['kind'] == kind]
        h.check_eq((r['summary'][kind]['bytes'], r['summary'][kind]['blocks']),
                   (sum(s['bytes'] for s in ks), sum(s['blocks'] for s in ks)),
                   f'{what}: summary.{kind} vs its records')
    rr = r['reachability']
    h.check(rr['complete'] and rr['note'] is None and rr['stop_s'] > 0 and
            rr['scanned_bytes'] > 0, f'{what}: the scan completed and says how long the '
            f'target was stopped ({rr["stop_s"]} s for {rr["scanned_bytes"]} bytes)')
    h.check_eq(rr['records'], len(r['stacks']), f'{what}: records (all kinds, -T 0)')


def attach_report(t, which, *lt_args, want=0, name='attach.json', threads=None):
    """Attach with --reachability to `which`; go; SIGINT; the fixture must be
    detached, alive and healthy.  Returns (report, truth)."""
    fx = t.fixture(which)
    fx.ready()
    out = t.path(name)
    lt = t.attach(fx, '--reachability', '-f', 'json', '-o', out, *lt_args, threads=threads)
    truth = fx.go()
    lt.signal(signal.SIGINT)
    lt.expect_exit(want)
    fx.check_detached()
    fx.finish()
    return h.load_report(out), truth


def reach_attach(t):
    r, truth = attach_report(t, 'reach', *ALL, threads=7)
    check_records(r, truth, False, 'attach')
    h.check_eq(r['reachability']['threads'], 7, 'attach: threads scanned')
    return truth


def reach_launch(t, truth):
    r, _, _ = t.launch_report(['--reachability', *ALL], 'reach', name='launch.json')
    h.check_eq(r['end_reason'], 'target-exit', 'launch: the scan ran at the exit')
    check_records(r, truth, True, 'launch')


def text_report(t, truth):
    """Launch mode, text, default kinds (definite, possible)."""
    rc, lt = t.run_launch(['--reachability', '-T', '0'], 'reach')
    h.check_eq(rc, 0, 'text: leaktrap exit status')
    out = lt.out.text()
    want = expected(truth, True)
    for kind, label in (('definite', 'definitely lost'), ('indirect', 'indirectly lost'),
                        ('possible', 'possibly lost')):
        nbytes = sum(v[1] for k, v in want.items() if k[1] == kind)
        blocks = sum(v[0] for k, v in want.items() if k[1] == kind)
        line = f'{label}: {nbytes:,} bytes in {blocks:,} blocks'
        h.check(re.search(r'^ +' + re.escape(line) + '$', out, re.M),
                f'text: LEAK SUMMARY line "{line}"', out[-3000:])
    h.check('LEAK SUMMARY:' in out and 'still reachable: ' in out, 'text: LEAK SUMMARY block')
    h.check(re.search(r'^1,056 \(144 direct, 912 indirect\) bytes in 1 blocks are definitely '
                      r'lost in loss record \d+ of \d+$', out, re.M),
            'text: the tree root\'s record line, memcheck-style', out[-3000:])
    h.check(re.search(r'are possibly lost in loss record', out) and
            not re.search(r'are (still reachable|indirectly lost) in loss record', out),
            'text: default --show-leak-kinds definite,possible', out[-3000:])
    h.check(re.search(r'^leaktrap: reachability: target stopped \d+\.\d+ s to scan', out,
                      re.M), 'text: the stop time of the scan', out[:2000])


def kinds_and_gate(t):
    r, truth = attach_report(t, 'reach', '--show-leak-kinds', 'definite', '-T', '0',
                             '--error-exitcode', '3', '--errors-for-leak-kinds', 'definite',
                             want=3, name='gate.json')
    h.check(r['stacks'] and all(s['kind'] == 'definite' for s in r['stacks']),
            '--show-leak-kinds definite: only definite records')
    want = expected(truth, False)
    h.check_eq(r['reachability']['error_blocks'],
               sum(v[0] for k, v in want.items() if k[1] == 'definite'),
               '--errors-for-leak-kinds definite: error_blocks')
    # only reachable blocks in reach_cpp: no error by default, one with reachable
    for kinds, rc_want in (('definite,possible', 0), ('reachable', 3), ('none', 0)):
        r, _, _ = t.launch_report(['--reachability', '--error-exitcode', '3',
                                   '--errors-for-leak-kinds', kinds], 'reach_cpp',
                                  want=rc_want, name='gate-cpp.json')
        h.log(f'ok: --errors-for-leak-kinds {kinds}: exit {rc_want}')
    rc, lt = t.run_launch(['--reachability', '-f', 'folded', '--show-leak-kinds',
                           'reachable'], 'reach_cpp')
    folded = [ln for ln in lt.out.lines if re.search(r' \d+$', ln) and ';' in ln]
    h.check(rc == 0 and any('cpp_mi' in ln for ln in folded), 'folded: reachable '
            'records with --show-leak-kinds reachable', lt.out.text())
    rc, lt = t.run_launch(['--reachability', '-f', 'folded'], 'reach_cpp')
    h.check(rc == 0 and not any('cpp_' in ln for ln in lt.out.lines if ';' in ln),
            'folded: none of them with the default kinds', lt.out.text())


def heuristics(t):
    r, truth = attach_report(t, 'reach_cpp', *ALL, name='cpp.json')
    cases = truth['cases']
    sites = {c[0] for c in cases}
    got, _ = records(r, sites)
    want = {(c[0], 'reachable'): [c[2], c[3], 0] for c in cases}
    h.check_eq(got, want, 'heuristics on: every case reachable')
    for site, heur, blocks, nbytes in cases:
        h.check_eq(r['summary']['heuristics'][heur], {'bytes': nbytes, 'blocks': blocks},
                   f'summary.heuristics.{heur}')
    r, _, _ = t.launch_report(['--reachability', *ALL], 'reach_cpp', name='cpp-launch.json')
    got, other = records(r, sites)
    h.check_eq(got, want, 'launch: every case reachable')
    h.check(all(s['kind'] == 'reachable' for s in other), 'launch: and everything else')
    for site, heur, blocks, nbytes in cases:
        h.check_eq(r['summary']['heuristics'][heur], {'bytes': nbytes, 'blocks': blocks},
                   f'launch: summary.heuristics.{heur}')
    r, _, _ = t.launch_report(['--reachability', *ALL, '--leak-check-heuristics', 'none'],
                              'reach_cpp', name='cpp-none.json')
    got, _ = records(r, sites)
    h.check_eq(got, {(c[0], 'possible'): [c[2], c[3], 0] for c in cases},
               '--leak-check-heuristics none: every case possible')
    h.check_eq(r['reachability']['heuristics'], [], 'reachability.heuristics: none')
    r, _, _ = t.launch_report(['--reachability', *ALL, '--leak-check-heuristics',
                               'stdstring'], 'reach_cpp', name='cpp-str.json')
    got, _ = records(r, sites)
    h.check_eq(got, {(c[0], 'reachable' if c[1] == 'stdstring' else 'possible'):
                     [c[2], c[3], 0] for c in cases},
               '--leak-check-heuristics stdstring: only the string reachable')


def usage_and_plain(t):
    for args in (['--show-leak-kinds', 'definite'], ['--leak-check-heuristics', 'none'],
                 ['--reachability', '--show-leak-kinds', 'lost'],
                 ['--reachability', '--errors-for-leak-kinds', 'definite,'],
                 ['--reachability', '--leak-check-heuristics', 'sqlite']):
        rc, _, err = t.run_leaktrap(*args, '-p', '1')
        h.check_eq(rc, 2, f'{" ".join(args)}: usage error')
    r, _, _ = t.launch_report([], 'reach', name='plain.json')
    h.check(r['reachability'] is None and r['summary'] is None and
            all(s['kind'] is None and s['record'] is None for s in r['stacks']),
            'without --reachability: the reachability keys are null')


def degraded(t):
    """A target that exec's (not followed): its blocks' memory is gone,
    nothing to scan.  (Followed, the old image's report says so in its
    note and the new image is scanned at the end: test_exec.py.)"""
    out = t.path('exec.json')
    p = h.Proc([t.leaktrap_path, '--reachability', '--no-follow-exec', '-f', 'json', '-o', out,
                '--',
                '/bin/sh', '-c', 'exec /bin/true'], name='leaktrap -- sh -c exec',
               stdin=subprocess.DEVNULL)
    h.check_eq(p.wait(), 0, 'exec: leaktrap exit status')
    r = h.load_report(out)
    rr = r['reachability']
    h.check(not rr['complete'] and 'exec' in (rr['note'] or '') and r['summary'] is None,
            f'exec: the report says why there is no classification: {rr["note"]!r}')
    h.check(r['stacks'] and all(s['kind'] is None for s in r['stacks']),
            'exec: the plain stacks are still listed')
    h.check(any('reachability' in ln for ln in p.err.lines), 'exec: a warning on stderr',
            p.err.text())


def body(t):
    t.require_ptrace()
    truth = reach_attach(t)
    reach_launch(t, truth)
    text_report(t, truth)
    heuristics(t)
    kinds_and_gate(t)
    usage_and_plain(t)
    degraded(t)


h.main(body, fixtures=('reach', 'reach_cpp'))
