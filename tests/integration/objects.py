# SPDX-License-Identifier: MIT
"""Helpers for the tests of symbol lookup (test_container, test_deleted,
test_debuginfo): copies of fixtures stripped or with separate debug
information, their build-ids and symbol ranges, targets run inside a
private mount namespace or a chroot, and leaktrap run without the
capability that opens /proc/PID/map_files (so that it must find files
through /proc/PID/root instead)."""

import os
import re
import shutil
import subprocess

import harness as h

STEPS = 12

# Drop the capabilities /proc/PID/map_files needs; keep CAP_SYS_PTRACE.
NO_MAP_FILES = ['setpriv', '--bounding-set', '-sys_admin,-checkpoint_restore']


def tool(name):
    path = shutil.which(name)
    if not path:
        raise h.HarnessError(f'{name} is needed (binutils / util-linux)')
    return path


def run(*argv):
    """Run a helper command; fail the test with its output if it fails."""
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise h.Failure(f'{" ".join(map(str, argv))} failed ({p.returncode}):\n'
                        f'{p.stdout}{p.stderr}')
    return p.stdout


def build_id(path):
    m = re.search(r'Build ID: ([0-9a-f]+)', run(tool('readelf'), '-n', path))
    if not m:
        raise h.HarnessError(f'{path} has no build-id')
    return m.group(1)


def symbol_range(path, name):
    """(start, end) of the function name in the unstripped object path."""
    for line in run(tool('nm'), '-S', '--defined-only', path).splitlines():
        f = line.split()
        if len(f) == 4 and f[3] == name:
            return int(f[0], 16), int(f[0], 16) + int(f[1], 16)
    raise h.HarnessError(f'{name} not found in {path}')


def split_debug(src, stripped, debug):
    """stripped: src without symbols or debug information, with a
    .gnu_debuglink to basename(debug); debug: what was taken out."""
    run(tool('objcopy'), '--only-keep-debug', src, debug)
    run(tool('strip'), '--strip-all', '-o', stripped, src)
    cwd = os.getcwd()
    os.chdir(os.path.dirname(debug))       # the link stores the base name
    try:
        run(tool('objcopy'), f'--add-gnu-debuglink={os.path.basename(debug)}', stripped)
    finally:
        os.chdir(cwd)
    os.chmod(stripped, 0o755)


def build_id_path(debug_root, bid):
    """Where a debug file goes under a directory like /usr/lib/debug."""
    return os.path.join(debug_root, '.build-id', bid[:2], bid[2:] + '.debug')


def place(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy2(src, dst)


def require_unshare(t):
    """Skip when the kernel does not let us create a mount namespace."""
    p = subprocess.run([tool('unshare'), '--mount', 'true'], capture_output=True, text=True)
    if p.returncode != 0:
        raise h.Skip(f'unshare --mount is not permitted here: {p.stderr.strip()}')


def require_chroot(t):
    p = subprocess.run([tool('chroot'), '/', 'true'], capture_output=True, text=True)
    if p.returncode != 0:
        raise h.Skip(f'chroot is not permitted here: {p.stderr.strip()}')


def in_namespace(ns_dir, setup, argv, name):
    """Start argv in a new mount namespace in which a tmpfs hides ns_dir
    from the host, after the shell commands setup (which can fill it).
    The fixture keeps the pid of unshare (no --fork): exec all the way."""
    script = (f'set -e\nmount -t tmpfs leaktrap-test "{ns_dir}"\n{setup}\n'
              f'exec {" ".join(shlex_quote(a) for a in argv)}\n')
    return h.Fixture([tool('unshare'), '--mount', 'sh', '-c', script], name=name)


def shlex_quote(s):
    s = str(s)
    return "'" + s.replace("'", "'\\''") + "'"


def libraries(exe):
    """The files ldd lists for exe (the loader included)."""
    out = run('ldd', exe)
    return re.findall(r'(/\S+) \(0x', out)


def make_chroot(root, exe, inside):
    """A chroot at root holding exe at /inside and the libraries it needs
    at the paths ldd gives."""
    place(exe, root + inside)
    for lib in libraries(exe):
        place(os.path.realpath(lib), root + lib)


def attach(t, fx, out, *args, no_map_files=False):
    """leaktrap -v -f json -o out -p fx (optionally without map_files),
    armed and waiting."""
    argv = [*(NO_MAP_FILES if no_map_files else []), t.leaktrap_path, '-v', '-f', 'json',
            '-o', out, '-T', '0', *args, '-p', fx.pid]
    lt = h.Leaktrap(argv, name='leaktrap' + (' (no map_files)' if no_map_files else ''))
    lt.attached(pid=fx.pid)
    return lt


def trace_seed(t, fx, out, *args, no_map_files=False):
    """Attach to a ready `app --steps STEPS`, let it leak, detach; return
    (report, truth, leaktrap's stderr lines)."""
    lt = attach(t, fx, out, *args, no_map_files=no_map_files)
    truth = fx.go()
    t.stop(lt, fx)
    r = h.load_report(out)
    h.check_totals(r, truth)
    return r, truth, lt.err.lines


def check_named(r, module=None):
    """The seed case with names and lines: fibonacci <- child from app.c,
    in the object module (a path) when given."""
    found = h.check_leak_stacks(r, ('fibonacci', 'child'), STEPS, STEPS * 8192,
                                source='app.c')
    if module:
        got = found[0]['frames'][0]['module']
        h.check_eq(got, module, 'module of the fibonacci frame')
        h.check(found[0]['frames'][0]['module_offset'] is not None,
                'the fibonacci frame has a module offset')
    return found


def check_unnamed(r, module, unstripped):
    """The seed case without symbols: the top stack's first two frames
    have no function but module and module_offset, and the offsets fall
    in fibonacci and child of the unstripped object."""
    h.check(len(r['stacks']) > 0, 'the report has stacks', h.fmt_stacks(r))
    top = r['stacks'][0]
    h.check_eq((top['blocks'], top['bytes']), (STEPS, STEPS * 8192), 'top stack blocks/bytes')
    for fr, name in zip(top['frames'][:2], ('fibonacci', 'child')):
        lo, hi = symbol_range(unstripped, name)
        off = fr.get('module_offset')
        h.check(fr.get('function') is None and fr.get('module') == module and
                off is not None and lo < off <= hi,
                f'frame {name}: no function, module {module}, module_offset in '
                f'{name} [{lo:#x}, {hi:#x}]', h.fmt_stack(top) + f'\nframe: {fr}')


def debug_line(lines, module):
    """leaktrap -v's line about module (a path)."""
    for ln in lines:
        if ln.startswith('leaktrap: debug: module ' + module + ' at '):
            return ln
    raise h.Failure(f'leaktrap -v said nothing about {module}:\n' + '\n'.join(lines[-30:]))
