# SPDX-License-Identifier: MIT
"""The CI gate's exit-code contract, suppressions and baselines, on app
(leaks one 8192-byte table per step from fibonacci <- child) and its fixed
twin app_fixed (frees them).

- --error-exitcode N: N when leaks remain, 0 without (attach mode, where
  the truth is exact); --fail-over BYTES: 23 (LeakSanitizer's) or
  --error-exitcode's N only above BYTES, after filters.
- --suppressions: a file suppressing every leaking stack gives 0, and
  --print-suppressions credits the patterns as LSan does; a malformed file
  is exit 2 with FILE:LINE before anything is traced; --gen-suppressions
  output loads back and suppresses the stacks it was made from.
- --baseline: a stack that grew beyond an earlier report is reported, one
  that did not is not; a missing or foreign baseline is exit 2.
- docs/ci-example.sh fails on app and passes on app_fixed, and tells a
  failing test command (3) from a leak (1) and from leaktrap failing (2)."""

import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

STEPS = 4
TABLE = 8192
LEAK = STEPS * TABLE
CI_SCRIPT = os.path.join(h.SRC_ROOT, 'docs', 'ci-example.sh')
USED_RE = re.compile(r'^ *(\d+) +(\d+) (.+)$')


def attach_gate(t, which, *lt_args, want):
    """Attach to `which --steps STEPS`, let it leak, stop leaktrap with
    SIGINT: it must exit want and leave the fixture healthy."""
    app = t.fixture(which, '--steps', STEPS)
    app.ready()
    out = t.path(f'{which}-gate.json')
    lt = t.attach(app, '-f', 'json', '-o', out, *lt_args, threads=2)
    truth = app.go()
    lt.signal(signal.SIGINT)
    lt.expect_exit(want)
    app.check_detached()
    app.finish()
    return h.load_report(out), truth


def error_exitcode(t):
    r, truth = attach_gate(t, 'app', '--error-exitcode', '9', want=9)
    h.check_eq((r['leak_bytes'], r['leak_blocks']), (LEAK, STEPS), 'app: leak_bytes/blocks')
    h.check_eq(truth['leak_bytes'], LEAK, 'app: the fixture\'s truth')
    r, truth = attach_gate(t, 'app_fixed', '--error-exitcode', '9', want=0)
    h.check_eq((r['leak_blocks'], truth['live_blocks']), (0, 0), 'app_fixed: nothing leaked')


def fail_over(t):
    """Launch mode, -z 8K: the report's leak is exactly the tables (the
    gate looks at what is left after filters)."""
    cases = [
        (['--fail-over', str(LEAK - 1)], 23),
        (['--fail-over', str(LEAK)], 0),                  # "more than BYTES"
        (['--fail-over', f'{LEAK // 1024}K'], 0),
        (['--fail-over', str(LEAK - 1), '--error-exitcode', '5'], 5),
        (['--fail-over', str(LEAK), '--error-exitcode', '5'], 0),
        (['--error-exitcode', '7', '-z', '1M'], 0),     # filtered away: no leak left
    ]
    for args, want in cases:
        r, _, _ = t.launch_report(['-z', '8K', *args], 'app', '--steps', STEPS, want=want,
                                  name='fail-over.json')
        if '1M' not in args:
            h.check_eq(r['leak_bytes'], LEAK, f'{" ".join(args)}: leak_bytes after -z 8K')


def used_rows(err):
    """--print-suppressions rows: {pattern: (stacks, bytes)}."""
    lines = err.splitlines()
    h.check('Suppressions used:' in lines, '--print-suppressions printed its table', err)
    rows = {}
    for ln in lines[lines.index('Suppressions used:') + 2:]:
        m = USED_RE.match(ln)
        if not m:
            break
        rows[m.group(3)] = (int(m.group(1)), int(m.group(2)))
    return rows


def write(t, name, text):
    path = t.path(name)
    with open(path, 'w') as f:
        f.write(text)
    return path


def suppressions(t):
    base, _, _ = t.launch_report(['-T', '0'], 'app', '--steps', STEPS, name='unsuppressed.json')
    with_app_c = [s for s in base['stacks']
                  if any(os.path.basename(f['file'] or '') == 'app.c' for f in s['frames'])]
    h.check(len(with_app_c) == len(base['stacks']) >= 1,
            'every leaking stack of the launched app has a frame in app.c', h.fmt_stacks(base))
    # LSan's credit: innermost frame first; there the first pattern that
    # matches the module, else the first matching the function or file. In
    # fibonacci's frame, "app.c" (the file) comes before "fibonacci".
    supp = write(t, 'all.supp', '# every leak of app\n'
                 '  leak:no_such_function_anywhere  \n'
                 '\n'
                 'leak:app.c\n'
                 'leak:fibonacci\n')
    r, _, lt = t.launch_report(['-T', '0', '--suppressions', supp, '--print-suppressions',
                                '--error-exitcode', '9'], 'app', '--steps', STEPS, want=0,
                               name='suppressed.json')
    h.check_eq((r['stacks'], r['leak_blocks'], r['total_stacks']), ([], 0, 0),
               'every stack suppressed')
    h.check_eq(r['suppressed'], {'stacks': len(base['stacks']), 'bytes': base['leak_bytes'],
                                 'blocks': base['leak_blocks']}, 'suppressed')
    h.check_eq(used_rows(lt.err.text()), {'app.c': (len(base['stacks']), base['leak_bytes'])},
               '--print-suppressions: the credited pattern, its stacks and bytes')

    # Glob and anchors: "^fib*ci$" matches fibonacci only; the rest stays.
    supp = write(t, 'fib.supp', 'leak:^fib*ci$\n')
    r, _, lt = t.launch_report(['-T', '0', '--suppressions', supp, '--print-suppressions',
                                '--error-exitcode', '9'], 'app', '--steps', STEPS,
                               want=9 if len(base['stacks']) > 1 else 0, name='fib.json')
    h.check_eq(r['suppressed'], {'stacks': 1, 'bytes': LEAK, 'blocks': STEPS},
               'leak:^fib*ci$ suppresses the fibonacci stack')
    h.check_eq(r['leak_bytes'], base['leak_bytes'] - LEAK, 'and leaves the others')
    h.check_eq(used_rows(lt.err.text()), {'^fib*ci$': (1, LEAK)}, '--print-suppressions')

    # Nothing matches: "none".
    supp = write(t, 'none.supp', 'leak:^ibonacci\n')
    r, _, lt = t.launch_report(['--suppressions', supp, '--print-suppressions'], 'app',
                               '--steps', STEPS, name='none.json')
    h.check('Suppressions used: none' in lt.err.lines, 'a pattern anchored wrong matches '
            'nothing: "Suppressions used: none"', lt.err.text())
    h.check_eq(r['suppressed']['stacks'], 0, 'nothing suppressed')


def gen_suppressions(t):
    r, _, lt = t.launch_report(['-T', '0', '--gen-suppressions', '--error-exitcode', '9'],
                               'app', '--steps', STEPS, want=9, name='gen.json')
    gen = [ln for ln in lt.err.lines if not ln.startswith('leaktrap: ')]
    text = '\n'.join(gen) + '\n'
    h.check(f'# {LEAK} bytes in {STEPS} allocations' in gen and 'leak:fibonacci' in gen,
            '--gen-suppressions: "# N bytes in M allocations" and "leak:fibonacci"', text)
    h.check_eq(sum(1 for ln in gen if ln.startswith('leak:')), len(r['stacks']),
               '--gen-suppressions: one leak: line per reported stack')
    supp = write(t, 'generated.supp', text)
    r2, _, _ = t.launch_report(['-T', '0', '--suppressions', supp, '--error-exitcode', '9'],
                               'app', '--steps', STEPS, want=0, name='gen-back.json')
    h.check_eq((r2['leak_blocks'], r2['suppressed']['stacks']), (0, len(r['stacks'])),
               'the generated suppressions, fed back, suppress every stack')


def malformed(t):
    cases = [
        ('bad-type.supp', 'leak:ok\n# fine\ninterceptor_via_fun:foo\n', 3,
         "unsupported suppression type 'interceptor_via_fun'"),
        ('no-colon.supp', '\n\nleak fibonacci\n', 3, "malformed line: expected 'leak:PATTERN'"),
        ('empty.supp', 'leak:x\nleak:   \n', 2, "empty pattern after 'leak:'"),
    ]
    for name, text, line, what in cases:
        path = write(t, name, text)
        rc, lt = t.run_launch(['--suppressions', path, '--error-exitcode', '9'],
                              'app', '--steps', STEPS)
        h.check_eq(rc, 2, f'{name}: exit status')
        h.check(len(lt.err.lines) == 1 and
                lt.err.lines[0].startswith(f'leaktrap: {path}:{line}: {what}'),
                f'{name}: one message "{name}:{line}: {what}..."', lt.err.text())
        h.check_eq(lt.out.lines, [], f'{name}: the command never ran')

    # Attach mode: the target is not touched at all.
    path = t.path('no-colon.supp')
    app = t.fixture('app', '--steps', STEPS)
    app.ready()
    maps = app.maps()
    good = write(t, 'good.supp', 'leak:fibonacci\n')
    rc, _, err = t.run_leaktrap('-p', app.pid, '--suppressions', good, '--suppressions', path)
    h.check_eq(rc, 2, 'attach with a malformed second suppressions file: exit status')
    h.check(re.search(rf'^leaktrap: {re.escape(path)}:3: ', err, re.M) is not None
            and 'attached' not in err, 'the FILE:LINE message, and no attach', err)
    app.check_detached()
    h.check(app.maps() == maps, 'the target\'s maps are unchanged')
    truth = app.go()
    h.check_eq(truth['leak_bytes'], LEAK, 'the target runs on normally')
    app.finish()

    rc, _, err = t.run_leaktrap('--suppressions', t.path('missing.supp'), '-p', '1')
    h.check(rc == 2 and 'cannot read suppressions file' in err,
            'a missing suppressions file: exit 2 and why', err)


def baseline(t):
    small, _, _ = t.launch_report(['-T', '0'], 'app', '--steps', STEPS - 2, name='base-small.json')
    big, _, _ = t.launch_report(['-T', '0'], 'app', '--steps', STEPS + 4, name='base-big.json')
    r, _, _ = t.launch_report(['-T', '0', '--baseline', t.path('base-small.json'),
                               '--error-exitcode', '9'], 'app', '--steps', STEPS, want=9,
                              name='grew.json')
    h.check_eq([h.funcs(s)[:2] for s in r['stacks']], [['fibonacci', 'child']],
               'against a smaller run: only the stack that grew is reported')
    h.check_eq(r['stacks'][0]['bytes'], LEAK, 'with its full live bytes, not the growth')
    h.check_eq(r['leak_bytes'], LEAK, 'leak_bytes after the baseline')
    r, _, _ = t.launch_report(['-T', '0', '--baseline', t.path('base-big.json'),
                               '--error-exitcode', '9'], 'app', '--steps', STEPS, want=0,
                              name='shrank.json')
    h.check_eq((r['stacks'], r['leak_blocks']), ([], 0),
               'against a bigger run: nothing grew, nothing reported')
    h.check(r['totals']['live_bytes'] > 0, 'the totals still count the blocks')

    rc, _, err = t.run_leaktrap('--baseline', t.path('missing.json'), '-p', '1')
    h.check(rc == 2 and 'cannot read the baseline' in err, 'a missing baseline: exit 2', err)
    bad = write(t, 'not-a-report.json', '{"stacks": []}\n')
    rc, _, err = t.run_leaktrap('--baseline', bad, '-p', '1')
    h.check(rc == 2 and 'not a leaktrap JSON report' in err, 'a foreign JSON: exit 2', err)
    bad = write(t, 'text.json', 'leaktrap: pid 1\n')
    rc, _, err = t.run_leaktrap('--baseline', bad, '-p', '1')
    h.check(rc == 2 and 'not JSON' in err, 'a text report as baseline: exit 2', err)


def ci_example(t):
    def run(which):
        p = h.Proc(['sh', CI_SCRIPT, '-o', t.path(f'ci-{which}'), t.fx[which],
                    '--steps', STEPS], name=f'ci-example.sh {which}',
                   env={'LEAKTRAP': t.leaktrap_path})
        p.send('go')        # read by the fixture once it runs traced
        p.send('exit')
        p.close_stdin()
        return p.wait(h.WORK_TIMEOUT), p
    rc, p = run('app')
    h.check_eq(rc, 1, 'docs/ci-example.sh on app (a leak): exit status')
    out = p.out.text()
    h.check('leaked memory' in out and re.search(r'^    fibonacci\+0x', out, re.M),
            'it prints the report with the fibonacci stack', p.describe())
    h.check('leak:fibonacci' in p.err.lines, 'and the suppression to paste', p.describe())
    rc, p = run('app_fixed')
    h.check_eq(rc, 0, 'docs/ci-example.sh on app_fixed (no leak): exit status')
    h.check('ci: no new leaks' in p.out.text(), 'it says so', p.describe())
    p = h.Proc(['sh', CI_SCRIPT, '-o', t.path('ci-none'), t.path('no-such-program')],
               name='ci-example.sh (no program)', env={'LEAKTRAP': t.leaktrap_path},
               stdin=subprocess.DEVNULL)
    h.check_eq(p.wait(), 2, 'docs/ci-example.sh when leaktrap fails: exit status')
    p = h.Proc(['sh', CI_SCRIPT, '-o', t.path('ci-false'), 'false'],
               name='ci-example.sh false', env={'LEAKTRAP': t.leaktrap_path},
               stdin=subprocess.DEVNULL)
    h.check_eq(p.wait(), 3, 'docs/ci-example.sh when the test command fails: exit status')
    h.check('ci: false failed' in p.out.text(), 'it says the command failed', p.describe())


def body(t):
    t.require_ptrace()
    error_exitcode(t)
    fail_over(t)
    suppressions(t)
    gen_suppressions(t)
    malformed(t)
    baseline(t)
    ci_example(t)


h.main(body, fixtures=('app', 'app_fixed'))
