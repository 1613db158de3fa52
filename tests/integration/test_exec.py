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


h.main(body, fixtures=('life',))
