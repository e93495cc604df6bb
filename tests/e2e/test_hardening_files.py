"""End-to-end: the file source under resource limits (issue 12, hardening).

- Many more matching files than `max_open_files`: files read to their end give their descriptor
  to waiting files at once (not after `close_after`, 5 min), and closed files are still followed.
- A low RLIMIT_NOFILE: sluice raises its soft limit to the hard limit, and when even the hard
  limit is low it lowers `max_open_files` (one log line) instead of starving its sinks and
  checkpoints of descriptors (EMFILE).
- /metrics with 10,000 files: per-file series are capped, totals cover every file.
- A final checkpoint that cannot be written is a failure: non-zero exit and a clear log line.
"""

import collections
import json
import os
import resource
import shutil
import signal
import subprocess

import sluice_e2e
from sluice_e2e import (Running, SluiceTestCase, base_env, main, metrics_port, prometheus_sample,
                        wait_until, yaml_str)

FILES = 10_000
DELIVERY_SECONDS = 30  # the bound for 10,000 one-line files


def line(i, n=0):
    return f"file {i:05d} line {n}\n".encode()


def write_files(directory, count, content=line):
    os.makedirs(directory, exist_ok=True)
    paths = []
    for i in range(count):
        p = os.path.join(directory, f"f{i:05d}.log")
        with open(p, "wb") as f:
            f.write(content(i))
        paths.append(p)
    return paths


def output_lines(path):
    if not os.path.exists(path):
        return collections.Counter()
    with open(path, "rb") as f:
        data = f.read()
    # Only complete lines count: the sink may be in the middle of a write.
    return collections.Counter(data[:data.rfind(b"\n") + 1].splitlines(keepends=True))


def scrape(port):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        return conn.getresponse().read().decode()
    finally:
        conn.close()


class FilesUnderLimitsTest(SluiceTestCase):
    def files_config(self, out, source_opts="", top="", read_from="beginning"):
        return self.config(f"""
            data_dir: {yaml_str(self.path('data'))}
            {top}
            sources:
              logs:
                type: file
                include: [{yaml_str(self.path('logs', '*.log'))}]
                read_from: {read_from}
                parser: none
                {source_opts}
            sinks:
              out: {{type: file, inputs: [logs], path: {yaml_str(out)}, encoding: raw}}
            """)

    def start_limited(self, args, nofile=None, env=None):
        """Starts sluice with RLIMIT_NOFILE set to `nofile` = (soft, hard) in the child only."""
        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, nofile)
        n = getattr(self, "_started", 0) + 1
        self._started = n
        out_path = self.path(f"sluice-{n}.stdout")
        err_path = self.path(f"sluice-{n}.stderr")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen([sluice_e2e.BIN] + list(args), stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err, env=env or base_env(),
                                    preexec_fn=limit)
        running = Running(proc, out_path, err_path, list(args))
        self.addCleanup(running.kill)
        return running

    def assert_delivered_once(self, out, expected, proc, timeout):
        """Waits until every expected line is in the output, then checks each is there once."""
        def complete():
            got = output_lines(out)
            return got if all(got[k] >= 1 for k in expected) else None
        try:
            got = wait_until(complete, timeout=timeout, interval=0.2, what="every line delivered")
        except AssertionError:
            got = output_lines(out)
            missing = [k for k in expected if not got[k]]
            raise AssertionError(f"{len(missing)} of {len(expected)} lines missing after "
                                 f"{timeout}s, e.g. {missing[:3]}\n"
                                 f"{proc.stderr_text()[-3000:]}") from None
        duplicated = {k: v for k, v in got.items() if v > 1}
        self.assertEqual(duplicated, {}, "lines delivered more than once")
        self.assertEqual(set(got), set(expected), "unexpected lines in the output")

    def stop_ok(self, proc):
        proc.signal(signal.SIGTERM)
        r = proc.wait(timeout=30)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertNotIn("Too many open files", r.stderr_text)
        return r

    # --- descriptors are shared, not held for close_after ---------------------------------------

    def test_10000_files_through_64_descriptors_then_appends_and_a_restart(self):
        paths = write_files(self.path("logs"), FILES)
        out = self.path("out.log")
        cfg = self.files_config(out, "max_open_files: 64")
        p = self.start_limited(["run", "-c", cfg])
        expected = [line(i) for i in range(FILES)]
        self.assert_delivered_once(out, expected, p, DELIVERY_SECONDS)

        # Files that gave their descriptor back are still followed: appends are read (inotify
        # or the rescan), once each.
        for i in range(0, FILES, 50):
            with open(paths[i], "ab") as f:
                f.write(line(i, 1))
        expected += [line(i, 1) for i in range(0, FILES, 50)]
        self.assert_delivered_once(out, expected, p, DELIVERY_SECONDS)
        r = self.stop_ok(p)
        self.assertLessEqual(
            sum("max_open_files" in rec.get("msg", "") for rec in r.logs), 5,
            "the wait for descriptors is reported once, not per file")

        # The checkpoints of closed files are right: a restart reads only what is new.
        for i in range(25, FILES, 50):
            with open(paths[i], "ab") as f:
                f.write(line(i, 2))
        expected += [line(i, 2) for i in range(25, FILES, 50)]
        p = self.start_limited(["run", "-c", cfg])
        self.assert_delivered_once(out, expected, p, DELIVERY_SECONDS)
        self.stop_ok(p)

    def test_read_from_end_holds_for_files_that_waited_for_a_descriptor(self):
        # Files found at the first start begin at their size then, also those that waited for a
        # descriptor: their old lines are skipped and what was written while they waited is read.
        count = 2000
        paths = write_files(self.path("logs"), count)
        out = self.path("out.log")
        cfg = self.files_config(out, "max_open_files: 16", read_from="end")
        p = self.start_limited(["run", "-c", cfg])
        # The first checkpoint is saved once the first scan is over.
        wait_until(lambda: os.path.exists(self.path("data", "checkpoints", "logs.json")),
                   what="the first checkpoint")
        for i, path in enumerate(paths):
            with open(path, "ab") as f:
                f.write(line(i, 1))
        self.assert_delivered_once(out, [line(i, 1) for i in range(count)], p, DELIVERY_SECONDS)
        self.stop_ok(p)

    def test_stop_at_eof_reads_every_file_through_few_descriptors(self):
        # `stop_at_eof` (`sluice tail --no-follow`) read only the first max_open_files files.
        count = 3000
        write_files(self.path("logs"), count, lambda i: line(i) + f"last {i:05d}".encode())
        out = self.path("out.log")
        cfg = self.files_config(out, "max_open_files: 16\n                stop_at_eof: true")
        r = self.run_ok(["run", "-c", cfg], timeout=DELIVERY_SECONDS)
        expected = [line(i) for i in range(count)] + [f"last {i:05d}\n".encode()
                                                      for i in range(count)]
        got = output_lines(out)
        self.assertEqual(sum(got.values()), 2 * count, r.describe())
        self.assertEqual(set(got), set(expected))

    def test_10000_files_under_a_soft_limit_of_1024_with_the_default_max_open_files(self):
        # A common default: soft 1024, a higher hard limit. sluice raises the soft limit.
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard <= 1024:
            self.skipTest(f"the hard RLIMIT_NOFILE is {hard}: no higher limit to raise to "
                          "(test_10000_files_when_the_hard_limit_is_1024_too covers this)")
        write_files(self.path("logs"), FILES)
        out = self.path("out.log")
        p = self.start_limited(["run", "-c", self.files_config(out)], nofile=(1024, hard))
        self.assert_delivered_once(out, [line(i) for i in range(FILES)], p, DELIVERY_SECONDS)
        r = self.stop_ok(p)
        self.assertTrue(any(rec.get("msg") == "open-files limit raised to the hard limit"
                            and rec.get("from") == "1024" for rec in r.logs), r.describe())

    def test_a_wrapped_command_keeps_the_limit_sluice_started_with(self):
        # sluice raises its own soft limit; the program it wraps must see the one it would have
        # had without sluice (select() users, close-every-descriptor loops), and start clean.
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard <= 256:
            self.skipTest(f"the hard RLIMIT_NOFILE is {hard}: nothing to raise")
        out = self.path("out.jsonl")
        env = base_env({"SLUICE_SINKS": f"file://{out}"})
        script = 'echo "limits $(ulimit -Sn) $(ulimit -Hn)"'
        p = self.start_limited(["run", "--", "sh", "-c", script], nofile=(256, hard), env=env)
        r = p.wait(timeout=20)
        self.assertEqual(r.rc, 0, r.describe())
        hard_text = "unlimited" if hard == resource.RLIM_INFINITY else str(hard)
        with open(out) as fh:
            self.assertEqual([json.loads(l)["message"] for l in fh],
                             [f"limits 256 {hard_text}"], r.describe())
        self.assertTrue(any(rec.get("msg") == "open-files limit raised to the hard limit"
                            for rec in r.logs), r.describe())
        # A command that cannot be run is still reported as such.
        p = self.start_limited(["run", "--", self.path("no-such-program")], env=env)
        r = p.wait(timeout=20)
        self.assertEqual(r.rc, 127, r.describe())
        self.assertIn("No such file or directory", r.stderr_text)

    def test_10000_files_when_the_hard_limit_is_1024_too(self):
        # The limit cannot be raised: max_open_files (default 1024) is lowered under it, leaving
        # descriptors for the sink and the checkpoint, and says so once.
        write_files(self.path("logs"), FILES)
        out = self.path("out.log")
        p = self.start_limited(["run", "-c", self.files_config(out)], nofile=(1024, 1024))
        self.assert_delivered_once(out, [line(i) for i in range(FILES)], p, DELIVERY_SECONDS)
        wait_until(lambda: os.path.exists(self.path("data", "checkpoints", "logs.json")),
                   what="the checkpoint")
        r = self.stop_ok(p)
        lowered = [rec for rec in r.logs
                   if rec.get("msg") == "max_open_files lowered to fit the open-files limit"]
        self.assertEqual(len(lowered), 1, r.describe())
        self.assertEqual(lowered[0]["configured"], "1024")
        self.assertLess(int(lowered[0]["max_open_files"]), 1024)
        self.assertEqual(lowered[0]["open_files_limit"], "1024")

    # --- metrics ---------------------------------------------------------------------------------

    def test_metrics_cap_per_file_series_and_keep_totals_over_every_file(self):
        # Files of different sizes, so the totals check sums, not a count.
        paths = write_files(self.path("logs"), FILES, lambda i: line(i) * (1 + i % 3))
        total = sum(os.path.getsize(p) for p in paths)
        out = self.path("out.log")
        cfg = self.files_config(out, "max_open_files: 16384")
        p = self.start_limited(["run", "-c", cfg],
                               env=base_env({"SLUICE_METRICS_ADDR": "127.0.0.1:0"}))
        port = metrics_port(p)
        events = sum(1 + i % 3 for i in range(FILES))
        text = wait_until(
            lambda: (t := scrape(port)) and prometheus_sample(
                t, "sluice_component_sent_events_total", component="out") == events and t,
            timeout=DELIVERY_SECONDS, interval=0.5, what="every event delivered")
        for family in ("sluice_file_read_offset_bytes", "sluice_file_acknowledged_offset_bytes",
                       "sluice_file_size_bytes"):
            series = [ln for ln in text.splitlines() if ln.startswith(family + "{")]
            self.assertGreater(len(series), 0, family)
            self.assertLessEqual(len(series), 500, f"{family}: one series per file")

        def totals_right():
            t = scrape(port)
            got = {name: prometheus_sample(t, name, component="logs") for name in (
                "sluice_source_files", "sluice_source_files_size_bytes",
                "sluice_source_files_read_offset_bytes",
                "sluice_source_files_acknowledged_offset_bytes")}
            want = {"sluice_source_files": FILES, "sluice_source_files_size_bytes": total,
                    "sluice_source_files_read_offset_bytes": total,
                    "sluice_source_files_acknowledged_offset_bytes": total}
            return got if got == want else None
        try:
            wait_until(totals_right, timeout=10, interval=0.5, what="totals over every file")
        except AssertionError:
            t = scrape(port)
            raise AssertionError("totals: " + "\n".join(
                ln for ln in t.splitlines() if ln.startswith("sluice_source_files"))) from None
        self.assertLess(len(scrape(port)), 200_000, "the page stays small")
        self.stop_ok(p)

    # --- the final checkpoint --------------------------------------------------------------------

    def test_a_final_checkpoint_that_cannot_be_written_fails_the_run(self):
        # Tests run as root, and permissions (chmod) do not stop root. What stops everyone: the
        # checkpoint directory replaced by a regular file while sluice runs, so every later save
        # (mkdir of the directory, then the temporary file inside it) fails with ENOTDIR/EEXIST.
        log = self.write_file("logs/app.log", line(0))
        out = self.path("out.log")
        cfg = self.files_config(out)
        p = self.start_limited(["run", "-c", cfg], env=base_env({"SLUICE_LOG": "info"}))
        checkpoints = self.path("data", "checkpoints")
        wait_until(lambda: os.path.exists(os.path.join(checkpoints, "logs.json")),
                   what="the first checkpoint")
        shutil.rmtree(checkpoints)
        with open(checkpoints, "wb") as f:
            f.write(b"not a directory\n")
        # New progress, so that there is something left to save at shutdown.
        with open(log, "ab") as f:
            f.write(line(0, 1))
        self.assert_delivered_once(out, [line(0), line(0, 1)], p, 10)
        p.signal(signal.SIGTERM)
        r = p.wait(timeout=30)
        self.assertNotEqual(r.rc, 0, r.describe())
        failed = [rec for rec in r.logs if rec.get("msg", "").startswith("final checkpoint not saved")]
        self.assertEqual(len(failed), 1, r.describe())
        self.assertEqual(failed[0].get("level"), "error", r.describe())


if __name__ == "__main__":
    main()
