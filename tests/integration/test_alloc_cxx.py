# SPDX-License-Identifier: MIT
"""C++ against tcmalloc's own operator new/delete (alloc-cxx.cc, linked
with libtcmalloc_minimal, whose operators never reach malloc): every
new/delete variant counted, a malloc'ed block freed with operator delete
counted as a free, a std::bad_alloc thrown out of operator new while its
return is hijacked caught by the program (not std::terminate), exact
totals, and the leaks at the demangled leak_new() / leak_new_array()."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h


def body(t):
    t.require_ptrace()
    fx = t.fixture('alloc_cxx')
    fx.ready()
    out = t.path('cxx.json')
    lt = t.attach(fx, '-f', 'json', '-o', out, '-T', '0', threads=1)
    truth = fx.go()
    t.stop(lt, fx)
    fx.finish()
    r = h.load_report(out)
    h.check_totals(r, truth)
    h.check_all_stacks(r)
    h.check_leak_stacks(r, (truth['leak_function'], 'main'), truth['leak_blocks'],
                        truth['leak_bytes'], source='alloc-cxx.cc')
    h.check_leak_stacks(r, (truth['a_function'], 'main'), truth['a_blocks'],
                        truth['a_bytes'], source='alloc-cxx.cc')

    # --no-demangle keeps the mangled names
    fx = t.fixture('alloc_cxx')
    fx.ready()
    out = t.path('cxx-mangled.json')
    lt = t.attach(fx, '-f', 'json', '-o', out, '-T', '0', '--no-demangle', threads=1)
    truth = fx.go()
    t.stop(lt, fx)
    fx.finish()
    r = h.load_report(out)
    h.check_totals(r, truth)
    h.check_leak_stacks(r, ('_ZL8leak_newv', 'main'), truth['leak_blocks'],
                        truth['leak_bytes'])


h.main(body, fixtures=('alloc_cxx',))
