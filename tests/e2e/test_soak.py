"""End-to-end soak, short form (bench/soak.sh is the 10-minute one, with the same writer): a
file written at a steady rate and rotated by rename every few seconds, tailed by a `file` source
(JSON parsing, checkpoints) into a rotating `file` sink. Rotated input files are deleted once the
checkpoint shows them acknowledged, rotated output files once counted, as a long run must.

Checks: every line written is in the output exactly once (by its unique number; no SIGKILL here,
so no duplicates either), the totals sluice logs at exit agree, and RSS after the warm-up grows
by less than RSS_GROWTH_BOUND_MIB. Prints the RSS samples, the growth, and CPU s per MB.

Sizes scale down under the sanitizer build (SCALE, as in test_faults); SLUICE_SOAK_SECONDS and
SLUICE_SOAK_MBPS override the duration and the rate."""

import os
import re
import signal
import threading
import time

from rotating_writer import MAX_CHUNK_LINES, RotatingWriter
from sluice_e2e import SluiceTestCase, base_env, main, wait_until, yaml_str
from test_faults import SANITIZED, SANITIZER_REPORT, SCALE, note, vm_kib

SECONDS = float(os.environ.get("SLUICE_SOAK_SECONDS", 30))
MBPS = float(os.environ.get("SLUICE_SOAK_MBPS", 15 * SCALE))
ROTATE_SECONDS = 5
WARMUP_SECONDS = 10
# Memory is bounded by the queues (README, Performance): after the warm-up, RSS may move with
# the pools' high-water marks but not grow with the input. The sanitizer's allocator keeps freed
# blocks in a quarantine that fills over the run.
RSS_GROWTH_BOUND_MIB = 64 if SANITIZED else 16
SEQ = re.compile(rb'seq(?:":"|=)(\d{12})')


class OutputCounter:
    """Counts the unique numbers in output files, in a bitmap over every possible number."""

    def __init__(self, chunk_lines, max_chunks):
        self.chunk_lines = chunk_lines
        self.seen = bytearray(chunk_lines * max_chunks)
        self.lines = 0
        self.duplicates = 0
        self.foreign = 0

    def add_file(self, path):
        with open(path, "rb") as f:
            data = f.read()
        self.lines += data.count(b"\n")
        for m in SEQ.finditer(data):
            c, i = divmod(int(m.group(1)), MAX_CHUNK_LINES)
            k = c * self.chunk_lines + i
            if i >= self.chunk_lines or k >= len(self.seen):
                self.foreign += 1
            elif self.seen[k]:
                self.duplicates += 1
            else:
                self.seen[k] = 1

    def unique(self):
        return self.seen.count(1)

    def missing(self, chunks):
        n = chunks * self.chunk_lines
        return [k for k in range(n) if not self.seen[k]]


class SoakTest(SluiceTestCase):
    def test_steady_rate_with_rotation(self):
        indir = self.path("in")
        outdir = self.path("out")
        os.makedirs(indir)
        log = os.path.join(indir, "app.log")
        open(log, "wb").close()
        data = self.path("data")
        cfg = self.config(f"""
            data_dir: {yaml_str(data)}
            sources:
              logs:
                type: file
                include: [{yaml_str(log)}, {yaml_str(log + ".*")}]
                read_from: beginning
                rotate_wait: 1s
            sinks:
              out:
                type: file
                inputs: [logs]
                path: {yaml_str(os.path.join(outdir, "events.jsonl"))}
                rotate: {{max_bytes: 32MiB}}
            """)
        p = self.start(["run", "-c", cfg], env=base_env({"SLUICE_SHUTDOWN_TIMEOUT_SECONDS": "30"}))
        wait_until(lambda: "tailing file" in p.stderr_text(), timeout=30, what="the source")
        writer = RotatingWriter(log, MBPS, SECONDS, ROTATE_SECONDS,
                                checkpoint=os.path.join(data, "checkpoints", "logs.json"))
        # Enough room for every chunk the writer can make, however fast it goes.
        counter = OutputCounter(writer.chunk_lines,
                                int(SECONDS * MBPS * 1e6 / len(writer.template)) + 16)
        result = {}
        thread = threading.Thread(target=lambda: result.update(writer.run()), daemon=True)
        start = time.monotonic()
        thread.start()

        def count_rotated_output():
            for name in sorted(os.listdir(outdir)) if os.path.isdir(outdir) else []:
                if name != "events.jsonl":  # a rotated file: complete, and never written again
                    counter.add_file(os.path.join(outdir, name))
                    os.unlink(os.path.join(outdir, name))

        samples = []  # (seconds, RSS MiB, CPU s, input MB)
        while thread.is_alive():
            time.sleep(1)
            self.assertIsNone(p.proc.poll(), p.stderr_text()[-3000:])
            samples.append((time.monotonic() - start, vm_kib(p.pid, "VmRSS") / 1024,
                            cpu_seconds(p.pid), writer.bytes / 1e6))
            count_rotated_output()
        thread.join()
        chunks = result["chunks"]
        # Caught up: every input file still there is acknowledged to its end.
        summary = writer.finish_deleting(timeout=60)
        wait_until(lambda: caught_up(os.path.join(data, "checkpoints", "logs.json"), indir),
                   timeout=60, interval=0.5, what="sluice to acknowledge every input line")
        cpu = cpu_seconds(p.pid)
        hwm = vm_kib(p.pid, "VmHWM") / 1024
        p.signal(signal.SIGTERM)
        r = p.wait(timeout=60)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertIsNone(SANITIZER_REPORT.search(r.stderr_text), r.describe())
        count_rotated_output()
        counter.add_file(os.path.join(outdir, "events.jsonl"))

        lines = chunks * writer.chunk_lines
        missing = counter.missing(chunks)
        self.assertEqual(missing[:10], [], f"{len(missing)} lines missing")
        self.assertEqual((counter.unique(), counter.duplicates, counter.foreign), (lines, 0, 0))
        self.assertEqual(counter.lines, lines)
        self.assertEqual(r.totals["logs"]["events_out"], lines, r.describe())
        self.assertEqual((r.totals["out"]["events_out"], r.totals["out"]["dropped"]), (lines, 0),
                         r.describe())
        self.assertEqual(r.totals["logs"]["bytes_in"], summary["bytes"], r.describe())

        after = [s for s in samples if s[0] >= WARMUP_SECONDS]
        self.assertGreaterEqual(len(after), 3, "too short to judge memory after the warm-up")
        base = after[0][1]
        growth = max(s[1] for s in after) - base
        mb = summary["bytes"] / 1e6
        every5, due = [], 0  # one sample per 5 s for the report
        for t, rss, _, _ in samples:
            if t >= due:
                every5.append(f"{t:.0f}s:{rss:.1f}")
                due = (t // 5 + 1) * 5
        table = "  ".join(every5)
        note(f"soak: {lines} lines, {mb:.0f} MB at {summary['mbps']:.1f} MB/s (target {MBPS:g}), "
             f"{summary['rotations']} rotations, {summary['deleted']} rotated inputs deleted; "
             f"RSS MiB by time: {table}")
        note(f"RSS after {WARMUP_SECONDS}s warm-up {base:.1f} MiB, growth {growth:+.1f} MiB "
             f"(bound {RSS_GROWTH_BOUND_MIB}), peak {hwm:.1f} MiB; CPU {cpu:.1f}s = "
             f"{cpu / mb * 1000:.1f} ms/MB; events in = out = {lines}")
        self.assertLess(summary["behind_s"], 5, f"the writer could not keep the rate: {summary}")
        self.assertLess(growth, RSS_GROWTH_BOUND_MIB, f"RSS grew by {growth:.1f} MiB: {samples}")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def caught_up(checkpoint, indir):
    import json
    try:
        with open(checkpoint, "rb") as f:
            entries = {(e["dev"], e["ino"]): e["offset"] for e in json.load(f)["files"]}
    except (OSError, ValueError, KeyError):
        return False
    for name in os.listdir(indir):
        st = os.stat(os.path.join(indir, name))
        if entries.get((st.st_dev, st.st_ino), -1) < st.st_size:
            return False
    return True


if __name__ == "__main__":
    main()
