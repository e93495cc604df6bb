"""Live reload of a sink with a disk buffer: a changed sink takes over the buffer directory of the
one it replaces, so a backlog kept on disk while the destination was wrong or down is delivered
by the corrected sink, without a restart. The real binary, a file source and the Elasticsearch
emulator; every wait is on an observable condition."""

import http.client
import json
import os
import signal
import socket
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402
from es_helpers import Emulator, emulator_available  # noqa: E402


def closed_port():
    """A loopback port nothing listens on (a destination that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post_reload(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/reload")
        response = conn.getresponse()
        return response.status, json.loads(response.read().decode())
    finally:
        conn.close()


def append_lines(path, first, last):
    with open(path, "ab") as f:
        f.write(b"".join(b'{"seq":%d,"pad":"%s"}\n' % (n, b"x" * 100) for n in range(first, last)))


class ReloadDiskBuffer(e2e.SluiceTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not emulator_available():
            raise AssertionError("sluice_es_emulator missing: build the tests")

    def config(self, log_path, endpoint, max_bytes):
        return f"""
            data_dir: {e2e.yaml_str(self.path('data'))}
            sources:
              logs: {{type: file, include: [{e2e.yaml_str(log_path)}], read_from: beginning,
                      parser: json, checkpoint_interval: 200ms}}
            sinks:
              es:
                type: elasticsearch
                inputs: [logs]
                endpoints: [{endpoint}]
                id: auto
                flush_interval: 100ms
                retry_backoff_min: 20ms
                retry_backoff_max: 200ms
                buffer: {{type: disk, max_bytes: {max_bytes}, fsync_interval: 100ms}}
            """

    def write_config(self, path, text):
        import textwrap
        with open(path + ".tmp", "w") as f:
            f.write(textwrap.dedent(text))
        os.replace(path + ".tmp", path)

    def test_a_corrected_endpoint_delivers_the_backlog_kept_on_disk(self):
        log_path = self.path("app.log")
        cfg = self.path("sluice.yaml")
        append_lines(log_path, 0, 5000)
        self.write_config(cfg, self.config(log_path, f"http://127.0.0.1:{closed_port()}", "64MiB"))
        with Emulator() as es:
            env = e2e.base_env({"SLUICE_METRICS_ADDR": "127.0.0.1:0"})
            proc = self.start(["run", "-c", cfg], env=env)
            port = e2e.metrics_port(proc)
            try:
                # Every line is on disk (acknowledged to the source) while the sink is down.
                e2e.wait_until(
                    lambda: (e2e.metric(port, "sluice_component_sent_events_total",
                                        component="logs") or 0) >= 5000 and
                    e2e.metric(port, "sluice_source_unacknowledged_events", component="logs") == 0,
                    timeout=60, what="the backlog acknowledged once on disk")
                self.assertGreater(e2e.metric(port, "sluice_sink_disk_buffer_records",
                                              component="es") or 0, 0)
                # The fix: the right endpoint and a larger buffer. A changed sink, same directory.
                self.write_config(cfg, self.config(log_path, es.url, "128MiB"))
                status, answer = post_reload(port)
                self.assertEqual(status, 200, answer)
                self.assertIn("sink es", answer["detail"])
                append_lines(log_path, 5000, 10000)
                e2e.wait_until(lambda: es.stats()["stored_docs"] >= 10000, timeout=90,
                               what="the backlog and the new lines in Elasticsearch")
                self.assertEqual(e2e.metric(port, "sluice_sink_disk_buffer_capacity_bytes",
                                            component="es"), 128 << 20)
            finally:
                proc.signal(signal.SIGTERM)
                r = proc.wait(timeout=30)
            self.assertEqual(r.rc, 0, r.describe())
            self.assertIn("took over its disk buffer", r.stderr_text)
            seqs = sorted({doc["_source"]["seq"] for doc in es.docs()})
        self.assertEqual(seqs, list(range(10000)), "every line, the backlog included")


if __name__ == "__main__":
    e2e.main()
