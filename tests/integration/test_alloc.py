# SPDX-License-Identifier: MIT
"""The allocator the program actually uses: the same work (alloc-api.c)
linked with glibc, Debian's libjemalloc (plus jemalloc's own mallocx /
rallocx / dallocx / sdallocx), libtcmalloc_minimal, libmimalloc, and
linked -static.
In attach mode every report must hold the fixture's exact totals and its
leak at leak_malloc (and leak_mallocx) with file:line, whichever object
defines the allocator. --allocator picks one object: naming libc in the
jemalloc program sees nothing (libc's copy is never called); naming
libjemalloc sees everything; naming an object that is not mapped exits 5."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h


def traced(t, which, *lt_args, name='report.json'):
    fx = t.fixture(which)
    fx.ready()
    out = t.path(f'{which}-{name}')
    lt = t.attach(fx, '-f', 'json', '-o', out, '-T', '0', *lt_args, threads=1)
    truth = fx.go()
    t.stop(lt, fx)
    fx.finish()
    return h.load_report(out), truth


def check_alloc(t, which, module_part):
    h.log(f'--- {which}')
    r, truth = traced(t, which)
    h.check_totals(r, truth)
    h.check_all_stacks(r)
    h.check_leak_stacks(r, ('leak_malloc', 'main'), truth['leak_blocks'],
                        truth['leak_bytes'], source='alloc-api.c')
    if 'x_function' in truth:
        h.check_leak_stacks(r, (truth['x_function'], 'main'), truth['x_blocks'],
                            truth['x_bytes'], source='alloc-api.c')
    return r


def body(t):
    t.require_ptrace()
    check_alloc(t, 'alloc_glibc', 'libc.so')
    check_alloc(t, 'alloc_jemalloc', 'libjemalloc')
    check_alloc(t, 'alloc_tcmalloc', 'libtcmalloc')
    check_alloc(t, 'alloc_mimalloc', 'libmimalloc')
    check_alloc(t, 'alloc_static', 'alloc_static')

    h.log('--- launch mode: armed at the entry point, libjemalloc already loaded')
    r, truth, _ = t.launch_report(['-T', '0'], 'alloc_jemalloc')
    h.check_leak_stacks(r, ('leak_malloc', 'main'), truth['leak_blocks'],
                        truth['leak_bytes'], source='alloc-api.c')
    h.check_leak_stacks(r, (truth['x_function'], 'main'), truth['x_blocks'],
                        truth['x_bytes'], source='alloc-api.c')

    h.log('--- --allocator')
    r, truth = traced(t, 'alloc_jemalloc', '--allocator', 'libjemalloc.so.2', name='je.json')
    h.check_totals(r, truth)
    r, truth = traced(t, 'alloc_jemalloc', '--allocator', 'libc.so.6', name='libc.json')
    h.check_eq(r['totals']['allocs'], 0, "allocs seen at libc's unused copy (--allocator libc.so.6)")
    h.check_eq(r['totals']['frees'], 0, "frees seen at libc's unused copy")
    fx = t.fixture('alloc_jemalloc')
    fx.ready()
    rc, _, err = t.run_leaktrap('-p', fx.pid, '--allocator', 'libnosuch.so', '-d', '1')
    h.check_eq(rc, 5, 'exit status for --allocator naming an object that is not mapped')
    h.check('libnosuch.so' in err, 'the message names it', err)
    fx.finish()


h.main(body, fixtures=('alloc_glibc', 'alloc_jemalloc', 'alloc_tcmalloc', 'alloc_mimalloc',
                       'alloc_static'))
