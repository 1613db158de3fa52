# SPDX-License-Identifier: MIT
"""Libraries loaded while traced (alloc-dlopen.c): a plugin that
allocates symbolizes in its own module with file:line; a plugin that
brings its own allocator (xx_malloc, --symbol-prefix xx_) is probed
before dlopen returns; and after libplug_a.so is dlclose'd and
libplug_c.so mapped in its place, the blocks leaked from libplug_a.so
still name libplug_a.so and plug_a_leak. libplug_b.so, whose allocator
was probed, is unloaded before the detach, which must not write into its
former address range: leaktrap exits 0 and the target is left healthy.
Loaded again (at the same address, where the old probes were), its
allocator is traced again."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h


def body(t):
    t.require_ptrace()
    fx = t.fixture('alloc_dlopen')
    fx.ready()
    out = t.path('dl.json')
    lt = t.attach(fx, '-f', 'json', '-o', out, '-T', '0', '--symbol-prefix', 'xx_',
                  threads=1)
    truth = fx.go()
    t.stop(lt, fx)
    fx.finish()
    r = h.load_report(out)
    h.log(f'libplug_c.so mapped where libplug_a.so was: {truth["reused"]}')
    h.log(f'libplug_b.so mapped again where it was: {truth["b_reused"]}')
    for fn, (nbytes, blocks) in truth['by_function'].items():
        found = h.check_leak_stacks(r, (fn,), blocks, nbytes, source='alloc-plugin.c')
        lib = 'libplug_' + fn.split('_')[1] + '.so'
        for s in found:
            mod = s['frames'][0]['module'] or ''
            h.check(os.path.basename(mod) == lib, f'{fn} frame in {lib} (got {mod})',
                    h.fmt_stack(s))
            h.check(h.funcs(s)[1:2] == ['main'], f'{fn} called from main', h.fmt_stack(s))
    if truth['b_reused']:
        # the blocks left are those of the second load, from its call site
        lines = {s['frames'][1]['line'] for s in h.stacks_from(r, 'plug_b_leak')}
        h.check_eq(lines, {truth['b_line']}, 'main line of the plug_b_leak stacks')


h.main(body, fixtures=('alloc_dlopen',))
