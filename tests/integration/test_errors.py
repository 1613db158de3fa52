# SPDX-License-Identifier: MIT
"""Errors and exit codes: no such process (3), usage errors (2), a static
stripped binary (5, naming the file), permission denied (4, explaining
ptrace_scope / CAP_SYS_PTRACE), --help (0, documents the exit codes) and
--version (0)."""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h


def no_such_process(t):
    gone = h.Proc(['true'], name='true')
    gone.wait()   # reaped: its pid names no process now
    rc, _, err = t.run_leaktrap('-p', gone.pid)
    h.check_eq(rc, 3, f'exit status for -p {gone.pid} (no such process)')
    lines = [ln for ln in err.splitlines() if ln.strip()]
    h.check(len(lines) == 1 and lines[0].startswith('leaktrap: '),
            'one stderr line starting with "leaktrap: "', f'stderr:\n{err}')


def usage_errors(t):
    for args in ([], ['-p', '0'], ['-p', 'garbage'], ['-p', ''], ['-p', '-5'],
                 ['--no-such-option'], ['-f', 'yaml', '-p', str(os.getpid())]):
        rc, _, err = t.run_leaktrap(*args)
        h.check(rc == 2, f'exit status 2 for leaktrap {" ".join(args) or "(no arguments)"}',
                f'got {h.describe_status(rc)}; stderr:\n{err}')
        h.check(err.strip() != '', 'and a message on stderr')


def static_stripped(t):
    path = t.fx['app_static_stripped']
    rc, _, err = t.run_leaktrap('--', path, '--steps', '1')
    h.check_eq(rc, 5, 'exit status for a static stripped binary')
    h.check(os.path.basename(path) in err, 'the message names the file', f'stderr:\n{err}')


def permission_denied(t):
    if os.geteuid() != 0:
        h.log('skip: permission check (needs root to drop to uid 65534)')
        return
    setpriv = shutil.which('setpriv')
    if not setpriv:
        h.log('skip: permission check (setpriv is missing)')
        return
    # A copy nobody can execute whatever the build tree's permissions.
    d = t.path('nobody')
    os.mkdir(d)
    os.chmod(t.tmp, 0o755)
    os.chmod(d, 0o755)
    exe = os.path.join(d, 'leaktrap')
    shutil.copy2(t.leaktrap_path, exe)
    os.chmod(exe, 0o755)
    sleeper = h.Proc(['sleep', '60'], name='sleep')
    lt = h.Proc([setpriv, '--reuid=65534', '--regid=65534', '--clear-groups',
                 exe, '-p', sleeper.pid], name='leaktrap as nobody', stdin=subprocess.DEVNULL)
    rc = lt.wait()
    err = lt.err.text()
    sleeper.kill()
    h.check_eq(rc, 4, 'exit status as uid 65534 against a root process (permission denied)')
    h.check(re.search(r'ptrace_scope|CAP_SYS_PTRACE', err) is not None,
            'the message mentions ptrace_scope or CAP_SYS_PTRACE', f'stderr:\n{err}')


def unsupported(t):
    """Targets refused before anything is changed: leaktrap itself and a
    kernel thread (exit 7), a zombie (exit 3)."""
    me = h.Proc(['sh', '-c', 'exec "$0" -p $$', t.leaktrap_path], name='leaktrap -p itself',
                stdin=subprocess.DEVNULL)
    rc, err = me.wait(), me.err.text()
    h.check_eq(rc, 7, 'exit status for -p <leaktrap itself>')
    h.check('itself' in err, 'the message says it is leaktrap itself', f'stderr:\n{err}')
    try:
        os.readlink('/proc/2/exe')
        kthread = False
    except FileNotFoundError:
        kthread = True
    except OSError:
        kthread = False
    if kthread:
        rc, _, err = t.run_leaktrap('-p', '2')
        h.check_eq(rc, 7, 'exit status for a kernel thread (pid 2)')
        h.check('kernel thread' in err, 'the message says kernel thread', f'stderr:\n{err}')
    else:
        h.log('skip: pid 2 is not a kernel thread here')
    zombie = subprocess.Popen(['true'])
    os.waitid(os.P_PID, zombie.pid, os.WEXITED | os.WNOWAIT)   # exited, not reaped
    rc, _, err = t.run_leaktrap('-p', zombie.pid)
    zombie.wait()
    h.check_eq(rc, 3, 'exit status for a zombie')
    h.check('zombie' in err, 'the message says zombie', f'stderr:\n{err}')


def help_and_version(t):
    rc, out, err = t.run_leaktrap('--help')
    h.check_eq(rc, 0, 'exit status for --help')
    h.check(re.search(r'exit status|exit codes?', out + err, re.I) is not None,
            '--help documents the exit status', out + err)
    rc, out, err = t.run_leaktrap('--version')
    h.check_eq(rc, 0, 'exit status for --version')
    h.check(re.search(r'\d+\.\d+', out + err) is not None, '--version prints a version',
            out + err)


def body(t):
    usage_errors(t)
    help_and_version(t)
    no_such_process(t)
    unsupported(t)
    permission_denied(t)
    try:
        t.require_ptrace()
    except h.Skip as e:
        h.log(f'skip: static stripped check ({e})')
        return
    static_stripped(t)


h.main(body, fixtures=('app_static_stripped',))
