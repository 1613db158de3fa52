# SPDX-License-Identifier: MIT
"""Process-wide life-cycle events (life fixture).

storm: threads created and joined at a high rate, a thread cancelled, a
thread that dies (SYS_exit from a SIGSEGV handler) while inside realloc,
four threads allocating without pause; leaktrap attaches and detaches
several times while it runs (each exits 0, the target runs on untraced),
then stays attached while a worker calls exit(0) as the others allocate:
the target must exit 0 (no stray SIGTRAP), leaktrap must notice on its own,
write its report (end_reason target-exit) and exit 0.

exit-mid: the process calls exit() while another thread is inside a
realloc (parked in its SIGSEGV handler): leaktrap ends on its own, exit 0,
and the realloc that never completed leaves its block live (allocs 1,
live 1 / 200000 bytes, exactly: live_blocks == allocs - frees).

exit status: `leaktrap -- life --mode exit-status N` with a program that
exits 3, or dies of SIGABRT: leaktrap still writes the report (exact) and
exits 8, saying how the program ended; a program exiting 0 gives 0."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

CYCLES = 4


def storm(t):
    fx = t.fixture('life', '--mode', 'storm', name='life storm')
    fx.ready()
    fx.send('go')
    fx.expect_out('storming')
    for i in range(CYCLES):
        rc, _, err = t.run_leaktrap('-d', '0.3', '-o', t.path('cycle.txt'), '-p', fx.pid)
        if rc != 0 or re.search(r'does not stop|never came', err):
            raise h.Failure(f'storm cycle {i + 1}: leaktrap exited {h.describe_status(rc)}'
                            f'\n{err}\n{fx.describe()}')
        fx.check_detached()
    h.log(f'ok: {CYCLES} attach/detach cycles during the storm')
    out = t.path('storm.json')
    lt = t.attach(fx, '-f', 'json', '-o', out)
    time.sleep(0.5)             # the storm, traced
    fx.send('exit')
    fx.expect_out('exiting')
    fx.expect_exit(0)
    lt.expect_exit(0)
    h.check(not re.search(r'does not stop|never came|error', lt.err.text()),
            'leaktrap reported no stuck thread and no error', lt.describe())
    r = h.load_report(out)
    h.check_eq(r['end_reason'], 'target-exit', 'end_reason')


def exit_mid(t):
    fx = t.fixture('life', '--mode', 'exit-mid', name='life exit-mid')
    fx.ready()
    out = t.path('exit-mid.json')
    lt = t.attach(fx, '-f', 'json', '-o', out, '-T', '0', threads=2)
    truth = fx.go()
    fx.send('exit')
    fx.expect_exit(0)
    lt.expect_exit(0)
    r = h.load_report(out)
    h.check_eq(r['end_reason'], 'target-exit', 'end_reason')
    h.check_totals(r, truth)
    h.check_leak_stacks(r, ('alloc_big', 'mode_exit_mid'), 1, 200000, source='life.c')


def exit_status(t):
    for arg, want_msg in (('3', r'exited with status 3'),
                          ('256', r'killed by signal SIGABRT|killed by SIGABRT')):
        r, truth, lt = t.launch_report(['-T', '0'], 'life', '--mode', 'exit-status', arg,
                                       want=8, name=f'exit-{arg}.json')
        h.check(any(re.search(want_msg, ln) for ln in lt.err.lines),
                f'leaktrap says the program {want_msg}', lt.describe())
        h.check_eq(r['end_reason'], 'target-exit', 'end_reason')
        h.check_leak_stacks(r, ('leak_here', 'main'), 1, 64, source='life.c')
    # --reachability ends the session at the exit event, before the status
    # is reaped: the status comes from the event
    for arg in ('3', '256'):
        r, truth, lt = t.launch_report(['-T', '0', '--reachability'], 'life', '--mode',
                                       'exit-status', arg, want=8,
                                       name=f'exit-reach-{arg}.json')
        h.check(r['reachability']['complete'], f'exit {arg}: the scan ran')
    r, truth, lt = t.launch_report(['-T', '0'], 'life', '--mode', 'exit-status', '0',
                                   want=0, name='exit-0.json')
    h.check_leak_stacks(r, ('leak_here', 'main'), 1, 64, source='life.c')


def body(t):
    t.require_ptrace()
    storm(t)
    exit_mid(t)
    exit_status(t)


h.main(body, fixtures=('life',))
