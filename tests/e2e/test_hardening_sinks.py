"""End-to-end (issue 12, "Sinks must never be stopped by one event"): what hostile field values
can do through templates.

- file sink: a path component made from event data is always a plain name under the template's
  directory (`{{ a }}{{ b }}` with a = b = "." must not be `..`);
- file sink: an event whose own name cannot be opened goes to the dead-letter file and the sink
  goes on; an error of the sink itself (its directory is a file) still holds it back;
- kafka sink: rendered topic names follow Kafka's rules (a NUL cannot cut them);
- elasticsearch sink: rendered index names follow Elasticsearch's (Unicode lowercase, length).
"""

import json
import os
import re
import stat
import subprocess

from es_helpers import Emulator, emulator_available
from kafka_helpers import MockCluster, consume, tools_available
from sluice_e2e import SluiceTestCase, base_env, main, metric, metrics_port, wait_until, yaml_str
from tool_process import started


def fnv1a(data):
    """The 32-bit FNV-1a hash sluice puts into shortened names, as 8 hex digits."""
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return f"{h:08x}"


def json_lines(rows):
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


# Values a hostile producer may log. Each is tried as every field of every template below.
HOSTILE = [".", "..", "", "/", "/../", "../../escaped", "a/../../b", "%s%n%Y%%", "~", "-",
           "日本語", "x\u0000y", "tab\tnl\nesc\u001b", "\u0085c1", "😀" * 70, "a" * 300,
           "é" * 150, "a" * 239 + "語" * 30, "b" * 238 + "😀" * 10]


class FilePathTemplates(SluiceTestCase):

    def start_with_metrics(self, cfg):
        env = base_env({"SLUICE_METRICS_ADDR": "127.0.0.1:0"})
        p = self.start(["run", "-c", cfg], env=env, stdin=subprocess.PIPE)
        port = metrics_port(p)
        return p, port

    def test_values_never_leave_the_directory(self):
        root = self.tmpdir()
        templates = {"joined": "out1/{{ a }}{{ b }}/x.log", "dotted": "out2/.{{ a }}",
                     "nested": "out3/{{ a }}/{{ b }}", "suffixed": "out4/{{ a }}.jsonl",
                     "dot_suffix": "out5/{{ a }}."}
        sinks = "\n".join(
            f"  {name}: {{type: file, inputs: [in], path: {yaml_str(os.path.join(root, t))}}}"
            for name, t in templates.items())
        cfg = self.config(f"""
data_dir: {yaml_str(os.path.join(root, "data"))}
sources:
  in: {{type: stdin, parser: auto}}
sinks:
{sinks}
""")
        rows = [{"n": 0, "a": ".", "b": "."}, {"n": 1, "a": ".", "b": ".."},
                {"n": 2, "a": "..", "b": "."}, {"n": 3, "a": "..", "b": ".."}]
        for v in HOSTILE:
            rows.append({"n": len(rows), "a": v, "b": v})
        rows.append({"n": len(rows)})  # both fields missing
        data = json_lines(rows)
        # logfmt keeps raw bytes: invalid UTF-8 reaches the template as it is.
        bad_utf8 = len(rows)
        data += b"n=%d a=\xff\xfe.\xc3 b=\xe6\x97\n" % bad_utf8
        expected = set(range(bad_utf8 + 1))

        r = self.run_sluice(["run", "-c", cfg], input=data, timeout=30)

        outside = []
        for dirpath, _, files in os.walk(os.fsencode(root)):
            for f in files:
                rel = os.path.relpath(os.path.join(dirpath, f), os.fsencode(root))
                top = rel.split(b"/")[0]
                if top not in (b"out1", b"out2", b"out3", b"out4", b"out5", b"data"):
                    outside.append(rel)
        self.assertEqual(outside, [], "files written outside the sinks' directories")
        self.assertEqual(r.rc, 0, r.describe())
        self.assertFalse(os.path.exists(os.path.join(root, "data", "dead-letter")),
                         r.describe())

        for k, name in enumerate(templates, 1):
            base = os.fsencode(os.path.join(root, f"out{k}"))
            seen = []
            for dirpath, _, files in os.walk(base):
                for f in files:
                    full = os.path.join(dirpath, f)
                    rel = os.path.relpath(full, base)
                    for component in rel.split(b"/"):
                        self.assertNotIn(component, (b"", b".", b".."), rel)
                        self.assertLessEqual(len(component), 255, rel)
                        component.decode("utf-8")  # valid UTF-8
                        self.assertFalse(any(c < 0x20 or c == 0x7F for c in component), rel)
                    with open(full, "rb") as fh:
                        seen += [int(json.loads(line)["n"]) for line in fh.read().splitlines()]
            self.assertEqual(sorted(seen), sorted(expected), f"sink {name}: each event once")

        def events_in(rel):
            with open(os.path.join(root, rel), "rb") as fh:
                return sorted(int(json.loads(line)["n"]) for line in fh.read().splitlines())

        self.assertEqual(events_in("out1/_/x.log"), [0, 4])        # "." + "." is not ".."
        self.assertEqual(events_in("out2/_"), [0, 1, 4])           # ".{{a}}" with "."
        self.assertEqual(events_in("out3/_/_"), [0, 1, 2, 3, 4, 5, 6, 7])  # ".", "..", "", "/"
        self.assertEqual(events_in("out5/_"), [0, 1, 4])           # "{{a}}." with "."
        self.assertEqual(events_in("out4/x_y.jsonl"), [4 + HOSTILE.index("x\u0000y")])
        self.assertEqual(events_in("out3/_.._/_.._"), [4 + HOSTILE.index("/../")])
        long_value = "a" * 300
        long_name = "a" * 234 + "~" + fnv1a((long_value + ".jsonl").encode()) + ".jsonl"
        self.assertEqual(events_in("out4/" + long_name), [4 + HOSTILE.index(long_value)])
        self.assertEqual(events_in("out4/%s%n%Y%%.jsonl"), [4 + HOSTILE.index("%s%n%Y%%")])
        self.assertEqual(events_in("out4/\ufffd\ufffd.\ufffd.jsonl"), [bad_utf8])

    def test_an_unopenable_name_is_dead_lettered_and_the_sink_goes_on(self):
        root = self.tmpdir()
        os.makedirs(os.path.join(root, "out1", "taken"))  # a value naming a directory: EISDIR
        os.makedirs(os.path.join(root, "out2"))
        with open(os.path.join(root, "out2", "blocked"), "w"):  # a file on the way: ENOTDIR
            pass
        deep = "/".join(["{{ long }}"] * 17)  # 17 x 250 bytes: over PATH_MAX, ENAMETOOLONG
        data_dir = os.path.join(root, "data")
        cfg = self.config(f"""
data_dir: {yaml_str(data_dir)}
sources:
  in: {{type: stdin, parser: json}}
sinks:
  isdir: {{type: file, inputs: [in], path: {yaml_str(os.path.join(root, "out1/{{ name }}"))}}}
  notdir: {{type: file, inputs: [in], path: {yaml_str(os.path.join(root, "out2/{{ name }}/x.log"))}}}
  toolong: {{type: file, inputs: [in], path: {yaml_str(os.path.join(root, "out3", deep))}}}
""")
        total, bad = 300, set(range(0, 300, 30))
        rows = []
        for n in range(total):
            if n in bad:
                rows.append({"n": n, "name": "taken" if n % 60 == 0 else "blocked",
                             "long": "l" * 250})
            else:
                rows.append({"n": n, "name": f"svc{n % 3}"})
        p, port = self.start_with_metrics(cfg)
        p.proc.stdin.write(json_lines(rows))
        p.proc.stdin.flush()

        good = sorted(set(range(total)) - bad)

        def written(directory, name):
            out = []
            for dirpath, _, files in os.walk(os.path.join(root, directory)):
                for f in files:
                    if f == name or name is None:
                        with open(os.path.join(dirpath, f), "rb") as fh:
                            lines = fh.read().split(b"\n")[:-1]  # complete lines only
                        out += [json.loads(line)["n"] for line in lines]
            return sorted(out)

        taken = {n for n in bad if n % 60 == 0}
        blocked = bad - taken
        for sink, directory, name, expect in (
                ("isdir", "out1", None, sorted(set(good) | blocked)),
                ("notdir", "out2", "x.log", sorted(set(good) | taken)),
                ("toolong", "out3", None, good)):
            # Every event after the bad ones is written: the sink did not stop.
            wait_until(lambda: written(directory, name) == expect, timeout=20,
                       what=f"sink {sink} to write every event it can")
        counts = {s: wait_until(lambda s=s: metric(port, "sluice_sink_dead_lettered_events_total",
                                                   component=s), timeout=5,
                                what=f"{s}'s dead-letter count")
                  for s in ("isdir", "notdir", "toolong")}
        self.assertEqual(counts, {"isdir": 5, "notdir": 5, "toolong": 10})
        r = p.wait(timeout=20)
        self.assertEqual(r.rc, 0, r.describe())

        reasons = {"isdir": "Is a directory", "notdir": "Not a directory",
                   "toolong": "File name too long"}
        for sink, reason in reasons.items():
            with open(os.path.join(data_dir, "dead-letter", f"{sink}.jsonl")) as fh:
                records = [json.loads(line) for line in fh]
            got = sorted(json.loads(rec["event"])["n"] for rec in records)
            expect = {"isdir": taken, "notdir": blocked, "toolong": bad}[sink]
            self.assertEqual(got, sorted(expect), sink)
            for rec in records:
                self.assertEqual(rec["sink"], sink)
                self.assertIn(reason, rec["error"])
                self.assertTrue(rec["path"].startswith(os.path.join(root, "out")), rec["path"])
        self.assertIn("written to the dead-letter file", r.stderr_text)

    def test_a_value_naming_a_fifo_or_device_is_dead_lettered_not_written_to(self):
        # A FIFO with a reader opens fine and a device node takes any write: a value naming one
        # must not send events there (nor rotate it away), whoever is at the other end.
        root = self.tmpdir()
        out = os.path.join(root, "out")
        os.makedirs(out)
        os.mkfifo(os.path.join(out, "fifo"))
        reader = os.open(os.path.join(out, "fifo"), os.O_RDONLY | os.O_NONBLOCK)
        self.addCleanup(os.close, reader)
        names = ["fifo", "plain"]
        if os.geteuid() == 0:
            os.mknod(os.path.join(out, "null"), 0o600 | stat.S_IFCHR, os.makedev(1, 3))
            names.append("null")
        data_dir = os.path.join(root, "data")
        cfg = self.config(f"""
data_dir: {yaml_str(data_dir)}
sources:
  in: {{type: stdin, parser: json}}
sinks:
  out: {{type: file, inputs: [in], path: {yaml_str(os.path.join(out, "{{ name }}"))},
         rotate: {{max_bytes: 1}}}}
""")
        rows = [{"n": n, "name": name} for n, name in enumerate(names)]
        r = self.run_ok(["run", "-c", cfg], input=json_lines(rows), timeout=30)
        try:  # nothing reached the FIFO's reader
            got = os.read(reader, 4096)
        except BlockingIOError:
            got = b""
        self.assertEqual(got, b"", r.describe())
        with open(os.path.join(data_dir, "dead-letter", "out.jsonl")) as fh:
            records = [json.loads(line) for line in fh]
        self.assertEqual(sorted(json.loads(rec["event"])["name"] for rec in records),
                         sorted(set(names) - {"plain"}), r.describe())
        for rec in records:
            self.assertIn("not a regular file", rec["error"])
        for special in set(names) - {"plain"}:  # still there, not renamed by rotation
            self.assertFalse(stat.S_ISREG(os.lstat(os.path.join(out, special)).st_mode))
        self.assertTrue(any(f.startswith("plain") for f in os.listdir(out)))

    def test_symbolic_links_are_not_followed_where_values_name_the_path(self):
        # Whoever can place a link in the output directory must not be able to make a value
        # lead the sink out of it (sluice often runs as root). Links in the fixed prefix are
        # the operator's and are followed.
        root = self.tmpdir()
        outside = os.path.join(root, "outside")
        os.makedirs(outside)
        for d in ("nested", "flat"):
            os.makedirs(os.path.join(root, d))
            os.symlink(outside, os.path.join(root, d, "dirlink"))
            os.symlink(os.path.join(outside, "target"), os.path.join(root, d, "filelink"))
        os.symlink(root, os.path.join(root, "via"))
        data_dir = os.path.join(root, "data")
        cfg = self.config(f"""
data_dir: {yaml_str(data_dir)}
sources:
  in: {{type: stdin, parser: json}}
sinks:
  nested: {{type: file, inputs: [in], path: {yaml_str(os.path.join(root, "via/nested/{{ a }}/x"))}}}
  flat: {{type: file, inputs: [in], path: {yaml_str(os.path.join(root, "flat/{{ a }}"))}}}
""")
        rows = [{"n": n, "a": a} for n, a in enumerate(["dirlink", "filelink", "plain"])]
        r = self.run_ok(["run", "-c", cfg], input=json_lines(rows), timeout=30)
        self.assertEqual(os.listdir(outside), [], r.describe())
        self.assertTrue(os.path.isfile(os.path.join(root, "nested", "plain", "x")), r.describe())
        self.assertTrue(os.path.isfile(os.path.join(root, "flat", "plain")), r.describe())
        for sink in ("nested", "flat"):
            with open(os.path.join(data_dir, "dead-letter", f"{sink}.jsonl")) as fh:
                records = [json.loads(line) for line in fh]
            self.assertEqual(sorted(json.loads(rec["event"])["a"] for rec in records),
                             ["dirlink", "filelink"], sink)
            self.assertTrue(os.path.islink(os.path.join(root, sink, "filelink")))

    def test_a_path_near_path_max_still_rotates(self):
        # Sixteen directories of 250 bytes named by a value put the file name near PATH_MAX:
        # the time rotation adds must still fit, or the file is never rotated and grows.
        root = self.tmpdir()
        out = os.path.join(root, "o")
        deep = "/".join(["{{ a }}"] * 16)
        data_dir = os.path.join(root, "data")
        a = "a" * 250
        name_bytes = 4095 - len(out) - 1 - 16 * 251  # the longest name the path allows
        self.assertGreater(name_bytes, 30)
        b = "b" * (name_bytes - len(".jsonl")) + ".jsonl"
        cfg = self.config(f"""
data_dir: {yaml_str(data_dir)}
sources:
  in: {{type: stdin, parser: json}}
sinks:
  s: {{type: file, inputs: [in], path: {yaml_str(out + "/" + deep + "/{{ b }}")},
       rotate: {{max_bytes: 1}}}}
""")
        r = self.run_ok(["run", "-c", cfg], input=json_lines({"n": n, "a": a, "b": b}
                                                             for n in range(3)), timeout=30)
        self.assertNotIn("rotation failed", r.stderr_text)
        self.assertFalse(os.path.exists(os.path.join(data_dir, "dead-letter")), r.describe())
        directory = os.path.join(out, *([a] * 16))
        names = os.listdir(directory)
        self.assertTrue(any(re.search(r"\.\d{8}T\d{6}Z(-\d+)?\.jsonl$", n) for n in names), names)
        for n in names:
            self.assertLessEqual(len(os.path.join(directory, n).encode()), 4095)
        got = []
        for n in names:
            with open(os.path.join(directory, n)) as fh:
                got += [json.loads(line)["n"] for line in fh]
        self.assertEqual(sorted(got), [0, 1, 2])

    def test_an_error_of_the_sink_itself_still_holds_it_back(self):
        root = self.tmpdir()
        blocked = os.path.join(root, "blocked")
        with open(blocked, "w"):  # the template's own directory is a file: no event's fault
            pass
        data_dir = os.path.join(root, "data")
        cfg = self.config(f"""
data_dir: {yaml_str(data_dir)}
sources:
  in: {{type: stdin, parser: json}}
sinks:
  out: {{type: file, inputs: [in], path: {yaml_str(os.path.join(blocked, "{{ name }}.log"))}}}
""")
        p, port = self.start_with_metrics(cfg)
        p.proc.stdin.write(json_lines({"n": n, "name": f"s{n % 2}"} for n in range(5)))
        p.proc.stdin.flush()
        wait_until(lambda: (metric(port, "sluice_sink_retries_total", component="out") or 0) >= 2,
                   timeout=10, what="the sink to retry")
        self.assertEqual(metric(port, "sluice_sink_dead_lettered_events_total", component="out"), 0)
        self.assertFalse(os.path.exists(os.path.join(data_dir, "dead-letter")))
        # Once the directory can be made, everything held back is written.
        os.remove(blocked)
        os.mkdir(blocked)

        def written():
            out = []
            for f in os.listdir(blocked):
                with open(os.path.join(blocked, f)) as fh:
                    out += [json.loads(line)["n"] for line in fh]
            return sorted(out)

        wait_until(lambda: written() == list(range(5)), timeout=15, what="the held-back events")
        r = p.wait(timeout=20)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertFalse(os.path.exists(os.path.join(data_dir, "dead-letter")))


    def test_dotdot_after_a_placeholder_is_a_config_error(self):
        for path, ok in (("/var/log/{{ a }}/../x.log", False), ("/var/log/%Y/../x", False),
                         ("/var/../log/{{ a }}.log", True), ("/var/log/100%%/../{{ a }}", True)):
            cfg = self.config(f"""
sources:
  in: {{type: stdin}}
sinks:
  out: {{type: file, inputs: [in], path: {yaml_str(path)}}}
""")
            r = self.run_sluice(["validate", "-c", cfg])
            self.assertEqual(r.rc, 0 if ok else 78, r.describe())
            if not ok:
                self.assertIn("`..` after a", r.stderr_text)


class KafkaTopicNames(SluiceTestCase):

    def test_rendered_topics_follow_kafkas_rules(self):
        if not tools_available():
            raise AssertionError("Kafka test tools missing: build the tests (sluice_kafka_mock)")
        long_value = "t" * 300
        cases = [  # (topic field, where the event must land)
            ("a b/c", "logs-a_b_c"),
            ("x\u0000y", "logs-x_y"),
            ("é:*", "logs-____"),
            ("ok.name-1_2", "logs-ok.name-1_2"),
            (long_value, None),  # over 249 bytes: 240 bytes, `-`, hash
        ]
        long_topic = ("logs-" + long_value)[:240] + "-" + fnv1a(("logs-" + long_value).encode())
        cases[-1] = (long_value, long_topic)
        bare = [(".", "_"), ("..", "_")]  # a whole name of dots is illegal in Kafka
        topics = {t: 1 for _, t in cases + bare}
        kafka = started(self, MockCluster(topics=topics))
        cfg = self.config(f"""
data_dir: {yaml_str(self.path("data"))}
sources:
  in: {{type: stdin, parser: json}}
sinks:
  prefixed: {{type: kafka, inputs: [in], brokers: {yaml_str(kafka.bootstrap)}, topic: "logs-{{{{ t }}}}"}}
  bare: {{type: kafka, inputs: [in], brokers: {yaml_str(kafka.bootstrap)}, topic: "{{{{ u }}}}"}}
""")
        rows = [{"n": n, "t": value, "u": bare[n % 2][0]} for n, (value, _) in enumerate(cases)]
        self.run_ok(["run", "-c", cfg], input=json_lines(rows),
                    env=base_env({"SLUICE_DATA_DIR": self.path("data")}), timeout=30)
        for n, (value, topic) in enumerate(cases):
            msgs = consume(kafka.bootstrap, topic, 1, timeout=10, allow_short=True)
            self.assertEqual([json.loads(m["value"])["n"] for m in msgs], [n],
                             f"value {value[:20]!r} -> topic {topic[:40]}")
        msgs = consume(kafka.bootstrap, "_", len(cases), timeout=10, allow_short=True)
        self.assertEqual(sorted(json.loads(m["value"])["n"] for m in msgs), list(range(len(cases))))
        self.assertFalse(os.path.exists(self.path("data", "dead-letter")))

    def test_illegal_characters_in_the_topic_template_itself_are_a_config_error(self):
        cfg = self.config("""
sources:
  in: {type: stdin}
sinks:
  k: {type: kafka, inputs: [in], brokers: "127.0.0.1:1", topic: "logs/{{ t }}"}
""")
        r = self.run_sluice(["validate", "-c", cfg])
        self.assertEqual(r.rc, 78, r.describe())
        self.assertIn("not allowed in a Kafka topic name", r.stderr_text)


class ElasticsearchIndexNames(SluiceTestCase):

    def test_rendered_indices_follow_elasticsearchs_rules(self):
        if not emulator_available():
            raise AssertionError("sluice_es_emulator missing: build the tests")
        es = started(self, Emulator())
        long_value = "v" * 300
        long_index = ("logs-" + long_value)[:240] + "-" + fnv1a(("logs-" + long_value).encode())
        cases = [
            ("ÄPP-Ωmega", "logs-äpp-ωmega"),  # Elasticsearch lowercases all of Unicode
            ("Straße-İ", "logs-straße-i"),
            ("a\u0001b", "logs-a_b"),         # a control character is not a missing field
            ("x y/z*?", "logs-x_y_z__"),
            (long_value, long_index),
        ]
        cfg = self.config(f"""
data_dir: {yaml_str(self.path("data"))}
sources:
  in: {{type: stdin, parser: json}}
sinks:
  es:
    type: elasticsearch
    inputs: [in]
    endpoints: [{yaml_str(es.url)}]
    index: "logs-{{{{ app }}}}"
    flush_interval: 100ms
""")
        rows = [{"n": n, "app": value} for n, (value, _) in enumerate(cases)]
        self.run_ok(["run", "-c", cfg], input=json_lines(rows), timeout=30)
        docs = {d["_source"]["n"]: d["_index"] for d in es.docs()}
        self.assertEqual(docs, {n: index for n, (_, index) in enumerate(cases)})
        self.assertFalse(os.path.exists(self.path("data", "dead-letter")))

    def test_a_value_cannot_choose_a_hidden_or_system_index(self):
        # A template that starts with a field lets the value start the name: a leading `.` would
        # reach hidden and system indices (.kibana, .security-7, .ds-* backing indices).
        if not emulator_available():
            raise AssertionError("sluice_es_emulator missing: build the tests")
        es = started(self, Emulator())
        cases = [(".kibana", "kibana"), ("..security-7", "security-7"), ("_.-.ds-logs", "ds-logs"),
                 ("...", "fallback"), ("app.v2", "app.v2")]
        cfg = self.config(f"""
data_dir: {yaml_str(self.path("data"))}
sources:
  in: {{type: stdin, parser: json}}
sinks:
  es:
    type: elasticsearch
    inputs: [in]
    endpoints: [{yaml_str(es.url)}]
    index: "{{{{ app }}}}"
    default_index: fallback
    flush_interval: 100ms
""")
        rows = [{"n": n, "app": value} for n, (value, _) in enumerate(cases)]
        self.run_ok(["run", "-c", cfg], input=json_lines(rows), timeout=30)
        docs = {d["_source"]["n"]: d["_index"] for d in es.docs()}
        self.assertEqual(docs, {n: index for n, (_, index) in enumerate(cases)})


if __name__ == "__main__":
    main()
