# SPDX-License-Identifier: MIT
"""--follow-forks (life --mode forks): the target leaks one block, forks
three children one after the other (child i leaks i blocks of 100*i bytes
and frees i more), and posix_spawn()s /bin/true (a vfork child: followed
once it has exec'd, its new image armed), then leaks one more block (still
traced after the spawn). With --follow-forks every fork child is traced as its own
process: the JSON output holds one report per process, the parent's first
(as without the option), then each child's (in the order their tracing
ended) with its pid, "parent_pid" and exact totals. Every child must exit 0 and the parent must
be healthy after the detach. The same in launch mode.

A forking server (lifecycle --mode fork-loop: fork, the child exits, wait,
as fast as it can): leaktrap --follow-forks -d 0.5 attaches several times
in a row; each run exits 0 and reports the server and its children (each
child report has the server as parent_pid), no child fails, and the server
ends healthy.

A child's tracer that fails (exit status 1; forced here with
LEAKTRAP_DEBUG_FAIL=subtracer, after it wrote its report) makes the whole
run exit 1 with a traced child's pid on stderr; the reports are still all
written."""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h


def reports(path):
    with open(path) as f:
        return h.parse_reports(f.read())


def check(rs, truth, parent_pid, parent_end):
    kids = truth['children']
    h.check_eq(len(rs), 2 + len(kids),
               'reports (the parent first, then each fork child and the spawned /bin/true)')
    parent = rs[0]
    h.check_eq(parent['pid'], parent_pid, 'first report: the parent')
    h.check_eq(parent['parent_pid'], None, 'the parent report\'s parent_pid')
    h.check_eq(parent['end_reason'], parent_end, 'parent end_reason')
    h.check_leak_stacks(parent, ('leak_parent', 'mode_forks'), 2, 20, source='life.c')
    h.check_no_stack_with(parent, ('leak_child', 'child_work'))
    by_pid = {r['pid']: r for r in rs[1:]}
    h.check_eq(sorted(by_pid), sorted([k['pid'] for k in kids] + [truth['spawn_pid']]),
               'child report pids (in the order their tracing ended)')
    for i, kid in enumerate(kids, 1):
        what = f'fork child {i}'
        r = by_pid[kid['pid']]
        h.check_eq(r['parent_pid'], parent_pid, f'{what}: parent_pid')
        h.check_eq(r['end_reason'], 'target-exit', f'{what}: end_reason')
        h.check_totals(r, dict(kid, frees_unknown=0))
        h.check_all_stacks(r)
        h.check_leak_stacks(r, ('leak_child', 'child_work'), i, 100 * i * i, source='life.c')
    r = by_pid[truth['spawn_pid']]
    h.check_eq((r['parent_pid'], r['command'], r['end_reason']),
               (parent_pid, 'true', 'target-exit'),
               'the spawned /bin/true: (parent_pid, command, end_reason)')
    h.check(r['functions'] > 0, f'the spawned /bin/true was armed ({r["functions"]} functions)')


def attach(t):
    fx = t.fixture('life', '--mode', 'forks', name='life forks')
    fx.ready()
    out = t.path('forks.json')
    lt = t.attach(fx, '--follow-forks', '-f', 'json', '-o', out, '-T', '0', threads=1)
    truth = fx.go()
    t.stop(lt, fx)
    lt.attached_once()
    follows = [ln for ln in lt.err.lines if re.match(r'^leaktrap: following fork child', ln)]
    h.check_eq(len(follows), 3, 'fork children followed')
    spawned = [ln for ln in lt.err.lines if re.match(r'^leaktrap: following spawned child', ln)]
    h.check_eq(len(spawned), 1, 'spawned children followed')
    rs = reports(out)
    check(rs, truth, fx.pid, 'interrupt')
    h.check_totals(rs[0], truth)
    fx.finish()


def launch(t):
    out = t.path('forks-launch.json')
    rc, lt = t.run_launch(['--follow-forks', '-f', 'json', '-o', out, '-T', '0'],
                          'life', '--mode', 'forks')
    if rc != 0:
        raise h.Failure(f'{lt.name} exited {h.describe_status(rc)}, want 0\n{lt.describe()}')
    m = next(re.match(r'^done (\{.*\})$', ln) for ln in lt.out.lines if ln.startswith('done '))
    truth = json.loads(m.group(1))
    pid = int(h.ATTACHED_RE.match(next(ln for ln in lt.err.lines
                                       if h.ATTACHED_RE.match(ln))).group(1))
    check(reports(out), truth, pid, 'target-exit')


def child_tracer_fails(t):
    out = t.path('forks-fail.json')
    os.environ['LEAKTRAP_DEBUG_FAIL'] = 'subtracer'
    try:
        rc, lt = t.run_launch(['--follow-forks', '-f', 'json', '-o', out, '-T', '0'],
                              'life', '--mode', 'forks')
    finally:
        del os.environ['LEAKTRAP_DEBUG_FAIL']
    h.check_eq(rc, 1, 'a child\'s tracer failed: exit status')
    rs = reports(out)
    kids = {r['pid'] for r in rs[1:]}
    m = next((re.match(r'^leaktrap: the tracing of fork child (\d+) failed', ln)
              for ln in lt.err.lines if 'the tracing of fork child' in ln), None)
    h.check(m is not None and int(m.group(1)) in kids,
            'stderr names a traced child whose tracer failed', lt.err.text())
    h.check_eq(len(rs), 5, 'reports: the parent and its four children, all written')


SERVER_CYCLES = 3


def server(t):
    fx = t.fixture('lifecycle', '--mode', 'fork-loop', name='lifecycle fork-loop')
    fx.ready()
    fx.send('go')
    fx.expect_out('running')
    for i in range(SERVER_CYCLES):
        out = t.path(f'server-{i}.json')
        rc, _, err = t.run_leaktrap('--follow-forks', '-d', '0.5', '-f', 'json', '-o', out,
                                    '-p', fx.pid, timeout=60)
        if rc != 0 or re.search(r'lost|does not stop|never came', err):
            raise h.Failure(f'server cycle {i + 1}: leaktrap exited {h.describe_status(rc)}\n'
                            f'{err[-3000:]}\n{fx.describe()}')
        rs = reports(out)
        h.check_eq(rs[0]['pid'], fx.pid, f'server cycle {i + 1}: first report')
        kids = rs[1:]
        bad = [r for r in kids if r['parent_pid'] != fx.pid
               or r['end_reason'] not in ('target-exit', 'interrupt')]
        h.check(kids and not bad, f'server cycle {i + 1}: {len(kids)} fork children '
                f'reported, each with the server as parent_pid')
        fx.check_detached()
    fx.finish()
    done = next(ln for ln in fx.out.lines if ln.startswith('done '))
    stats = json.loads(done[5:])
    h.check_eq(stats['failures'], 0, 'fork-loop failures (a child that did not exit 0)')


def body(t):
    t.require_ptrace()
    attach(t)
    launch(t)
    child_tracer_fails(t)
    server(t)


h.main(body, fixtures=('life', 'lifecycle'))
