"""Live config reload (`sluice run --watch-config`, SIGHUP, POST /reload) under load: files
written at ~20k lines/s with rotation, reloads that add and remove a sink and change a transform,
an invalid config, a ConfigMap-style symlink swap, a burst of triggers, and a removed sink whose
destination is down. Every wait is on an observable condition (file contents, /metrics,
/health); the clocks only bound a broken run."""

import http.client
import json
import os
import re
import signal
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402


class RotatingWriter(threading.Thread):
    """Appends `{"seq": N}` lines to `path` at `rate` lines/s, renaming the file to path.K and
    starting a new one after every `rotate_lines` lines (always between two lines). Rotation
    counts lines, not seconds, so that a test that waits for N lines also sees N/rotate_lines
    rotations however fast or slow the machine is."""

    def __init__(self, path, rate=20000, rotate_lines=5000):
        super().__init__(daemon=True)
        self.path, self.rate, self.rotate_lines = path, rate, rotate_lines
        self.written = 0
        self.rotations = 0
        self._halt = threading.Event()

    def run(self):
        f = open(self.path, "ab")
        start = time.monotonic()
        while not self._halt.is_set():
            due = int((time.monotonic() - start) * self.rate)
            next_rotation = (self.rotations + 1) * self.rotate_lines
            due = min(due, next_rotation)
            if due > self.written:
                f.write(b"".join(b'{"seq":%d}\n' % n for n in range(self.written, due)))
                f.flush()
                self.written = due
            if self.written == next_rotation:
                f.close()
                os.rename(self.path, f"{self.path}.{self.rotations + 1}")
                self.rotations += 1
                f = open(self.path, "ab")
            time.sleep(0.005)  # pacing only
        f.close()

    def finish(self):
        self._halt.set()
        self.join(timeout=10)
        return self.written


SEQ_FIELD = re.compile(rb'"seq":(\d+)')


class SinkFile:
    """A sink's output file, read incrementally: the seq of every complete event line so far."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.seqs = []

    def read(self):
        if os.path.exists(self.path):
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
            data = data[:data.rfind(b"\n") + 1]
            self.offset += len(data)
            # A regex, not a JSON parse per line: at 20k lines/s into two sinks, parsing every
            # event in Python fell behind on a loaded machine (then every wait took longer, and
            # the writer wrote more meanwhile).
            self.seqs.extend(int(n) for n in SEQ_FIELD.findall(data))
        return self.seqs

    def count(self):
        return len(self.read())

    def newest(self):
        return max(self.read()[-1000:] or [-1])


def http_request(port, method, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def closed_port():
    """A loopback port nothing listens on (a destination that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Reload(e2e.SluiceTestCase):

    def topology(self, tag, extra_sink, logs_dir, out_dir, extra="", source_extra=""):
        sinks = f"""
              all: {{type: file, inputs: [tagged], path: {e2e.yaml_str(os.path.join(out_dir, 'all.jsonl'))}}}"""
        if extra_sink:
            sinks += f"""
              extra: {{type: file, inputs: [tagged], path: {e2e.yaml_str(os.path.join(out_dir, 'extra.jsonl'))}}}"""
        return f"""
            data_dir: {e2e.yaml_str(self.path('data'))}
            sources:
              logs:
                type: file
                include: [{e2e.yaml_str(os.path.join(logs_dir, 'app.log'))}]
                read_from: beginning
                rotate_wait: 30s{source_extra}
            transforms:
              tagged: {{type: remap, inputs: [logs], add: {{config: {tag}}}}}
            sinks:{sinks}{extra}
            """

    def write_config(self, path, text):
        # Written whole then renamed in, as config management tools do.
        import textwrap
        with open(path + ".tmp", "w") as f:
            f.write(textwrap.dedent(text))
        os.replace(path + ".tmp", path)

    def start_sluice(self, cfg, *flags, env=None):
        env = e2e.base_env(dict({"SLUICE_METRICS_ADDR": "127.0.0.1:0"}, **(env or {})))
        proc = self.start(["run", *flags, "-c", cfg], env=env)
        return proc, e2e.metrics_port(proc)

    def reloads(self, port, result):
        return e2e.metric(port, "sluice_config_reloads_total", result=result) or 0

    def health(self, port):
        return json.loads(http_request(port, "GET", "/health")[1])

    def test_twenty_reloads_under_load_lose_and_repeat_nothing(self):
        logs, out = self.path("logs"), self.path("out")
        os.makedirs(logs)
        os.makedirs(out)
        cfg = self.path("sluice.yaml")
        all_sink = SinkFile(os.path.join(out, "all.jsonl"))
        extra_sink = SinkFile(os.path.join(out, "extra.jsonl"))
        self.write_config(cfg, self.topology("a", False, logs, out))
        writer = RotatingWriter(os.path.join(logs, "app.log"))
        writer.start()
        proc, port = self.start_sluice(cfg)
        try:
            e2e.wait_until(lambda: all_sink.count() > 1000,
                           what="lines in the `all` sink")
            for i in range(20):
                with_extra = i % 2 == 0
                self.write_config(cfg, self.topology("b" if with_extra else "a", with_extra,
                                                     logs, out))
                status, body = http_request(port, "POST", "/reload")
                self.assertEqual(status, 200, body)
                self.assertEqual(json.loads(body)["result"], "success", body)
                if i == 10:
                    # An invalid config in the middle: refused with file:line:col, nothing
                    # changes (the `extra` sink keeps receiving).
                    self.write_config(cfg, self.topology("a", True, logs, out) +
                                      "            bogus_option: 1\n")
                    before = extra_sink.count()
                    status, body = http_request(port, "POST", "/reload")
                    self.assertEqual(status, 422, body)
                    answer = json.loads(body)
                    self.assertEqual(answer["result"], "failure")
                    self.assertRegex(answer["detail"], r"sluice\.yaml:\d+:\d+: ")
                    self.assertEqual(self.health(port)["last_reload"]["result"], "failure")
                    e2e.wait_until(
                        lambda: extra_sink.count() > before + 1000,
                        timeout=30, what="the `extra` sink still running after the invalid config")
                # Let the sinks see some lines under this config.
                target = writer.written + 2000
                e2e.wait_until(lambda: all_sink.newest() >= target,
                               timeout=30, what="lines after the reload")
            total = writer.finish()
            e2e.wait_until(lambda: all_sink.count() >= total,
                           timeout=20, what=f"all {total} lines in the `all` sink")
            self.assertEqual(self.reloads(port, "success"), 20)
            self.assertEqual(self.reloads(port, "failure"), 1)
        finally:
            writer.finish()
            proc.signal(signal.SIGTERM)
            r = proc.wait(timeout=20)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertGreaterEqual(writer.rotations, 5)
        all_seqs = all_sink.read()
        self.assertEqual(sorted(all_seqs), list(range(total)), "every line exactly once in `all`")
        extra_seqs = extra_sink.read()
        self.assertEqual(len(extra_seqs), len(set(extra_seqs)), "no line twice in `extra`")
        self.assertGreater(len(extra_seqs), 10000)
        # The transform changed with the config: both tags, every event tagged once.
        with open(os.path.join(out, "all.jsonl"), "rb") as f:
            data = f.read()
        tags = re.findall(rb'"config":"(\w+)"', data)
        self.assertEqual(len(tags), data.count(b"\n"), "an event without its tag")
        self.assertEqual(set(tags), {b"a", b"b"})

    def test_configmap_symlink_swap_triggers_a_reload(self):
        # A ConfigMap volume: sluice.yaml -> ..data/sluice.yaml, ..data -> ..<version>; an
        # update writes a new version directory and renames a new `..data` link over the old.
        logs, out, volume = self.path("logs"), self.path("out"), self.path("config")
        for d in (logs, out, os.path.join(volume, "..v1")):
            os.makedirs(d)
        self.write_config(os.path.join(volume, "..v1", "sluice.yaml"),
                          self.topology("a", False, logs, out))
        os.symlink("..v1", os.path.join(volume, "..data"))
        os.symlink("..data/sluice.yaml", os.path.join(volume, "sluice.yaml"))
        all_sink = SinkFile(os.path.join(out, "all.jsonl"))
        extra_sink = SinkFile(os.path.join(out, "extra.jsonl"))
        writer = RotatingWriter(os.path.join(logs, "app.log"), rate=5000, rotate_lines=5000)
        writer.start()
        proc, port = self.start_sluice(os.path.join(volume, "sluice.yaml"), "--watch-config")
        try:
            e2e.wait_until(lambda: all_sink.read(), what="the first lines")
            os.makedirs(os.path.join(volume, "..v2"))
            self.write_config(os.path.join(volume, "..v2", "sluice.yaml"),
                              self.topology("b", True, logs, out))
            os.symlink("..v2", os.path.join(volume, "..data_tmp"))
            os.rename(os.path.join(volume, "..data_tmp"), os.path.join(volume, "..data"))
            e2e.wait_until(lambda: extra_sink.count() > 100,
                           timeout=30, what="the sink the new ConfigMap version adds")
            self.assertEqual(self.reloads(port, "failure"), 0)
            self.assertGreaterEqual(self.reloads(port, "success"), 1)
        finally:
            writer.finish()
            proc.signal(signal.SIGTERM)
            r = proc.wait(timeout=20)
        self.assertEqual(r.rc, 0, r.describe())

    def test_a_burst_of_triggers_ends_with_the_latest_config(self):
        logs, out = self.path("logs"), self.path("out")
        os.makedirs(logs)
        os.makedirs(out)
        cfg = self.path("sluice.yaml")

        def numbered(n):
            return self.topology("a", False, logs, out).replace(
                "all: {type: file", f"out{n}: {{type: file").replace(
                "all.jsonl", f"out{n}.jsonl")

        self.write_config(cfg, numbered(0))
        writer = RotatingWriter(os.path.join(logs, "app.log"), rate=5000, rotate_lines=5000)
        writer.start()
        proc, port = self.start_sluice(cfg)  # no wrapped command: SIGHUP reloads
        try:
            e2e.wait_until(lambda: SinkFile(os.path.join(out, "out0.jsonl")).read(), what="the first lines")
            start = time.monotonic()
            for n in range(1, 11):
                self.write_config(cfg, numbered(n))
                proc.signal(signal.SIGHUP)
            self.assertLess(time.monotonic() - start, 2, "the burst took too long to send")
            # Coalesced: at most one reload more than the one running when the burst ended, and
            # the last one read the latest file.
            e2e.wait_until(lambda: list(self.health(port)["sinks"]) == ["out10"],
                           timeout=30, what="the latest config running")
            e2e.wait_until(lambda: SinkFile(os.path.join(out, "out10.jsonl")).read(),
                           what="lines in the latest config's sink")
            self.assertEqual(self.reloads(port, "failure"), 0)
            self.assertLessEqual(self.reloads(port, "success"), 10)
            self.assertEqual(self.health(port)["last_reload"]["result"], "success")
        finally:
            writer.finish()
            proc.signal(signal.SIGTERM)
            r = proc.wait(timeout=20)
        self.assertEqual(r.rc, 0, r.describe())

    def test_a_removed_sink_that_is_down_does_not_stall_the_others(self):
        logs, out = self.path("logs"), self.path("out")
        os.makedirs(logs)
        os.makedirs(out)
        cfg = self.path("sluice.yaml")
        down = f"""
              down:
                type: elasticsearch
                inputs: [tagged]
                endpoint: http://127.0.0.1:{closed_port()}
                buffer: {{max_bytes: 64KiB}}"""
        all_sink = SinkFile(os.path.join(out, "all.jsonl"))
        self.write_config(cfg, self.topology("a", False, logs, out, extra=down))
        writer = RotatingWriter(os.path.join(logs, "app.log"), rate=5000, rotate_lines=5000)
        writer.start()
        proc, port = self.start_sluice(cfg, env={"SLUICE_SHUTDOWN_TIMEOUT_SECONDS": "2"})
        try:
            # The down sink's small buffer fills and holds everything back.
            e2e.wait_until(lambda: e2e.metric(port, "sluice_sink_retries_total",
                                              component="down"), timeout=30, what="the down sink retrying")
            self.write_config(cfg, self.topology("a", False, logs, out))
            start = time.monotonic()
            status, body = http_request(port, "POST", "/reload")
            elapsed = time.monotonic() - start
            self.assertEqual(status, 200, body)
            self.assertLess(elapsed, 8, f"the reload took {elapsed:.1f}s with a 2s deadline")
            dropped = e2e.metric(port, "sluice_component_dropped_events_total",
                                 component="down", reason="reload")
            self.assertGreater(dropped or 0, 0)
            # The others move on: `all` catches up with the writer.
            target = writer.written + 1000
            e2e.wait_until(lambda: all_sink.newest() >= target,
                           timeout=30, what="the `all` sink moving on")
        finally:
            total = writer.finish()
            e2e.wait_until(lambda: all_sink.count() >= total,
                           timeout=20, what="every line in `all`")
            proc.signal(signal.SIGTERM)
            r = proc.wait(timeout=20)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertIn("reason=reload", r.stderr_text)
        self.assertEqual(sorted(all_sink.read()), list(range(total)))

    def test_a_changed_file_source_keeps_its_offsets(self):
        # The source's options change on every reload: it is stopped once what it read is
        # acknowledged, and its successor continues from the saved offsets (rotated files too).
        logs, out = self.path("logs"), self.path("out")
        os.makedirs(logs)
        os.makedirs(out)
        cfg = self.path("sluice.yaml")
        all_sink = SinkFile(os.path.join(out, "all.jsonl"))

        def with_interval(ms):
            return self.topology("a", False, logs, out, source_extra=f"""
                glob_interval: {ms}ms""").replace('app.log"]', 'app.log*"]').replace(
                "app.log]", "app.log*]")

        self.write_config(cfg, with_interval(500))
        writer = RotatingWriter(os.path.join(logs, "app.log"), rate=20000, rotate_lines=6000)
        writer.start()
        proc, port = self.start_sluice(cfg)
        try:
            e2e.wait_until(lambda: all_sink.count() > 1000, timeout=30, what="the first lines")
            for i in range(6):
                self.write_config(cfg, with_interval(400 + 10 * i))
                status, body = http_request(port, "POST", "/reload")
                self.assertEqual(status, 200, body)
                self.assertIn("source logs", json.loads(body)["detail"])
                target = writer.written + 2000
                e2e.wait_until(lambda: all_sink.newest() >= target, timeout=30,
                               what="lines after the source was replaced")
            total = writer.finish()
            e2e.wait_until(lambda: all_sink.count() >= total, timeout=30,
                           what=f"all {total} lines")
        finally:
            writer.finish()
            proc.signal(signal.SIGTERM)
            r = proc.wait(timeout=20)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertEqual(sorted(all_sink.read()), list(range(total)),
                         "every line exactly once across six source replacements")

    def test_a_narrowed_source_reads_the_rotated_file_it_had_open_to_its_end(self):
        # The new config's source no longer matches `app.log.1`, a rotated file the old source
        # has open with lines it has not read yet. The old source reads them as it retires:
        # nobody else ever would. No inotify and an hour between polls and scans: the old
        # source cannot have seen the lines appended after the rotation before the reload.
        logs, out = self.path("logs"), self.path("out")
        os.makedirs(logs)
        os.makedirs(out)
        cfg = self.path("sluice.yaml")
        all_sink = SinkFile(os.path.join(out, "all.jsonl"))
        app = os.path.join(logs, "app.log")

        def lines(first, last):
            return b"".join(b'{"seq":%d}\n' % n for n in range(first, last))

        def config(pattern, tag):
            return self.topology(tag, False, logs, out, source_extra="""
                inotify: false
                poll_interval: 1h
                glob_interval: 1h""").replace('app.log"]', pattern + '"]').replace(
                "app.log]", pattern + "]")

        with open(app, "wb") as f:
            f.write(lines(0, 100))
        self.write_config(cfg, config("app.log*", "a"))
        proc, port = self.start_sluice(cfg)
        try:
            e2e.wait_until(lambda: all_sink.count() >= 100, timeout=30, what="the first 100 lines")
            os.rename(app, app + ".1")
            with open(app + ".1", "ab") as f:
                f.write(lines(100, 200))  # the writer's last lines before it reopened
            with open(app, "wb") as f:
                f.write(lines(200, 300))
            self.write_config(cfg, config("app.log", "b"))
            status, body = http_request(port, "POST", "/reload")
            self.assertEqual(status, 200, body)
            self.assertIn("source logs", json.loads(body)["detail"])
            e2e.wait_until(lambda: all_sink.count() >= 300, timeout=30,
                           what="the rotated file's last lines and the new file's")
        finally:
            proc.signal(signal.SIGTERM)
            r = proc.wait(timeout=20)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertEqual(sorted(all_sink.read()), list(range(300)), "every line exactly once")

    def test_post_reload_answers_loopback_clients_only_and_only_to_post(self):
        logs, out = self.path("logs"), self.path("out")
        os.makedirs(logs)
        os.makedirs(out)
        cfg = self.path("sluice.yaml")
        self.write_config(cfg, self.topology("a", False, logs, out))
        proc, port = self.start_sluice(cfg)
        try:
            status, _ = http_request(port, "GET", "/reload")
            self.assertEqual(status, 405)
            status, body = http_request(port, "POST", "/reload")
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(body)["detail"], "nothing changed")
        finally:
            proc.signal(signal.SIGTERM)
            r = proc.wait(timeout=20)
        self.assertEqual(r.rc, 0, r.describe())


if __name__ == "__main__":
    e2e.main()
