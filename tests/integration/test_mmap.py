# SPDX-License-Identifier: MIT
"""--mmap: the program's own anonymous private mappings (alloc-mmap.c),
reported apart from the heap: exact maps / unmaps / remaps, a hole
punched in a mapping leaving two ranges on its stack, head and tail
trims, an mremap move, a shared mapping not traced, and glibc's own
mmap/munmap inside malloc/free not counted (only the outermost allocator
call counts). Without --mmap the report's mmap is null and the heap
totals are the same. The text report shows the section too."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h


def traced(t, *lt_args, name='m.json', fmt='json', which='alloc_mmap'):
    fx = t.fixture(which)
    fx.ready()
    out = t.path(name)
    lt = t.attach(fx, '-f', fmt, '-o', out, '-T', '0', *lt_args, threads=1)
    truth = fx.go()
    t.stop(lt, fx)
    fx.finish()
    return out, truth


def check_mmap(t, which):
    h.log(f'--- {which}')
    out, truth = traced(t, '--mmap', name=f'{which}.json', which=which)
    r = h.load_report(out)
    h.check_totals(r, truth)
    m = r['mmap']
    h.check(m is not None, 'the report has an mmap section with --mmap')
    for k, v in truth['mmap'].items():
        h.check_eq(m[k], v, f'mmap.{k}')
    h.check_eq(sum(s['bytes'] for s in m['stacks']), m['live_bytes'], 'mmap stack bytes sum')
    h.check_eq(sum(s['blocks'] for s in m['stacks']), m['live_regions'],
               'mmap stack ranges sum')
    for fn, (nbytes, ranges) in truth['by_function'].items():
        found = [s for s in m['stacks'] if s['frames'] and s['frames'][0]['function'] == fn]
        got = (sum(s['bytes'] for s in found), sum(s['blocks'] for s in found))
        h.check_eq(got, (nbytes, ranges), f'mmap (bytes, ranges) from {fn}')
        for s in found:
            f = s['frames'][0]
            h.check((f['file'] or '').endswith('alloc-mmap.c') and f['line'],
                    f'{fn} frame names alloc-mmap.c:{f["line"]}')


def body(t):
    t.require_ptrace()
    check_mmap(t, 'alloc_mmap')
    # tcmalloc defines mmap/munmap/mremap itself, ahead of libc's
    check_mmap(t, 'alloc_mmap_tcmalloc')

    out, truth = traced(t, name='nommap.json')
    r = h.load_report(out)
    h.check_totals(r, truth)
    h.check_eq(r['mmap'], None, 'mmap without --mmap')

    out, truth = traced(t, '--mmap', name='m.txt', fmt='text')
    with open(out) as f:
        text = f.read()
    mm = truth['mmap']
    line = (f'leaktrap: mmap: {mm["maps"]} maps, {mm["unmaps"]} unmaps, {mm["remaps"]} remaps, '
            f'{mm["live_regions"]} live mappings ({mm["live_bytes"]} bytes)')
    h.check(line in text.splitlines(), 'the text report has the mmap line', text)
    h.check('bytes in 2 mappings from stack' in text, 'and the punched stack', text)


h.main(body, fixtures=('alloc_mmap', 'alloc_mmap_tcmalloc'))
