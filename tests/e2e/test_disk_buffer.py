"""End-to-end: sinks with `buffer: {type: disk}` — the real binary, the Elasticsearch emulator and
the Kafka mock cluster on loopback. stdin/exec input survives a sink outage and a restart; a
full buffer applies `when_full`; a damaged buffer is recovered at start; a full file system is
reported, waited out and recovered from without corrupting anything."""

import glob
import json
import os
import signal
import subprocess
import sys
import threading
import time

from es_helpers import Emulator, emulator_available
from kafka_helpers import MockCluster, count as kafka_count, consume as kafka_consume
from sluice_e2e import SluiceTestCase, base_env, main, metric, metrics_port, wait_until, yaml_str
from test_faults import SANITIZED, vm_kib
from tool_process import started

# Peak RSS with two disk-buffered sinks (Elasticsearch and Kafka) whose destinations are down:
# their read-back memory (30.5 MiB for Elasticsearch's defaults, 8 MiB for Kafka), the work queue
# (4 MiB), librdkafka's and the process's own. The sanitizer build keeps freed memory in
# quarantine and shadows every byte.
RSS_BOUND_MIB = 450 if SANITIZED else 96


def event_line(n, size=200):
    line = json.dumps({"n": n, "msg": ""})
    return line[:-2] + "x" * max(0, size - len(line)) + '"}'


def events(count, start=0, size=200):
    return "".join(event_line(n, size) + "\n" for n in range(start, start + count)).encode()


# A child that writes `total` numbered JSON lines in chunks of `chunk` every `pause` seconds and
# prints to its stderr how many it wrote (how far backpressure let it get).
CHILD = r"""
import json, sys, time
total, chunk, pause, size = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
out = sys.stdout.buffer
for start in range(0, total, chunk):
    lines = []
    for n in range(start, min(total, start + chunk)):
        line = json.dumps({"n": n, "msg": ""})
        lines.append(line[:-2] + "x" * max(0, size - len(line)) + '"}\n')
    out.write("".join(lines).encode())
    out.flush()
    with open(sys.argv[5], "w") as f:
        f.write(str(min(total, start + chunk)))
    if pause:
        time.sleep(pause)
"""


class DiskBufferTest(SluiceTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not emulator_available():
            raise AssertionError("sluice_es_emulator missing: build the tests")

    def env(self, data_dir=None):
        env = base_env({"SLUICE_DATA_DIR": data_dir or self.path("data")})
        env["SLUICE_METRICS_ADDR"] = "127.0.0.1:0"
        return env

    def child_command(self, total, chunk=1000, pause=0.0, size=200):
        script = self.write_file("child.py", CHILD)
        return [sys.executable, script, str(total), str(chunk), str(pause), str(size),
                self.path("child-progress")]

    def child_progress(self):
        try:
            with open(self.path("child-progress")) as f:
                return int(f.read() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def es_config(self, es, data_dir=None, buffer=None, name="sluice.yaml", extra_sinks=""):
        buffer = buffer or {"type": "disk", "max_bytes": "256MiB", "fsync": "interval",
                            "fsync_interval": "200ms"}
        text = f"""
            data_dir: {yaml_str(data_dir or self.path('data'))}
            health_sink_grace: 2s
            sources:
              app: {{type: exec, parser: json}}
            sinks:
              es:
                type: elasticsearch
                inputs: [app]
                endpoints: [{es.url}]
                id: auto
                max_batch_events: 2000
                flush_interval: 200ms
                retry_backoff_min: 20ms
                retry_backoff_max: 500ms
                buffer: {json.dumps(buffer)}
            """ + extra_sinks
        return self.config(text, name)

    def file_es_config(self, es, log_path, buffer, data_dir=None, extra_sinks=""):
        """A file source tailing `log_path` from its beginning into Elasticsearch (`id: auto`)
        through `buffer`, plus `extra_sinks` (YAML lines of more sinks)."""
        return self.config(f"""
            data_dir: {yaml_str(data_dir or self.path('data'))}
            sources:
              logs: {{type: file, include: [{yaml_str(log_path)}], read_from: beginning,
                      parser: json, checkpoint_interval: 200ms}}
            sinks:
              es:
                type: elasticsearch
                inputs: [logs]
                endpoints: [{es.url}]
                id: auto
                retry_backoff_min: 20ms
                retry_backoff_max: 500ms
                buffer: {json.dumps(buffer)}
            """ + extra_sinks)

    def start_run(self, cfg, command=None, env=None):
        """Starts sluice (wrapping `command` when given); returns it and its metrics port."""
        args = ["run", "-c", cfg] + (["--"] + command if command else [])
        p = self.start(args, env=env or self.env())
        port = metrics_port(p)
        return p, port

    def start_drain(self, cfg, command):
        """Starts sluice to deliver a backlog left on disk. Its shutdown deadline is long: with
        the tests' usual 5 s, how much of the backlog went out before the deadline would depend
        on the machine's speed (an ASan build on a loaded machine delivered none)."""
        env = self.env()
        env["SLUICE_SHUTDOWN_TIMEOUT_SECONDS"] = "120"
        return self.start_run(cfg, command, env=env)

    def wait_stored(self, es, count, timeout):
        wait_until(lambda: es.stats()["stored_docs"] >= count, timeout=timeout, interval=0.2,
                   what=f"{count} documents stored (have {es.stats()['stored_docs']})")

    def assertAllOnce(self, es, total):
        numbers = sorted(d["_source"]["n"] for d in es.docs())
        self.assertEqual(len(numbers), len(set(numbers)), "a document stored twice")
        missing = sorted(set(range(total)) - set(numbers))
        self.assertEqual(missing[:20], [], f"{len(missing)} events missing")
        self.assertEqual(len(numbers), total)

    def segments(self, sink="es", data_dir=None):
        return sorted(glob.glob(os.path.join(data_dir or self.path("data"), "buffers", sink,
                                             "*.seg")))

    # --- the app keeps writing while the sink is down, then exits; the next start delivers ---

    def test_exec_app_keeps_writing_while_the_sink_is_down_and_a_restart_delivers(self):
        es = started(self, Emulator())
        es.down()
        total = 60_000  # about 13 MB
        cfg = self.es_config(es)
        p, port = self.start_run(cfg, self.child_command(total, chunk=2000))
        # Not blocked by the outage: the child writes everything, sluice reads it to disk.
        r = p.wait(timeout=60)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertEqual(self.child_progress(), total)
        self.assertIn("records kept in the disk buffer for the next start", r.stderr_text)
        self.assertNotIn("events not confirmed delivered", r.stderr_text)
        self.assertGreater(sum(os.path.getsize(s) for s in self.segments()), 12_000_000)
        # The next start, with no new input, delivers the backlog.
        es.up()
        p2, port2 = self.start_drain(cfg, ["true"])
        self.wait_stored(es, total, timeout=60)
        r2 = p2.wait(timeout=30)
        self.assertEqual(r2.rc, 0, r2.describe())
        self.assertAllOnce(es, total)
        self.assertLess(sum(os.path.getsize(s) for s in self.segments()), 1_000_000,
                        "delivered segments are deleted")

    # --- kill -9 with a backlog on disk -------------------------------------------------------

    def test_kill_9_with_a_backlog_on_disk_loses_nothing(self):
        es = started(self, Emulator())
        es.down()
        log_path = self.path("app.log")
        total = 40_000
        cfg = self.file_es_config(es, log_path, {"type": "disk", "segment_bytes": "256KiB",
                                                 "fsync_interval": "100ms"})
        with open(log_path, "wb") as f:
            f.write(events(total // 2))
        p, port = self.start_run(cfg)
        # Everything read and acknowledged into the buffer while Elasticsearch is down...
        wait_until(lambda: metric(port, "sluice_file_acknowledged_offset_bytes", component="logs",
                                  path=log_path) == os.path.getsize(log_path),
                   timeout=30, what="the file acknowledged into the buffer")
        with open(log_path, "ab") as f:
            f.write(events(total // 2, start=total // 2))
        time.sleep(0.3)  # ...and the second half in the middle of being written to it
        p.proc.send_signal(signal.SIGKILL)
        p.proc.wait(timeout=10)
        es.up()
        p2 = self.start(["run", "-c", cfg], env=self.env())
        self.wait_stored(es, total, timeout=60)
        time.sleep(1)  # anything sent twice would show up now
        p2.signal(signal.SIGTERM)
        r = p2.wait(timeout=30)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertAllOnce(es, total)  # replays overwrite themselves (id: auto)
        self.assertEqual(es.stats()["stored_docs"], total)

    # --- Kafka brokers and Elasticsearch down for 30 s while input continues -----------------

    def test_kafka_and_elasticsearch_down_30s_nothing_lost_memory_bounded(self):
        es = started(self, Emulator())
        kafka = started(self, MockCluster())
        total, chunk, pause = 45_000, 500, 0.4  # ~36 s of input at ~250 kB/s
        disk = {"type": "disk", "max_bytes": "256MiB", "fsync_interval": "200ms"}
        kafka_sink = f"""
              kafka:
                type: kafka
                inputs: [app]
                brokers: {kafka.bootstrap}
                topic: logs
                librdkafka: {{"message.timeout.ms": "5000"}}
                buffer: {json.dumps(disk)}
            """
        cfg = self.es_config(es, buffer=disk, extra_sinks=kafka_sink)
        p, port = self.start_run(cfg, self.child_command(total, chunk, pause))
        self.wait_stored(es, 2000, timeout=30)
        es.down()
        for broker in (1, 2, 3):
            kafka.command(f"down {broker}")
        at_down = self.child_progress()
        time.sleep(30)
        # The app was not held back by the outage.
        self.assertGreater(self.child_progress() - at_down, 30_000 * 0.6)
        on_disk = metric(port, "sluice_sink_disk_buffer_bytes", component="es") or 0
        self.assertGreater(on_disk, 1_000_000, "the backlog went to disk")
        rss = vm_kib(p.pid, "VmHWM") / 1024
        self.assertLess(rss, RSS_BOUND_MIB, f"peak RSS {rss:.1f} MiB")
        es.up()
        for broker in (1, 2, 3):
            kafka.command(f"up {broker}")
        r = p.wait(timeout=120)
        self.assertEqual(r.rc, 0, r.describe())
        if "records kept in the disk buffer" in r.stderr_text:
            # Shutdown came before the backlog drained: the next start delivers it.
            p2, _ = self.start_drain(cfg, ["true"])
            p2.wait(timeout=90)
        self.wait_stored(es, total, timeout=60)
        self.assertAllOnce(es, total)
        msgs = kafka_consume(kafka.bootstrap, "logs", expect=total, timeout=60, allow_short=True)
        numbers = {json.loads(m["value"])["n"] for m in msgs}
        self.assertEqual(len(set(range(total)) - numbers), 0, "events missing from Kafka")
        print(f"\n  30 s outage: {len(msgs) - total} Kafka duplicates, {on_disk / 1e6:.1f} MB on "
              f"disk at the end of the outage, peak RSS {rss:.1f} MiB", flush=True)

    # --- fan-out: a stopped sink and the source's checkpoint -----------------------------------

    def fan_out_run(self, es_buffer):
        """A file tailed into a file sink and a stopped Elasticsearch: returns (file sink lines,
        acknowledged offset of the log file) once the file sink has everything, then brings
        Elasticsearch back and checks that everything arrives there too."""
        es = started(self, Emulator())
        es.down()
        log_path = self.path("app.log")
        out = self.path("out.jsonl")
        total = 5000
        with open(log_path, "wb") as f:
            f.write(events(total))
        cfg = self.file_es_config(es, log_path, es_buffer, extra_sinks=f"""
              fast: {{type: file, inputs: [logs], path: {yaml_str(out)}}}
            """)
        p, port = self.start_run(cfg)

        def lines_out():
            try:
                with open(out, "rb") as f:
                    return f.read().count(b"\n")
            except FileNotFoundError:
                return 0
        wait_until(lambda: lines_out() == total, timeout=30, what="the file sink has everything")
        time.sleep(1.5)  # a few checkpoint intervals
        acked = metric(port, "sluice_file_acknowledged_offset_bytes", component="logs",
                       path=log_path)
        es.up()
        self.wait_stored(es, total, timeout=60)
        wait_until(lambda: metric(port, "sluice_file_acknowledged_offset_bytes",
                                  component="logs", path=log_path) == os.path.getsize(log_path),
                   timeout=30, what="the checkpoint at the end of the file")
        p.signal(signal.SIGTERM)
        r = p.wait(timeout=30)
        self.assertEqual(r.rc, 0, r.describe())
        return acked, os.path.getsize(log_path)

    def test_a_stopped_sink_with_a_memory_buffer_holds_the_checkpoint_not_the_other_sink(self):
        acked, size = self.fan_out_run({"type": "memory", "max_bytes": "64MiB"})
        self.assertEqual(acked, 0, "nothing acknowledged while one sink has not delivered")

    def test_a_stopped_sink_with_a_disk_buffer_holds_nothing_back(self):
        acked, size = self.fan_out_run({"type": "disk", "fsync_interval": "100ms"})
        self.assertEqual(acked, size, "acknowledged once on disk")

    # --- when_full ----------------------------------------------------------------------------

    def test_a_full_disk_buffer_drops_newest_and_counts_them(self):
        es = started(self, Emulator())
        es.down()
        buffer = {"type": "disk", "max_bytes": "1MiB", "segment_bytes": "128KiB",
                  "when_full": "drop_newest"}
        cfg = self.es_config(es, buffer=buffer)
        total = 20_000  # ~4.4 MB into a 1 MiB buffer
        r_proc, port = self.start_run(cfg, self.child_command(total, chunk=500))
        wait_until(lambda: self.child_progress() == total, timeout=30, what="the child done")
        wait_until(lambda: metric(port, "sluice_component_dropped_events_total", component="es"),
                   timeout=10, what="drops counted in /metrics")
        r = r_proc.wait(timeout=60)
        self.assertEqual(r.rc, 0, r.describe())
        dropped = r.totals["es"]["dropped"]  # final: drops may go on after the first is seen
        self.assertIn("dropping newest events", r.stderr_text)
        kept = sum(os.path.getsize(s) for s in self.segments())
        self.assertLessEqual(kept, 1 << 20)
        es.up()
        p2, _ = self.start_drain(cfg, ["true"])
        r2 = p2.wait(timeout=60)
        self.assertEqual(r2.rc, 0, r2.describe())
        stored = es.stats()["stored_docs"]
        self.assertGreater(stored, 1000)
        self.assertEqual(stored + int(dropped), total, "every event stored or counted as dropped")

    def test_a_full_disk_buffer_blocks_the_app_when_asked_to(self):
        es = started(self, Emulator())
        es.down()
        buffer = {"type": "disk", "max_bytes": "1MiB", "segment_bytes": "128KiB",
                  "when_full": "block"}
        cfg = self.es_config(es, buffer=buffer)
        total = 50_000  # ~11 MB
        # The child exits once the backlog moves; sluice then delivers the rest before its
        # shutdown deadline, which the tests' usual 5 s made depend on the machine's speed
        # (three ASan runs side by side exited with 11,000 events still on disk): started as a
        # drain is, with the long deadline.
        p, port = self.start_drain(cfg, self.child_command(total, chunk=500))
        time.sleep(4)
        stuck_at = self.child_progress()
        # Held back by the full buffer (plus the pipe and the pipeline's queues).
        self.assertLess(stuck_at, total / 2, "the app should be blocked")
        self.assertLessEqual(sum(os.path.getsize(s) for s in self.segments()), 1 << 20)
        es.up()
        self.wait_stored(es, total, timeout=90)
        r = p.wait(timeout=60)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertAllOnce(es, total)

    # --- damaged buffer files at start ------------------------------------------------------

    def test_a_torn_or_corrupt_buffer_is_recovered_at_start(self):
        es = started(self, Emulator())
        es.down()
        cfg = self.es_config(es, buffer={"type": "disk", "segment_bytes": "256KiB",
                                         "max_bytes": "64MiB"})
        total = 10_000
        p, _ = self.start_run(cfg, self.child_command(total, chunk=1000))
        r = p.wait(timeout=60)
        self.assertEqual(r.rc, 0, r.describe())
        segs = [s for s in self.segments() if os.path.getsize(s) > 0]
        self.assertGreater(len(segs), 3)
        # A torn tail on the last segment, garbage in the middle of another, a stray empty one
        # and a ledger that is not one.
        with open(segs[-1], "r+b") as f:
            f.truncate(os.path.getsize(segs[-1]) - 7)
        with open(segs[1], "r+b") as f:
            f.seek(os.path.getsize(segs[1]) // 2)
            f.write(b"\xde\xad\xbe\xef" * 8)
        with open(self.path("data", "buffers", "es", "ledger"), "wb") as f:
            f.write(b"\x00garbage")
        es.up()
        p2, port2 = self.start_drain(cfg, ["sleep", "3"])
        wait_until(lambda: es.stats()["stored_docs"] > 0, timeout=30, what="delivery")
        corrupt = wait_until(lambda: metric(port2, "sluice_sink_disk_buffer_corrupt_records_total",
                                            component="es"), timeout=10, what="the metric")
        r2 = p2.wait(timeout=60)
        self.assertEqual(r2.rc, 0, r2.describe())
        self.assertEqual(corrupt, 2)
        self.assertIn("torn or corrupt record skipped", r2.stderr_text)
        self.assertIn("ledger unreadable", r2.stderr_text)
        numbers = {d["_source"]["n"] for d in es.docs()}
        # What was before each damage is delivered; only the damaged segments' tails are lost.
        self.assertGreater(len(numbers), total // 2)
        self.assertIn(0, numbers)

    # --- the file system under data_dir fills up -----------------------------------------------

    def disk_full(self, when_full):
        """data_dir on a 6 MiB tmpfs, 3 MiB of it taken, Elasticsearch down, ~9 MB of input:
        the disk buffer runs out of space. Returns (stored, dropped) once space and the
        destination are back and sluice has stopped; checks that a restart finds nothing
        damaged and sends nothing again."""
        mount = self.path("small")
        os.makedirs(mount)
        try:
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", mount], check=True,
                           capture_output=True, timeout=10)
        except (subprocess.CalledProcessError, FileNotFoundError, PermissionError) as e:
            self.skipTest(f"cannot mount a small tmpfs here: {e}")
        self.addCleanup(subprocess.run, ["umount", "-l", mount], capture_output=True)
        data_dir = os.path.join(mount, "data")
        filler = os.path.join(mount, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * (3 << 20))  # leaves about 3 MiB for sluice's state
        es = started(self, Emulator())
        es.down()
        log_path = self.path("app.log")
        total = 40_000  # ~9 MB: more than the free space
        with open(log_path, "wb") as f:
            f.write(events(total))
        cfg = self.file_es_config(es, log_path, {"type": "disk", "max_bytes": "64MiB",
                                                 "segment_bytes": "256KiB",
                                                 "when_full": when_full}, data_dir=data_dir)
        p, port = self.start_run(cfg, env=self.env(data_dir))
        wait_until(lambda: "no space left on device" in p.stderr_text(), timeout=30,
                   what="ENOSPC reported")
        errors = wait_until(lambda: metric(port, "sluice_sink_disk_buffer_write_errors_total",
                                           component="es"), timeout=10, what="the metric")
        self.assertGreater(errors, 0)
        time.sleep(1)
        self.assertIsNone(p.proc.poll(), "sluice keeps running on a full disk")
        # Space comes back, and the destination too.
        os.unlink(filler)
        es.up()
        if when_full == "block":
            self.wait_stored(es, total, timeout=90)
        else:
            wait_until(lambda: metric(port, "sluice_file_acknowledged_offset_bytes",
                                      component="logs", path=log_path)
                       == os.path.getsize(log_path), timeout=60, what="the whole file")
            wait_until(lambda: metric(port, "sluice_sink_disk_buffer_records",
                                      component="es") == 0, timeout=60, what="buffer drained")
        dropped = metric(port, "sluice_component_dropped_events_total", component="es")
        p.signal(signal.SIGTERM)
        r = p.wait(timeout=30)
        self.assertEqual(r.rc, 0, r.describe())
        # Nothing was corrupted: a restart finds a clean buffer and a valid checkpoint, and
        # sends nothing again.
        before = es.stats()
        p2 = self.start(["run", "-c", cfg], env=self.env(data_dir))
        time.sleep(2)
        p2.signal(signal.SIGTERM)
        r2 = p2.wait(timeout=30)
        self.assertEqual(r2.rc, 0, r2.describe())
        self.assertNotIn("corrupt", r2.stderr_text)
        self.assertNotIn("unusable", r2.stderr_text)
        self.assertEqual(es.stats()["stored_docs"], before["stored_docs"])
        return es, before["stored_docs"], int(dropped or 0), total

    def test_disk_full_with_block_is_waited_out_and_loses_nothing(self):
        es, stored, dropped, total = self.disk_full("block")
        self.assertEqual(dropped, 0)
        self.assertAllOnce(es, total)

    def test_disk_full_with_drop_newest_drops_and_counts(self):
        es, stored, dropped, total = self.disk_full("drop_newest")
        self.assertGreater(dropped, 0)
        self.assertEqual(stored + dropped, total, "every event stored or counted as dropped")

if __name__ == "__main__":
    main()
