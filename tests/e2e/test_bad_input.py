"""Hostile input on stdin: sluice must not crash, must emit valid JSON, must not lose lines,
and must count what it could not parse or had to split."""

import os
import random
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402

MiB = 1 << 20


def expected_lines(data):
    """The records a line framer must produce: split on LF, one trailing CR dropped, a final
    record without LF kept."""
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    return [p[:-1] if p.endswith(b"\r") else p for p in parts]


def normalise(text):
    """Runs of U+FFFD collapse to one: whether an invalid sequence becomes one replacement
    character or one per byte is a policy detail, losing the valid text around it is not."""
    return re.sub("\ufffd+", "\ufffd", text)


class BadInput(e2e.SluiceTestCase):

    def run_stdin(self, data, source_opts="", timeout=40):
        out = self.path("out.jsonl")
        cfg = self.config(f"""
            sources:
              in: {{type: stdin{source_opts}}}
            sinks:
              out: {{type: file, inputs: [in], path: {e2e.yaml_str(out)}}}
            """)
        r = self.run_sluice(["run", "-c", cfg], input=data, timeout=timeout)
        self.assertEqual(r.rc, 0, r.describe())
        with open(out, "rb") as f:
            raw = f.read()
        return r, raw, e2e.parse_jsonl_bytes(raw)

    def test_invalid_utf8_is_replaced(self):
        data = b"bad \xff\xfe utf8 \xc3\x28 end \xe6\x97 cut\nok \xc3\xa9\xe6\x97\xa5\n\xed\xa0\x80 surrogate\n"
        r, raw, events = self.run_stdin(data)
        raw.decode("utf-8")  # the whole file is valid UTF-8
        got = [normalise(m) for m in e2e.messages(events)]
        self.assertEqual(got, ["bad \ufffd utf8 \ufffd( end \ufffd cut", "ok \u00e9\u65e5",
                               "\ufffd surrogate"])
        self.assertTotals(r, "in", events_out=3, parse_errors=0)

    def test_nul_bytes_and_control_characters_are_escaped(self):
        lines = [b"nul\x00in\x00side", b"ctl \x01\x02\x07\x08\x0b\x0c\x1b[31mred\x1b[0m \x7f tab\tend",
                 b"\x00", b"\x1b]0;title\x07"]
        r, raw, events = self.run_stdin(b"\n".join(lines) + b"\n")
        for b in range(0x20):
            if b != 0x0A:  # only the line separators may appear raw
                self.assertNotIn(bytes([b]), raw, f"raw control byte 0x{b:02x} in JSON output")
        self.assertEqual(e2e.messages(events), [l.decode() for l in lines])
        self.assertTotals(r, "in", events_out=4, parse_errors=0)

    def test_truncated_json_and_trailing_garbage_are_parse_errors(self):
        lines = [b'{"a": "b', b'{"a": 1} trailing', b'{"ok": true}', b'{"a": [1, 2}', b'{']
        r, raw, events = self.run_stdin(b"\n".join(lines) + b"\n")
        self.assertEqual(len(events), 5)
        bad = [0, 1, 3, 4]
        for i, ev in enumerate(events):
            if i in bad:
                self.assertEqual(ev.get("message"), lines[i].decode(), f"line {i}")
                self.assertIn("parse_error", ev.get("tags", []), f"line {i}: {ev}")
            else:
                self.assertIs(ev.get("ok"), True)
                self.assertNotIn("tags", ev)
        self.assertTotals(r, "in", events_out=5, parse_errors=4)

    def test_json_with_invalid_utf8_is_not_lost(self):
        r, raw, events = self.run_stdin(b'{"a":"x\xffy","n":1}\n')
        self.assertEqual(len(events), 1)
        ev = events[0]
        # Parsed with the bad byte replaced, or kept whole as a flagged message: never dropped.
        if "a" in ev:
            self.assertEqual(normalise(ev["a"]), "x\ufffdy")
        else:
            self.assertEqual(normalise(ev["message"]), '{"a":"x\ufffdy","n":1}')
            self.assertIn("parse_error", ev.get("tags", []))

    def test_20_mib_line_is_split_into_flagged_pieces(self):
        pattern = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/"
        line = pattern * (20 * MiB // len(pattern))
        self.assertEqual(len(line), 20 * MiB)
        data = b"before\n" + line + b"\nafter\n"
        r, raw, events = self.run_stdin(data)
        self.assertEqual(events[0]["message"], "before")
        self.assertEqual(events[-1]["message"], "after")
        self.assertNotIn("tags", events[0])
        self.assertNotIn("tags", events[-1])
        pieces = events[1:-1]
        self.assertGreaterEqual(len(pieces), 20)
        for i, ev in enumerate(pieces):
            self.assertIn("split", ev.get("tags", []), f"piece {i}")
            self.assertLessEqual(len(ev["message"]), MiB, f"piece {i}")
        self.assertEqual(sum(len(ev["message"]) for ev in pieces), 20 * MiB)
        self.assertTrue("".join(ev["message"] for ev in pieces) == line.decode(),
                        "the pieces do not reassemble into the original line")
        self.assertTotals(r, "in", events_out=len(events), split=len(pieces), parse_errors=0)

    def test_configured_max_line_bytes(self):
        line = ("é" * 3000 + "tail").encode()  # 6004 bytes of two-byte characters
        r, raw, events = self.run_stdin(line + b"\nshort\n", ", max_line_bytes: 1KiB")
        pieces, last = events[:-1], events[-1]
        self.assertEqual(last["message"], "short")
        self.assertGreaterEqual(len(pieces), 6)
        for ev in pieces:
            self.assertIn("split", ev.get("tags", []))
            self.assertLessEqual(len(ev["message"].encode()), 1024)
        # Cuts fall on character boundaries: nothing replaced, nothing lost.
        self.assertEqual("".join(ev["message"] for ev in pieces), line.decode())
        self.assertTotals(r, "in", split=len(pieces))

    def test_one_mib_of_random_binary_noise(self):
        noise = random.Random(20240601).randbytes(MiB)
        # Noise that happens to look like logfmt can have two different invalid-UTF-8 keys that
        # are both written "\ufffd": they count as one key, so the output is still strict JSON.
        r, raw, events = self.run_stdin(noise)
        want = expected_lines(noise)
        self.assertEqual(len(events), len(want), "events lost or invented")
        tagged_errors = 0
        for i, (ev, line) in enumerate(zip(events, want)):
            if "parse_error" in ev.get("tags", []):
                tagged_errors += 1
            if "message" in ev:
                self.assertEqual(normalise(ev["message"]),
                                 normalise(line.decode("utf-8", "replace")), f"record {i}")
            else:
                # Only a line that really is key=value text may become fields.
                self.assertRegex(line, rb"^[ \t]*[^ \t=]+=", f"record {i} lost its message: {ev}")
        self.assertTotals(r, "in", events_out=len(want), parse_errors=tagged_errors)

    def test_everything_at_once(self):
        pattern = b"xyz" * 10
        parts = [b"plain", b"bad \xff utf8", b"nul\x00", b"ctl\x1b[2J", b'{"a": "b',
                 b'{"a": 1} junk', b'{"level":"info","msg":"fine"}', b"level=warn msg=ok",
                 pattern * (3 * MiB // len(pattern)), b"crlf\r", b"end without newline"]
        data = b"\n".join(parts)
        r, raw, events = self.run_stdin(data)
        split = [ev for ev in events if "split" in ev.get("tags", [])]
        self.assertEqual(len(split), 3)
        self.assertEqual(len(events), len(parts) - 1 + len(split))
        self.assertEqual(events[-1].get("message"), "end without newline")
        self.assertEqual(events[-2].get("message"), "crlf")
        self.assertEqual(events[6].get("msg"), "fine")
        self.assertEqual(events[7].get("msg"), "ok")
        self.assertTotals(r, "in", events_out=len(events), parse_errors=2, split=3)


if __name__ == "__main__":
    e2e.main()
