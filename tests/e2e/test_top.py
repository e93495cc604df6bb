"""End-to-end: `sluice top` watching a running sluice through its /metrics."""

import http.server
import json
import os
import pty
import select
import signal
import socket
import subprocess
import termios
import threading
import time

from sluice_e2e import BIN, SluiceTestCase, base_env, main, metrics_port, wait_until, yaml_str


def free_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppendingWriter:
    """Appends numbered lines to a file until stopped, so there is always something to rate."""

    def __init__(self, path):
        self.path = path
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        n = 0
        with open(self.path, "a") as f:
            while not self.stop_event.is_set():
                f.write("".join(f"line {n + i} of the app log\n" for i in range(50)))
                f.flush()
                n += 50
                self.stop_event.wait(0.01)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join(timeout=10)


class TopTest(SluiceTestCase):
    def start_watched(self):
        """A sluice with two file sources: `logs` to a working file sink `out`, and `stuck` to a
        sink `full` that can never write (/dev/full), so its file stays behind."""
        os.makedirs(self.path("logs"))
        self.stuck_text = "".join(f"stuck line {i}\n" for i in range(40))
        self.stuck_path = self.write_file("stuck/held.log", self.stuck_text)
        cfg = self.config(f"""
            data_dir: {yaml_str(self.path('data'))}
            sources:
              logs: {{type: file, include: [{yaml_str(self.path('logs', '*.log'))}],
                      read_from: beginning, parser: none}}
              stuck: {{type: file, include: [{yaml_str(self.path('stuck', '*.log'))}],
                       read_from: beginning, parser: none}}
            sinks:
              out: {{type: file, inputs: [logs], path: {yaml_str(self.path('out.jsonl'))}}}
              full: {{type: file, inputs: [stuck], path: /dev/full}}
            """)
        self.started_at = int(time.time())  # whole seconds: the clocks may round differently
        p = self.start(["run", "-c", cfg],
                       env=base_env({"SLUICE_METRICS_ADDR": "127.0.0.1:0", "SLUICE_LOG": "info"}))
        return p, metrics_port(p)

    def top(self, *args, env=None, timeout=30):
        proc = subprocess.run([BIN, "top"] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              env=env or base_env(), timeout=timeout)
        return proc.returncode, proc.stdout.decode(), proc.stderr.decode()

    def test_once_shows_rates_components_and_the_file_behind(self):
        p, port = self.start_watched()
        addr = f"127.0.0.1:{port}"
        with AppendingWriter(self.path("logs", "app.log")):
            # Wait for conditions, not for time: scrape until a window caught lines flowing.
            def flowing():
                rc, out, err = self.top("--once", "--json", "--interval", "300ms", "--addr", addr)
                self.assertEqual(rc, 0, err)
                view = json.loads(out)
                rows = {c["name"]: c for c in view["components"]}
                ok = (rows["logs"]["events_out_per_second"] > 0 and
                      rows["logs"]["bytes_in_per_second"] > 0 and
                      rows["out"]["events_in_per_second"] > 0 and
                      rows["out"]["events_out_per_second"] > 0 and
                      rows["out"]["bytes_out_per_second"] > 0)
                return view if ok else None

            view = wait_until(flowing, timeout=60, interval=0.1, what="non-zero rates in top")
            rows = {c["name"]: c for c in view["components"]}
            self.assertEqual(sorted(rows), ["full", "logs", "out", "stuck"])
            self.assertEqual(rows["logs"]["kind"], "source")
            self.assertEqual(rows["full"]["kind"], "sink")
            self.assertIn("queue_fill_ratio", rows["out"])
            self.assertIn("unacknowledged_events", rows["stuck"])
            self.assertNotIn("events_in_per_second", rows["logs"])  # sources send, not take
            self.assertEqual(view["address"], addr)
            self.assertGreater(view["interval_seconds"], 0)
            # process_start_time_seconds: the watched sluice started during this test.
            self.assertLessEqual(self.started_at, view["started_unix_seconds"])
            self.assertLessEqual(view["started_unix_seconds"], time.time())
            # The held file is never acknowledged: all of it is behind, and it comes first.
            held = [f for f in view["files"]["furthest_behind"] if f["path"] == self.stuck_path]
            self.assertEqual(len(held), 1, view["files"])
            self.assertEqual(held[0]["source"], "stuck")

            # Read whole, acknowledged never: the sink it goes to fails.
            def held_fully_behind():
                rc, out, _ = self.top("--once", "--json", "--interval", "100ms", "--addr", addr)
                if rc != 0:
                    return False
                view = json.loads(out)
                full = next(c for c in view["components"] if c["name"] == "full")
                size = len(self.stuck_text)
                return full["failing_seconds"] > 0 and any(
                    f["path"] == self.stuck_path and f["bytes_behind"] == size and
                    f["size_bytes"] == size and f["read_offset_bytes"] == size
                    for f in view["files"]["furthest_behind"])

            wait_until(held_fully_behind, timeout=30, interval=0.1, what="the held file read")

            # The table a person reads: every component by name, rates, and the held file.
            def table_with_rates():
                rc, out, err = self.top("--once", "--interval", "300ms", "--addr", addr)
                self.assertEqual(rc, 0, err)
                # The first row named out is the sink's (file rows begin with a source).
                out_row = next(line for line in out.splitlines() if line.startswith("out "))
                return out if out_row.split()[2] not in ("0", "-") else None

            table = wait_until(table_with_rates, timeout=60, interval=0.1, what="a table with rates")
        lines = table.splitlines()
        self.assertTrue(lines[0].startswith(f"sluice 0.1.0 at {addr}, rates over 0."), table)
        self.assertIn(", up ", lines[0])
        self.assertIn("COMPONENT", lines[1])
        self.assertIn("EVENTS/S IN", lines[1])
        for name in ("logs", "stuck", "out", "full"):
            self.assertTrue(any(line.startswith(name + " ") for line in lines), table)
        self.assertIn("FILES  2 followed", table)
        held_line = next(line for line in lines if line.endswith(self.stuck_path))
        self.assertTrue(held_line.startswith("stuck "), held_line)
        self.assertIn(f"{len(self.stuck_text)} B", held_line)
        full_line = next(line for line in lines if line.startswith("full "))
        self.assertIn("failing for", full_line)
        self.assertNotIn("\x1b", table)  # not a terminal: no colours, no cursor moves

        # Only the named components (globs allowed), and only their files.
        rc, out, err = self.top("--once", "--interval", "100ms", "--addr", addr, "st*", "full")
        self.assertEqual(rc, 0, err)
        names = [line.split()[0] for line in out.splitlines()[2:] if line and line[0] != " "]
        self.assertIn("stuck", names)
        self.assertIn("full", names)
        self.assertNotIn("logs", names)
        self.assertNotIn("out", names)
        p.kill()

    def test_nothing_listening_says_where_it_looked(self):
        port = free_port()
        rc, out, err = self.top("--once", "--addr", f"127.0.0.1:{port}")
        self.assertEqual(rc, 69, err)
        self.assertEqual(out, "")
        self.assertIn(f"no sluice answers at 127.0.0.1:{port} (from --addr)", err)
        self.assertIn("Connection refused", err)
        self.assertIn("--addr HOST:PORT", err)

        env = base_env({"SLUICE_METRICS_ADDR": f"127.0.0.1:{port}"})
        rc, _, err = self.top("--once", env=env)
        self.assertEqual(rc, 69, err)
        self.assertIn(f"127.0.0.1:{port} (from SLUICE_METRICS_ADDR)", err)

        env = base_env({"SLUICE_METRICS_ADDR": None})
        rc, _, err = self.top("--once", "--interval", "100ms", env=env)
        if rc == 69:  # nothing on the default port on this machine, as expected
            self.assertIn("127.0.0.1:9598 (the default; SLUICE_METRICS_ADDR is not set)", err)

        rc, _, err = self.top("--once", env=base_env({"SLUICE_METRICS_ADDR": "off"}))
        self.assertEqual(rc, 64, err)
        self.assertIn("SLUICE_METRICS_ADDR is `off`", err)
        self.assertIn("--addr", err)

        rc, _, err = self.top("--once", "--addr", "nonsense")
        self.assertEqual(rc, 64, err)
        self.assertIn("bad address `nonsense`", err)
        rc, _, err = self.top("--once", "--interval", "1ms", "--addr", f"127.0.0.1:{port}")
        self.assertEqual(rc, 64, err)
        self.assertIn("--interval", err)

    def test_something_else_answering_is_not_taken_for_a_sluice(self):
        class OtherExporter(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = b"node_load1 0.5\n" if self.path == "/metrics" else b"nope"
                self.send_response(200 if self.path == "/metrics" else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OtherExporter)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        rc, _, err = self.top("--once", "--addr", f"http://127.0.0.1:{server.server_port}/metrics")
        self.assertEqual(rc, 69, err)
        self.assertIn("not with a sluice's metrics", err)

    def test_piped_it_prints_a_table_per_interval_and_stops_when_the_reader_goes(self):
        p, port = self.start_watched()
        proc = subprocess.Popen([BIN, "top", "--interval", "100ms", "--addr", f"127.0.0.1:{port}"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, env=base_env())
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.addCleanup(proc.stderr.close)
        headers = 0
        while headers < 2:
            line = proc.stdout.readline().decode()
            if not line:
                proc.wait(timeout=30)
                self.fail(f"top ended (rc {proc.returncode}): {proc.stderr.read().decode()}")
            self.assertNotIn("\x1b", line)
            if line.startswith("sluice "):
                self.assertIn(", rates over ", line)  # the rateless first look is not printed
                headers += 1
        proc.stdout.close()  # the reader goes away, as `| head` does
        self.assertEqual(proc.wait(timeout=30), 0)
        self.assertEqual(proc.stderr.read(), b"")
        p.kill()

    def test_a_restarted_sluice_is_watched_again(self):
        p, port = self.start_watched()
        err_path = self.path("top.stderr")
        with open(err_path, "wb") as err:
            proc = subprocess.Popen([BIN, "top", "--json", "--interval", "100ms", "--addr",
                                     f"127.0.0.1:{port}"], stdout=subprocess.PIPE, stderr=err,
                                    stdin=subprocess.DEVNULL, env=base_env())
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.addCleanup(proc.stdout.close)
        first = json.loads(proc.stdout.readline())
        p.kill()
        p.wait()

        def stderr_text():
            with open(err_path) as f:
                return f.read()

        wait_until(lambda: "no answer since" in stderr_text(), timeout=30,
                   what="top saying the sluice is gone")
        self.assertIn("(retrying)", stderr_text())
        self.assertIsNone(proc.poll(), "top keeps watching")
        cfg = self.path("sluice.yaml")
        again = self.start(["run", "-c", cfg], env=base_env(
            {"SLUICE_METRICS_ADDR": f"127.0.0.1:{port}", "SLUICE_LOG": "info"}))
        self.assertEqual(metrics_port(again), port)

        # Lines already in the pipe describe the first sluice; read on to the second's.
        while True:
            line = proc.stdout.readline()
            self.assertTrue(line, stderr_text())
            view = json.loads(line)
            if view["started_unix_seconds"] != first["started_unix_seconds"]:
                break
        # Its counters started again from zero: rates, not negative numbers.
        for row in view["components"]:
            for key, value in row.items():
                if key.endswith("_per_second"):
                    self.assertGreaterEqual(value, 0, row)
        self.assertEqual(sorted(c["name"] for c in view["components"]),
                         ["full", "logs", "out", "stuck"])
        proc.kill()
        again.kill()

    def run_on_terminal(self, port, stop):
        """Runs top on a pseudo-terminal, waits for a drawn view, stops it with `stop`, and
        returns (exit code, everything drawn, the terminal's modes after)."""
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        before = termios.tcgetattr(slave)
        proc = subprocess.Popen([BIN, "top", "--interval", "100ms", "--addr", f"127.0.0.1:{port}"],
                                stdin=slave, stdout=slave, stderr=slave, env=base_env(),
                                start_new_session=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        drawn = b""

        def read_some():
            nonlocal drawn
            if select.select([master], [], [], 0.1)[0]:
                drawn += os.read(master, 65536)
            return drawn

        wait_until(lambda: b"FILES" in read_some() and b"rates over" in drawn, timeout=30,
                   interval=0, what="top drawing its view")
        stop(proc, master)
        rc = proc.wait(timeout=30)
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
        after = termios.tcgetattr(slave)
        os.close(slave)
        self.assertEqual(after, before, "the terminal's modes are restored")
        return rc, drawn

    def test_on_a_terminal_q_and_ctrl_c_quit_and_restore_it(self):
        p, port = self.start_watched()
        for stop in (lambda proc, master: os.write(master, b"q"),
                     lambda proc, master: proc.send_signal(signal.SIGINT)):
            rc, drawn = self.run_on_terminal(port, stop)
            self.assertEqual(rc, 0, drawn[-2000:])
            self.assertTrue(drawn.startswith(b"\x1b[?1049h\x1b[?25l"), drawn[:100])
            self.assertIn(b"\x1b[H", drawn)  # redrawn in place
            self.assertIn(b"(q quits)", drawn)
            self.assertIn(b"stuck", drawn)
            self.assertTrue(drawn.endswith(b"\x1b[?25h\x1b[?1049l"), drawn[-100:])
        p.kill()

    def test_ctrl_z_gives_the_terminal_back_until_fg(self):
        p, port = self.start_watched()
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        self.addCleanup(os.close, slave)
        before = termios.tcgetattr(slave)
        proc = subprocess.Popen([BIN, "top", "--interval", "100ms", "--addr", f"127.0.0.1:{port}"],
                                stdin=slave, stdout=slave, stderr=slave, env=base_env(),
                                start_new_session=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        drawn = bytearray()

        def read_some():
            while select.select([master], [], [], 0.05)[0]:
                drawn.extend(os.read(master, 65536))
            return drawn

        def state():
            with open(f"/proc/{proc.pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0]

        wait_until(lambda: b"rates over" in read_some(), timeout=30, interval=0,
                   what="top drawing its view")
        proc.send_signal(signal.SIGTSTP)
        wait_until(lambda: state() == "T", timeout=30, what="top stopped")
        read_some()
        self.assertTrue(bytes(drawn).endswith(b"\x1b[?25h\x1b[?1049l"), bytes(drawn[-100:]))
        self.assertEqual(termios.tcgetattr(slave), before, "the shell's modes while stopped")
        mark = len(drawn)
        proc.send_signal(signal.SIGCONT)
        wait_until(lambda: b"rates over" in read_some()[mark:], timeout=30, interval=0,
                   what="top drawing again after fg")
        self.assertIn(b"\x1b[?1049h", drawn[mark:])
        self.assertNotEqual(termios.tcgetattr(slave), before, "top reads keys again")
        os.write(master, b"q")
        self.assertEqual(proc.wait(timeout=30), 0)
        self.assertEqual(termios.tcgetattr(slave), before)
        p.kill()


if __name__ == "__main__":
    main()
