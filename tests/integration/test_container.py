# SPDX-License-Identifier: MIT
"""A target in a container, traced from the host without copying anything
out: `app --steps N` and the libc it runs on live only inside a private
mount namespace (a tmpfs mounted over a fresh directory, invisible from
the host), or only inside a chroot. leaktrap attaches by PID from outside
and must find the allocator in the container's libc and name fibonacci
and child with app.c:line. Each case runs twice: with /proc/PID/map_files
and without it (capabilities dropped), when files are found through
/proc/PID/root. Skipped (77) when the kernel refuses unshare or chroot."""

import os
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


def body(t):
    t.require_ptrace()
    o.require_unshare(t)
    namespace_case(t, no_map_files=False)
    namespace_case(t, no_map_files=True)
    o.require_chroot(t)
    chroot_case(t, no_map_files=False)
    chroot_case(t, no_map_files=True)


h.main(body, fixtures=('app',))
