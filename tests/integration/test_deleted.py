# SPDX-License-Identifier: MIT
"""Binaries deleted or replaced on disk after they were started (a server
upgraded under its feet): `app --steps N` is copied, started, then its file
is deleted, or replaced by another program (app_fixed, another build-id).
leaktrap reads the mapped file through /proc/PID/map_files and names
fibonacci and child with app.c:line. Without map_files (capabilities
dropped) the replaced file must be refused for its build-id, never used
for symbols: the frames are then app+offset, and the offsets fall inside
fibonacci and child of the original. The same for the libc defining the
allocator: refused without map_files (exit 5, naming it), used with."""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h
import objects as o


def start_copy(t, name):
    d = t.path(name)
    os.mkdir(d)
    exe = os.path.join(d, 'app')
    shutil.copy2(t.fx['app'], exe)
    fx = h.Fixture([exe, '--steps', o.STEPS], name=f'app ({name})')
    fx.ready()
    return fx, exe


def replace(exe, other):
    """Put other at exe the way a package manager does: a new inode
    renamed over the old one."""
    shutil.copy2(other, exe + '.new')
    os.rename(exe + '.new', exe)


def deleted(t):
    fx, exe = start_copy(t, 'deleted')
    os.unlink(exe)
    h.check(f'{exe} (deleted)' in fx.maps(), '/proc/PID/maps says the binary is deleted')
    r, _, _ = o.trace_seed(t, fx, t.path('deleted.json'))
    o.check_named(r, module=exe)
    fx.finish()


def replaced(t):
    fx, exe = start_copy(t, 'replaced')
    replace(exe, t.fx['app_fixed'])
    h.check(o.build_id(exe) != o.build_id(t.fx['app']),
            'the replacement has another build-id')
    r, _, _ = o.trace_seed(t, fx, t.path('replaced.json'))
    o.check_named(r, module=exe)
    fx.finish()


def replaced_no_map_files(t):
    fx, exe = start_copy(t, 'replaced-nomf')
    replace(exe, t.fx['app_fixed'])
    r, _, err = o.trace_seed(t, fx, t.path('replaced-nomf.json'), no_map_files=True)
    line = o.debug_line(err, exe)
    h.check('another build-id' in line, 'leaktrap -v says the file on disk is another one',
            line)
    o.check_unnamed(r, exe, t.fx['app'])
    h.check_no_stack_with(r, ('fibonacci', 'child', 'main'))
    fx.finish()


def replaced_libc(t):
    """The allocator's own object replaced: with map_files the mapped libc
    is used; without, the file on disk is refused and leaktrap says so
    (exit 5), naming it, instead of probing addresses from another file."""
    libdir = t.path('lib')
    os.mkdir(libdir)
    libc = os.path.join(libdir, 'libc.so.6')
    real = next(lib for lib in o.libraries(t.fx['app']) if '/libc.so' in lib)
    shutil.copy2(os.path.realpath(real), libc)
    fx = h.Fixture(['env', f'LD_LIBRARY_PATH={libdir}', t.fx['app'], '--steps', o.STEPS],
                   name='app on a copied libc')
    fx.ready()
    h.check(libc in fx.maps(), 'app runs on the copied libc')
    replace(libc, t.fx['app_fixed'])
    argv = [*o.NO_MAP_FILES, t.leaktrap_path, '-p', fx.pid, '-d', '0.2', '-o', os.devnull]
    lt = h.Leaktrap(argv, name='leaktrap (no map_files)', stdin=subprocess.DEVNULL)
    rc, err = lt.wait(), lt.err.text()
    h.check_eq(rc, 5, 'exit status without map_files when libc was replaced')
    h.check(libc in err and 'another build-id' in err,
            'the message names the libc and says it is another file', err)
    fx.check_detached()
    r, _, _ = o.trace_seed(t, fx, t.path('libc.json'))
    o.check_named(r)
    fx.finish()


def body(t):
    t.require_ptrace()
    deleted(t)
    replaced(t)
    replaced_no_map_files(t)
    replaced_libc(t)


h.main(body, fixtures=('app', 'app_fixed'))
