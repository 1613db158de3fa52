# SPDX-License-Identifier: MIT
"""exec while traced (life --mode exec, attach mode). The target leaks
three blocks and execs itself; leaktrap reports the old image's live
blocks as the old image's (a report with end_reason "exec"), re-resolves
and re-arms the allocator in the new image, which leaks two more blocks:
the output holds one report per image, each exact. The new image must be
healthy (code restored) after the detach.

exec-mt: the same exec made by a thread other than the main one, with a
third thread alive (it allocated and freed meanwhile): the exec'ing
thread takes over the process ID, the others vanish, and the new image is
armed through it.

Every report written counts, not only the last image's:
--print-suppressions credits the patterns matched in the old image,
--gen-suppressions writes patterns for the old image's stacks too (once
each), and the file of both reports is a valid --baseline (every report's
stacks count).

With --reachability the old image's report says why it has no
classification (its memory is gone) and the CI gate leaves it out: only
the new image, scanned at the end, is judged by --errors-for-leak-kinds.

With --no-follow-exec the session ends at the exec with a message: one
report, the old image's, and the new image runs untraced."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h


def reports(path):
    with open(path) as f:
        return h.parse_reports(f.read())


def follow(t, mode='exec', threads=1):
    fx = t.fixture('life', '--mode', mode, name=f'life {mode}')
    fx.ready()
    out = t.path(f'{mode}.json')
    lt = t.attach(fx, '-f', 'json', '-o', out, '-T', '0', threads=threads)
    fx.send('go')
    m = fx.expect_out(r'^old-done (\{.*\})$')
    old_truth = h.json.loads(m.group(1))
    fx.expect_out('ready')          # the new image, traced from its entry
    lt.expect_err(r'^leaktrap: pid \d+ called execve: tracing the new program')
    new_truth = fx.go()
    t.stop(lt, fx)
    rs = reports(out)
    h.check_eq(len(rs), 2, 'reports (the old image, then the new one)')
    old, new = rs
    h.check_eq((old['pid'], new['pid']), (fx.pid, fx.pid), 'report pids')
    h.check_eq(old['end_reason'], 'exec', 'old image end_reason')
    h.check_totals(old, old_truth)
    h.check_all_stacks(old)
    h.check_leak_stacks(old, ('leak_old', 'mode_exec'), 3, 300, source='life.c')
    h.check_eq((old['threads'], new['threads']), (threads, 1), 'threads (old image, new)')
    h.check_eq(new['end_reason'], 'interrupt', 'new image end_reason')
    h.check_leak_stacks(new, ('leak_new', 'mode_exec_new'), 2, 400, source='life.c')
    h.check_no_stack_with(new, ('leak_old', 'mode_exec'))
    h.check_fixture_frames(new, 'life', ('main', '_start'),
                           allowed=h.stacks_from(new, 'leak_new'))
    fx.finish()


USED_RE = re.compile(r'^ *(\d+) +(\d+) (.+)$')


def run_exec(t, name, *args):
    """life --mode exec, attached with args; (reports, leaktrap)."""
    fx = t.fixture('life', '--mode', 'exec', name=f'life exec ({name})')
    fx.ready()
    out = t.path(f'{name}.json')
    lt = t.attach(fx, '-f', 'json', '-o', out, '-T', '0', *args, threads=1)
    fx.send('go')
    fx.expect_out(r'^old-done (\{.*\})$')
    fx.expect_out('ready')
    lt.expect_err(r'^leaktrap: pid \d+ called execve: tracing the new program')
    fx.go()
    t.stop(lt, fx)
    fx.finish()
    rs = reports(out)
    h.check_eq(len(rs), 2, f'{name}: reports (the old image, then the new one)')
    return rs, lt


def every_report_counts(t):
    supp = t.path('old-new.supp')
    with open(supp, 'w') as f:
        f.write('leak:leak_old\nleak:leak_new\nleak:no_such_function\n')
    rs, lt = run_exec(t, 'print-supp', '--suppressions', supp, '--print-suppressions')
    h.check_eq([r['suppressed']['bytes'] for r in rs], [300, 400],
               'suppressed bytes (old image, new)')
    lines = lt.err.lines
    h.check('Suppressions used:' in lines, '--print-suppressions printed its table',
            lt.err.text())
    rows = {}
    for ln in lines[lines.index('Suppressions used:') + 2:]:
        m = USED_RE.match(ln)
        if not m:
            break
        rows[m.group(3)] = (int(m.group(1)), int(m.group(2)))
    h.check_eq(rs[0]['suppressed']['stacks'], 1, 'the old image: one stack suppressed')
    h.check_eq(rows, {'leak_old': (1, 300), 'leak_new': (rs[1]['suppressed']['stacks'], 400)},
               '--print-suppressions: the old image\'s match is credited too')

    rs, lt = run_exec(t, 'gen-supp', '--gen-suppressions')
    leak_lines = [ln for ln in lt.err.lines if ln.startswith('leak:')]
    for fn in ('leak_old', 'leak_new'):
        h.check_eq(leak_lines.count(f'leak:{fn}'), 1,
                   f'--gen-suppressions: one leak:{fn} (old image and new)')
    h.check_eq(len(leak_lines), len(set(leak_lines)), '--gen-suppressions: no pattern twice')
    h.check('# 300 bytes in 3 allocations' in lt.err.lines, 'the old image\'s stack and size',
            lt.err.text())

    # the file of both reports as a baseline: nothing grew
    rs, _ = run_exec(t, 'baseline', '--baseline', t.path('gen-supp.json'))
    for r in rs:
        h.check_no_stack_with(r, ('leak_old', 'mode_exec'))
        h.check_no_stack_with(r, ('leak_new', 'mode_exec_new'))


def reachability(t):
    # errors for no kind: only an unclassified report could fail the gate
    rs, lt = run_exec(t, 'reach', '--reachability', '--errors-for-leak-kinds', 'none',
                      '--error-exitcode', '9')
    old, new = rs
    rr = old['reachability']
    h.check(rr is not None and not rr['complete'] and 'exec' in (rr['note'] or '')
            and old['summary'] is None,
            f'the old image\'s report says why it is not classified: {rr!r}')
    h.check(old['stacks'] and all(s['kind'] is None for s in old['stacks']),
            'the old image\'s plain stacks are listed')
    h.check_leak_stacks(old, ('leak_old', 'mode_exec'), 3, 300, source='life.c')
    h.check(new['reachability']['complete'] and new['summary'] is not None,
            'the new image is scanned at the end')
    h.check_eq(new['reachability']['error_blocks'], 0, 'new image: no error kinds')


def no_follow(t):
    fx = t.fixture('life', '--mode', 'exec', name='life exec (no follow)')
    fx.ready()
    out = t.path('noexec.json')
    lt = t.attach(fx, '--no-follow-exec', '-f', 'json', '-o', out, '-T', '0', threads=1)
    fx.send('go')
    m = fx.expect_out(r'^old-done (\{.*\})$')
    old_truth = h.json.loads(m.group(1))
    fx.expect_out('ready')
    lt.expect_exit(0)
    h.check(any(re.search(r'exec.*--no-follow-exec', ln) for ln in lt.err.lines),
            'leaktrap says why it detached at the exec')
    rs = reports(out)
    h.check_eq(len(rs), 1, 'reports with --no-follow-exec')
    h.check_eq(rs[0]['end_reason'], 'exec', 'end_reason')
    h.check_totals(rs[0], old_truth)
    h.check_leak_stacks(rs[0], ('leak_old', 'mode_exec'), 3, 300, source='life.c')
    fx.check_detached()
    fx.go()
    fx.finish()


def body(t):
    t.require_ptrace()
    follow(t)
    follow(t, 'exec-mt', threads=3)
    no_follow(t)
    every_report_counts(t)
    reachability(t)


h.main(body, fixtures=('life',))
