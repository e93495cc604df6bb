"""End-to-end (issue 12): liveness does not depend on sinks. With Elasticsearch unreachable for
longer than `health_sink_grace`, readiness (/health/ready and its alias /health) is 503 while
liveness (/health/live: sluice's own threads are turning) stays 200, so Kubernetes takes the
pod out of service instead of restarting it and throwing its buffers away."""

import http.client
import json
import os
import signal
import socket
import time

from sluice_e2e import SluiceTestCase, base_env, main, metrics_port, wait_until, yaml_str


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def closed_loopback_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HealthSplitTest(SluiceTestCase):
    def start_with_metrics(self, cfg):
        p = self.start(["run", "-c", cfg],
                       env=base_env({"SLUICE_METRICS_ADDR": "127.0.0.1:0", "SLUICE_LOG": "info"}))
        port = metrics_port(p)
        return p, port

    def assert_live(self, port):
        status, body = get(port, "/health/live")
        self.assertEqual(status, 200, body)
        live = json.loads(body)
        self.assertEqual(live["status"], "ok", body)
        self.assertEqual(live["stuck_workers"], 0, body)
        # The supervisor loop turns at least every 100 ms: a fresh heartbeat, not a constant.
        self.assertLess(live["supervisor_age_ms"], 5000, body)

    def test_an_elasticsearch_outage_is_not_ready_but_live(self):
        url = f"http://127.0.0.1:{closed_loopback_port()}"
        cfg = self.config(f"""
            health_sink_grace: 1s
            sources:
              app: {{type: exec, command: [sh, -c, "echo hello; sleep 60"], passthrough: false}}
            sinks:
              es:
                type: elasticsearch
                inputs: [app]
                endpoints: [{yaml_str(url)}]
                flush_interval: 50ms
                retry_backoff_min: 20ms
                retry_backoff_max: 200ms
            """)
        p, port = self.start_with_metrics(cfg)
        self.assert_live(port)
        wait_until(lambda: get(port, "/health/ready")[0] == 503, timeout=20,
                   what="/health/ready to turn 503")
        status, body = get(port, "/health/ready")
        self.assertEqual(status, 503, body)
        self.assertIn('"es":{"state":"failing"}', body)
        status, alias = get(port, "/health")
        self.assertEqual(status, 503, alias)
        self.assertIn('"es":{"state":"failing"}', alias)
        # Live throughout the outage, checked over several probe periods' worth of samples.
        for _ in range(10):
            self.assert_live(port)
            self.assertEqual(get(port, "/health")[0], 503)
            time.sleep(0.1)
        p.signal(signal.SIGTERM)
        p.wait(timeout=20)

    def test_live_and_ready_while_everything_delivers(self):
        out = self.path("out.jsonl")
        cfg = self.config(f"""
            health_sink_grace: 1s
            sources:
              app: {{type: exec, command: [sh, -c, "echo hello; sleep 60"], passthrough: false}}
            sinks:
              out: {{type: file, inputs: [app], path: {yaml_str(out)}}}
            """)
        p, port = self.start_with_metrics(cfg)
        wait_until(lambda: os.path.exists(out) and b"hello" in open(out, "rb").read(),
                   what="the event delivered")
        self.assert_live(port)
        for path in ("/health/ready", "/health"):
            status, body = get(port, path)
            self.assertEqual(status, 200, f"{path}: {body}")
            self.assertIn('"status":"ok"', body)
        self.assertEqual(get(port, "/health/nope")[0], 404)
        p.signal(signal.SIGTERM)
        p.wait(timeout=20)


if __name__ == "__main__":
    main()
