# SPDX-License-Identifier: MIT
"""Shared helpers for leaktrap's integration tests (Python 3 stdlib only).

A test script is run as

    python3 test_x.py LEAKTRAP [FIXTURE...]

with the fixtures in the order the script declares. It exits 0 (pass),
1 (fail), 77 (skip) or 99 (harness error). Every wait is bounded: a line
that does not arrive in time, a process that does not exit in time, or the
whole test overrunning its deadline kills every process the test started
and fails. Nothing sleeps to wait for leaktrap: tests wait for the
fixture's "ready"/"done" lines and leaktrap's "attached" line.

The fixture protocol (fixtures/fx.h): fixture prints "ready"; test sends
"go"; fixture prints "done {truth json}"; test sends "exit"; fixture
checks it is healthy, prints "healthy" and exits 0.

Every JSON report a test loads is checked against docs/report-schema.json
by a small validator of the JSON Schema keywords that file uses
(validate_schema; stdlib only, so no jsonschema), then for the consistency
the schema cannot express (validate_report).
"""

import difflib
import json
import math
import os
import pty
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

PASS, FAIL, SKIP, ERROR = 0, 1, 77, 99

# Default bounds, in seconds.
LINE_TIMEOUT = 30      # a fixture line or leaktrap's attached line
EXIT_TIMEOUT = 30      # a process asked to finish
WORK_TIMEOUT = 90      # traced work (a tracer makes allocation ~1000x slower)
DEADLINE = 110         # the whole test (meson's timeout is 120)

ATTACHED_RE = re.compile(
    r'^leaktrap: attached to pid (\d+) \((\d+) threads?\), '
    r'tracing (\d+) allocator functions$')

# Report fields and their JSON types (leaktrap-report/1).
TOTALS = ('allocs', 'frees', 'frees_unknown', 'live_blocks', 'live_bytes')
# "interval": a report printed while tracing (-i); "count": the final
# report after -c N reports.
END_REASONS = ('duration', 'interrupt', 'target-exit', 'exec', 'error', 'count', 'interval',
               'max-blocks')

SRC_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA_PATH = os.path.join(SRC_ROOT, 'docs', 'report-schema.json')


class Failure(Exception):
    """A check failed: the test fails (exit 1)."""


class Skip(Exception):
    """The test cannot run here (exit 77)."""


class HarnessError(Exception):
    """The test itself is broken or misused (exit 99)."""


_procs = []
_procs_lock = threading.Lock()


def log(msg):
    print(msg, flush=True)


def check(cond, msg, detail=''):
    """Fail with msg (and detail) unless cond; log msg when it passes."""
    if not cond:
        raise Failure(msg + ('\n' + detail if detail else ''))
    log('ok: ' + msg)


def check_eq(got, want, what):
    if got != want:
        raise Failure(f'{what}: got {got!r}, want {want!r}')
    log(f'ok: {what} == {want!r}')


class _Lines:
    """Reads a pipe line by line on a thread; waits with a timeout."""

    def __init__(self, pipe, name):
        self.name = name
        self.lines = []          # everything read so far
        self._q = queue.Queue()
        self._t = threading.Thread(target=self._pump, args=(pipe,), daemon=True)
        self._t.start()

    def _pump(self, pipe):
        fd, buf = pipe.fileno(), b''
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b''     # a pty master reads EIO once the last writer is gone
            if not chunk:
                break
            *done, buf = (buf + chunk).split(b'\n')
            for raw in done:
                self._add(raw)
        if buf:
            self._add(buf)      # a last line without a newline
        self._q.put(None)

    def _add(self, raw):
        line = raw.decode('utf-8', 'replace')
        self.lines.append(line)
        self._q.put(line)

    def expect(self, pattern, timeout, proc):
        """Return the match of the first line matching pattern (a regex, or
        a plain string for the whole line). Earlier lines are skipped."""
        if isinstance(pattern, str) and not pattern.startswith('^'):
            pattern = '^' + re.escape(pattern) + '$'
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        while True:
            try:
                line = self._q.get(timeout=max(end - time.monotonic(), 0.001))
            except queue.Empty:
                raise Failure(f'{proc.name}: no line matching {rx.pattern!r} on '
                              f'{self.name} within {timeout} s\n{proc.describe()}')
            if line is None:
                self._q.put(None)   # later waits see the EOF too
                raise Failure(f'{proc.name}: {self.name} closed before a line matching '
                              f'{rx.pattern!r}\n{proc.describe(wait=5)}')
            m = rx.search(line)
            if m:
                return m

    def join(self, timeout):
        self._t.join(timeout)

    def text(self):
        return '\n'.join(self.lines)


class Proc:
    """A child process in its own process group, with piped stdio read by
    threads. Stdin stays open for send() unless stdin is given. With
    stderr_tty, stderr is a pseudo-terminal (read the same way) instead of
    a pipe; env adds variables to the environment."""

    def __init__(self, argv, name=None, stdin=subprocess.PIPE, stderr_tty=False, env=None):
        self.argv = [str(a) for a in argv]
        self.name = name or os.path.basename(self.argv[0])
        log(f'run {self.name}: {" ".join(self.argv)}')
        environ = dict(os.environ, **env) if env else None
        if stderr_tty:
            master, slave = pty.openpty()
            try:
                self.p = subprocess.Popen(self.argv, stdin=stdin, stdout=subprocess.PIPE,
                                          stderr=slave, start_new_session=True, env=environ)
            finally:
                os.close(slave)
            err = os.fdopen(master, 'rb', buffering=0)
        else:
            self.p = subprocess.Popen(self.argv, stdin=stdin, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, start_new_session=True,
                                      env=environ)
            err = self.p.stderr
        self.pid = self.p.pid
        self.out = _Lines(self.p.stdout, 'stdout')
        self.err = _Lines(err, 'stderr')
        with _procs_lock:
            _procs.append(self)

    def send(self, line):
        try:
            self.p.stdin.write((line + '\n').encode())
            self.p.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise Failure(f'{self.name}: cannot send {line!r}: {e}\n{self.describe(wait=5)}')

    def close_stdin(self):
        try:
            if self.p.stdin:
                self.p.stdin.close()
        except OSError:
            pass

    def expect_out(self, pattern, timeout=LINE_TIMEOUT):
        return self.out.expect(pattern, timeout, self)

    def expect_err(self, pattern, timeout=LINE_TIMEOUT):
        return self.err.expect(pattern, timeout, self)

    def signal(self, sig):
        """Send sig to this process only (not its group)."""
        if self.p.poll() is None:
            log(f'send {signal.Signals(sig).name} to {self.name} (pid {self.pid})')
            os.kill(self.pid, sig)

    def alive(self):
        return self.p.poll() is None

    def wait(self, timeout=EXIT_TIMEOUT):
        """Wait for the exit status; on timeout kill everything and fail."""
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Failure(f'{self.name} (pid {self.pid}) did not exit within {timeout} s\n'
                          f'{self.describe()}')
        self.out.join(5)
        self.err.join(5)
        return rc

    def expect_exit(self, want=0, timeout=EXIT_TIMEOUT):
        rc = self.wait(timeout)
        if rc != want:
            raise Failure(f'{self.name} exited {describe_status(rc)}, want {want}\n'
                          f'{self.describe()}')
        log(f'ok: {self.name} exited {want}')
        return rc

    def kill(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def describe(self, wait=0):
        rc = self.p.poll()
        if rc is None and wait:
            try:
                rc = self.p.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                rc = None
        state = 'running' if rc is None else 'exited ' + describe_status(rc)
        parts = [f'--- {self.name} (pid {self.pid}) {state}: {" ".join(self.argv)}']
        for lines in (self.out, self.err):
            parts.append(f'--- {self.name} {lines.name} ({len(lines.lines)} lines, last 40):')
            parts.extend('    ' + ln for ln in lines.lines[-40:])
        return '\n'.join(parts)


def describe_status(rc):
    if rc is None:
        return 'still running'
    if rc < 0:
        try:
            return f'killed by {signal.Signals(-rc).name}'
        except ValueError:
            return f'killed by signal {-rc}'
    return f'with status {rc}'


def kill_all():
    with _procs_lock:
        procs = list(_procs)
    for p in procs:
        p.kill()


# ---- fixtures ----------------------------------------------------------------

class Fixture(Proc):
    """A fixture speaking the ready/go/done/exit protocol."""

    def ready(self, timeout=LINE_TIMEOUT):
        self.expect_out('ready', timeout)
        log(f'{self.name} (pid {self.pid}) is ready')

    def go(self, timeout=WORK_TIMEOUT):
        """Send go, wait for done, return the truth dict."""
        self.send('go')
        m = self.expect_out(r'^done (\{.*\})$', timeout)
        truth = json.loads(m.group(1))
        log(f'{self.name} truth: {json.dumps(truth)}')
        return truth

    def finish(self, timeout=EXIT_TIMEOUT):
        """Send exit; the fixture must say healthy and exit 0."""
        self.send('exit')
        self.close_stdin()
        rc = self.wait(timeout)
        if rc != 0:
            hint = {3: ' (an allocator\'s code changed: a breakpoint was left behind)',
                    4: ' (its allocation burst failed after the tracer left)',
                    5: ' (its traced work saw wrong data)'}.get(rc, '')
            raise Failure(f'{self.name} exited {describe_status(rc)}{hint}, want 0\n'
                          f'{self.describe()}')
        check('healthy' in self.out.lines, f'{self.name} passed its health check and exited 0')

    def maps(self):
        with open(f'/proc/{self.pid}/maps') as f:
            return f.read()

    def check_detached(self):
        """After leaktrap exited: alive, not stopped, not traced."""
        rc = self.p.poll()
        if rc is not None:
            raise Failure(f'{self.name} died while traced: exited {describe_status(rc)}\n'
                          f'{self.describe()}')
        try:
            with open(f'/proc/{self.pid}/stat') as f:
                state = f.read().rsplit(')', 1)[1].split()[0]
            with open(f'/proc/{self.pid}/status') as f:
                tracer = int(re.search(r'^TracerPid:\s*(\d+)', f.read(), re.M).group(1))
        except (OSError, AttributeError) as e:
            raise Failure(f'{self.name}: cannot read its /proc state: {e}')
        if state in 'tTZX' or tracer != 0:
            raise Failure(f'{self.name} is not cleanly detached: state {state}, '
                          f'TracerPid {tracer}\n{self.describe()}')
        log(f'ok: {self.name} is alive, running and untraced after leaktrap exited')

    def threads(self):
        return len(os.listdir(f'/proc/{self.pid}/task'))


# ---- leaktrap ------------------------------------------------------------------

class Leaktrap(Proc):
    def attached(self, pid=None, threads=None, timeout=LINE_TIMEOUT):
        """Wait for the attached line; check its pid and thread count."""
        m = self.expect_err(ATTACHED_RE, timeout)
        got_pid, got_threads, funcs = (int(g) for g in m.groups())
        log(f'leaktrap attached: pid {got_pid}, {got_threads} threads, {funcs} functions')
        if pid is not None:
            check_eq(got_pid, pid, 'attached line pid')
        if threads is not None:
            check_eq(got_threads, threads, 'attached line thread count')
        check(funcs > 0, f'tracing {funcs} allocator functions (> 0)')
        return got_pid, got_threads, funcs

    def attached_once(self):
        n = sum(1 for ln in self.err.lines if ATTACHED_RE.match(ln))
        check_eq(n, 1, 'number of attached lines on stderr')


class Launched(Leaktrap, Fixture):
    """leaktrap -- FIXTURE: the fixture shares leaktrap's stdio, so the
    protocol runs over leaktrap's pipes and finish() checks leaktrap's exit
    status (0) plus the fixture's "healthy" line."""


class Test:
    """What a test script gets: paths, a temp dir, process helpers."""

    def __init__(self, leaktrap, fixtures, tmpdir):
        self.leaktrap_path = leaktrap
        self.fx = fixtures
        self.tmp = tmpdir

    def path(self, name):
        return os.path.join(self.tmp, name)

    def fixture(self, which, *args, **kw):
        """Start fixture `which` (as declared to main()) with args."""
        return Fixture([self.fx[which], *args], **kw)

    def leaktrap(self, *args, name='leaktrap', **kw):
        return Leaktrap([self.leaktrap_path, *args], name=name, **kw)

    def run_leaktrap(self, *args, timeout=EXIT_TIMEOUT, **kw):
        """Run leaktrap to completion (stdin closed); return (rc, out, err)."""
        lt = self.leaktrap(*args, stdin=subprocess.DEVNULL, **kw)
        rc = lt.wait(timeout)
        return rc, lt.out.text(), lt.err.text()

    def run_launch(self, lt_args, which, *args, script=('go', 'exit'), timeout=WORK_TIMEOUT):
        """Run leaktrap LT_ARGS -- FIXTURE ARGS to completion, the fixture's
        commands (script) written to its stdin up front: it reads them only
        once it runs traced, so nothing races. Returns (rc, leaktrap Proc)
        whose out holds the fixture's lines (and a report written to
        stdout), err leaktrap's."""
        lt = Leaktrap([self.leaktrap_path, *lt_args, '--', self.fx[which], *args],
                      name=f'leaktrap -- {which}')
        try:
            lt.p.stdin.write(''.join(line + '\n' for line in script).encode())
            lt.p.stdin.flush()
        except OSError:
            pass        # leaktrap refused to run the command: its status says why
        lt.close_stdin()
        return lt.wait(timeout), lt

    def launch_report(self, lt_args, which, *args, want=0, name='launch.json', sort='bytes'):
        """run_launch with -f json -o FILE; the exit status must be want.
        Returns (report, truth, leaktrap Proc)."""
        out = self.path(name)
        rc, lt = self.run_launch(['-f', 'json', '-o', out, *lt_args], which, *args)
        if rc != want:
            raise Failure(f'{lt.name} exited {describe_status(rc)}, want {want}\n'
                          f'{lt.describe()}')
        m = next((re.match(r'^done (\{.*\})$', ln) for ln in lt.out.lines
                  if ln.startswith('done ')), None)
        truth = json.loads(m.group(1)) if m else None
        return load_report(out, sort=sort), truth, lt

    def launch(self, lt_args, which, *args):
        """Start leaktrap LT_ARGS -- FIXTURE ARGS; wait until it is armed.
        Returns (leaktrap, traced pid)."""
        lt = Launched([self.leaktrap_path, *lt_args, '--', self.fx[which], *args],
                      name=f'leaktrap -- {which}')
        pid, _, _ = lt.attached()
        return lt, pid

    def require_ptrace(self):
        """Skip (77) when leaktrap gets 'permission denied' (exit 4) against
        a sleeping child of ours: ptrace is forbidden here."""
        sleeper = Proc(['sleep', '60'], name='sleep')
        # Not -o /dev/null: -o replaces its destination by a rename, which
        # as root would turn /dev/null into a regular file.
        rc, _, err = self.run_leaktrap('-p', sleeper.pid, '-d', '0.1',
                                       '-o', self.path('ptrace-probe.txt'))
        sleeper.kill()
        if rc == 4:
            raise Skip(f'ptrace is not permitted here (leaktrap exit 4: {err.strip()})')
        log(f'ptrace probe: leaktrap exited {rc} against a sleeping child')

    def attach(self, fixture, *args, threads=None):
        """Start leaktrap -p on a ready fixture and wait until it is armed."""
        lt = self.leaktrap(*args, '-p', fixture.pid)
        lt.attached(pid=fixture.pid, threads=threads)
        return lt

    def stop(self, lt, target=None, sig=signal.SIGINT, timeout=EXIT_TIMEOUT):
        """Signal leaktrap; it must detach, write its report and exit 0,
        leaving target (a Fixture) alive, running and untraced."""
        lt.signal(sig)
        lt.expect_exit(0, timeout)
        if target is not None:
            target.check_detached()


def load_report(path, sort='bytes'):
    """Read, parse and validate (validate_report) the JSON report at path."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise Failure(f'cannot read the report {path}: {e}')
    try:
        report = json.loads(text)
    except ValueError as e:
        raise Failure(f'the report {path} is not JSON ({e}):\n{text[:2000]}')
    validate_report(report, sort=sort)
    return report


def parse_reports(text, sort='bytes'):
    """The JSON reports written one after the other into text (-f json -i
    on stdout), each validated. A report starts with a '{' at the start of
    a line; other lines (a launched fixture's protocol lines) are skipped."""
    dec = json.JSONDecoder()
    reports, pos = [], 0
    start = re.compile(r'^\{', re.M)
    while True:
        m = start.search(text, pos)
        if not m:
            return reports
        try:
            r, pos = dec.raw_decode(text, m.start())
        except ValueError as e:
            raise Failure(f'a report that is not JSON at offset {m.start()} ({e}):\n'
                          f'{text[m.start():m.start() + 2000]}')
        validate_report(r, sort=sort)
        reports.append(r)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


# ---- JSON Schema ---------------------------------------------------------------

# The keywords validate_schema() implements (those docs/report-schema.json
# uses), and the ones that only annotate.
_SCHEMA_ANNOTATIONS = {'$schema', '$id', '$comment', 'title', 'description', '$defs',
                       'examples', 'default'}
_SCHEMA_KEYWORDS = {'type', 'enum', 'const', 'required', 'properties', 'additionalProperties',
                    'items', 'minItems', 'maxItems', 'pattern', 'minimum', 'maximum',
                    'exclusiveMinimum', 'anyOf', 'if', 'then', 'else', '$ref'}
_schema_cache = []


def load_schema():
    """docs/report-schema.json, parsed once."""
    if not _schema_cache:
        try:
            with open(SCHEMA_PATH) as f:
                _schema_cache.append(json.load(f))
        except (OSError, ValueError) as e:
            raise HarnessError(f'cannot load {SCHEMA_PATH}: {e}')
    return _schema_cache[0]


def _json_type(v):
    if v is None:
        return 'null'
    if isinstance(v, bool):
        return 'boolean'
    if isinstance(v, int):
        return 'integer'
    if isinstance(v, float):
        return 'integer' if math.isfinite(v) and v.is_integer() else 'number'
    if isinstance(v, str):
        return 'string'
    if isinstance(v, list):
        return 'array'
    if isinstance(v, dict):
        return 'object'
    return type(v).__name__


def _json_equal(a, b):
    """JSON equality: 1 == 1.0, but true != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _resolve(root, ref):
    if not ref.startswith('#'):
        raise HarnessError(f'schema: only local $ref is supported, got {ref!r}')
    node = root
    for part in ref[1:].split('/')[1:]:
        part = part.replace('~1', '/').replace('~0', '~')
        if not isinstance(node, dict) or part not in node:
            raise HarnessError(f'schema: $ref {ref!r} does not resolve')
        node = node[part]
    return node


def schema_errors(v, schema, root=None, where='$'):
    """The list of ways v violates schema (JSON Schema 2020-12, the subset
    in _SCHEMA_KEYWORDS; any other keyword is a harness error, so that a
    schema change cannot be silently ignored)."""
    root = schema if root is None else root
    if schema is True:
        return []
    if schema is False:
        return [f'{where}: not allowed']
    unknown = set(schema) - _SCHEMA_KEYWORDS - _SCHEMA_ANNOTATIONS
    if unknown:
        raise HarnessError(f'schema at {where}: unsupported keywords {sorted(unknown)}')
    errs = []
    t = _json_type(v)
    if '$ref' in schema:
        errs += schema_errors(v, _resolve(root, schema['$ref']), root, where)
    if 'type' in schema:
        want = schema['type'] if isinstance(schema['type'], list) else [schema['type']]
        if not (t in want or (t == 'integer' and 'number' in want)):
            errs.append(f'{where}: {t} {v!r:.60}, want {"|".join(want)}')
            return errs
    if 'enum' in schema and not any(_json_equal(v, e) for e in schema['enum']):
        errs.append(f'{where}: {v!r:.60} not in {schema["enum"]}')
    if 'const' in schema and not _json_equal(v, schema['const']):
        errs.append(f'{where}: {v!r:.60} != {schema["const"]!r}')
    if t in ('integer', 'number'):
        if 'minimum' in schema and v < schema['minimum']:
            errs.append(f'{where}: {v} < minimum {schema["minimum"]}')
        if 'exclusiveMinimum' in schema and v <= schema['exclusiveMinimum']:
            errs.append(f'{where}: {v} <= exclusiveMinimum {schema["exclusiveMinimum"]}')
        if 'maximum' in schema and v > schema['maximum']:
            errs.append(f'{where}: {v} > maximum {schema["maximum"]}')
    if t == 'string' and 'pattern' in schema and not re.search(schema['pattern'], v):
        errs.append(f'{where}: {v!r:.60} does not match {schema["pattern"]!r}')
    if t == 'array':
        if 'minItems' in schema and len(v) < schema['minItems']:
            errs.append(f'{where}: {len(v)} items < minItems {schema["minItems"]}')
        if 'maxItems' in schema and len(v) > schema['maxItems']:
            errs.append(f'{where}: {len(v)} items > maxItems {schema["maxItems"]}')
        if 'items' in schema:
            for i, item in enumerate(v):
                errs += schema_errors(item, schema['items'], root, f'{where}[{i}]')
    if t == 'object':
        props = schema.get('properties', {})
        for k in schema.get('required', ()):
            if k not in v:
                errs.append(f'{where}: required key {k!r} missing')
        for k, item in v.items():
            if k in props:
                errs += schema_errors(item, props[k], root, f'{where}.{k}')
            elif 'additionalProperties' in schema:
                errs += schema_errors(item, schema['additionalProperties'], root, f'{where}.{k}')
    if 'anyOf' in schema:
        alts = [schema_errors(v, s, root, where) for s in schema['anyOf']]
        if all(alts):
            errs.append(f'{where}: matches none of anyOf: ' + '; '.join(a[0] for a in alts))
    if 'if' in schema:
        branch = 'then' if not schema_errors(v, schema['if'], root, where) else 'else'
        if branch in schema:
            errs += schema_errors(v, schema[branch], root, where)
    return errs


def validate_schema(r, schema=None):
    """Fail unless the report r is valid against docs/report-schema.json."""
    errs = schema_errors(r, schema if schema is not None else load_schema())
    if errs:
        raise Failure('report does not match docs/report-schema.json:\n  ' +
                      '\n  '.join(errs[:20]))


# --reachability's kinds, in memcheck's order (its Reachedness enum).
LEAK_KINDS = ('definite', 'indirect', 'possible', 'reachable')

SORT_KEYS = {'bytes': ('bytes', 'blocks'), 'blocks': ('blocks', 'bytes'),
             'age': ('oldest_s',)}   # ties are broken on nanoseconds the JSON rounds


def validate_report(r, sort='bytes'):
    """Check a leaktrap-report/1 document against the schema, then its
    internal consistency; stacks must be sorted by sort (--sort)."""
    def need(cond, msg):
        if not cond:
            raise Failure('report: ' + msg)
    validate_schema(r)
    need(isinstance(r, dict), 'not an object')
    need(r.get('schema') == 'leaktrap-report/1', f'schema is {r.get("schema")!r}')
    need(_is_int(r.get('pid')) and r['pid'] > 0, f'pid {r.get("pid")!r}')
    need(r.get('command') is None or isinstance(r['command'], str), 'command not str|null')
    need(isinstance(r.get('duration_s'), (int, float)) and not isinstance(r['duration_s'], bool)
         and r['duration_s'] >= 0, f'duration_s {r.get("duration_s")!r}')
    need(r.get('end_reason') in END_REASONS, f'end_reason {r.get("end_reason")!r}')
    for k in ('threads', 'functions', 'total_stacks'):
        need(_is_int(r.get(k)) and r[k] >= 0, f'{k} {r.get(k)!r}')
    t = r.get('totals')
    need(isinstance(t, dict), 'totals missing')
    for k in TOTALS:
        need(_is_int(t.get(k)) and t[k] >= 0, f'totals.{k} {t.get(k)!r}')
    need(t['live_blocks'] == t['allocs'] - t['frees'],
         f'totals.live_blocks {t["live_blocks"]} != allocs {t["allocs"]} - frees {t["frees"]}')
    stacks = r.get('stacks')
    need(isinstance(stacks, list), 'stacks missing')
    need(len(stacks) <= r['total_stacks'], 'more stacks than total_stacks')
    need(r['leak_blocks'] <= t['live_blocks'] and r['leak_bytes'] <= t['live_bytes'],
         'leak_blocks/leak_bytes above the totals')
    need(r['suppressed']['blocks'] + r['leak_blocks'] <= t['live_blocks'],
         'suppressed + leak blocks above totals.live_blocks')
    need((r['leak_blocks'] == 0) == (r['total_stacks'] == 0),
         f'leak_blocks {r["leak_blocks"]} with total_stacks {r["total_stacks"]}')
    if len(stacks) == r['total_stacks']:
        need(sum(s['bytes'] for s in stacks) == r['leak_bytes'], 'leak_bytes != sum of stacks')
        need(sum(s['blocks'] for s in stacks) == r['leak_blocks'],
             'leak_blocks != sum of stacks')
    else:
        need(sum(s['bytes'] for s in stacks) <= r['leak_bytes'], 'leak_bytes < shown stacks')
    need(r['end_reason'] != 'interval' or r['interval_s'] is not None,
         'an interval report without interval_s')
    keys = SORT_KEYS[sort]
    prev = None
    records = r['summary'] is not None     # --reachability: memcheck's loss-record order
    need(records == (r['reachability'] is not None and r['reachability']['complete']),
         'summary exactly when reachability.complete')
    for i, s in enumerate(stacks):
        need(isinstance(s, dict) and _is_int(s.get('bytes')) and _is_int(s.get('blocks'))
             and s['blocks'] > 0, f'stacks[{i}] bytes/blocks')
        need(records == (s['kind'] is not None), f'stacks[{i}]: kind without summary or the '
             'reverse')
        if records:
            key = (s['bytes'] + s['indirect_bytes'], LEAK_KINDS.index(s['kind']), s['blocks'])
            need(prev is None or key >= prev, f'loss records not in memcheck order at [{i}]: '
                 f'{key} after {prev}')
            need(s['kind'] in r['reachability']['show_kinds'],
                 f'stacks[{i}]: kind {s["kind"]} not in show_kinds')
            need(s['kind'] == 'definite' or s['indirect_bytes'] == 0,
                 f'stacks[{i}]: indirect_bytes on a {s["kind"]} record')
            prev = key
            continue
        key = tuple(s[k] for k in keys)
        if prev is not None:
            need(key <= prev, f'stacks not sorted by {sort} at [{i}]: '
                 f'{dict(zip(keys, key))} after {dict(zip(keys, prev))}')
        prev = key
        if s['addresses'] is not None:
            a = s['addresses']
            need(len(a) == s['blocks'], f'stacks[{i}]: {len(a)} addresses for '
                 f'{s["blocks"]} blocks')
            need(sum(b['size'] for b in a) == s['bytes'], f'stacks[{i}]: address sizes '
                 f'do not add up to its bytes')
            need(len(set(b['addr'] for b in a)) == len(a), f'stacks[{i}]: an address twice')
            need(all(b['age_s'] <= s['oldest_s'] for b in a),
                 f'stacks[{i}]: a block older than oldest_s')
        if s['series'] is not None:
            need(r['interval_s'] is not None, f'stacks[{i}]: a series without interval_s')
        need(isinstance(s.get('frames'), list), f'stacks[{i}].frames')
        for j, fr in enumerate(s['frames']):
            where = f'stacks[{i}].frames[{j}]'
            need(isinstance(fr, dict), where)
            need(isinstance(fr.get('pc'), str) and re.fullmatch(r'0x[0-9a-f]+', fr['pc']),
                 f'{where}.pc {fr.get("pc")!r}')
            for k in ('function', 'module', 'file'):
                need(k in fr and (fr[k] is None or isinstance(fr[k], str)), f'{where}.{k}')
            for k in ('offset', 'line'):
                need(k in fr and (fr[k] is None or _is_int(fr[k])), f'{where}.{k}')


def check_all_stacks(r):
    """With -T 0 every live block is in a listed stack."""
    check_eq(len(r['stacks']), r['total_stacks'], 'stacks listed (-T 0) vs total_stacks')
    check_eq(sum(s['blocks'] for s in r['stacks']), r['totals']['live_blocks'],
             'sum of stack blocks vs totals.live_blocks')
    check_eq(sum(s['bytes'] for s in r['stacks']), r['totals']['live_bytes'],
             'sum of stack bytes vs totals.live_bytes')


def check_totals(r, truth, keys=TOTALS):
    for k in keys:
        check_eq(r['totals'][k], truth[k], f'totals.{k} vs the fixture\'s truth')


def funcs(stack):
    return [f.get('function') for f in stack['frames']]


def stacks_from(r, *callers):
    """Stacks whose first frames' functions are exactly callers."""
    n = len(callers)
    return [s for s in r['stacks'] if tuple(funcs(s)[:n]) == callers]


def fmt_stack(s):
    lines = [f'  {s["bytes"]} bytes in {s["blocks"]} blocks:']
    for f in s['frames']:
        lines.append(f'    {f.get("pc")} {f.get("function")}+{f.get("offset")} '
                     f'({f.get("file")}:{f.get("line")}) [{f.get("module")}]')
    return '\n'.join(lines)


def fmt_stacks(r, limit=15):
    out = [fmt_stack(s) for s in r['stacks'][:limit]]
    if len(r['stacks']) > limit:
        out.append(f'  ... {len(r["stacks"]) - limit} more')
    return '\n'.join(out) or '  (no stacks)'


def check_leak_stacks(r, callers, blocks, nbytes, source=None):
    """The stacks starting with callers hold exactly blocks/nbytes; if
    source is given, frames from the fixture must name that file with a
    line."""
    found = stacks_from(r, *callers)
    got_blocks = sum(s['blocks'] for s in found)
    got_bytes = sum(s['bytes'] for s in found)
    if got_blocks != blocks or got_bytes != nbytes:
        raise Failure(f'stacks from {" <- ".join(callers)}: {got_blocks} blocks / {got_bytes} '
                      f'bytes, want {blocks} / {nbytes}\nreport stacks:\n{fmt_stacks(r)}')
    log(f'ok: stacks from {" <- ".join(callers)} hold {blocks} blocks / {nbytes} bytes')
    if source:
        for s in found:
            for f in s['frames'][:len(callers)]:
                if not (f.get('file') or '').endswith(source) or not (f.get('line') or 0) > 0:
                    raise Failure(f'frame {f.get("function")}: file {f.get("file")!r} line '
                                  f'{f.get("line")!r}, want a file ending in {source} and a '
                                  f'line > 0\n{fmt_stack(s)}')
        log(f'ok: those frames name {source} with line numbers')
    return found


def check_no_stack_with(r, names, allowed=()):
    """No stack (other than those in allowed) has a frame in names."""
    for s in r['stacks']:
        if any(s is a for a in allowed):
            continue
        hit = set(funcs(s)) & set(names)
        if hit:
            raise Failure(f'a stack contains {sorted(hit)}, which should have nothing live:\n'
                          f'{fmt_stack(s)}')
    log(f'ok: no other stack contains any of {sorted(names)}')


def check_fixture_frames(r, module, allowed_funcs, allowed=()):
    """Every frame in the fixture's own module, in stacks other than the
    allowed ones, is one of allowed_funcs (start-up noise such as main
    calling pthread_create is fine; fixture code leaking is not)."""
    for s in r['stacks']:
        if any(s is a for a in allowed):
            continue
        for f in s['frames']:
            mod = f.get('module')
            if mod and os.path.basename(mod) == module and f.get('function') not in allowed_funcs:
                raise Failure(f'a stack has fixture function {f.get("function")!r} from '
                              f'{module}, only {sorted(allowed_funcs)} may appear outside the '
                              f'known leaks:\n{fmt_stack(s)}')
    log(f'ok: outside the known leaks, {module} frames are only {sorted(allowed_funcs)}')


def maps_diff(before, after):
    return ''.join(difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                        'maps before attach', 'maps after detach'))


# ---- entry point -------------------------------------------------------------------

def main(body, fixtures=(), deadline=DEADLINE):
    """Run body(test) with argv = LEAKTRAP FIXTURE...; exit with the result."""
    args = sys.argv[1:]
    if len(args) != 1 + len(fixtures):
        print(f'usage: {os.path.basename(sys.argv[0])} LEAKTRAP '
              + ' '.join(f.upper() for f in fixtures), file=sys.stderr)
        sys.exit(ERROR)
    paths = [os.path.abspath(a) for a in args]
    for p in paths:
        if not os.access(p, os.X_OK):
            print(f'harness: {p} is not executable', file=sys.stderr)
            sys.exit(ERROR)

    def overrun():
        print(f'FAIL: the test overran its {deadline} s deadline; killing everything',
              flush=True)
        kill_all()
        os._exit(FAIL)
    watchdog = threading.Timer(deadline, overrun)
    watchdog.daemon = True
    watchdog.start()

    tmp = tempfile.mkdtemp(prefix='leaktrap-test-')
    code = ERROR
    try:
        body(Test(paths[0], dict(zip(fixtures, paths[1:])), tmp))
        code = PASS
        log('PASS')
    except Failure as e:
        code = FAIL
        print(f'FAIL: {e}', flush=True)
    except Skip as e:
        code = SKIP
        print(f'SKIP: {e}', flush=True)
    except HarnessError as e:
        print(f'HARNESS ERROR: {e}', flush=True)
    except Exception:
        traceback.print_exc()
        print('HARNESS ERROR: unexpected exception', flush=True)
    finally:
        watchdog.cancel()
        kill_all()
        if code == PASS or os.environ.get('LEAKTRAP_TEST_KEEP') is None:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f'kept {tmp}', flush=True)
    sys.exit(code)
