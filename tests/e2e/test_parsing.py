"""Parsing real log lines from the shared corpus (see its README.md for the origin of each file:
loghub = logpai/loghub, containers/ and multiline/ = fluent-bit and elastic/beats test data),
plus timestamp extraction, time zones, `target` and `keep_raw`."""

import glob
import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402

APACHE_PATTERN = r"^\[(?P<time>[^\]]+)\] \[(?P<level>\w+)\] (?P<msg>.*)$"
SECOND = 1_000_000_000


def file_lines(path):
    """Records as a line framer sees them: LF-separated, one trailing CR dropped."""
    with open(path, "rb") as f:
        data = f.read()
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    return [p[:-1] if p.endswith(b"\r") else p for p in parts]


class Parsing(e2e.SluiceTestCase):

    def run_file(self, input_path=None, data=None, source_opts="", env=None):
        """Feeds a file (or bytes) through stdin -> file sink; returns (result, events)."""
        out = self.path(f"out-{time.monotonic_ns()}.jsonl")
        cfg = self.config(f"""
            sources:
              in: {{type: stdin{source_opts}}}
            sinks:
              out: {{type: file, inputs: [in], path: {e2e.yaml_str(out)}}}
            """, name=f"cfg-{time.monotonic_ns()}.yaml")
        if data is None:
            with open(input_path, "rb") as f:
                data = f.read()
        r = self.run_sluice(["run", "-c", cfg], input=data, env=env, timeout=30)
        self.assertEqual(r.rc, 0, r.describe())
        return r, e2e.read_jsonl(out)

    def loghub_files(self):
        files = sorted(glob.glob(e2e.corpus_path("loghub", "*_2k.log")))
        self.assertEqual(len(files), 16, f"loghub corpus not found under {e2e.CORPUS}")
        return files

    # --- plain text ---

    def check_loghub(self, source_opts, detect):
        for path in self.loghub_files():
            with self.subTest(file=os.path.basename(path)):
                lines = file_lines(path)
                self.assertEqual(len(lines), 2000)
                r, events = self.run_file(path, source_opts=source_opts)
                self.assertEqual(len(events), 2000)
                self.assertTotals(r, "in", events_out=2000, parse_errors=0, split=0)
                for i, (ev, line) in enumerate(zip(events, lines)):
                    text = line.decode("utf-8", "replace")
                    message = ev.get("message")
                    # A recognised layout keeps what follows its time and level as the message
                    # (test_text_detection.py checks those against LogHub's own columns).
                    kept = message == text or (detect and message is not None
                                                and text.endswith(message))
                    if not kept:
                        self.fail(f"line {i + 1}: got event {ev}, want message {line!r}")
                    self.assertNotIn("tags", ev)

    def test_loghub_plain_text_with_default_parser(self):
        # Plain text is kept: whole as `message`, or its rest after a recognised time and level.
        self.check_loghub("", detect=True)

    def test_loghub_plain_text_with_parser_none(self):
        self.check_loghub(", parser: none", detect=False)

    # --- container runtime JSON ---

    def test_docker_json_file_lines(self):
        files = [p for p in sorted(glob.glob(e2e.corpus_path("containers", "*.log")))
                 if open(p, "rb").read(7) == b'{"log":']
        self.assertGreaterEqual(len(files), 10, "docker json-file samples not found")
        for path in files:
            with self.subTest(file=os.path.basename(path)):
                lines = file_lines(path)
                r, events = self.run_file(path)
                self.assertEqual(len(events), len(lines))
                for i, (ev, line) in enumerate(zip(events, lines)):
                    try:
                        want = json.loads(line)
                    except ValueError:
                        want = None
                    if not isinstance(want, dict):
                        # beats_docker_corrupted.log line 7 lost its `{`: kept whole.
                        self.assertEqual(ev.get("message"), line.decode(), f"line {i + 1}")
                        continue
                    for key, value in want.items():
                        self.assertEqual(ev.get(key), value, f"line {i + 1} field {key}")
                    self.assertIn("log", ev)
                    self.assertNotIn("message", ev)
                    if "time" in want:
                        self.assertEqual(ev["@timestamp"], e2e.normalised_rfc3339(want["time"]),
                                         f"line {i + 1}")
                    if "stream" not in want:
                        self.assertEqual(ev.get("stream"), "stdin")

    def test_fluent_bit_multiline_json(self):
        path = e2e.corpus_path("multiline", "fluent-bit_multiline_001.log")
        lines = file_lines(path)
        r, events = self.run_file(path)
        self.assertEqual(len(events), 6)
        for line, ev in zip(lines, events):
            want = json.loads(line)
            self.assertEqual(ev["message"], want["message"])
            self.assertEqual(ev["key1"], 12345)
            self.assertEqual(ev["key2"], "abc")
            self.assertEqual(ev["@timestamp"], "2006-07-28T13:22:04.000000000Z")
            self.assertEqual(ev["source"], "in")
        self.assertTotals(r, "in", events_out=6, parse_errors=0)

    def test_parser_json_rejects_plain_text(self):
        r, events = self.run_file(data=b'{"a":1}\nplain text\n', source_opts=", parser: json")
        self.assertEqual(events[0]["a"], 1)
        self.assertEqual(events[1]["message"], "plain text")
        self.assertIn("parse_error", events[1]["tags"])
        self.assertTotals(r, "in", parse_errors=1)

    # --- logfmt ---

    LOGFMT = (b'level=info msg="hello world" user=bob count=3 escaped="say \\"hi\\""\n'
              b'ts=2024-03-10T12:34:56Z level=warn msg=disk path=/var/log\n')

    def check_logfmt_events(self, events):
        self.assertEqual(len(events), 2)
        a, b = events
        self.assertEqual((a["level"], a["msg"], a["user"]), ("info", "hello world", "bob"))
        self.assertEqual(str(a["count"]), "3")
        self.assertEqual(a["escaped"], 'say "hi"')
        self.assertNotIn("message", a)
        self.assertEqual((b["level"], b["msg"], b["path"]), ("warn", "disk", "/var/log"))
        self.assertEqual(b["@timestamp"], "2024-03-10T12:34:56.000000000Z")

    def test_logfmt_auto(self):
        self.check_logfmt_events(self.run_file(data=self.LOGFMT)[1])

    def test_logfmt_explicit(self):
        r, events = self.run_file(data=self.LOGFMT, source_opts=", parser: logfmt")
        self.check_logfmt_events(events)
        self.assertTotals(r, "in", parse_errors=0)

    # --- regex ---

    def test_regex_named_captures_on_apache_error_log(self):
        path = e2e.corpus_path("loghub", "Apache_2k.log")
        lines = [l.decode() for l in file_lines(path)]
        opts = f", parser: regex, pattern: {e2e.yaml_str(APACHE_PATTERN)}"
        r, events = self.run_file(path, source_opts=opts)
        self.assertEqual(len(events), 2000)
        regex = re.compile(APACHE_PATTERN)
        misses = 0
        for i, (ev, line) in enumerate(zip(events, lines)):
            m = regex.match(line)
            if m is None:
                misses += 1
                self.assertEqual(ev.get("message"), line, f"line {i + 1}")
                self.assertIn("parse_error", ev.get("tags", []))
                continue
            got = {k: ev.get(k) for k in ("time", "level", "msg")}
            self.assertEqual(got, m.groupdict(), f"line {i + 1}")
            self.assertEqual(set(ev), {"@timestamp", "time", "level", "msg", "source", "stream",
                                       "host"}, f"line {i + 1}")
        self.assertTotals(r, "in", events_out=2000, parse_errors=misses)
        levels = {ev["level"] for ev in events if "level" in ev}
        self.assertEqual(levels, {"notice", "error"})

    def test_regex_without_named_group_is_a_config_error(self):
        cfg = self.config("""
            sources:
              in: {type: stdin, parser: regex, pattern: '^(\\w+) (.*)$'}
            sinks:
              out: {type: stdout, inputs: [in]}
            """)
        r = self.run_sluice(["validate", "-c", cfg], timeout=10)
        self.assertEqual(r.rc, 78, r.describe())
        self.assertIn(f"{cfg}:2:", r.stderr_text)

    # --- timestamps ---

    def test_timestamp_extraction(self):
        epoch = 1710074096  # 2024-03-10T12:34:56Z
        cases = [
            ({"time": "2024-03-10T12:34:56.123456789+02:00"}, "2024-03-10T10:34:56.123456789Z"),
            ({"ts": "2024-03-10T12:34:56-05:30"}, "2024-03-10T18:04:56.000000000Z"),
            ({"@timestamp": "2024-03-10T12:34:56.5Z"}, "2024-03-10T12:34:56.500000000Z"),
            ({"time": "2024-03-10T12:34:56,25+0100"}, "2024-03-10T11:34:56.250000000Z"),
            ({"time": "2024-03-10T12:34:56.1234567891234Z"}, "2024-03-10T12:34:56.123456789Z"),
            ({"ts": epoch}, "2024-03-10T12:34:56.000000000Z"),
            ({"ts": epoch * 1000 + 123}, "2024-03-10T12:34:56.123000000Z"),
            ({"ts": epoch + 0.25}, "2024-03-10T12:34:56.250000000Z"),
            ({"ts": str(epoch)}, "2024-03-10T12:34:56.000000000Z"),
            ({"ts": str(epoch * 1000 + 7)}, "2024-03-10T12:34:56.007000000Z"),
            ({"time": "10/Oct/2000:13:55:36 -0700"}, "2000-10-10T20:55:36.000000000Z"),
            ({"timestamp": "2024-03-10 12:34:56.789"}, "2024-03-10T12:34:56.789000000Z"),
            # The first known name wins: `time` comes before `ts`.
            ({"ts": "2002-02-02T00:00:00Z", "time": "2001-01-01T00:00:00Z"},
             "2001-01-01T00:00:00.000000000Z"),
        ]
        data = b"".join(json.dumps(dict(fields, id=i)).encode() + b"\n"
                        for i, (fields, _) in enumerate(cases))
        r, events = self.run_file(data=data)
        self.assertEqual(len(events), len(cases))
        for i, (ev, (fields, want)) in enumerate(zip(events, cases)):
            self.assertEqual(ev["id"], i)
            self.assertEqual(ev["@timestamp"], want, f"case {i}: {fields}")
            self.assertNotIn("tags", ev)
        self.assertTotals(r, "in", parse_errors=0)

    def test_unparsable_time_falls_back_to_read_time(self):
        before = time.time_ns()
        r, events = self.run_file(data=b'{"time":"not a time","msg":"m"}\n'
                                       b'{"@timestamp":"garbage","time":"2024-03-10T00:00:00Z"}\n')
        after = time.time_ns()
        a, b = events
        self.assertEqual(a["time"], "not a time")
        self.assertNotIn("tags", a)
        ts = e2e.rfc3339_to_ns(a["@timestamp"])
        self.assertTrue(before - SECOND <= ts <= after + SECOND, a["@timestamp"])
        self.assertEqual(b["@timestamp"], "2024-03-10T00:00:00.000000000Z")
        self.assertIn("garbage", b.values(), "the unparsable @timestamp value was lost")

    def test_custom_timestamp_field(self):
        r, events = self.run_file(data=b'{"when":"2020-02-29T23:59:59Z","time":"2001-01-01T00:00:00Z"}\n',
                                  source_opts=", timestamp_field: when")
        self.assertEqual(events[0]["@timestamp"], "2020-02-29T23:59:59.000000000Z")
        self.assertEqual(events[0]["when"], "2020-02-29T23:59:59Z")

    def test_timezone_applies_to_offsetless_times(self):
        if not os.path.exists("/usr/share/zoneinfo/America/New_York"):
            self.skipTest("tzdata not installed")
        data = (b'{"time":"2024-07-01T12:00:00"}\n'        # EDT, UTC-4
                b'{"time":"2024-01-15 08:30:00.5"}\n'      # EST, UTC-5
                b'{"time":"2024-01-15T08:30:00Z"}\n'       # explicit offset wins
                b'{"time":"2024-07-01T12:00:00+02:00"}\n'
                b'{"time":"10/Oct/2000:13:55:36 -0700"}\n'
                b'ts=2024-12-24T18:00:00 msg=logfmt\n')
        r, events = self.run_file(data=data, source_opts=", timezone: America/New_York")
        self.assertEqual([e["@timestamp"] for e in events], [
            "2024-07-01T16:00:00.000000000Z",
            "2024-01-15T13:30:00.500000000Z",
            "2024-01-15T08:30:00.000000000Z",
            "2024-07-01T10:00:00.000000000Z",
            "2000-10-10T20:55:36.000000000Z",
            "2024-12-24T23:00:00.000000000Z",
        ])

    def test_unknown_timezone_is_a_config_error(self):
        cfg = self.config("""
            sources:
              in: {type: stdin, timezone: Mars/Olympus_Mons}
            sinks:
              out: {type: stdout, inputs: [in]}
            """)
        r = self.run_sluice(["validate", "-c", cfg], timeout=10)
        self.assertEqual(r.rc, 78, r.describe())
        self.assertIn("Mars/Olympus_Mons", r.stderr_text)
        self.assertIn(f"{cfg}:2:", r.stderr_text)

    # --- target and keep_raw ---

    def test_target_nests_parsed_fields(self):
        data = (b'{"a":1,"b":{"c":[1,2]},"msg":"x","time":"2024-03-10T12:34:56Z"}\n'
                b'level=info k="v w"\n'
                b'just text\n')
        r, events = self.run_file(data=data, source_opts=", target: parsed")
        j, l, t = events
        self.assertEqual(j["parsed"], {"a": 1, "b": {"c": [1, 2]}, "msg": "x",
                                       "time": "2024-03-10T12:34:56Z"})
        self.assertEqual(j["@timestamp"], "2024-03-10T12:34:56.000000000Z")
        self.assertEqual(set(j), {"@timestamp", "parsed", "source", "stream", "host"})
        self.assertEqual(l["parsed"], {"level": "info", "k": "v w"})
        self.assertEqual(set(l), {"@timestamp", "parsed", "source", "stream", "host"})
        self.assertEqual(t.get("message"), "just text")

    def test_keep_raw_adds_event_original(self):
        lines = [b'{"a":1,"msg":"x"}', b'level=info msg="y z"', b"plain \xff line", b'{"bad": ']
        r, events = self.run_file(data=b"\n".join(lines) + b"\n", source_opts=", keep_raw: true")
        self.assertEqual(len(events), 4)
        for ev, line in zip(events, lines):
            self.assertIn("event", ev, ev)
            self.assertEqual(ev["event"]["original"].replace("\ufffd", "?"),
                             line.decode("utf-8", "replace").replace("\ufffd", "?"))
        self.assertEqual(events[0]["a"], 1)
        self.assertEqual(events[1]["msg"], "y z")

    def test_without_keep_raw_there_is_no_event_original(self):
        r, events = self.run_file(data=b'{"a":1}\n')
        self.assertNotIn("event", events[0])


if __name__ == "__main__":
    e2e.main()
