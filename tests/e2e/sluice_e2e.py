"""Shared helpers for sluice's end-to-end tests.

Every test runs the real binary (env SLUICE_BIN, default build/sluice in this repository) against
local files and processes only. Real log samples come from SLUICE_CORPUS_DIR (default
../shared/corpus beside this repository, as tests/CMakeLists.txt sets it; see its README.md for
where each file comes from). Both defaults are found from this file's own place, so a checkout
anywhere works.

Everything that starts a process has a hard timeout, so a hung sluice fails a test instead of
hanging the suite.
"""

import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
import time
import unittest

# This file is tests/e2e/sluice_e2e.py: the repository root is two folders up.
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SLUICE_BIN", os.path.join(REPO_ROOT, "build", "sluice"))
CORPUS = os.environ.get("SLUICE_CORPUS_DIR",
                        os.path.normpath(os.path.join(REPO_ROOT, "..", "shared", "corpus")))
# The source tree the scenarios read configs and manifests from (ctest sets it; the same by default).
SOURCE_DIR = os.environ.get("SLUICE_SOURCE_DIR", REPO_ROOT)
# The test tools (Kafka mock, ES emulator) are built beside the binary, in build/tests/.
BUILD_TESTS = os.path.join(os.path.dirname(BIN), "tests")

# Default hard limit for one sluice invocation, in seconds.
DEFAULT_TIMEOUT = 30

RFC3339_NS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
ANSI = b"\x1b["


# --- environment -------------------------------------------------------------------------------

def prometheus_sample(text, name, **labels):
    """The value of the first sample of metric `name` in a Prometheus page whose labels include
    `labels`, or None."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', line.split("}")[0]))
        if all(got.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def metric(port, name, **labels):
    """prometheus_sample() of sluice's /metrics on `port`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    return prometheus_sample(text, name, **labels)

def base_env(extra=None):
    """The caller's environment without anything that would change sluice's behaviour."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SLUICE_") and k != "NO_COLOR"}
    env["SLUICE_SHUTDOWN_TIMEOUT_SECONDS"] = "5"
    # Tests run in parallel: no fixed metrics port (tests of the endpoint choose port 0).
    env["SLUICE_METRICS_ADDR"] = "off"
    if extra:
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
    return env


# --- sluice's own logs (logfmt on stderr) ------------------------------------------------------

_LOGFMT_PAIR = re.compile(r'\s*([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_logfmt(line):
    """Parses one logfmt line into a dict of strings (quoted values unescaped)."""
    out = {}
    for m in _LOGFMT_PAIR.finditer(line):
        key, value = m.group(1), m.group(2)
        if value.startswith('"'):
            value = json.loads(value)  # the quoting sluice uses is JSON-compatible
        out[key] = value
    return out


def log_records(stderr_text):
    return [parse_logfmt(line) for line in stderr_text.splitlines() if "=" in line]


def parse_totals(stderr_text):
    """{component name: {field: int or str}} from the `component totals` lines at exit."""
    totals = {}
    for rec in log_records(stderr_text):
        if rec.get("msg") != "component totals":
            continue
        fields = {}
        for k, v in rec.items():
            fields[k] = int(v) if re.fullmatch(r"-?\d+", v) else v
        totals[rec["component"]] = fields
    return totals


# --- results -----------------------------------------------------------------------------------

class Result:
    def __init__(self, args, rc, stdout, stderr, elapsed):
        self.args = args
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed = elapsed
        self.stderr_text = stderr.decode("utf-8", "replace")
        self.totals = parse_totals(self.stderr_text)
        self.logs = log_records(self.stderr_text)

    def describe(self):
        tail = self.stderr_text[-3000:]
        return f"sluice {' '.join(self.args)} -> rc={self.rc} in {self.elapsed:.2f}s\nstderr:\n{tail}"


def run(args, input=None, env=None, timeout=DEFAULT_TIMEOUT, cwd=None, stdin=None):
    """Runs sluice to completion with a hard timeout; returns a Result."""
    cmd = [BIN] + list(args)
    start = time.monotonic()
    kwargs = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or base_env(),
                  cwd=cwd, timeout=timeout)
    if input is not None:
        kwargs["input"] = input
    else:
        kwargs["stdin"] = stdin if stdin is not None else subprocess.DEVNULL
    try:
        proc = subprocess.run(cmd, **kwargs)
    except subprocess.TimeoutExpired as e:
        err = (e.stderr or b"").decode("utf-8", "replace")[-3000:]
        raise AssertionError(f"sluice {' '.join(args)} did not finish within {timeout}s; "
                             f"stderr:\n{err}") from None
    return Result(list(args), proc.returncode, proc.stdout, proc.stderr,
                  time.monotonic() - start)


class Running:
    """A sluice started in the background; stdout and stderr go to files (no pipe deadlocks)."""

    def __init__(self, proc, out_path, err_path, args):
        self.proc = proc
        self.out_path = out_path
        self.err_path = err_path
        self.args = args
        self.pid = proc.pid

    def stdout(self):
        with open(self.out_path, "rb") as f:
            return f.read()

    def stderr_text(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=DEFAULT_TIMEOUT):
        """Waits for exit (killing it on timeout); returns a Result."""
        start = time.monotonic()
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"sluice {' '.join(self.args)} did not exit within {timeout}s; "
                                 f"stderr:\n{self.stderr_text()[-3000:]}") from None
        with open(self.err_path, "rb") as f:
            err = f.read()
        return Result(self.args, self.proc.returncode, self.stdout(), err,
                      time.monotonic() - start)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


def wait_until(predicate, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def metrics_port(running, timeout=10.0):
    """The port of the metrics server a `sluice run` started with SLUICE_METRICS_ADDR=...:0 listens
    on, read from its "http server listening" log line."""
    m = wait_until(lambda: re.search(r"http server listening\"? address=\S+:(\d+)",
                                     running.stderr_text()),
                   timeout=timeout, what="the metrics server")
    return int(m.group(1))


# --- event files -------------------------------------------------------------------------------

def _no_duplicate_keys(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise ValueError(f"duplicate key {k!r} in JSON object")
        obj[k] = v
    return obj


def _reject_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def parse_json_line(raw, allow_duplicate_keys=False):
    """Strict: UTF-8 bytes, one JSON object, no duplicate keys, no NaN/Infinity."""
    text = raw.decode("utf-8")  # raises on invalid UTF-8
    hook = None if allow_duplicate_keys else _no_duplicate_keys
    obj = json.loads(text, object_pairs_hook=hook, parse_constant=_reject_constant)
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    return obj


def parse_jsonl_bytes(data, allow_duplicate_keys=False):
    """Parses newline-delimited JSON bytes strictly; every line must end with '\\n'."""
    if not data:
        return []
    if not data.endswith(b"\n"):
        raise AssertionError(f"output does not end with a newline: ...{data[-200:]!r}")
    events = []
    for n, raw in enumerate(data[:-1].split(b"\n"), 1):
        try:
            events.append(parse_json_line(raw, allow_duplicate_keys))
        except (ValueError, UnicodeDecodeError) as e:
            raise AssertionError(f"output line {n} is not valid JSON ({e}): {raw[:300]!r}") from None
    return events


def read_jsonl(path):
    with open(path, "rb") as f:
        return parse_jsonl_bytes(f.read())


def read_jsonl_so_far(path):
    """The complete lines of a file a running sink is writing, strictly parsed: a last line
    whose end has not been written yet is left out ([] while the file does not exist)."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    return parse_jsonl_bytes(data[:data.rfind(b"\n") + 1])


def messages(events):
    return [e.get("message") for e in events]


def corpus_path(*parts):
    return os.path.join(CORPUS, *parts)


def yaml_str(value):
    """A YAML flow scalar/sequence for value (JSON is valid YAML)."""
    return json.dumps(value)


# --- base test case ----------------------------------------------------------------------------

class SluiceTestCase(unittest.TestCase):
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        if not (os.path.isfile(BIN) and os.access(BIN, os.X_OK)):
            raise AssertionError(f"sluice binary not found at {BIN} (set SLUICE_BIN)")

    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="sluice-e2e-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    @property
    def dir(self):
        if not hasattr(self, "_dir"):
            self._dir = self.tmpdir()
        return self._dir

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write_file(self, name, content):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb" if isinstance(content, bytes) else "w") as f:
            f.write(content)
        return p

    def config(self, text, name="sluice.yaml"):
        return self.write_file(name, textwrap.dedent(text).lstrip("\n"))

    def stdin_file_config(self, out, source_opts="", sink_opts="", top=""):
        """The usual stdin -> file topology; options are spliced into the flow mappings."""
        return self.config(f"""
            {top}
            sources:
              in: {{type: stdin{source_opts}}}
            sinks:
              out: {{type: file, inputs: [in], path: {yaml_str(out)}{sink_opts}}}
            """)

    def run_sluice(self, args, **kwargs):
        return run(args, **kwargs)

    def run_ok(self, args, **kwargs):
        r = run(args, **kwargs)
        self.assertEqual(r.rc, 0, r.describe())
        return r

    def start(self, args, env=None, stdin=subprocess.DEVNULL):
        n = getattr(self, "_started", 0) + 1
        self._started = n
        out_path = self.path(f"sluice-{n}.stdout")
        err_path = self.path(f"sluice-{n}.stderr")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen([BIN] + list(args), stdin=stdin, stdout=out, stderr=err,
                                    env=env or base_env())
        running = Running(proc, out_path, err_path, list(args))
        self.addCleanup(running.kill)
        return running

    def assertTotals(self, result, component, **expected):
        self.assertIn(component, result.totals, f"no totals for {component}\n{result.describe()}")
        got = {k: result.totals[component].get(k) for k in expected}
        self.assertEqual(got, expected, f"totals of {component}\n{result.describe()}")

    def assertEventShape(self, event, source, stream):
        self.assertRegex(event.get("@timestamp", ""), RFC3339_NS)
        self.assertEqual(event.get("source"), source)
        self.assertEqual(event.get("stream"), stream)
        self.assertIsInstance(event.get("host"), dict)
        self.assertIsInstance(event["host"].get("name"), str)
        self.assertTrue(event["host"]["name"])


def main():
    # unittest prints its summary and exits non-zero when a case fails.
    unittest.main(verbosity=2)


def generated_lines(n, start=0):
    """n varied text lines (bytes, each ending in '\\n'): UTF-8, quotes, backslashes and tabs
    included, lengths 20..~220 bytes, no line that looks like JSON or logfmt."""
    words = ["alpha", "beta", "gamma", "délta", "日本語", 'say "hi"', "back\\slash", "tab\there",
             "GET /index.html", "user=bob", "{not json", "ok"]
    out = []
    for i in range(start, start + n):
        k = (i * 7919) % 97
        parts = [f"{i:07d}"] + [words[(i + j) % len(words)] for j in range(k % 9)]
        parts.append("x" * (k % 40))
        out.append(" ".join(parts))
    return ("\n".join(out) + "\n").encode("utf-8")


# --- timestamps --------------------------------------------------------------------------------

_RFC3339 = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?"
                      r"(Z|z|[+-]\d\d(?::?\d\d)?)?$")


def rfc3339_to_ns(text, default_offset_seconds=0):
    """Nanoseconds since the epoch of an RFC 3339 / ISO 8601 time (independent of sluice)."""
    import calendar
    m = _RFC3339.match(text)
    if not m:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    frac = (m.group(7) or "")[:9].ljust(9, "0")
    off = m.group(8)
    if off is None:
        offset = default_offset_seconds
    elif off in ("Z", "z"):
        offset = 0
    else:
        sign = -1 if off[0] == "-" else 1
        digits = off[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60)
    secs = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) - offset
    return secs * 1_000_000_000 + int(frac)


def format_ns(ns):
    """RFC 3339 UTC with nine fraction digits, the form sluice writes."""
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def normalised_rfc3339(text, default_offset_seconds=0):
    return format_ns(rfc3339_to_ns(text, default_offset_seconds))
