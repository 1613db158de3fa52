# SPDX-License-Identifier: MIT
"""Duration mode and the text report: leaktrap -p PID -d 1.5 on
`app --demo` (8 KiB leaked every 200 ms) prints the summary line, the leak
stack header and the fibonacci then child frames; the JSON variant says
end_reason "duration"; app keeps running after each detach."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

SUMMARY_RE = re.compile(r'^leaktrap: pid (\d+) \(app\) traced [\d.]+ s: \d+ allocs, \d+ frees, '
                        r'\d+ live blocks \(\d+ bytes\)$')
HEADER_RE = re.compile(r'(\d[\d,]*) bytes in (\d+) allocations? from stack')
FIB_RE = re.compile(r'fibonacci\+0x[0-9a-f]+ \(app.c:\d+\) \[app\]')
CHILD_RE = re.compile(r'child\+0x[0-9a-f]+ \(app.c:\d+\) \[app\]')


def still_running(app):
    """app survives the detach: a breakpoint left behind would kill it with
    SIGTRAP at its next step (every 200 ms), so watch it for 3 steps."""
    app.check_detached()
    deadline = time.monotonic() + 0.65
    while time.monotonic() < deadline:
        if not app.alive():
            raise h.Failure(f'app died after leaktrap detached\n{app.describe()}')
        time.sleep(0.05)
    app.check_detached()


def text_mode(t, app):
    lt = t.leaktrap('-p', app.pid, '-d', '1.5')
    lt.attached(pid=app.pid, threads=2)
    lt.expect_exit(0)
    lines = lt.out.lines
    text = '\n'.join(lines)
    h.check(bool(lines) and SUMMARY_RE.match(lines[0]), 'the first line is the summary',
            f'first line: {lines[:1]}\n{text}')
    h.check_eq(int(SUMMARY_RE.match(lines[0]).group(1)), app.pid, 'summary pid')

    frames = [i for i, ln in enumerate(lines) if FIB_RE.search(ln)]
    h.check(bool(frames), 'a frame line fibonacci+0x.. (app.c:N) [app]', text)
    i = frames[0]
    nxt = next((ln for ln in lines[i + 1:] if ln.strip()), '')
    h.check(bool(CHILD_RE.search(nxt)), 'the frame after fibonacci is child+0x.. (app.c:N) [app]',
            text)
    header = next((HEADER_RE.search(ln) for ln in reversed(lines[:i]) if HEADER_RE.search(ln)),
                  None)
    h.check(header is not None, 'the fibonacci stack has a "... bytes in N allocations from '
            'stack" header', text)
    nbytes, blocks = int(header.group(1).replace(',', '')), int(header.group(2))
    h.check(blocks >= 3, f'{blocks} allocations in 1.5 s at one per 200 ms (>= 3)', text)
    h.check_eq(nbytes, blocks * 8192, 'fibonacci stack bytes vs 8192 per allocation')


def json_mode(t, app):
    out = t.path('report.json')
    lt = t.leaktrap('-p', app.pid, '-d', '1.5', '-f', 'json', '-o', out)
    lt.attached(pid=app.pid, threads=2)
    lt.expect_exit(0)
    h.check_eq(lt.out.text().strip(), '', 'stdout with -o FILE')
    r = h.load_report(out)
    h.check_eq(r['end_reason'], 'duration', 'end_reason')
    h.check(1.4 <= r['duration_s'] < 10, f'duration_s {r["duration_s"]} is about 1.5')
    leak = h.stacks_from(r, 'fibonacci', 'child')
    h.check(len(leak) == 1 and leak[0]['blocks'] >= 3 and
            leak[0]['bytes'] == 8192 * leak[0]['blocks'],
            'one fibonacci <- child stack, >= 3 blocks of 8192 bytes', h.fmt_stacks(r))


def body(t):
    t.require_ptrace()
    app = h.Fixture([t.fx['app'], '--demo'], name='app --demo')
    m = app.expect_out(r'^app pid (\d+) leaking 8 KiB every 200 ms$')
    h.check_eq(int(m.group(1)), app.pid, 'demo banner pid')
    text_mode(t, app)
    still_running(app)
    json_mode(t, app)
    still_running(app)
    app.kill()


h.main(body, fixtures=('app',))
