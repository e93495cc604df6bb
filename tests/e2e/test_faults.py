"""End-to-end fault tests (issue 6): sluice killed with SIGKILL over and over while it tails
rotating files into a file sink and Kafka; a slow Elasticsearch behind an exec source that
writes as fast as it can (memory stays bounded, backpressure reaches the child); damaged
checkpoint files at start.

Under the sanitizer build (`make test-asan`: a Debug ASan+UBSan binary, several times slower)
the volumes shrink (SCALE); SLUICE_E2E_SCALE overrides it. SLUICE_FAULTS_SEED replays the
random kill points of a failed run (the seed is printed)."""

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

from es_helpers import Emulator, emulator_available
from kafka_helpers import MockCluster, consume, count, tools_available
from sluice_e2e import BIN, SluiceTestCase, base_env, main, wait_until, yaml_str
from tool_process import started


def sanitized_binary():
    """Whether SLUICE_BIN is the ASan build (it links libasan; `make test-asan` also sets
    ASAN_OPTIONS for everything it runs)."""
    try:
        libs = subprocess.run(["ldd", BIN], capture_output=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        libs = b""
    return b"libasan" in libs or b"libclang_rt.asan" in libs


SANITIZED = sanitized_binary()
SCALE = float(os.environ.get("SLUICE_E2E_SCALE", "0.4" if SANITIZED else "1"))
SANITIZER_REPORT = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:")

SEQ = re.compile(rb"seq=(\d{8}) end")


def line(n):
    return f"line seq={n:08d} end {'p' * (n % 61)}\n".encode()


def note(text):
    print(f"\n  {text}", end="", flush=True)


# --- (a) kill -9 cycles ----------------------------------------------------------------------

class RotatingLineWriter(threading.Thread):
    """Appends numbered lines to `path` at about `rate` lines/s until stopped, rotating every
    `rotate_every` lines: mostly by rename (path.N, a new file at path), sometimes by
    copytruncate (copy to path.cN, then truncate). Both names match the source's `path.*`, so
    a rotation while sluice is down is found again: renamed files resume from their checkpoint,
    copies are new files read from their beginning (duplicates, never losses). Rotated files
    are kept to the end of the test."""

    def __init__(self, path, rng, rate, rotate_every):
        super().__init__(daemon=True)
        self.path, self.rng, self.rate, self.rotate_every = path, rng, rate, rotate_every
        self.written = 0
        self.renames = 0
        self.copytruncates = 0
        self.error = None
        self._stop_flag = threading.Event()

    def stop(self):
        self._stop_flag.set()
        self.join(30)

    def run(self):
        try:
            f = open(self.path, "ab", buffering=0)
            n = 0
            start = time.monotonic()
            while not self._stop_flag.is_set():
                if n and n % self.rotate_every == 0:
                    f = self.rotate(f)
                f.write(b"".join(line(k) for k in range(n, n + 50)))
                n += 50
                self.written = n
                delay = start + n / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            f.close()
        except Exception as e:  # surfaced by the test
            self.error = e

    def rotate(self, f):
        k = self.renames + self.copytruncates + 1
        if self.rng.random() < 0.75:
            self.renames += 1
            f.close()
            os.rename(self.path, f"{self.path}.{k}")
            return open(self.path, "ab", buffering=0)
        self.copytruncates += 1
        shutil.copyfile(self.path, f"{self.path}.c{k}")
        os.truncate(self.path, 0)
        return f


def split_output(data):
    """(seqs of the complete JSON lines, torn lines) of file sink output. A torn line is what a
    SIGKILL left half written: not a JSON object (its events were not acknowledged, so they are
    written again after the restart)."""
    seqs = []
    torn = 0
    for raw in data.split(b"\n"):
        if not raw:
            continue
        try:
            event = json.loads(raw)
        except ValueError:
            torn += 1
            continue
        m = SEQ.search(event["message"].encode())
        seqs.append(int(m.group(1)))
    return seqs, torn


class KillCyclesTest(SluiceTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not tools_available():
            raise AssertionError("Kafka test tools missing: build the tests (sluice_kafka_mock)")

    def test_kill_9_cycles_lose_no_line_in_file_and_kafka(self):
        seed = int(os.environ.get("SLUICE_FAULTS_SEED", random.randrange(1 << 31)))
        note(f"kill -9 cycles: seed {seed} (SLUICE_FAULTS_SEED={seed} replays it)")
        rng = random.Random(seed)
        kafka = started(self, MockCluster(topics={"logs": 6}))
        log = self.path("logs", "app.log")
        os.makedirs(os.path.dirname(log))
        open(log, "wb").close()
        out = self.path("out", "events.jsonl")
        cfg = self.config(f"""
            data_dir: {yaml_str(self.path("data"))}
            sources:
              logs:
                type: file
                include: [{yaml_str(log)}, {yaml_str(log + ".*")}]
                read_from: beginning
                parser: none
                glob_interval: 100ms
                rotate_wait: 1s
                checkpoint_interval: 200ms
            sinks:
              out: {{type: file, inputs: [logs], path: {yaml_str(out)}}}
              k: {{type: kafka, inputs: [logs], brokers: {yaml_str(kafka.bootstrap)}, topic: logs}}
            """)
        env = base_env({"SLUICE_SHUTDOWN_TIMEOUT_SECONDS": "30"})

        def start():
            return self.start(["run", "-c", cfg], env=env)

        writer = RotatingLineWriter(log, rng, rate=2500 * SCALE, rotate_every=1500)
        p = start()
        writer.start()
        kills = 12
        for k in range(kills):
            time.sleep(rng.uniform(0.1, 1.8) / max(SCALE, 0.5))
            p.proc.send_signal(signal.SIGKILL)
            p.proc.wait(timeout=10)
            self.assertEqual(p.proc.returncode, -signal.SIGKILL,
                             f"sluice exited before the kill\n{p.stderr_text()[-3000:]}")
            self.assertIsNone(SANITIZER_REPORT.search(p.stderr_text()), p.stderr_text()[-3000:])
            if k == 2:
                # A kill in the middle of a write() leaves a cut line; it happens rarely on its
                # own (a batch is one write), so one is made here: the restarted file sink must
                # not glue its first event to it.
                with open(out, "ab") as f:
                    f.write(b'{"@timestamp":"2026-01-01T00:00:00.000000000Z","message":"line s')
            time.sleep(rng.uniform(0, 0.8))  # lines and rotations while sluice is down
            p = start()
        writer.stop()
        self.assertIsNone(writer.error)
        total = writer.written
        expected = set(range(total))

        def delivered():
            with open(out, "rb") as f:
                return set(split_output(f.read())[0]) >= expected

        try:
            wait_until(delivered, timeout=120, interval=0.5, what="every line in the file sink")
        except AssertionError:
            with open(out, "rb") as f:
                missing = sorted(expected - set(split_output(f.read())[0]))
            self.fail(f"{len(missing)} lines missing from the file sink, first {missing[:10]}\n"
                      f"{p.stderr_text()[-3000:]}")
        p.signal(signal.SIGTERM)
        r = p.wait(timeout=60)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertIsNone(SANITIZER_REPORT.search(r.stderr_text), r.describe())

        with open(out, "rb") as f:
            file_seqs, torn = split_output(f.read())
        self.assertEqual(set(file_seqs), expected, "lines lost in the file sink")
        written = count(kafka.bootstrap, "logs")
        self.assertEqual(count(kafka.bootstrap, "logs", held=True), written,
                         "the mock cluster dropped old messages: fewer lines needed")
        msgs = consume(kafka.bootstrap, "logs", written, timeout=90)
        kafka_seqs = [int(SEQ.search(json.loads(m["value"])["message"].encode()).group(1))
                      for m in msgs]
        missing = sorted(expected - set(kafka_seqs))
        self.assertEqual(missing[:10], [], f"{len(missing)} lines lost in Kafka")
        self.assertEqual(len(kafka_seqs), written)
        self.assertGreaterEqual(torn, 1, "the cut line made after the third kill")
        file_dups = len(file_seqs) - len(set(file_seqs))
        kafka_dups = len(kafka_seqs) - len(set(kafka_seqs))
        note(f"{kills} kills, {total} lines in {writer.renames} renames and "
             f"{writer.copytruncates} copytruncates; duplicates: file sink {file_dups} "
             f"({100 * file_dups / total:.1f}%), Kafka {kafka_dups} "
             f"({100 * kafka_dups / total:.1f}%); torn lines in the file sink: {torn}")


# --- (b) slow consumer -------------------------------------------------------------------------

# The child of the exec source: writes `chunks` chunks of the soak writer's lines (unique seq
# numbers, ~200 B each) to stdout as fast as the pipe takes them, and after each chunk records
# the bytes written so far in `progress` ("done N" at the end).
CHILD = r"""
import os, sys
sys.path.insert(0, sys.argv[1])
from rotating_writer import chunk_bytes, chunk_template
chunks, progress = int(sys.argv[2]), sys.argv[3]
template = chunk_template(int(sys.argv[4]), seed=7)
written = 0
def record(text):
    with open(progress + ".tmp", "w") as f:
        f.write(text)
    os.replace(progress + ".tmp", progress)
for n in range(chunks):
    view = memoryview(chunk_bytes(template, n))
    while view:
        view = view[os.write(1, view):]
    written += len(template)
    record(str(written))
record(f"done {written}")
"""


def vm_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for text in f:
            if text.startswith(field + ":"):
                return int(text.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


class SlowConsumerTest(SluiceTestCase):
    """An exec source whose child writes as fast as it can, into an `elasticsearch` sink whose
    cluster indexes 1 MB/s of bulk bodies. With `when_full: block`, memory stays bounded by the
    configured buffer and the child is held back by its pipe; once the limit is lifted every
    line is stored. Parametrised by the sink's `buffer` (slow_consumer()): a memory buffer, and
    a disk buffer that spills up to its max_bytes before the child is held back."""

    LIMIT = 1_000_000  # bulk body bytes per second the emulator takes
    THROTTLED_SECONDS = 8
    CHUNK_LINES = 4096  # ~0.8 MB per chunk
    WORKERS = 2
    WORK_QUEUE_BYTES = WORKERS * (4 << 20)  # the work queue's bound: 4 MiB per worker

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not emulator_available():
            raise AssertionError("sluice_es_emulator missing: build the tests")

    def slow_consumer(self, buffer, buffered_bytes, rss_bound_mib, chunks=60):
        """Runs the scenario with the sink's `buffer` options. `buffered_bytes`: how much input
        the pipeline may hold besides what the cluster took (the child is allowed to have written
        that much more than the limit explains). Returns the figures for the caller's report."""
        es = started(self, Emulator())
        es.set("max-bytes-per-second", self.LIMIT)
        progress = self.path("progress")
        here = os.path.dirname(os.path.abspath(__file__))
        cfg = self.config(f"""
            data_dir: {yaml_str(self.path("data"))}
            workers: {self.WORKERS}
            sources:
              app:
                type: exec
                passthrough: false
                command: {json.dumps([sys.executable, "-c", CHILD, here, str(chunks), progress,
                                      str(self.CHUNK_LINES)])}
            sinks:
              es:
                type: elasticsearch
                inputs: [app]
                endpoints: [{yaml_str(es.url)}]
                id: auto
                max_batch_bytes: 1MiB
                flush_interval: 200ms
                retry_backoff_min: 20ms
                retry_backoff_max: 1s
                buffer: {json.dumps(buffer)}
            """)
        p = self.start(["run", "-c", cfg],
                       env=base_env({"SLUICE_SHUTDOWN_TIMEOUT_SECONDS": "30"}))

        def child_bytes():
            try:
                with open(progress) as f:
                    text = f.read()
            except FileNotFoundError:
                return 0, False
            return int(text.split()[-1]), text.startswith("done")

        wait_until(lambda: child_bytes()[0] > 0, timeout=30, what="the child's first chunk")
        start = time.monotonic()
        samples = []
        while time.monotonic() - start < self.THROTTLED_SECONDS:
            time.sleep(0.5)
            self.assertIsNone(p.proc.poll(), "sluice exited while the sink was throttled\n"
                              + p.stderr_text()[-3000:])
            samples.append((time.monotonic() - start, child_bytes()[0]))
        elapsed = time.monotonic() - start
        written, done = child_bytes()
        stats = es.stats_command()
        # The cluster took about LIMIT bytes a second; what the child wrote beyond the input
        # those bodies carried sits in the pipe, the work queue and the sink's buffer.
        allowed = self.LIMIT * (elapsed + 2) + buffered_bytes
        half = next(b for t, b in samples if t >= elapsed / 2)
        late_rate = (written - half) / (elapsed / 2)
        self.assertFalse(done, "the child finished although the sink is throttled")
        self.assertLess(written, allowed,
                        f"the child wrote {written} B in {elapsed:.1f}s: no backpressure")
        self.assertLess(stats["body_bytes"], self.LIMIT * (elapsed + 12), stats)
        peak_hwm = vm_kib(p.pid, "VmHWM") / 1024

        es.set("max-bytes-per-second", 0)
        peak_after = [peak_hwm]

        def child_done():
            try:  # the peak over the whole run, read while sluice still runs
                peak_after[0] = max(peak_after[0], vm_kib(p.pid, "VmHWM") / 1024)
            except (OSError, AssertionError):
                pass
            return child_bytes()[1]

        wait_until(child_done, timeout=120, interval=0.2, what="the child to finish")
        total_lines = chunks * self.CHUNK_LINES
        r = p.wait(timeout=120)  # the child exited: sluice drains and exits with its status
        self.assertEqual(r.rc, 0, r.describe())
        self.assertIsNone(SANITIZER_REPORT.search(r.stderr_text), r.describe())
        stats = es.stats_command()
        self.assertEqual((stats["stored_docs"], stats["created"], stats["updated"]),
                         (total_lines, total_lines, 0), stats)
        self.assertEqual(r.totals["app"]["events_out"], total_lines, r.describe())
        self.assertEqual(r.totals["es"]["dropped"], 0, r.describe())
        self.assertLess(peak_hwm, rss_bound_mib, f"peak RSS {peak_hwm:.1f} MiB while throttled")
        self.assertLess(peak_after[0], rss_bound_mib,
                        f"peak RSS {peak_after[0]:.1f} MiB after the limit was lifted")
        return {"written": written, "elapsed": elapsed, "late_rate": late_rate,
                "peak_rss_mib": peak_hwm, "peak_rss_all_mib": peak_after[0],
                "body_bytes": stats["body_bytes"], "lines": total_lines}

    def test_memory_buffer(self):
        max_bytes = 8 << 20
        # Besides the buffer: the exec pipe, the batch being filled, the work queue and the
        # events of the requests in flight; 8 MiB of slack for the rest.
        buffered = max_bytes + self.WORK_QUEUE_BYTES + (8 << 20)
        # Peak RSS: the buffer plus the sink's requests (2 in flight + 1 filling, 1 MiB each),
        # the work queue, pools and the process itself. The sanitizer build's allocator keeps
        # freed memory in quarantine (256 MiB by default) and shadows every byte: it peaked at
        # 282 MiB there, against about 40 MiB in the release build.
        bound = (max_bytes + self.WORK_QUEUE_BYTES) / 2**20 + (450 if SANITIZED else 44)
        f = self.slow_consumer({"type": "memory", "max_bytes": "8MiB", "when_full": "block"},
                               buffered, bound)
        note(f"slow consumer, memory buffer 8 MiB: the child wrote {f['written'] / 1e6:.1f} MB in "
             f"{f['elapsed']:.1f}s ({f['written'] / 1e6 / f['elapsed']:.2f} MB/s; "
             f"{f['late_rate'] / 1e6:.2f} MB/s in the second half) against 1 MB/s of bulk "
             f"bodies; peak RSS {f['peak_rss_mib']:.1f} MiB throttled, {f['peak_rss_all_mib']:.1f} "
             f"MiB over the run (bound {bound:.0f}); then all "
             f"{f['lines']} lines stored")


    def test_disk_buffer(self):
        max_bytes = 8 << 20
        # The input the pipeline may hold besides what the cluster took: what the disk buffer
        # holds (encoded, so fewer input bytes), the exec pipe, the work queue and 8 MiB of slack.
        buffered = max_bytes + self.WORK_QUEUE_BYTES + (8 << 20)
        # Memory: the batches read back from disk and not yet indexed (the sink's memory-buffer
        # size, 30.5 MiB for these options) plus the same margins as the memory buffer.
        bound = 31 + self.WORK_QUEUE_BYTES / 2**20 + (450 if SANITIZED else 44)
        f = self.slow_consumer({"type": "disk", "max_bytes": "8MiB", "segment_bytes": "1MiB",
                                "when_full": "block", "fsync_interval": "200ms"},
                               buffered, bound)
        self.assertTrue(os.path.exists(self.path("data", "buffers", "es", "ledger")),
                        "the data went through the disk buffer")
        note(f"slow consumer, disk buffer 8 MiB: the child wrote {f['written'] / 1e6:.1f} MB in "
             f"{f['elapsed']:.1f}s ({f['late_rate'] / 1e6:.2f} MB/s in the second half); peak "
             f"RSS {f['peak_rss_mib']:.1f} MiB throttled, {f['peak_rss_all_mib']:.1f} MiB over "
             f"the run (bound {bound:.0f}); then all {f['lines']} lines stored")


# --- (c) damaged checkpoint at start -----------------------------------------------------------

class CorruptCheckpointTest(SluiceTestCase):
    """A damaged `<data_dir>/checkpoints/<source>.json` at start (README, "Files, rotation and
    checkpoints"): it is reported, moved aside as `<source>.json.corrupt-<time>`, and the source
    starts without it, i.e. as on a first start: files that exist begin where `read_from` says
    (the end by default, or the beginning), files that appear later at their beginning. A fresh
    checkpoint is saved. test_file_source covers `{not json`; these are the other ways a file
    goes bad."""

    def valid_entry(self, log):
        st = os.stat(log)
        return {"path": log, "dev": st.st_dev, "ino": st.st_ino, "fp_len": 0,
                "fp_hash": "0", "offset": 0, "updated_unix": int(time.time())}

    def cases(self, log):
        """(name, how to make the damaged checkpoint at `cp`, words the error must contain)."""
        good = self.valid_entry(log)

        def write(data):
            def make(cp):
                with open(cp, "wb") as f:
                    f.write(data)
            return make

        def entry(**changes):
            return write(json.dumps({"version": 1, "files": [good | changes]}).encode())

        full = json.dumps({"version": 1, "files": [good]}).encode()
        garbage = random.Random(6).randbytes(3000)

        def directory(cp):
            os.makedirs(os.path.join(cp, "inside"))

        def fifo(cp):
            os.mkfifo(cp)

        return [
            ("garbage bytes", write(garbage), "not valid JSON"),
            ("NUL bytes", write(b"\0" * 512), "not valid JSON"),
            ("truncated JSON", write(full[:len(full) // 2]), "not valid JSON"),
            ("empty", write(b""), "empty file"),
            ("a JSON array", write(b"[1, 2, 3]\n"), "not a JSON object"),
            ("version is a string", write(b'{"version": "1", "files": []}'),
             '"version" is not an integer'),
            ("files is an object", write(b'{"version": 1, "files": {}}'),
             '"files" is not an array'),
            # One bad field fails the whole file, with the entry named.
            ("offset is a string", entry(offset="40"),
             'files[0]: "offset" is not an unsigned integer'),
            ("offset is negative", entry(offset=-1),
             'files[0]: "offset" is not an unsigned integer'),
            ("ino is a float", entry(ino=good["ino"] + 0.5),
             'files[0]: "ino" is not an unsigned integer'),
            ("path is a number", entry(path=7), 'files[0]: "path" is not a string'),
            ("a directory", directory, "not a regular file"),
            ("a FIFO", fifo, "not a regular file"),
        ]

    def test_damaged_checkpoints_are_set_aside_and_the_source_starts_afresh(self):
        for n, (name, make, why) in enumerate(self.cases(self.write_file("probe.log", b"x\n"))):
            read_from = "end" if n % 2 == 0 else "beginning"
            with self.subTest(case=name, read_from=read_from):
                self.damaged_checkpoint(n, make, why, read_from)

    def damaged_checkpoint(self, n, make, why, read_from):
        d = self.path(f"case{n}")
        log = os.path.join(d, "logs", "app.log")
        os.makedirs(os.path.dirname(log))
        with open(log, "wb") as f:
            f.write(b"".join(line(k) for k in range(10)))  # there before sluice starts
        cpdir = os.path.join(d, "data", "checkpoints")
        os.makedirs(cpdir)
        cp = os.path.join(cpdir, "logs.json")
        make(cp)
        before = os.lstat(cp)
        out = os.path.join(d, "out.jsonl")
        cfg = self.config(f"""
            data_dir: {yaml_str(os.path.join(d, "data"))}
            sources:
              logs:
                type: file
                include: [{yaml_str(os.path.join(d, "logs", "*.log"))}]
                read_from: {read_from}
                parser: none
                glob_interval: 100ms
                checkpoint_interval: 200ms
            sinks:
              out: {{type: file, inputs: [logs], path: {yaml_str(out)}, encoding: raw}}
            """, name=f"case{n}.yaml")
        p = self.start(["run", "-c", cfg], env=base_env({"SLUICE_LOG": "debug"}))
        wait_until(lambda: "tailing file" in p.stderr_text(), timeout=30,
                   what=f"the source to start\n{p.stderr_text()[-2000:]}")
        with open(log, "ab") as f:  # appended while sluice runs
            f.write(b"".join(line(k) for k in range(10, 15)))
        with open(os.path.join(d, "logs", "new.log"), "wb") as f:  # a file that appears later
            f.write(line(15))
        expected = set(range(10, 16)) if read_from == "end" else set(range(16))
        wait_until(lambda: set(seqs_in(out)) >= expected, timeout=30,
                   what=f"lines {sorted(expected)}")
        time.sleep(0.3)  # anything read that should not be would show up now
        p.signal(signal.SIGTERM)
        r = p.wait(timeout=30)
        err = r.stderr_text
        self.assertEqual(r.rc, 0, r.describe())
        self.assertIsNone(SANITIZER_REPORT.search(err), r.describe())
        self.assertEqual(sorted(seqs_in(out)), sorted(expected))

        reports = [rec for rec in r.logs
                   if rec.get("msg") == "checkpoint file unreadable; starting without it"]
        self.assertEqual(len(reports), 1, r.describe())
        self.assertEqual((reports[0].get("level"), reports[0].get("source")), ("error", "logs"))
        message = reports[0].get("error", "")
        self.assertIn(f"checkpoint file {cp} is unusable: {why}", message)
        m = re.search(r"\(moved aside to (\S+)\)$", message)
        self.assertIsNotNone(m, message)
        aside = m.group(1)
        self.assertRegex(aside, re.escape(cp) + r"\.corrupt-\d+$")
        # The bad file itself was moved (same inode), not copied or rewritten.
        st = os.lstat(aside)
        self.assertEqual((st.st_ino, st.st_mode), (before.st_ino, before.st_mode))
        # A fresh checkpoint replaces it, with the files read so far.
        with open(cp) as f:
            saved = json.load(f)
        paths = {e["path"]: e["offset"] for e in saved["files"]}
        self.assertEqual(paths.get(log), os.path.getsize(log), saved)
        # A restart now resumes from that checkpoint: nothing is read twice.
        with open(log, "ab") as f:
            f.write(line(16))
        p = self.start(["run", "-c", cfg], env=base_env({"SLUICE_LOG": "debug"}))
        wait_until(lambda: 16 in seqs_in(out), timeout=30, what="the line after the restart")
        p.signal(signal.SIGTERM)
        r = p.wait(timeout=30)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertNotIn("checkpoint file unreadable", r.stderr_text)
        self.assertEqual(sorted(seqs_in(out)), sorted(expected | {16}))


def seqs_in(path):
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        return [int(m) for m in SEQ.findall(f.read())]


if __name__ == "__main__":
    main()
