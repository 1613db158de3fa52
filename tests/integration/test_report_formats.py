# SPDX-License-Identifier: MIT
"""The report formats on the seed case (app): JSON reports of an attach, a
launch, an -i/-c run and an -a run validate against docs/report-schema.json
and carry every key in the schema's order; -f folded lines parse back into
the JSON report's stacks and bytes; -f svg is well-formed XML with one
<rect> per call-tree node (plus the background) and fibonacci in a
tooltip; -o replaces a symlink planted at the destination instead of
following it."""

import collections
import json
import os
import re
import sys
import xml.dom.minidom

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

STEPS = 5
TABLE = 8192


# ---- the schema itself ---------------------------------------------------------

def object_schemas(schema):
    """(where, subschema) for every object schema with properties."""
    yield '$', schema
    for name, sub in schema.get('$defs', {}).items():
        if 'properties' in sub and sub.get('type') == 'object':
            yield f'$defs/{name}', sub


def check_schema_file():
    schema = h.load_schema()
    for where, sub in object_schemas(schema):
        h.check(sub.get('additionalProperties') is False,
                f'schema {where}: additionalProperties is false')
        h.check_eq(list(sub['required']), list(sub['properties']),
                   f'schema {where}: required (every key always present, in order)')
    # The validator must catch what the schema forbids.
    r = {'schema': 'leaktrap-report/1'}
    h.check(bool(h.schema_errors(r, schema)), 'a report missing keys fails the schema')


def key_order(path):
    """The report at path with its objects' key order kept."""
    with open(path) as f:
        return json.load(f, object_pairs_hook=collections.OrderedDict)


def check_key_order(r):
    """Every object of r has exactly the schema's keys, in its order."""
    schema = h.load_schema()
    defs = schema['$defs']

    def same(obj, sub, where):
        h.check_eq(list(obj), list(sub['properties']), f'{where}: keys in the schema\'s order')
    same(r, schema, 'report')
    same(r['totals'], defs['totals'], 'totals')
    same(r['suppressed'], defs['suppressed'], 'suppressed')
    for s in r['stacks'][:1]:
        same(s, defs['stack'], 'stacks[0]')
        for f in s['frames'][:1]:
            same(f, defs['frame'], 'stacks[0].frames[0]')
        for b in (s['addresses'] or [])[:1]:
            same(b, defs['block'], 'stacks[0].addresses[0]')


def check_unfiltered(r, what):
    """Without filters the leak fields are the totals."""
    h.check_eq((r['leak_bytes'], r['leak_blocks']),
               (r['totals']['live_bytes'], r['totals']['live_blocks']),
               f'{what}: leak_bytes/leak_blocks vs totals without filters')
    h.check_eq(r['suppressed'], {'stacks': 0, 'bytes': 0, 'blocks': 0},
               f'{what}: suppressed without --suppressions')


# ---- JSON ---------------------------------------------------------------------

def json_attach(t):
    app = t.fixture('app', '--steps', STEPS)
    app.ready()
    out = t.path('attach.json')
    lt = t.attach(app, '-f', 'json', '-o', out, '-T', '0', threads=2)
    truth = app.go()
    t.stop(lt, app)
    app.finish()
    r = h.load_report(out)
    check_key_order(key_order(out))
    h.check_eq(r['end_reason'], 'interrupt', 'attach: end_reason')
    h.check_totals(r, truth)
    check_unfiltered(r, 'attach')
    h.check_eq(r['interval_s'], None, 'attach: interval_s without -i')
    h.check_eq(len(r['stacks']), 1, 'attach: one stack')
    s = r['stacks'][0]
    h.check_eq((s['bytes'], s['blocks']), (STEPS * TABLE, STEPS), 'attach: fibonacci stack')
    h.check_eq((s['series'], s['addresses']), (None, None),
               'attach: series and addresses without -i and -a')
    # Ages are taken when the report is made, after the detach: allow for it.
    h.check(0 <= s['oldest_s'] <= r['duration_s'] + 2,
            f'attach: oldest_s {s["oldest_s"]} about the traced {r["duration_s"]} s at most')


def json_launch(t):
    """-a in launch mode; returns the report for the folded and SVG checks."""
    r, truth, _ = t.launch_report(['-T', '0', '-a'], 'app', '--steps', STEPS, name='launch.json')
    check_key_order(key_order(t.path('launch.json')))
    h.check_eq(r['end_reason'], 'target-exit', 'launch: end_reason')
    check_unfiltered(r, 'launch')
    fib = h.check_leak_stacks(r, ('fibonacci', 'child'), STEPS, STEPS * TABLE)
    for s in r['stacks']:
        h.check(s['addresses'] is not None and len(s['addresses']) == s['blocks'],
                f'-a: {s["blocks"]} addresses in a stack of {s["blocks"]} blocks')
    h.check_eq(sorted(b['size'] for b in fib[0]['addresses']), [TABLE] * STEPS,
               '-a: the fibonacci blocks\' sizes')
    h.check_eq(truth['leak_bytes'], STEPS * TABLE, 'the fixture\'s truth')
    return r


def json_interval(t):
    app = h.Fixture([t.fx['app'], '--demo'], name='app --demo')
    app.expect_out(r'^app pid \d+ leaking 8 KiB every 200 ms$')
    lt = t.attach(app, '-f', 'json', '-i', '0.2', '-c', '2', '-T', '0')
    lt.expect_exit(0)
    app.check_detached()
    app.kill()
    reports = h.parse_reports(lt.out.text())
    h.check_eq([r['end_reason'] for r in reports], ['interval', 'count'],
               '-i 0.2 -c 2: end_reason of the reports on stdout')
    for r in reports:
        h.check_eq(r['interval_s'], 0.2, 'interval_s')


# ---- folded -------------------------------------------------------------------

def parse_folded(text):
    """[(frames, bytes)], checking the line syntax."""
    out = []
    for ln in text.splitlines():
        m = re.fullmatch(r'(\S+) (\d+)', ln)
        if not m or not all(m.group(1).split(';')):
            raise h.Failure(f'folded line {ln!r} is not "FRAME;FRAME;... BYTES"\n{text}')
        out.append((m.group(1).split(';'), int(m.group(2))))
    h.check(bool(out), f'{len(out)} folded lines, each "FRAME;FRAME;... BYTES"')
    return out


def fold(stack):
    """The folded frames of a JSON stack (report-folded.c's rule), with
    pcs masked (they change from run to run)."""
    names = []
    for f in reversed(stack['frames']):
        if f['function']:
            names.append(re.sub(r'[; \x00-\x1f\x7f]', '_', f['function']))
        elif f['module']:
            names.append('[' + os.path.basename(f['module']) + ']')
        else:
            names.append('0x*')
    return ';'.join(names) or '[unknown]'


def check_folded(t, r):
    out = t.path('leaks.folded')
    rc, lt = t.run_launch(['-f', 'folded', '-o', out, '-T', '0'], 'app', '--steps', STEPS)
    h.check_eq(rc, 0, 'leaktrap -f folded exit status')
    with open(out) as f:
        lines = parse_folded(f.read())
    h.check_eq(sum(b for _, b in lines), r['leak_bytes'],
               'sum of the folded bytes vs the JSON leak_bytes of the same run')
    fib = [(fr, b) for fr, b in lines if fr[-1] == 'fibonacci']
    h.check(len(fib) == 1 and fib[0][0][-2:] == ['child', 'fibonacci'],
            'one folded line ending ...;child;fibonacci', repr(lines))
    h.check_eq(fib[0][1], STEPS * TABLE, 'the fibonacci line\'s bytes')
    want = collections.Counter()
    for s in r['stacks']:
        want[fold(s)] += s['bytes']
    got = collections.Counter()
    for fr, b in lines:
        got[re.sub(r'(^|;)0x[0-9a-f]+(?=;|$)', r'\g<1>0x*', ';'.join(fr))] += b
    h.check_eq(dict(got), dict(want), 'folded lines vs the JSON stacks, outermost first')
    h.check_eq([b for _, b in lines], sorted((b for _, b in lines), reverse=True),
               'folded lines largest first')

    out1 = t.path('top1.folded')
    rc, _ = t.run_launch(['-f', 'folded', '-o', out1, '-T', '1'], 'app', '--steps', STEPS)
    h.check_eq(rc, 0, 'leaktrap -f folded -T 1 exit status')
    with open(out1) as f:
        top = parse_folded(f.read())
    h.check_eq([(fr[-1], b) for fr, b in top], [('fibonacci', STEPS * TABLE)],
               '-T 1: only the largest stack is folded')


# ---- SVG ----------------------------------------------------------------------

def frame_key(f):
    """When two frames are the same call-tree node (report-svg.c)."""
    mod = os.path.basename(f['module']) if f['module'] else None
    if f['function'] or mod:
        return (f['function'], mod)
    return ('pc', f['pc'])


def tree_nodes(stacks):
    """Nodes of the call tree of stacks, the root included."""
    prefixes = set()
    for s in stacks:
        path = ()
        for f in reversed(s['frames']):
            path += (frame_key(f),)
            prefixes.add(path)
    return 1 + len(prefixes)


def text_of(node):
    return ''.join(c.data for c in node.childNodes if c.nodeType == c.TEXT_NODE)


def load_svg(path):
    with open(path, 'rb') as f:
        data = f.read()
    try:
        doc = xml.dom.minidom.parseString(data)
    except Exception as e:      # expat's ExpatError and friends
        raise h.Failure(f'{path} is not well-formed XML: {e}\n{data[:2000]!r}')
    h.check_eq(doc.documentElement.tagName, 'svg', 'the SVG\'s root element')
    h.check_eq(doc.documentElement.getAttribute('xmlns'), 'http://www.w3.org/2000/svg',
               'the SVG namespace')
    return doc


def check_svg(t, r):
    out = t.path('leaks.svg')
    rc, _ = t.run_launch(['-f', 'svg', '-o', out, '-T', '0'], 'app', '--steps', STEPS)
    h.check_eq(rc, 0, 'leaktrap -f svg exit status')
    doc = load_svg(out)
    rects = doc.getElementsByTagName('rect')
    nodes = tree_nodes(r['stacks'])
    h.check_eq(len(rects), 1 + nodes, f'<rect>s: the background plus one per node of '
               f'the call tree of {len(r["stacks"])} stacks')
    groups = doc.getElementsByTagName('g')
    h.check_eq(len(groups), nodes, '<g>s: one per call-tree node')
    titles = []
    for g in groups:
        ts, rs = g.getElementsByTagName('title'), g.getElementsByTagName('rect')
        if len(ts) != 1 or len(rs) != 1:
            raise h.Failure(f'a node with {len(ts)} <title>s and {len(rs)} <rect>s:\n'
                            f'{g.toxml()}')
        titles.append(text_of(ts[0]))
    h.check(True, 'each node: one <title> and one <rect>')
    h.check_eq(titles[0], f'all \u2014 {r["leak_bytes"]} bytes, 100.00%', 'the root\'s title')
    fib = [x for x in titles if x.startswith('fibonacci (app) \u2014 ')]
    h.check(len(fib) == 1 and f'\u2014 {STEPS * TABLE} bytes, ' in fib[0],
            f'a tooltip "fibonacci (app) \u2014 {STEPS * TABLE} bytes, P%"', '\n'.join(titles))

    out1 = t.path('top1.svg')
    rc, _ = t.run_launch(['-f', 'svg', '-o', out1, '-T', '1'], 'app', '--steps', STEPS)
    h.check_eq(rc, 0, 'leaktrap -f svg -T 1 exit status')
    doc1 = load_svg(out1)
    h.check_eq(len(doc1.getElementsByTagName('rect')), 1 + tree_nodes(r['stacks'][:1]),
               '-T 1: rects for the largest stack only')


# ---- -o -----------------------------------------------------------------------

def check_output_symlink(t):
    victim = t.path('victim.txt')
    with open(victim, 'w') as f:
        f.write('precious\n')
    out = t.path('planted.json')
    os.symlink(victim, out)
    mask = os.umask(0)
    os.umask(mask)
    rc, _ = t.run_launch(['-f', 'json', '-o', out], 'app', '--steps', 1)
    h.check_eq(rc, 0, 'leaktrap -o SYMLINK exit status')
    with open(victim) as f:
        h.check_eq(f.read(), 'precious\n', 'the symlink\'s target after -o')
    h.check(os.path.isfile(out) and not os.path.islink(out),
            '-o replaced the symlink with a regular file')
    h.load_report(out)
    h.check_eq(oct(os.stat(out).st_mode & 0o777), oct(0o666 & ~mask),
               'report file mode (0666 & ~umask)')
    left = [n for n in os.listdir(t.tmp) if n.startswith('.leaktrap-')]
    h.check_eq(left, [], 'temporary files left next to the report')


def body(t):
    t.require_ptrace()
    check_schema_file()
    json_attach(t)
    r = json_launch(t)
    json_interval(t)
    check_folded(t, r)
    check_svg(t, r)
    check_output_symlink(t)


h.main(body, fixtures=('app',))
