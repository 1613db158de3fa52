# SPDX-License-Identifier: MIT
"""Interval reports and the growth view on `app --demo` (8 KiB leaked every
200 ms), all attached to one demo process.

-i 0.2 -c 3 prints exactly 3 reports: 2 interval reports (end_reason
"interval") and the final one (end_reason "count"), the Nth report being
the final one (src/reporting.c tick()); leaktrap then detaches by itself
and the demo runs on. Every report has interval_s; the fibonacci stack's
series holds its bytes in each earlier interval report, so it never
decreases. The text variant stamps the interval reports and prints the
growth line; with -o FILE the file ends up holding the final report.
When stderr is not a terminal nothing but lines reach it; when it is (a
pty), the live status line is drawn in place."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

INTERVAL = 0.2
TABLE = 8192
STAMP_RE = re.compile(r'^\[\d\d:\d\d:\d\d\] leaktrap: report (\d+)$')
SUMMARY_RE = re.compile(r'^leaktrap: pid \d+ \(app\) traced [\d.]+ s: ')
GROWTH_RE = re.compile(r'^    growth:((?: \d+)+) bytes$')
STATUS_RE = re.compile(r'\r\x1b\[Kleaktrap: \d+ s, \d+ allocs/s, \d+ live blocks '
                       r'\(\d+ bytes\), \d+ stops/s')


def fib_bytes(r):
    s = h.stacks_from(r, 'fibonacci', 'child')
    return s[0]['bytes'] if s else 0


def fib_stack(r):
    s = h.stacks_from(r, 'fibonacci', 'child')
    return s[0] if s else None


def check_plain_stderr(lt, what):
    bad = [ln for ln in lt.err.lines if '\r' in ln or '\x1b' in ln]
    h.check(not bad, f'{what}: no status line when stderr is not a terminal', repr(bad))


def run(t, app, *args):
    """Attach with -i 0.2 -c 3 and args; leaktrap must end by itself."""
    lt = t.attach(app, '-i', str(INTERVAL), '-c', '3', *args)
    lt.expect_exit(0)
    app.check_detached()
    check_plain_stderr(lt, 'leaktrap ' + ' '.join(args))
    return lt


def json_reports(t, app):
    lt = run(t, app, '-f', 'json', '-T', '0')
    reports = h.parse_reports(lt.out.text())
    h.check_eq([r['end_reason'] for r in reports], ['interval', 'interval', 'count'],
               '-c 3: 3 reports, 2 interval and the final one')
    h.check_eq([r['interval_s'] for r in reports], [INTERVAL] * 3, 'interval_s of each report')
    durations = [r['duration_s'] for r in reports]
    for k, d in enumerate(durations):
        h.check(d >= INTERVAL * (k + 1) - 0.001, f'report {k + 1} at {d} s, not before '
                f'{INTERVAL * (k + 1):.1f} s')
    h.check(durations == sorted(durations), f'reports in time order ({durations})')
    got = [fib_bytes(r) for r in reports]
    log_series = []
    for k, r in enumerate(reports):
        s = fib_stack(r)
        if s is None:
            continue
        want = got[:k] if k else None
        h.check_eq(s['series'], want, f'report {k + 1}: the fibonacci series (its bytes in '
                   f'the earlier interval reports)')
        log_series = (s['series'] or []) + [s['bytes']]
    final = fib_stack(reports[-1])
    h.check(final is not None, 'the final report has the fibonacci stack',
            h.fmt_stacks(reports[-1]))
    h.check_eq(len(final['series']), 2, 'the final series: one value per interval report')
    h.check(log_series == sorted(log_series) and log_series[-1] > 0,
            f'the fibonacci stack\'s bytes never decrease over the reports ({log_series})')
    h.check(all(b % TABLE == 0 for b in log_series), 'series values are whole tables')
    h.check([all(s['series'] is None for s in r['stacks']) for r in reports] ==
            [True, False, False], 'series: null in the first report only')


def text_reports(t, app):
    lt = run(t, app, '-T', '1')
    lines = lt.out.lines
    stamps = [int(m.group(1)) for m in map(STAMP_RE.match, lines) if m]
    h.check_eq(stamps, [1, 2], 'text: the stamped "[HH:MM:SS] leaktrap: report N" lines')
    summaries = [i for i, ln in enumerate(lines) if SUMMARY_RE.match(ln)]
    h.check_eq(len(summaries), 3, 'text: 3 reports (summary lines)')
    for i in summaries[:2]:
        h.check(STAMP_RE.match(lines[i - 1]) is not None,
                'text: each interval report follows its stamp line')
    final = lines[summaries[2]:]
    growth = [GROWTH_RE.match(ln) for ln in final if GROWTH_RE.match(ln)]
    h.check(len(growth) == 1, 'text: the final report has one growth line', '\n'.join(final))
    values = [int(v) for v in growth[0].group(1).split()]
    h.check_eq(len(values), 3, 'text: growth: 2 interval values and the final bytes')
    h.check(values == sorted(values), f'text: growth never decreases ({values})')
    head = next(ln for ln in final if re.match(r'^\d+ bytes in', ln))
    h.check_eq(int(head.split()[0]), values[-1], 'text: the growth line ends with the bytes')


def output_file(t, app):
    out = t.path('interval.json')
    lt = run(t, app, '-f', 'json', '-o', out)
    h.check_eq(lt.out.text(), '', 'stdout with -o FILE: nothing, not even stamps')
    r = h.load_report(out)
    h.check_eq(r['end_reason'], 'count', '-o FILE holds the final report')


def status_line(t, app):
    """stderr on a pty: the status line is drawn (from the second status
    tick on, one per interval here) and erased before leaktrap exits."""
    out = t.path('tty.json')
    lt = h.Leaktrap([t.leaktrap_path, '-p', app.pid, '-i', str(INTERVAL), '-c', '4',
                     '-f', 'json', '-o', out], name='leaktrap (stderr on a pty)',
                    stderr_tty=True)
    lt.expect_err(r'^leaktrap: attached to pid \d+ ')
    lt.expect_exit(0)
    app.check_detached()
    err = '\n'.join(lt.err.lines)
    h.check(STATUS_RE.search(err) is not None, 'the status line on a terminal: "leaktrap: '
            'N s, N allocs/s, N live blocks (N bytes), N stops/s"', repr(err))
    h.check(err.rstrip('\r\n').endswith('\r\x1b[K'), 'the status line is erased at the end',
            repr(err[-200:]))
    h.check_eq(lt.out.text(), '', 'stdout with -o FILE')
    h.check_eq(h.load_report(out)['end_reason'], 'count', 'the report')


def usage(t):
    rc, _, err = t.run_leaktrap('-c', '3', '-p', '1')
    h.check_eq(rc, 2, '-c without -i: usage error')
    h.check('--count needs --interval' in err, 'the message says why', err)


def body(t):
    t.require_ptrace()
    usage(t)
    app = h.Fixture([t.fx['app'], '--demo'], name='app --demo')
    app.expect_out(r'^app pid \d+ leaking 8 KiB every 200 ms$')
    json_reports(t, app)
    text_reports(t, app)
    output_file(t, app)
    status_line(t, app)
    app.kill()


h.main(body, fixtures=('app',))
