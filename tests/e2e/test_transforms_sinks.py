"""Transforms (filter, remap) and sinks (file: fan-out, templates, compression, rotation,
SIGHUP reopen, buffers; stdout: text encoding and colour)."""

import glob
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402


def seq_lines(n, pad=40):
    return b"".join(json.dumps({"seq": i, "level": "info", "msg": f"event {i}", "pad": "p" * (i % pad)})
                    .encode() + b"\n" for i in range(n))


class Transforms(e2e.SluiceTestCase):

    def test_filter_on_levels_mixed_json_and_logfmt(self):
        out = self.path("out.jsonl")
        cfg = self.config(f"""
            sources:
              in: {{type: stdin}}
            transforms:
              important:
                type: filter
                inputs: [in]
                condition: 'level >= warn and not msg =~ "health"'
            sinks:
              out: {{type: file, inputs: [important], path: {e2e.yaml_str(out)}}}
            """)
        lines = [
            b'{"level":"debug","msg":"d1"}',
            b'{"level":"warn","msg":"w1"}',
            b'level=error msg=e1',
            b'level=info msg=i1',
            b'{"level":"ERROR","msg":"e2"}',
            b'level=WARNING msg="w2 health check"',
            b'plain text without a level',
            b'{"level":"fatal","msg":"f1"}',
            b'level=warn msg=health-ok',
            b'{"level":50,"msg":"pino-error"}',
            b'{"level":30,"msg":"pino-info"}',
            b'{"level":"notice","msg":"n1"}',
            b'{"level":"critical","msg":"c1"}',
            b'{"msg":"no level but warn in text"}',
        ]
        r = self.run_ok(["run", "-c", cfg], input=b"\n".join(lines) + b"\n", timeout=10)
        events = e2e.read_jsonl(out)
        self.assertEqual([e["msg"] for e in events], ["w1", "e1", "e2", "f1", "pino-error", "c1"])
        self.assertEqual(events[0]["level"], "warn")  # passed through unchanged
        self.assertTotals(r, "important", events_in=len(lines), events_out=6)
        self.assertTotals(r, "out", events_out=6, dropped=0)

    def test_filter_chain_and_fields(self):
        out = self.path("out.jsonl")
        cfg = self.config(f"""
            sources:
              in: {{type: stdin}}
            transforms:
              api: {{type: filter, inputs: [in], condition: 'service == "api" or status >= 500'}}
              slow: {{type: filter, inputs: [api], condition: 'duration_ms > 100'}}
            sinks:
              out: {{type: file, inputs: [slow], path: {e2e.yaml_str(out)}}}
            """)
        data = b"".join(json.dumps(d).encode() + b"\n" for d in [
            {"id": 1, "service": "api", "duration_ms": 150},
            {"id": 2, "service": "api", "duration_ms": 50},
            {"id": 3, "service": "web", "duration_ms": 500},
            {"id": 4, "service": "web", "status": 503, "duration_ms": 101},
            {"id": 5, "service": "web", "status": 200, "duration_ms": 900},
        ])
        self.run_ok(["run", "-c", cfg], input=data, timeout=10)
        self.assertEqual([e["id"] for e in e2e.read_jsonl(out)], [1, 4])

    def test_remap_rename_remove_add(self):
        out = self.path("out.jsonl")
        cfg = self.config(f"""
            sources:
              in: {{type: stdin}}
            transforms:
              tidy:
                type: remap
                inputs: [in]
                rename: {{msg: text, lvl: level}}
                remove: [secret, password]
                add: {{count: 3, ratio: 0.5, env: prod, flag: true, quoted: "3"}}
            sinks:
              out: {{type: file, inputs: [tidy], path: {e2e.yaml_str(out)}}}
            """)
        data = (b'{"msg":"hi","lvl":"warn","secret":"pw","keep":{"n":1},"count":"old"}\n'
                b'user=bob password=hunter2 msg="logfmt too"\n')
        r = self.run_ok(["run", "-c", cfg], input=data, timeout=10)
        a, b = e2e.read_jsonl(out)
        self.assertEqual(a["text"], "hi")
        self.assertEqual(a["level"], "warn")
        for gone in ("msg", "lvl", "secret"):
            self.assertNotIn(gone, a)
        self.assertEqual(a["keep"], {"n": 1})
        self.assertEqual(a["count"], 3)          # typed: a number, and it replaced "old"
        self.assertIsInstance(a["count"], int)
        self.assertEqual(a["ratio"], 0.5)
        self.assertEqual(a["env"], "prod")
        self.assertIs(a["flag"], True)
        self.assertEqual(a["quoted"], "3")       # quoted in YAML: stays a string
        self.assertEqual(b["text"], "logfmt too")
        self.assertEqual(b["user"], "bob")
        self.assertNotIn("password", b)
        self.assertEqual(b["count"], 3)
        self.assertTotals(r, "tidy", events_in=2, events_out=2)

    def test_remap_add_null(self):
        # Typed add covers numbers, booleans and null alike: YAML `null` must not become "".
        cfg = self.config("""
            sources:
              in: {type: stdin}
            transforms:
              t: {type: remap, inputs: [in], add: {nothing: null, tilde: ~, text: "null"}}
            sinks:
              out: {type: stdout, inputs: [t]}
            """)
        r = self.run_ok(["run", "-c", cfg], input=b"x\n", timeout=10)
        [ev] = e2e.parse_jsonl_bytes(r.stdout)
        self.assertEqual(ev["text"], "null")
        self.assertIn("nothing", ev)
        self.assertIsNone(ev["nothing"])
        self.assertIsNone(ev["tilde"])

    def test_fan_out_to_two_file_sinks_with_different_encodings(self):
        jsonl, raw = self.path("all.jsonl"), self.path("all.log")
        cfg = self.config(f"""
            sources:
              in: {{type: stdin}}
            sinks:
              as_json: {{type: file, inputs: [in], path: {e2e.yaml_str(jsonl)}}}
              as_raw: {{type: file, inputs: [in], path: {e2e.yaml_str(raw)}, encoding: raw}}
            """)
        data = e2e.generated_lines(5000)
        r = self.run_ok(["run", "-c", cfg], input=data, timeout=20)
        with open(raw, "rb") as f:
            self.assertTrue(f.read() == data, "raw copy differs from the input")
        self.assertEqual(e2e.messages(e2e.read_jsonl(jsonl)), data.decode().split("\n")[:-1])
        self.assertTotals(r, "as_json", events_out=5000, dropped=0)
        self.assertTotals(r, "as_raw", events_out=5000, dropped=0)

    def test_fan_out_after_transform_and_direct(self):
        everything, warnings = self.path("all.jsonl"), self.path("warn.jsonl")
        cfg = self.config(f"""
            sources:
              in: {{type: stdin}}
            transforms:
              w: {{type: filter, inputs: [in], condition: 'level >= warn'}}
            sinks:
              all: {{type: file, inputs: [in], path: {e2e.yaml_str(everything)}}}
              warn: {{type: file, inputs: [w], path: {e2e.yaml_str(warnings)}}}
            """)
        self.run_ok(["run", "-c", cfg], input=b"level=info msg=a\nlevel=warn msg=b\nlevel=error msg=c\n",
                    timeout=10)
        self.assertEqual([e["msg"] for e in e2e.read_jsonl(everything)], ["a", "b", "c"])
        self.assertEqual([e["msg"] for e in e2e.read_jsonl(warnings)], ["b", "c"])


class FileSink(e2e.SluiceTestCase):

    def test_path_template_per_service_and_sanitised(self):
        root = self.tmpdir()
        outdir = os.path.join(root, "out")
        cfg = self.config(f"""
            sources:
              in: {{type: stdin}}
            sinks:
              per_service: {{type: file, inputs: [in], path: {e2e.yaml_str(outdir + "/{{ service }}/%Y-%m-%d.jsonl")}}}
            """)
        rows = [("api", 1), ("web", 2), ("api", 3), ("../evil", 4), ("../../etc/passwd", 5),
                ("web", 6), (None, 7), ("a/b", 8)]
        data = b"".join(json.dumps({k: v for k, v in (("service", s), ("n", n),
                                                      ("time", "2024-03-10T12:00:00Z"))
                                    if v is not None}).encode() + b"\n" for s, n in rows)
        self.run_ok(["run", "-c", cfg], input=data, timeout=10)
        # include_hidden: a value may make a name that starts with a dot (`.._evil`).
        files = sorted(os.path.relpath(p, root)
                       for p in glob.glob(os.path.join(root, "**"), recursive=True,
                                          include_hidden=True)
                       if os.path.isfile(p))
        for f in files:
            self.assertTrue(f.startswith("out" + os.sep), f"file written outside out/: {f}")
            self.assertNotIn("..", f.split(os.sep), f)
            self.assertTrue(f.endswith("2024-03-10.jsonl"), f)
        self.assertFalse(os.path.exists(os.path.join(root, "evil")))
        self.assertIn(os.path.join("out", "api", "2024-03-10.jsonl"), files)
        self.assertIn(os.path.join("out", "web", "2024-03-10.jsonl"), files)
        by_file = {f: [e["n"] for e in e2e.read_jsonl(os.path.join(root, f))] for f in files}
        self.assertEqual(by_file[os.path.join("out", "api", "2024-03-10.jsonl")], [1, 3])
        self.assertEqual(by_file[os.path.join("out", "web", "2024-03-10.jsonl")], [2, 6])
        # Every event written exactly once; the hostile ones each in their own directory
        # directly under out/.
        self.assertEqual(sorted(n for ns in by_file.values() for n in ns), [1, 2, 3, 4, 5, 6, 7, 8])
        for n in (4, 5, 8):
            [f] = [f for f, ns in by_file.items() if n in ns]
            self.assertEqual(len(f.split(os.sep)), 3, f"event {n} went to {f}")
            self.assertEqual(by_file[f], [n])

    def check_compressed(self, compression, suffix, decompress):
        out = self.path("out.jsonl" + suffix)
        cfg = self.config(f"""
            sources:
              in: {{type: stdin}}
            sinks:
              out: {{type: file, inputs: [in], path: {e2e.yaml_str(out)}, compression: {compression}}}
            """)
        data = seq_lines(20000)
        self.run_ok(["run", "-c", cfg], input=data, timeout=20)
        with open(out, "rb") as f:
            compressed = f.read()
        self.assertLess(len(compressed), len(data) // 3, "output does not look compressed")
        events = e2e.parse_jsonl_bytes(decompress(out))
        self.assertEqual([e["seq"] for e in events], list(range(20000)))

    def test_gzip(self):
        def gunzip(path):
            with gzip.open(path, "rb") as f:
                return f.read()
        self.check_compressed("gzip", ".gz", gunzip)

    def test_zstd(self):
        zstd = shutil.which("zstd")
        if not zstd:
            self.skipTest("the zstd CLI is not installed; zstd output not checked")

        def unzstd(path):
            return subprocess.run([zstd, "-dc", path], stdout=subprocess.PIPE, check=True,
                                  timeout=20).stdout
        self.check_compressed("zstd", ".zst", unzstd)

    def test_rotation_by_size_keeps_every_event_once(self):
        outdir = self.tmpdir()
        out = os.path.join(outdir, "app.jsonl")
        cfg = self.config(f"""
            sources:
              in: {{type: stdin}}
            sinks:
              out: {{type: file, inputs: [in], path: {e2e.yaml_str(out)}, rotate: {{max_bytes: 64KiB}}}}
            """)
        n = 30000
        r = self.run_ok(["run", "-c", cfg], input=seq_lines(n), timeout=20)
        files = sorted(os.listdir(outdir))
        self.assertGreaterEqual(len(files), 3, f"expected several files, got {files}")
        for name in files:
            self.assertRegex(name, r"^app(\..+)?\.jsonl$")
        seqs = []
        for name in files:
            seqs += [e["seq"] for e in e2e.read_jsonl(os.path.join(outdir, name))]
        self.assertEqual(len(seqs), n, "events duplicated or lost across rotated files")
        self.assertEqual(sorted(seqs), list(range(n)))
        self.assertTotals(r, "out", events_out=n, dropped=0)

    def test_rotation_with_gzip(self):
        outdir = self.tmpdir()
        out = os.path.join(outdir, "app.jsonl.gz")
        cfg = self.config(f"""
            sources:
              in: {{type: stdin}}
            sinks:
              out: {{type: file, inputs: [in], path: {e2e.yaml_str(out)}, compression: gzip, rotate: {{max_bytes: 16KiB}}}}
            """)
        n = 40000
        self.run_ok(["run", "-c", cfg], input=seq_lines(n), timeout=20)
        files = sorted(os.listdir(outdir))
        self.assertGreaterEqual(len(files), 2, files)
        seqs = []
        for name in files:
            with gzip.open(os.path.join(outdir, name), "rb") as f:
                seqs += [e["seq"] for e in e2e.parse_jsonl_bytes(f.read())]
        self.assertEqual(sorted(seqs), list(range(n)))

    def test_rotation_by_interval(self):
        outdir = self.tmpdir()
        out = os.path.join(outdir, "app.jsonl")
        cfg = self.config(f"""
            sources:
              in: {{type: stdin}}
            sinks:
              out: {{type: file, inputs: [in], path: {e2e.yaml_str(out)}, rotate: {{interval: 400ms}}, fsync: interval}}
            """)
        proc = self.start(["run", "-c", cfg], stdin=subprocess.PIPE)
        proc.proc.stdin.write(b"early\n")
        proc.proc.stdin.flush()
        e2e.wait_until(lambda: os.path.exists(out) and os.path.getsize(out) > 0,
                       what="the first event")
        time.sleep(1.0)
        proc.proc.stdin.write(b"late\n")
        r = proc.wait(timeout=10)
        self.assertEqual(r.rc, 0, r.describe())
        files = sorted(os.listdir(outdir))
        self.assertGreaterEqual(len(files), 2, files)
        where = {}
        for name in files:
            for m in e2e.messages(e2e.read_jsonl(os.path.join(outdir, name))):
                where.setdefault(m, []).append(name)
        self.assertEqual(sorted(where), ["early", "late"])
        self.assertEqual(len(where["early"]), 1)
        self.assertEqual(len(where["late"]), 1)
        self.assertNotEqual(where["early"], where["late"])

    def test_sighup_reopens_the_file_after_a_rename(self):
        out = self.path("out.jsonl")
        moved = self.path("out.jsonl.1")
        cfg = self.stdin_file_config(out)
        proc = self.start(["run", "-c", cfg], stdin=subprocess.PIPE)

        def send(line):
            proc.proc.stdin.write(line)
            proc.proc.stdin.flush()

        def lines_in(path):
            if not os.path.exists(path):
                return []
            with open(path, "rb") as f:
                return [l for l in f.read().split(b"\n") if l]

        send(b"before-1\nbefore-2\n")
        e2e.wait_until(lambda: len(lines_in(out)) == 2, what="the first lines in the file")
        os.rename(out, moved)
        proc.signal(signal.SIGHUP)
        e2e.wait_until(lambda: "SIGHUP" in proc.stderr_text(), what="sluice to log the SIGHUP")
        # The sink reopens on its next turn (at most one 100 ms tick); logrotate-style, the
        # writer of new lines waits a moment after the signal.
        time.sleep(0.5)
        send(b"after-1\nafter-2\n")
        e2e.wait_until(lambda: os.path.exists(out) and len(lines_in(out)) == 2,
                       what="a new file at the original path")
        r = proc.wait(timeout=10)  # closes stdin
        self.assertEqual(r.rc, 0, r.describe())
        self.assertEqual(e2e.messages(e2e.read_jsonl(moved)), ["before-1", "before-2"])
        self.assertEqual(e2e.messages(e2e.read_jsonl(out)), ["after-1", "after-2"])

    def test_sighup_with_exec_source(self):
        out = self.path("out.jsonl")
        moved = self.path("out.old")
        go = self.path("go")
        # SIGHUP is also forwarded to the child, which must survive it to write `second`.
        child = (f'trap ":" HUP; echo first; while [ ! -e {go} ]; do sleep 0.05; done; '
                 'echo second')
        cfg = self.config(f"""
            sources:
              app: {{type: exec, command: [sh, -c, {e2e.yaml_str(child)}], passthrough: false}}
            sinks:
              out: {{type: file, inputs: [app], path: {e2e.yaml_str(out)}}}
            """)
        proc = self.start(["run", "-c", cfg])
        e2e.wait_until(lambda: os.path.exists(out) and os.path.getsize(out) > 0,
                       what="the first event")
        os.rename(out, moved)
        proc.signal(signal.SIGHUP)
        e2e.wait_until(lambda: "SIGHUP" in proc.stderr_text(), what="sluice to log the SIGHUP")
        time.sleep(0.5)
        open(go, "w").close()
        r = proc.wait(timeout=10)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertEqual(e2e.messages(e2e.read_jsonl(moved)), ["first"])
        self.assertEqual(e2e.messages(e2e.read_jsonl(out)), ["second"])

    def test_buffer_drop_newest_is_accepted(self):
        out = self.path("out.jsonl")
        cfg = self.stdin_file_config(
            out, sink_opts=", buffer: {max_bytes: 1KiB, when_full: drop_newest}")
        self.run_ok(["validate", "-c", cfg], timeout=10)
        r = self.run_ok(["run", "-c", cfg], input=b"a\nb\n", timeout=10)
        # Whatever was dropped is counted: delivered + dropped == produced.
        delivered = len(e2e.read_jsonl(out)) if os.path.exists(out) else 0
        self.assertEqual(delivered + r.totals["out"]["dropped"], 2, r.describe())

    def test_buffer_block_drops_nothing(self):
        out = self.path("out.jsonl")
        cfg = self.stdin_file_config(
            out, sink_opts=", fsync: always, buffer: {max_bytes: 1KiB, when_full: block}")
        n = 20000
        r = self.run_ok(["run", "-c", cfg], input=seq_lines(n), timeout=30)
        self.assertEqual([e["seq"] for e in e2e.read_jsonl(out)], list(range(n)))
        self.assertTotals(r, "out", events_out=n, dropped=0)

    def test_bad_buffer_options(self):
        for opt, pattern in [("when_full: drop_oldest", r"when_full"),
                             ("max_bytes: huge", r"max_bytes"),
                             ("type: tape", r"`type` must be one of memory, disk"),
                             ("type: memory, fsync: always", r"needs `type: disk`"),
                             ("type: disk, max_bytes: 1MiB, segment_bytes: 1MiB",
                              r"at least twice its `segment_bytes`")]:
            with self.subTest(opt=opt):
                cfg = self.config(f"""
                    sources:
                      in: {{type: stdin}}
                    sinks:
                      out:
                        type: stdout
                        inputs: [in]
                        buffer: {{{opt}}}
                    """)
                r = self.run_sluice(["validate", "-c", cfg], timeout=10)
                self.assertEqual(r.rc, 78, r.describe())
                self.assertRegex(r.stderr_text, re.escape(cfg) + r":\d+:\d+:.*" + pattern)


class StdoutSink(e2e.SluiceTestCase):

    INPUT = (b'{"level":"warn","msg":"disk almost full","disk":"/dev/sda1"}\n'
             b'level=error msg="boom" code=42\n'
             b'{"level":"info","msg":"sneaky \\u001b[31mred\\u001b[0m"}\n'
             b'{"severity":"DEBUG","message":"dbg"}\n'
             b'plain line\n')

    def run_text(self, color=None):
        opt = "" if color is None else f", color: {color}"
        cfg = self.config(f"""
            sources:
              in: {{type: stdin}}
            sinks:
              console: {{type: stdout, inputs: [in], encoding: text{opt}}}
            """)
        r = self.run_ok(["run", "-c", cfg], input=self.INPUT, timeout=10)
        lines = r.stdout.split(b"\n")
        self.assertEqual(lines[-1], b"")
        return lines[:-1]

    def check_text_lines(self, lines):
        strip = [re.sub(rb"\x1b\[[0-9;]*m", b"", l) for l in lines]
        self.assertEqual(len(strip), 5)
        expect = [(b"WARN", b"disk almost full"), (b"ERROR", b"boom"), (b"INFO", b"sneaky"),
                  (b"DEBUG", b"dbg"), (None, b"plain line")]
        for line, (level, text) in zip(strip, expect):
            if level:
                self.assertRegex(line, rb"\b" + level + rb"\b", line)
            self.assertIn(text, line)
        self.assertIn(b"disk=/dev/sda1", strip[0])
        self.assertIn(b"code=42", strip[1])
        return strip

    def test_text_without_tty_has_no_ansi(self):
        lines = self.run_text()
        for line in lines:
            self.assertNotIn(b"\x1b", line, f"escape byte in non-TTY output: {line!r}")
        self.check_text_lines(lines)

    def test_text_color_never(self):
        lines = self.run_text("never")
        self.assertFalse(any(b"\x1b" in l for l in lines))
        self.check_text_lines(lines)

    def test_text_color_always(self):
        lines = self.run_text("always")
        self.assertTrue(any(e2e.ANSI in l for l in lines), "no ANSI colour with color: always")
        self.assertIn(e2e.ANSI, lines[0])
        # Colour comes from sluice only: the escape inside the event is still neutralised.
        self.assertNotIn(b"\x1b[31mred", lines[2])
        self.check_text_lines(lines)

    def test_stdout_json_and_raw(self):
        for encoding in ("json", "raw"):
            with self.subTest(encoding=encoding):
                cfg = self.config(f"""
                    sources:
                      in: {{type: stdin}}
                    sinks:
                      console: {{type: stdout, inputs: [in], encoding: {encoding}}}
                    """, name=f"{encoding}.yaml")
                r = self.run_ok(["run", "-c", cfg], input=self.INPUT, timeout=10)
                if encoding == "raw":
                    self.assertEqual(r.stdout, self.INPUT)
                else:
                    self.assertEqual(len(e2e.parse_jsonl_bytes(r.stdout)), 5)


if __name__ == "__main__":
    e2e.main()
