# SPDX-License-Identifier: MIT
"""Broken objects in the target (issue 7): a process that maps damaged
ELF files (truncated, section headers and symbol tables full of noise,
relabelled ET_REL, no symbol table at all) and loads a library that
exports hostile allocator symbols (in data, absolute, beyond the object,
zero-sized, overlapping), or a copy of it stripped, or one whose DWARF
libdw rejects, or one whose unwind tables (.eh_frame_hdr search table,
.eh_frame) it overwrote with noise in memory. leaktrap must attach, count
the allocations exactly, name what it can, write nothing into the
target's data, exit 0, and leave the target alive and healthy."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import broken_elf as be
import harness as h

STEPS = 10
LIB_BYTES = 96

PROBE_RE = re.compile(r'^leaktrap: debug: probe (\w+) at 0x([0-9a-f]+) in (.*?): ')


def exec_ranges(maps):
    out = []
    for line in maps.splitlines():
        f = line.split()
        lo, hi = (int(x, 16) for x in f[0].split('-'))
        if 'x' in f[1]:
            out.append((lo, hi))
    return out


def check_probes(err, maps):
    """Every probe leaktrap placed is in executable memory; the hostile
    symbols outside it were ignored, not probed."""
    ranges = exec_ranges(maps)
    probes = [PROBE_RE.match(ln) for ln in err]
    probes = [m for m in probes if m]
    h.check(probes, 'leaktrap listed its probes (-v)')
    for m in probes:
        addr = int(m.group(2), 16)
        h.check(any(lo <= addr < hi for lo, hi in ranges),
                f'probe {m.group(1)} at {m.group(2)} in {m.group(3)} is in executable memory')
    for name in ('realloc', 'memalign', 'aligned_alloc'):
        h.check(any(re.match(rf'^leaktrap: debug: ignoring {name} at 0x[0-9a-f]+ in .*'
                             r'libbroken.*: not in its executable segments$', ln) for ln in err),
                f"the library's hostile {name} symbol was ignored")


def trace(t, tag, fx_args, threads=1):
    """Attach to broken_target FX_ARGS, run the traced work, stop; return
    (report, truth, leaktrap stderr lines, fixture)."""
    fx = t.fixture('broken_target', '--steps', STEPS, *fx_args)
    fx.ready()
    maps = fx.maps()
    out = t.path(f'{tag}.json')
    lt = t.attach(fx, '-v', '-f', 'json', '-o', out, '-T', '0', threads=threads)
    truth = fx.go()
    t.stop(lt, fx)
    r = h.load_report(out)
    h.check_totals(r, truth)
    h.check_all_stacks(r)
    h.check(truth['data_intact'], "the library's data was unchanged while traced")
    return r, truth, lt.err.lines, fx, maps


def damaged_files(t):
    lib = t.fx['broken_lib']
    files = [
        be.truncated(lib, t.path('truncated-3000.so'), 3000),
        be.truncated(lib, t.path('truncated-700.so'), 700),
        be.corrupted(lib, t.path('corrupted.so')),
        be.et_rel(lib, t.path('et-rel.so')),
        be.no_symbols(lib, t.path('no-symbols.so')),
    ]
    args = [a for f in files for a in ('--map', f)] + ['--dlopen', lib]
    r, truth, err, fx, maps = trace(t, 'damaged', args)
    for f in files:
        h.check(f in maps, f'the target maps {os.path.basename(f)}')
    check_probes(err, maps)
    h.check_leak_stacks(r, ('hidden_leak', 'broken_leak'), STEPS, STEPS * LIB_BYTES,
                        source='broken-lib.c')
    fx.finish()


def stripped_lib(t):
    lib = be.stripped(t.fx['broken_lib'], t.path('libstripped.so'))
    r, truth, err, fx, _ = trace(t, 'stripped', ['--dlopen', lib])
    # hidden_leak is static: no name left for it; broken_leak is in .dynsym
    found = [s for s in r['stacks'] if len(s['frames']) >= 3 and
             s['frames'][0].get('module') == lib and h.funcs(s)[1:3] == ['broken_leak', 'main']]
    h.check_eq((sum(s['blocks'] for s in found), sum(s['bytes'] for s in found)),
               (STEPS, STEPS * LIB_BYTES), 'blocks/bytes leaked through the stripped library')
    for s in found:
        f0 = s['frames'][0]
        h.check(f0.get('function') in (None, 'broken_leak') and f0.get('file') is None,
                f'the stripped frame has no name of its own and no source '
                f'({f0.get("function")}, {f0.get("file")})')
    fx.finish()


def bad_dwarf_lib(t):
    lib = be.bad_dwarf(t.fx['broken_lib'], t.path('libbaddwarf.so'))
    r, truth, err, fx, _ = trace(t, 'bad-dwarf', ['--dlopen', lib])
    found = h.check_leak_stacks(r, ('hidden_leak', 'broken_leak'), STEPS,
                                STEPS * LIB_BYTES)
    for s in found:
        for f in s['frames'][:2]:
            h.check(f.get('module') == lib and f.get('file') is None,
                    f'{f.get("function")}: named from the symbol table, no source line '
                    f'from the rejected DWARF ({f.get("file")}:{f.get("line")})')
    fx.finish()


def scribbled_unwind(t, how):
    """The library's unwind information overwritten in memory (the search
    table and .eh_frame, or .eh_frame only): the leak is still found from
    its first frame (libc's CFI is intact), and unwinding stops."""
    r, truth, err, fx, _ = trace(t, how, ['--dlopen', t.fx['broken_lib'], '--' + how])
    h.check_leak_stacks(r, ('hidden_leak',), STEPS, STEPS * LIB_BYTES, source='broken-lib.c')
    fx.finish()


def body(t):
    t.require_ptrace()
    damaged_files(t)
    stripped_lib(t)
    bad_dwarf_lib(t)
    scribbled_unwind(t, 'scribble-unwind')
    scribbled_unwind(t, 'scribble-cfi')


h.main(body, fixtures=('broken_target', 'broken_lib'))
