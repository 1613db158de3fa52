# SPDX-License-Identifier: MIT
"""A target in a container, traced from the host without copying anything
out: `app --steps N` and the libc it runs on live only inside a private
mount namespace (a tmpfs mounted over a fresh directory, invisible from
the host), or only inside a chroot. leaktrap attaches by PID from outside
and must find the allocator in the container's libc and name fibonacci
and child with app.c:line. Each case runs twice: with /proc/PID/map_files
and without it (capabilities dropped), when files are found through
/proc/PID/root. Skipped (77) when the kernel refuses unshare or chroot.

Then a hostile container (issue 7), leaktrap as root: after the target
started, its chroot replaces the files it maps with symlinks out of the
root (an absolute one to the host's copy of app, a relative one climbing
out with ".." to the host's copy of libc), plants such links where
leaktrap looks for separate debug information, and a FIFO where libc's
debug file would be. Without map_files,
leaktrap must open files only inside the root: app's frames stay
unnamed, and without the container's libc there is no allocator (exit
5, the target untouched). Under strace, leaktrap executes nothing after
its own execve and opens for writing only the report (-o, through a
temporary file it renames) and the target's /proc/PID/mem."""

import os
import re
import shutil
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h
import objects as o


def namespace_case(t, no_map_files):
    tag = 'nomf' if no_map_files else 'mf'
    ns = t.path('ns-' + tag)
    os.mkdir(ns)
    libc = next(lib for lib in o.libraries(t.fx['app']) if '/libc.so' in lib)
    setup = (f'mkdir "{ns}/lib"\ncp "{t.fx["app"]}" "{ns}/app"\n'
             f'cp "{os.path.realpath(libc)}" "{ns}/lib/libc.so.6"')
    fx = o.in_namespace(ns, setup, ['env', f'LD_LIBRARY_PATH={ns}/lib', f'{ns}/app',
                                    '--steps', o.STEPS], 'app in a mount namespace')
    fx.ready()
    maps = fx.maps()
    h.check(f'{ns}/app' in maps and f'{ns}/lib/libc.so.6' in maps,
            'the target runs app and libc from the namespace', maps)
    h.check(not os.path.exists(f'{ns}/app') and not os.path.exists(f'{ns}/lib'),
            f'{ns}/app does not exist on the host')
    r, _, err = o.trace_seed(t, fx, t.path(f'ns-{tag}.json'), no_map_files=no_map_files)
    o.check_named(r, module=f'{ns}/app')
    source = 'root' if no_map_files else 'map_files'
    for path in (f'{ns}/app', f'{ns}/lib/libc.so.6'):
        line = o.debug_line(err, path)
        h.check(line.endswith('file from ' + source), f'{path} was opened through {source}',
                line)
    probes = [ln for ln in err if ln.startswith('leaktrap: debug: probe malloc at ')]
    h.check(len(probes) == 1 and probes[0].split(' in ')[1].startswith(f'{ns}/lib/libc.so.6:'),
            "malloc is probed in the container's libc", '\n'.join(probes))
    fx.finish()


def chroot_case(t, no_map_files):
    tag = 'nomf' if no_map_files else 'mf'
    root = t.path('chroot-' + tag)
    inside = f'/srv/leaktrap-{tag}-{os.getpid()}/app'
    o.make_chroot(root, t.fx['app'], inside)
    h.check(not os.path.exists(inside), f'{inside} does not exist on the host')
    # /proc/PID/maps shows leaktrap's view: the chroot directory, then the
    # path inside; without map_files the file is opened by the latter.
    fx = h.Fixture([o.tool('chroot'), root, inside, '--steps', o.STEPS], name='app in a chroot')
    fx.ready()
    r, _, err = o.trace_seed(t, fx, t.path(f'chroot-{tag}.json'), no_map_files=no_map_files)
    o.check_named(r, module=root + inside)
    line = o.debug_line(err, root + inside)
    source = 'root' if no_map_files else 'map_files'
    h.check(line.endswith('file from ' + source), f'{inside} was opened through {source}',
            line)
    fx.finish()


# What strace shows of everything that could execute, create or change a file.
STRACE_CALLS = ('execve,execveat,fork,vfork,open,openat,openat2,creat,rename,renameat,'
                'renameat2,link,linkat,symlink,symlinkat,unlink,unlinkat,mkdir,mkdirat,'
                'rmdir,truncate,chmod,fchmodat,chown,fchownat,lchown,mknod,mknodat,utimensat')
WRITE_FLAGS = ('O_WRONLY', 'O_RDWR', 'O_CREAT', 'O_TRUNC', 'O_APPEND')


def escape_to(root, link, target):
    """A relative symlink at root+link that climbs out of root with '..'
    and lands on the host path target."""
    os.makedirs(os.path.dirname(root + link), exist_ok=True)
    depth = link.count('/') - 1 + root.count('/')
    os.symlink('../' * (depth + 4) + target.lstrip('/'), root + link)


def check_strace(log_path, out, pid):
    """leaktrap's only execve is its own; it opened for writing only the
    report's temporary file (renamed onto out) and /proc/PID/mem; it
    created, renamed or removed nothing else."""
    with open(log_path) as f:
        calls = [re.sub(r'^\d+\s+', '', ln) for ln in f.read().splitlines()]
    execs = [c for c in calls if re.match(r'(execve|execveat|fork|vfork)\(', c)]
    h.check(len(execs) == 1 and execs[0].startswith('execve("'),
            'leaktrap executed nothing after its own execve', '\n'.join(execs))
    out_dir = os.path.dirname(out)
    temp = re.escape(out_dir) + r'/\.leaktrap-\w+'
    allowed_open = re.compile(rf'^open(at)?\((AT_FDCWD, )?"({temp}|/proc/{pid}/mem)"')
    for c in calls:
        m = re.match(r'^(open|openat|openat2|creat)\(', c)
        if m and (m.group(1) == 'creat' or any(fl in c for fl in WRITE_FLAGS)):
            h.check(allowed_open.match(c), f'a write open is the report or the target memory: {c}')
        elif re.match(r'^(rename|renameat|renameat2)\(', c):
            h.check(re.match(rf'^rename(at2?)?\(.*"{temp}", .*"{re.escape(out)}"', c),
                    f'the only rename puts the report in place: {c}')
        elif re.match(r'^(link|linkat|symlink|symlinkat|unlink|unlinkat|mkdir|mkdirat|rmdir|'
                      r'truncate|chmod|fchmodat|chown|fchownat|lchown|mknod|mknodat|'
                      r'utimensat)\(', c):
            h.check(re.match(rf'^unlink(at)?\(.*"{temp}"', c) is not None,
                    f'leaktrap changed no file but its own temporary one: {c}')
    log_opens = sum(1 for c in calls if c.startswith(('open', 'creat')))
    h.check(log_opens > 0, f'strace saw leaktrap open files ({log_opens})')


def hostile_case(t):
    """The chroot turns against leaktrap after the target started."""
    root = t.path('chroot-hostile')
    host = t.path('host-only')          # outside the root: must stay unread
    os.mkdir(host)
    inside = f'/srv/leaktrap-hostile-{os.getpid()}/app'
    o.make_chroot(root, t.fx['app'], inside)
    libc = next(lib for lib in o.libraries(t.fx['app']) if '/libc.so' in lib)
    shutil.copy2(t.fx['app'], host + '/app')
    shutil.copy2(os.path.realpath(libc), host + '/libc.so.6')

    # 1. app replaced by an absolute symlink to the host's copy
    fx = h.Fixture([o.tool('chroot'), root, inside, '--steps', o.STEPS], name='app in a '
                   'hostile chroot')
    fx.ready()
    os.unlink(root + inside)
    os.symlink(host + '/app', root + inside)
    bid = o.build_id(t.fx['app'])
    escape_to(root, o.build_id_path('/usr/lib/debug', bid), host + '/app')
    # and a FIFO where libc's separate debug file would be: opening it for
    # reading would block leaktrap for ever
    fifo = root + o.build_id_path('/usr/lib/debug', o.build_id(os.path.realpath(libc)))
    os.makedirs(os.path.dirname(fifo), exist_ok=True)
    os.mkfifo(fifo)
    h.check(os.path.exists(root + inside) and not os.path.exists(root + host + '/app'),
            'the link resolves on the host but not inside the root')
    out = t.path('hostile.json')
    log_path = t.path('strace.log')
    argv = [*o.NO_MAP_FILES, o.tool('strace'), '-f', '-qq', '-e', 'signal=none', '-e',
            'trace=' + STRACE_CALLS, '-o', log_path, t.leaktrap_path, '-v', '-f', 'json',
            '-o', out, '-T', '0', '-p', fx.pid]
    # LeakSanitizer cannot run under ptrace (the ASan build): the other
    # runs check for leaks
    asan = os.environ.get('ASAN_OPTIONS', '')
    lt = h.Leaktrap(argv, name='leaktrap under strace (no map_files)',
                    env={'ASAN_OPTIONS': (asan + ':' if asan else '') + 'detect_leaks=0'})
    lt.attached(pid=fx.pid)
    truth = fx.go()
    # SIGINT to leaktrap itself: strace would only detach from it
    with open(f'/proc/{lt.pid}/task/{lt.pid}/children') as f:
        traced = [int(p) for p in f.read().split()]
    h.check(len(traced) == 1, f'strace runs one process, leaktrap ({traced})')
    os.kill(traced[0], signal.SIGINT)
    lt.expect_exit(0)
    fx.check_detached()
    r = h.load_report(out)
    h.check_totals(r, truth)
    line = o.debug_line(lt.err.lines, root + inside)
    h.check(', no file: ' in line, 'the replaced app was not opened through the link', line)
    found = [s for s in r['stacks'] if s['blocks'] == o.STEPS and
             s['frames'][0].get('module') == root + inside]
    h.check(found and found[0]['frames'][0].get('function') is None,
            "the leak's frames in app stay unnamed (no file to read them from)",
            h.fmt_stacks(r))
    h.check_no_stack_with(r, ('fibonacci', 'child'))
    check_strace(log_path, out, fx.pid)
    with open(log_path) as f:     # in the root: openat2 (RESOLVE_IN_ROOT)
        lines = f.read().splitlines(True)
    looked = [ln for ln in lines if 'openat2(' in ln and f'"{fifo[len(root):]}"' in ln]
    if not any('openat2(' in ln for ln in lines):
        h.log('no openat2 on this kernel: the walk resolved paths (the FIFO did not block)')
    else:
        h.check(looked and all('O_PATH' in ln for ln in looked),
                "leaktrap looked for libc's debug file in the root, and met the FIFO "
                'there only through O_PATH (never blocking on it)', ''.join(looked))
    fx.finish()

    # 2. libc replaced by a relative symlink climbing out of the root
    os.unlink(root + inside)
    shutil.copy2(t.fx['app'], root + inside)
    fx = h.Fixture([o.tool('chroot'), root, inside, '--steps', o.STEPS],
                   name='app in a hostile chroot')
    fx.ready()
    os.unlink(root + libc)             # make_chroot put it at ldd's path
    escape_to(root, libc, host + '/libc.so.6')
    lt = h.Leaktrap([*o.NO_MAP_FILES, t.leaktrap_path, '-v', '-p', fx.pid, '-o',
                     t.path('libc.txt')], name='leaktrap (no map_files), libc out of reach')
    lt.expect_exit(5)
    fx.check_detached()
    line = o.debug_line(lt.err.lines, root + libc)
    h.check(', no file: ' in line, "the container's libc was not opened through the link", line)
    h.check(any('no allocator functions found' in ln for ln in lt.err.lines),
            'leaktrap says it found no allocator', '\n'.join(lt.err.lines[-5:]))
    fx.finish()


def body(t):
    t.require_ptrace()
    o.require_unshare(t)
    namespace_case(t, no_map_files=False)
    namespace_case(t, no_map_files=True)
    o.require_chroot(t)
    chroot_case(t, no_map_files=False)
    chroot_case(t, no_map_files=True)
    hostile_case(t)


h.main(body, fixtures=('app',))
