"""End-to-end: `sluice tap` and GET /tap on a running sluice (file sources, file sinks).

A tap receives the events of the component it names and of no other; refusals say why (403 for a
client that is not on loopback, 404 with the names that exist, 503 past the cap on streams); a
tap client that does not read never holds the pipeline back: the sink receives every line, and
the stream accounts for every event it was offered, sent or skipped. No assertion depends on
timing: every wait is for a condition, bounded only so that a bug fails instead of hanging."""

import http.client
import json
import os
import signal
import socket
import subprocess

from sluice_e2e import (BIN, SluiceTestCase, base_env, main, metrics_port, parse_json_line,
                        wait_until, yaml_str)

TAP_TIMEOUT = 60


def read_text(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def non_loopback_address():
    """An address of this host that is not loopback, or None (then the 403 case is skipped).
    Connecting a UDP socket sends nothing: it only picks the address a route would use."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: never a real peer
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


class TapStream:
    """A raw GET /tap whose reading the test controls (a small receive buffer, so a client that
    stops reading is felt by the server soon)."""

    def __init__(self, port, query, host="127.0.0.1"):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(TAP_TIMEOUT)
        sock.connect((host, port))
        self.conn = http.client.HTTPConnection(host, port, timeout=TAP_TIMEOUT)
        self.conn.sock = sock
        self.conn.request("GET", "/tap" + query)
        self.response = self.conn.getresponse()
        self.status = self.response.status

    def line(self):
        raw = self.response.readline()
        if not raw:
            raise AssertionError("the tap stream ended")
        return parse_json_line(raw.rstrip(b"\n"))

    def close(self):
        self.response.close()  # it holds the socket open too
        self.conn.close()


class TapTest(SluiceTestCase):
    def start_sluice(self, address="127.0.0.1:0"):
        self.app_log = self.write_file("logs/app.log", "")
        self.other_log = self.write_file("logs/other.log", "")
        self.out = self.path("out.jsonl")
        cfg = self.config(f"""
            data_dir: {yaml_str(self.path('data'))}
            sources:
              app: {{type: file, include: [{yaml_str(self.app_log)}], read_from: beginning}}
              other: {{type: file, include: [{yaml_str(self.other_log)}], read_from: beginning}}
            transforms:
              warnings: {{type: filter, inputs: [app], condition: "level >= warn"}}
            sinks:
              out: {{type: file, inputs: [app, other], path: {yaml_str(self.out)}}}
              warned: {{type: file, inputs: [warnings], path: {yaml_str(self.path('warned.jsonl'))}}}
            """)
        self.sluice = self.start(["run", "-c", cfg],
                                 env=base_env({"SLUICE_METRICS_ADDR": address, "SLUICE_LOG": "info"}))
        self.port = metrics_port(self.sluice)
        self.addCleanup(self.stop_sluice)

    def stop_sluice(self):
        if self.sluice.proc.poll() is None:
            self.sluice.signal(signal.SIGTERM)
            self.sluice.wait(timeout=20)

    def append(self, path, lines):
        with open(path, "a") as f:
            f.writelines(line + "\n" for line in lines)

    def tap(self, *args, env=None):
        """`sluice tap ARGS` in the background, its stdout a pipe and stderr a file."""
        err = self.path(f"tap-{len(args)}-{os.urandom(4).hex()}.stderr")
        with open(err, "wb") as f:
            proc = subprocess.Popen([BIN, "tap", "--addr", f"127.0.0.1:{self.port}", *args],
                                    stdout=subprocess.PIPE, stderr=f, env=env or base_env())
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        return proc, err

    def wait_for_tapping(self, err_path):
        wait_until(lambda: "sluice tap: tapping" in read_text(err_path),
                   timeout=TAP_TIMEOUT, what="the tap to open")

    def test_a_named_component_and_only_it(self):
        self.start_sluice()
        proc, err = self.tap("warnings", "--format", "json", "--limit", "6")
        self.wait_for_tapping(err)
        self.append(self.other_log, [json.dumps({"level": "error", "msg": f"other {i}"})
                                     for i in range(10)])
        self.append(self.app_log, [json.dumps({"level": "info" if i % 2 else "warn",
                                               "msg": f"app {i}"}) for i in range(20)])
        out, _ = proc.communicate(timeout=TAP_TIMEOUT)
        self.assertEqual(proc.returncode, 0, read_text(err))
        events = [parse_json_line(line) for line in out.splitlines()]
        self.assertEqual(len(events), 6, out)
        # Only what came out of `warnings`: app's warn events, none of app's info, none of other's.
        self.assertEqual([e["msg"] for e in events], [f"app {i}" for i in range(0, 12, 2)])
        self.assertTrue(all(e["source"] == "app" and e["level"] == "warn" for e in events))
        self.assertIn("tapping warnings (at most 100 events/s", read_text(err))

        # The wire format names each event's component; a source's events are all of its lines.
        stream = TapStream(self.port, "?components=other")
        self.assertEqual(stream.status, 200)
        self.assertEqual(stream.response.getheader("Content-Type"), "application/x-ndjson")
        self.assertEqual(stream.line(), {"notice": "tapping", "components": ["other"], "rate": 100})
        self.append(self.app_log, ["not for this tap"])
        self.append(self.other_log, ["plain text line"])
        line = stream.line()
        self.assertEqual(line["component"], "other")
        self.assertEqual(line["event"]["message"], "plain text line")
        self.assertEqual(line["event"]["source"], "other")
        stream.close()

    def test_text_format_prefixes_the_component_when_several_are_tapped(self):
        self.start_sluice()
        proc, err = self.tap("app", "warnings", "--format", "text", "--limit", "2",
                             "--color", "never")
        self.wait_for_tapping(err)
        self.append(self.app_log, [json.dumps({"level": "warn", "msg": "disk almost full"})])
        out, _ = proc.communicate(timeout=TAP_TIMEOUT)
        self.assertEqual(proc.returncode, 0, read_text(err))
        lines = sorted(out.decode().splitlines())
        self.assertEqual(len(lines), 2, out)
        self.assertTrue(lines[0].startswith("[app] ") and lines[1].startswith("[warnings] "), lines)
        for line in lines:
            self.assertIn("WARN", line)
            self.assertIn("disk almost full", line)
            self.assertNotIn("\x1b[", line)

        # One component tapped: no prefix.
        proc, err = self.tap("warnings", "--format", "text", "--limit", "1", "--color", "never")
        self.wait_for_tapping(err)
        self.append(self.app_log, [json.dumps({"level": "error", "msg": "disk full"})])
        out, _ = proc.communicate(timeout=TAP_TIMEOUT)
        self.assertEqual(proc.returncode, 0, read_text(err))
        self.assertRegex(out.decode(), r"^\d{4}-\d\d-\d\dT\S+ ERROR +disk full\n$")

    def test_unknown_component_is_404_with_the_names_that_exist(self):
        self.start_sluice()
        stream = TapStream(self.port, "?components=app,nope")
        self.assertEqual(stream.status, 404)
        body = json.loads(stream.response.read())
        stream.close()
        self.assertEqual(body["unknown"], ["nope"])
        self.assertEqual(body["components"], [{"name": "app", "kind": "source"},
                                              {"name": "other", "kind": "source"},
                                              {"name": "warnings", "kind": "transform"}])
        proc, err = self.tap("nope")
        proc.communicate(timeout=TAP_TIMEOUT)
        self.assertEqual(proc.returncode, 64)
        self.assertIn("no source or transform named nope; the running config has: app (source), "
                      "other (source), warnings (transform)", read_text(err))

    def test_a_fifth_stream_is_503_until_one_closes(self):
        self.start_sluice()
        streams = [TapStream(self.port, "") for _ in range(4)]
        for s in streams:
            self.assertEqual(s.status, 200)
            self.assertEqual(s.line()["notice"], "tapping")
        fifth = TapStream(self.port, "")
        self.assertEqual(fifth.status, 503)
        self.assertIn("at most 4", json.loads(fifth.response.read())["error"])
        fifth.close()
        proc, err = self.tap()
        proc.communicate(timeout=TAP_TIMEOUT)
        self.assertEqual(proc.returncode, 75)
        self.assertIn("answered 503", read_text(err))
        # /health stays reachable with every tap stream open.
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", "/health")
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()
        streams.pop().close()

        def reopened():
            s = TapStream(self.port, "")
            if s.status == 200:
                return s
            s.close()
            return None

        wait_until(reopened, timeout=TAP_TIMEOUT, what="a freed place among the tap streams").close()
        for s in streams:
            s.close()

    def test_a_client_not_on_loopback_is_403(self):
        address = non_loopback_address()
        if address is None:
            self.skipTest("this host has no address other than loopback")
        self.start_sluice(f"{address}:0")
        stream = TapStream(self.port, "", host=address)
        self.assertEqual(stream.status, 403)
        self.assertIn(b"loopback clients only", stream.response.read())
        stream.close()
        proc = subprocess.run([BIN, "tap", "--addr", f"{address}:{self.port}"],
                              capture_output=True, env=base_env(), timeout=TAP_TIMEOUT)
        self.assertEqual(proc.returncode, 77, proc.stderr)
        self.assertIn(b"answered 403", proc.stderr)

    def test_a_tap_that_does_not_read_neither_stalls_nor_loses_anything(self):
        self.start_sluice()
        # The highest rate, so that the sample outgrows the stream's buffer and the sockets'.
        stream = TapStream(self.port, "?components=app&rate=100000")
        self.assertEqual(stream.line()["notice"], "tapping")
        total = 300_000
        self.append(self.app_log, [json.dumps({"level": "info", "n": i, "pad": "x" * 100})
                                   for i in range(total)])

        # Every line reaches the sink while the tap client reads nothing.
        def delivered():
            try:
                with open(self.out, "rb") as f:
                    return sum(1 for _ in f) == total
            except FileNotFoundError:
                return False

        wait_until(delivered, timeout=240, interval=0.2, what=f"{total} lines in the sink")
        with open(self.out, encoding="utf-8") as f:
            numbers = sorted(json.loads(line)["n"] for line in f)
        self.assertEqual(numbers, list(range(total)), "every line exactly once")

        # Reading now, the stream accounts for every event it was offered: sent or skipped.
        sent, skipped = 0, {"rate_limit": 0, "slow_reader": 0}
        while sent + skipped["rate_limit"] + skipped["slow_reader"] < total:
            line = stream.line()
            if line.get("notice") == "skipped":
                self.assertEqual(line["events"], line["rate_limit"] + line["slow_reader"])
                for k in skipped:
                    skipped[k] += line[k]
            else:
                self.assertEqual(line["component"], "app")
                sent += 1
        self.assertEqual(sent + skipped["rate_limit"] + skipped["slow_reader"], total,
                         f"sent {sent}, skipped {skipped}")
        self.assertGreater(sent, 0)
        print(f"tap that did not read: {sent} events sent, skipped {skipped}")
        stream.close()

    def test_limit_ctrl_c_and_a_closed_output_end_it_with_status_0(self):
        self.start_sluice()
        proc, err = self.tap("app")
        self.wait_for_tapping(err)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=TAP_TIMEOUT)
        proc.stdout.close()
        self.assertEqual(proc.returncode, 0, read_text(err))

        # `sluice tap | head -n 1`: once head has gone, tap ends quietly, even with nothing
        # more to write.
        proc, err = self.tap("app", "--format", "json")
        self.wait_for_tapping(err)
        self.append(self.app_log, ["first", "second"])
        self.assertIn(b'"message":"first"', proc.stdout.readline())
        proc.stdout.close()
        proc.wait(timeout=TAP_TIMEOUT)
        self.assertEqual(proc.returncode, 0, read_text(err))
        self.assertNotIn("rror", read_text(err))

    def test_nothing_listening_is_a_clear_error(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # closed when the block ends: nothing listens there
        proc = subprocess.run([BIN, "tap", "--addr", f"127.0.0.1:{port}"], capture_output=True,
                              env=base_env(), timeout=TAP_TIMEOUT)
        self.assertEqual(proc.returncode, 69)
        self.assertIn(f"nothing listens on 127.0.0.1:{port}".encode(), proc.stderr)
        off = subprocess.run([BIN, "tap"], capture_output=True,
                             env=base_env({"SLUICE_METRICS_ADDR": "off"}), timeout=TAP_TIMEOUT)
        self.assertEqual(off.returncode, 64)
        self.assertIn(b"turns the metrics server off", off.stderr)


if __name__ == "__main__":
    main()
