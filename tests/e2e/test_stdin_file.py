"""stdin source -> file sink: the minimal config, volume, ordering, framing edge cases."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402

N_LINES = 200_000


class StdinToFile(e2e.SluiceTestCase):

    def test_minimal_config_from_issue(self):
        out = self.path("out.jsonl")
        cfg = self.config(f"""
            sources:
              in: {{type: stdin}}
            sinks:
              out: {{type: file, inputs: [in], path: {e2e.yaml_str(out)}}}
            """)
        r = self.run_ok(["run", "-c", cfg], input=b"hello world\nsecond line\n")
        events = e2e.read_jsonl(out)
        self.assertEqual(e2e.messages(events), ["hello world", "second line"])
        for ev in events:
            self.assertEqual(set(ev), {"@timestamp", "message", "source", "stream", "host"})
            self.assertEventShape(ev, "in", "stdin")
            self.assertEqual(set(ev["host"]), {"name"})
        self.assertTotals(r, "in", events_out=2, dropped=0, parse_errors=0, split=0)
        self.assertTotals(r, "out", events_in=2, events_out=2, dropped=0)

    def test_200k_lines_raw_is_byte_identical(self):
        data = e2e.generated_lines(N_LINES)
        out = self.path("out.log")
        cfg = self.stdin_file_config(out, ", parser: none", ", encoding: raw")
        r = self.run_ok(["run", "-c", cfg], input=data, timeout=40)
        with open(out, "rb") as f:
            got = f.read()
        self.assertEqual(len(got), len(data), "output size differs from input size")
        self.assertTrue(got == data, "raw output is not byte-for-byte identical to the input")
        self.assertTotals(r, "in", events_out=N_LINES, dropped=0, split=0)
        self.assertTotals(r, "out", events_out=N_LINES, dropped=0)

    def test_200k_lines_json_messages_in_order(self):
        data = e2e.generated_lines(N_LINES)
        out = self.path("out.jsonl")
        cfg = self.stdin_file_config(out, ", parser: none")
        r = self.run_ok(["run", "-c", cfg], input=data, timeout=40)
        events = e2e.read_jsonl(out)  # every line strictly valid JSON
        expected = data.decode("utf-8").split("\n")[:-1]
        self.assertEqual(len(events), N_LINES)
        got = e2e.messages(events)
        for i, (g, want) in enumerate(zip(got, expected)):
            if g != want:
                self.fail(f"event {i}: message {g!r} != input line {want!r}")
        self.assertTotals(r, "out", events_out=N_LINES, dropped=0)

    def check_ordered_sequence(self, workers, n, runs):
        body = b"".join(
            json.dumps({"seq": i, "level": "info", "pad": "p" * (i % 50)}).encode() + b"\n"
            for i in range(n))
        out = self.path(f"seq-{workers}.jsonl")
        cfg = self.stdin_file_config(out, top=f"workers: {workers}")
        for attempt in range(runs):
            if os.path.exists(out):
                os.unlink(out)
            r = self.run_ok(["run", "-c", cfg], input=body, timeout=40)
            events = e2e.read_jsonl(out)
            seqs = [e.get("seq") for e in events]
            self.assertEqual(len(seqs), n, f"run {attempt}: wrong event count\n{r.describe()}")
            inversions = [(i, a, b) for i, (a, b) in enumerate(zip(seqs, seqs[1:])) if b != a + 1]
            self.assertEqual(inversions[:5], [],
                             f"run {attempt} with workers={workers}: events out of order "
                             f"({len(inversions)} breaks; first: (index, seq, next seq))")

    def test_order_kept_with_two_workers(self):
        # Ordering bugs between workers are races; several runs make one likely to show.
        self.check_ordered_sequence(workers=2, n=100_000, runs=4)

    def test_final_line_without_newline_is_emitted(self):
        out = self.path("out.jsonl")
        cfg = self.stdin_file_config(out)
        r = self.run_ok(["run", "-c", cfg], input=b"first\nsecond\nno newline at the end")
        self.assertEqual(e2e.messages(e2e.read_jsonl(out)),
                         ["first", "second", "no newline at the end"])
        self.assertTotals(r, "in", events_out=3)

    def test_only_a_partial_line(self):
        out = self.path("out.jsonl")
        self.run_ok(["run", "-c", self.stdin_file_config(out)], input=b"lonely")
        self.assertEqual(e2e.messages(e2e.read_jsonl(out)), ["lonely"])

    def test_crlf_lines_lose_the_carriage_return(self):
        out = self.path("out.jsonl")
        cfg = self.stdin_file_config(out)
        data = b"one\r\ntwo words\r\nmid\rdle\r\nlf only\nlast\r\n"
        self.run_ok(["run", "-c", cfg], input=data)
        self.assertEqual(e2e.messages(e2e.read_jsonl(out)),
                         ["one", "two words", "mid\rdle", "lf only", "last"])

    def test_crlf_final_line_without_newline(self):
        out = self.path("out.jsonl")
        self.run_ok(["run", "-c", self.stdin_file_config(out)], input=b"a\r\nb\r")
        self.assertEqual(e2e.messages(e2e.read_jsonl(out)), ["a", "b"])

    def test_empty_lines_are_events(self):
        out = self.path("out.jsonl")
        self.run_ok(["run", "-c", self.stdin_file_config(out)], input=b"a\n\n\r\nb\n")
        self.assertEqual(e2e.messages(e2e.read_jsonl(out)), ["a", "", "", "b"])

    def check_signal_drains(self, sig):
        out = self.path("out.jsonl")
        cfg = self.stdin_file_config(out, ", parser: none")
        proc = self.start(["run", "-c", cfg], stdin=subprocess.PIPE)
        data = e2e.generated_lines(N_LINES)

        def feed():  # the pipe stays open: only the signal ends sluice
            try:
                proc.proc.stdin.write(data)
                proc.proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                pass
        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        e2e.wait_until(lambda: os.path.exists(out) and os.path.getsize(out) > 0,
                       what="the first events")
        t0 = time.monotonic()
        proc.signal(sig)
        try:
            proc.proc.wait(timeout=8)
        except subprocess.TimeoutExpired:
            self.fail(f"sluice did not exit within 8 s of {sig.name}")
        elapsed = time.monotonic() - t0
        r = proc.wait(timeout=2)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertLess(elapsed, 6, "the 5 s shutdown deadline was not kept")
        events = e2e.read_jsonl(out)
        # Everything read before the signal was delivered, in order, nothing invented.
        want = data.decode().split("\n")[:-1]
        self.assertGreater(len(events), 0)
        got = e2e.messages(events)
        self.assertEqual(got[:-1], want[:len(got) - 1])
        if got[-1] != want[len(got) - 1]:
            # Reading stopped mid-line: the piece read so far may be kept, but flagged.
            # (a cut inside a UTF-8 character leaves a U+FFFD at the end)
            self.assertTrue(want[len(got) - 1].startswith(got[-1].rstrip("\ufffd")), got[-1])
            self.assertIn("tags", events[-1],
                          f"line cut short by {sig.name} emitted as if complete: {events[-1]}")
        read = r.totals["in"]["events_out"]
        self.assertEqual(len(events), read, "events read but not delivered")
        self.assertTotals(r, "out", events_out=read, dropped=0)
        writer.join(timeout=5)

    def test_sigterm_drains_and_exits(self):
        self.check_signal_drains(signal.SIGTERM)

    def test_sigint_drains_and_exits(self):
        self.check_signal_drains(signal.SIGINT)

    def test_eof_exits_zero_promptly(self):
        out = self.path("out.jsonl")
        cfg = self.stdin_file_config(out)
        r = self.run_ok(["run", "-c", cfg], input=b"", timeout=10)
        self.assertLess(r.elapsed, 5.0, "empty stdin should end sluice quickly")
        self.assertTotals(r, "in", events_out=0)
        if os.path.exists(out):
            self.assertEqual(os.path.getsize(out), 0)
        self.assertIn({"exit_code": "0"}, [{"exit_code": rec.get("exit_code")}
                                           for rec in r.logs if rec.get("msg") == "stopped"])


if __name__ == "__main__":
    e2e.main()
