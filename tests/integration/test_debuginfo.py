# SPDX-License-Identifier: MIT
"""Stripped binaries: `app --steps N` stripped of its symbols and debug
information (objcopy --only-keep-debug, strip --strip-all, a
.gnu_debuglink to app.debug), then traced with the debug file
  - in a build-id directory given with --debuginfo-dir: names and lines;
  - nowhere: frames are app+offset, the offsets inside fibonacci and child
    (and the text report prints them as "app+0x...");
  - in the target's own /usr/lib/debug/.build-id, inside a chroot: found;
  - next to the binary as .debug/app.debug (the debuglink, CRC checked),
    inside a private mount namespace: found; and a debug file of another
    program under that name is refused.
Skipped (77) when the kernel refuses chroot or unshare."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h
import objects as o


class Split:
    """The stripped app and its debug file, made once."""

    def __init__(self, t):
        for d in ('stripped', 'debug-out'):
            os.mkdir(t.path(d))
        # apart: nothing may find the debug file next to the binary
        self.stripped = os.path.join(t.path('stripped'), 'app')
        self.debug = os.path.join(t.path('debug-out'), 'app.debug')
        o.split_debug(t.fx['app'], self.stripped, self.debug)
        self.build_id = o.build_id(self.stripped)
        h.check_eq(self.build_id, o.build_id(t.fx['app']), 'build-id of the stripped copy')
        wrong = t.path('wrong')
        os.mkdir(wrong)
        self.wrong_debug = os.path.join(wrong, 'app.debug')
        o.run(o.tool('objcopy'), '--only-keep-debug', t.fx['app_fixed'], self.wrong_debug)


def start(t, exe, name):
    fx = h.Fixture([exe, '--steps', o.STEPS], name=name)
    fx.ready()
    return fx


def debuginfo_dir(t, s):
    dbg = t.path('debugdir')
    o.place(s.debug, o.build_id_path(dbg, s.build_id))
    fx = start(t, s.stripped, 'stripped app')
    r, _, _ = o.trace_seed(t, fx, t.path('dir.json'), '--debuginfo-dir', dbg)
    o.check_named(r, module=s.stripped)
    fx.finish()


def no_debuginfo(t, s):
    fx = start(t, s.stripped, 'stripped app')
    r, _, _ = o.trace_seed(t, fx, t.path('none.json'))
    o.check_unnamed(r, s.stripped, t.fx['app'])
    fx.finish()
    fx = start(t, s.stripped, 'stripped app (text report)')
    lt = t.leaktrap('-p', fx.pid, '-T', '1')
    lt.attached(pid=fx.pid)
    fx.go()
    t.stop(lt, fx)
    frames = [ln.strip() for ln in lt.out.lines if ln.startswith('    ')]
    h.check(len(frames) >= 2 and all(re.fullmatch(r'app\+0x[0-9a-f]+ \[app\]', f)
                                     for f in frames[:2]),
            'the text report shows the first two frames as app+0xOFFSET [app]',
            lt.out.text())
    h.check(not any('unknown' in f for f in frames), 'and no frame as [unknown]',
            lt.out.text())
    fx.finish()


def in_chroot(t, s):
    root = t.path('chroot')
    inside = '/opt/app'
    o.make_chroot(root, s.stripped, inside)
    o.place(s.debug, o.build_id_path(root + '/usr/lib/debug', s.build_id))
    h.check(not os.path.exists(o.build_id_path('/usr/lib/debug', s.build_id)),
            "the host's /usr/lib/debug does not have the debug file")
    fx = h.Fixture([o.tool('chroot'), root, inside, '--steps', o.STEPS],
                   name='stripped app in a chroot')
    fx.ready()
    r, _, _ = o.trace_seed(t, fx, t.path('chroot.json'))
    o.check_named(r, module=root + inside)
    fx.finish()


def in_namespace(t, s, debug, name):
    ns = t.path('ns-' + name)
    os.mkdir(ns)
    setup = (f'mkdir "{ns}/.debug"\ncp "{s.stripped}" "{ns}/app"\n'
             f'cp "{debug}" "{ns}/.debug/app.debug"')
    fx = o.in_namespace(ns, setup, [f'{ns}/app', '--steps', o.STEPS],
                        f'stripped app in a mount namespace ({name})')
    fx.ready()
    r, _, _ = o.trace_seed(t, fx, t.path(f'ns-{name}.json'))
    return fx, r, f'{ns}/app'


def debuglink_in_namespace(t, s):
    fx, r, exe = in_namespace(t, s, s.debug, 'right')
    o.check_named(r, module=exe)
    fx.finish()
    fx, r, exe = in_namespace(t, s, s.wrong_debug, 'wrong')
    o.check_unnamed(r, exe, t.fx['app'])
    fx.finish()


def body(t):
    t.require_ptrace()
    s = Split(t)
    debuginfo_dir(t, s)
    no_debuginfo(t, s)
    skipped = []
    for case, require in ((in_chroot, o.require_chroot),
                          (debuglink_in_namespace, o.require_unshare)):
        try:
            require(t)
        except h.Skip as e:
            h.log(f'skip: {case.__name__}: {e}')
            skipped.append(f'{case.__name__} ({e})')
            continue
        case(t, s)
    if skipped:
        raise h.Skip('the other cases passed; not run: ' + '; '.join(skipped))


h.main(body, fixtures=('app', 'app_fixed'))
