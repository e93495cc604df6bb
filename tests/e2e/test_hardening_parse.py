"""Hardening (issue 12): one value per key in every output, and numbers beyond double range.

A key given twice (`{"a":1,"a":2}`, `a=1 a=2`, nested, spelled with escapes, or a metadata name
the line or a remap also uses) must come out once, with the last value: Elasticsearch refuses a
document that repeats a key. A number such as `1e999999` must not turn its line into a
parse_error: it is kept as the same JSON number token."""

import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402
from es_helpers import Emulator, emulator_available  # noqa: E402
from kafka_helpers import MockCluster, consume, tools_available  # noqa: E402
from tool_process import started  # noqa: E402

# (line, {key: the value it must have}) — each key once in the output, with the last value.
DUPLICATES = [
    (r'{"a":1,"a":2}', {"a": 2}),
    (r'{"a":1,"b":"x","a":"two","a":3}', {"a": 3, "b": "x"}),
    (r'{"a":1,"\u0061":2,"k\"":3,"k\u0022":4}', {"a": 2, 'k"': 4}),
    (r'{"o":{"b":1,"b":2},"arr":[{"c":1,"c":{"d":1,"d":2}}],"o2":{"x":{"y":1,"\u0079":2}}}',
     {"o": {"b": 2}, "arr": [{"c": {"d": 2}}], "o2": {"x": {"y": 2}}}),
    ("a=1 a=2", {"a": "2"}),
    ("level=info msg=one level=warn msg=two", {"level": "warn", "msg": "two"}),
    (r'{"source":"mine","source":"again","host":"h1","host":"h2","tags":["t"],"tags":["u"]}',
     {"source": "again", "host": "h2", "tags": ["u"]}),
    (r'{"log":"l","event":"e","stream":"s","kubernetes":1,"container":2,"kafka":3}',
     {"log": "l", "event": "e", "stream": "s", "kubernetes": 1, "container": 2, "kafka": 3}),
    (r'{"@timestamp":"not a time","@timestamp_raw":"mine"}', {"@timestamp_raw": "not a time"}),
    (r'{"@timestamp":"2024-05-01T10:00:00Z","@timestamp":"2024-05-01T11:00:00Z"}',
     {"@timestamp": "2024-05-01T11:00:00.000000000Z"}),
    # Enough keys to leave the pairwise comparison for the hash table.
    ("{" + ",".join(f'"k{i % 40}":{i}' for i in range(200)) + "}",
     {f"k{k}": 160 + k for k in range(40)}),
    (" ".join(f"f{i % 30}=v{i}" for i in range(120)), {f"f{k}": f"v{90 + k}" for k in range(30)}),
]

# Numbers beyond double (and int64/uint64) range, as they must appear in the output.
BIG_NUMBERS = ['1e999999', '-1e400', '1e-999999', '123456789012345678901234567890',
               '18446744073709551616', '-9223372036854775809', '2E+99999', '9' * 400,
               '-' + '1' * 500 + '.5e-3']


def strict_events(raw):
    """The output's events, refusing any object that repeats a key."""
    return e2e.parse_jsonl_bytes(raw)


class HardeningParse(e2e.SluiceTestCase):

    def run_stdin(self, lines, source_opts="", sink_opts="", transforms="", inputs="[in]"):
        out = self.path("out.jsonl")
        if os.path.exists(out):
            os.unlink(out)
        cfg = self.config(f"""
            data_dir: {e2e.yaml_str(self.path("data"))}
            sources:
              in: {{type: stdin{source_opts}}}
            {transforms}
            sinks:
              out: {{type: file, inputs: {inputs}, path: {e2e.yaml_str(out)}{sink_opts}}}
            """)
        data = "".join(line + "\n" for line in lines).encode()
        r = self.run_ok(["run", "-c", cfg], input=data, env=e2e.base_env())
        with open(out, "rb") as f:
            return r, f.read()

    def assertOneLastValue(self, event, expected, line):
        for key, value in expected.items():
            self.assertEqual(event.get(key), value, f"{key!r} of {line[:120]!r}: {event}")
        self.assertNotIn("parse_error", event.get("tags", []), line[:120])

    # --- duplicate keys -----------------------------------------------------------------------

    def test_duplicate_keys_json_output_has_each_key_once(self):
        lines = [line for line, _ in DUPLICATES]
        r, raw = self.run_stdin(lines, ", keep_raw: true")
        events = strict_events(raw)  # raises on any repeated key, at any depth
        self.assertEqual(len(events), len(lines))
        for event, (line, expected) in zip(events, DUPLICATES):
            self.assertOneLastValue(event, expected, line)
        self.assertTotals(r, "in", events_out=len(lines), parse_errors=0)

    def test_logfmt_keys_that_are_written_alike_are_one_key(self):
        # Invalid UTF-8 is written as U+FFFD: `k\xff` and `k\xfe` are both written "k\ufffd".
        data = b"k\xff=1 k\xfe=2 z=3\n"
        out = self.path("logfmt.jsonl")
        cfg = self.stdin_file_config(out, ", parser: logfmt")
        self.run_ok(["run", "-c", cfg], input=data, env=e2e.base_env())
        with open(out, "rb") as f:
            events = strict_events(f.read())
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0].get("k\ufffd"), "2", events[0])
        self.assertEqual(events[0].get("z"), "3", events[0])

    def test_remap_onto_existing_and_metadata_keys(self):
        transforms = """
            transforms:
              tidy:
                type: remap
                inputs: [in]
                rename: {msg: message, when: "@timestamp", who: source}
                add: {level: error, host.name: other-host, stream: mine}
            """
        line = r'{"msg":"m","message":"old","when":"noon","who":"w","level":"info","level":"x"}'
        r, raw = self.run_stdin([line], transforms=transforms, inputs="[tidy]")
        events = strict_events(raw)
        self.assertEqual(len(events), 1)
        ev = events[0]
        self.assertEqual(ev.get("message"), "m", ev)
        self.assertEqual(ev.get("@timestamp"), "noon", ev)
        self.assertEqual(ev.get("source"), "w", ev)
        self.assertEqual(ev.get("level"), "error", ev)
        self.assertEqual(ev.get("stream"), "mine", ev)
        # A dotted key under a metadata object merges into it (the line's member wins), so the
        # event has one `host` object and no flat `host.name` beside it.
        self.assertEqual(ev.get("host"), {"name": "other-host"}, ev)
        self.assertNotIn("host.name", ev)

    def test_text_encoding_shows_each_key_once(self):
        lines = ["a=1 b=x a=2", r'{"a":1,"a":2,"c":3}']
        r, raw = self.run_stdin(lines, sink_opts=", encoding: text")
        out = raw.decode().splitlines()
        self.assertEqual(len(out), 2, raw)
        for text in out:
            self.assertEqual(text.count(" a="), 1, text)
            self.assertIn(" a=2", text)

    def test_duplicate_keys_are_accepted_by_elasticsearch(self):
        if not emulator_available():
            self.fail("sluice_es_emulator missing: build the tests")
        es = started(self, Emulator())
        # The emulator refuses repeated keys as Elasticsearch does (Jackson's strict duplicate
        # detection): check that first, so the test cannot pass for the wrong reason.
        status, answer = es.bulk([{"index": {"_index": "probe"}}, '{"a":1,"a":2}'])
        self.assertTrue(answer.get("errors"), answer)
        # Lines whose `host` or `log` is a string would meet the object the other documents have
        # under that name: a mapping conflict, not what this test is about.
        cases = [(line, exp) for line, exp in DUPLICATES
                 if '"host"' not in line and '"log"' not in line]
        lines = [line for line, _ in cases]
        cfg = self.config(f"""
            data_dir: {e2e.yaml_str(self.path("data"))}
            sources:
              in: {{type: stdin}}
            sinks:
              es:
                type: elasticsearch
                inputs: [in]
                endpoints: [{e2e.yaml_str(es.url)}]
                index: dups
                flush_interval: 100ms
                retry_backoff_min: 20ms
                retry_backoff_max: 500ms
            """)
        data = "".join(line + "\n" for line in lines).encode()
        self.run_ok(["run", "-c", cfg], input=data, env=e2e.base_env())
        dead = self.path("data", "dead-letter", "es.jsonl")
        dead_text = ""
        if os.path.exists(dead):
            with open(dead) as f:
                dead_text = f.read()
        self.assertEqual(dead_text, "", "documents refused by Elasticsearch")
        docs = [d for d in es.docs() if d["_index"] == "dups"]
        self.assertEqual(len(docs), len(lines), docs)
        # Documents come back in the order they were stored (one stdin source, in order).
        for doc, (line, expected) in zip(docs, cases):
            self.assertOneLastValue(doc["_source"], expected, line)

    def test_duplicate_keys_in_kafka_messages(self):
        if not tools_available():
            self.fail("Kafka test tools missing: build the tests (sluice_kafka_mock)")
        kafka = started(self, MockCluster(brokers=1, topics={"dups": 1}))
        lines = [line for line, _ in DUPLICATES]
        cfg = self.config(f"""
            data_dir: {e2e.yaml_str(self.path("data"))}
            sources:
              in: {{type: stdin}}
            sinks:
              k: {{type: kafka, inputs: [in], brokers: {e2e.yaml_str(kafka.bootstrap)},
                   topic: dups}}
            """)
        data = "".join(line + "\n" for line in lines).encode()
        self.run_ok(["run", "-c", cfg], input=data, env=e2e.base_env())
        msgs = sorted(consume(kafka.bootstrap, "dups", len(lines)), key=lambda m: m["offset"])
        self.assertEqual(len(msgs), len(lines))
        for m, (line, expected) in zip(msgs, DUPLICATES):
            event, = strict_events(m["value"].encode() + b"\n")
            self.assertOneLastValue(event, expected, line)

    # --- numbers beyond double range ----------------------------------------------------------

    def test_numbers_beyond_double_range_keep_the_line_parsed(self):
        lines = [f'{{"n":{n},"msg":"big"}}' for n in BIG_NUMBERS]
        lines.append('{"nested":{"a":[1e999999,-1E400,{"b":1e-999999}]},"ts":1e999999}')
        lines.append('{"bad":1e999999x}')  # not a number: still a parse error
        r, raw = self.run_stdin(lines)
        events = strict_events(raw)
        out_lines = raw.decode().splitlines()
        self.assertEqual(len(events), len(lines))
        for number, event, text in zip(BIG_NUMBERS, events, out_lines):
            self.assertNotIn("parse_error", event.get("tags", []), text)
            self.assertEqual(event.get("msg"), "big", text)
            self.assertIn(f'"n":{number},', text)  # the same token, verbatim
            json.loads(text)  # and valid JSON
        self.assertNotIn("parse_error", events[-2].get("tags", []), out_lines[-2])
        self.assertIn('"nested":{"a":[1e999999,-1E400,{"b":1e-999999}]},"ts":1e999999',
                      out_lines[-2])
        self.assertIn("parse_error", events[-1].get("tags", []))
        self.assertTotals(r, "in", events_out=len(lines), parse_errors=1)

    def test_big_numbers_in_text_encoding_and_logfmt(self):
        r, raw = self.run_stdin(['{"n":1e999999}', "n=-1e400 m=1"], sink_opts=", encoding: text")
        out = raw.decode().splitlines()
        self.assertEqual(len(out), 2, raw)
        self.assertIn("n=1e999999", out[0])
        self.assertIn("n=-1e400", out[1])
        self.assertNotIn("parse_error", raw.decode())


if __name__ == "__main__":
    e2e.main()
