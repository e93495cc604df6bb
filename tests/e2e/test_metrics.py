"""End-to-end: the /metrics and /health endpoint of a running sluice."""

import http.client
import signal

from sluice_e2e import (SluiceTestCase, base_env, main, metrics_port, prometheus_sample, wait_until,
                        yaml_str)


def get(port, path, method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), resp.read().decode()
    finally:
        conn.close()


class MetricsTest(SluiceTestCase):
    def start_with_metrics(self, cfg):
        p = self.start(["run", "-c", cfg],
                       env=base_env({"SLUICE_METRICS_ADDR": "127.0.0.1:0", "SLUICE_LOG": "info"}))
        port = metrics_port(p)
        return p, port

    def test_scrape_counts_events_bytes_and_file_offsets(self):
        log = self.write_file("logs/app.log", "".join(f"line {i}\n" for i in range(100)))
        out = self.path("out.jsonl")
        cfg = self.config(f"""
            data_dir: {yaml_str(self.path('data'))}
            sources:
              logs: {{type: file, include: [{yaml_str(self.path('logs', '*.log'))}],
                      read_from: beginning, parser: none}}
            sinks:
              out: {{type: file, inputs: [logs], path: {yaml_str(out)}}}
            """)
        p, port = self.start_with_metrics(cfg)

        def scraped_all():
            status, ctype, text = get(port, "/metrics")
            value = prometheus_sample(text, "sluice_component_sent_events_total", component="out")
            return (status, ctype, text) if value == 100 else None

        status, ctype, text = wait_until(scraped_all, what="100 events delivered in /metrics")
        self.assertEqual(status, 200)
        self.assertTrue(ctype.startswith("text/plain; version=0.0.4"))
        self.assertEqual(prometheus_sample(text, "sluice_component_received_events_total", component="out"),
                         100)
        self.assertEqual(prometheus_sample(text, "sluice_component_parse_errors_total", component="logs"), 0)
        size = len("".join(f"line {i}\n" for i in range(100)))
        self.assertEqual(prometheus_sample(text, "sluice_component_received_bytes_total", component="logs"),
                         size)
        wait_until(lambda: prometheus_sample(get(port, "/metrics")[2], "sluice_file_acknowledged_offset_bytes",
                                  path=log) == size, what="the file's acknowledged offset")
        text = get(port, "/metrics")[2]
        self.assertEqual(prometheus_sample(text, "sluice_file_size_bytes", path=log), size)
        self.assertEqual(prometheus_sample(text, "sluice_source_unacknowledged_events", component="logs"), 0)
        self.assertIsNotNone(prometheus_sample(text, "sluice_sink_queue_bytes", component="out"))
        self.assertIn("# TYPE sluice_component_sent_events_total counter", text)

        status, ctype, body = get(port, "/health")
        self.assertEqual(status, 200, body)
        self.assertIn('"status":"ok"', body)
        self.assertEqual(get(port, "/nope")[0], 404)
        self.assertEqual(get(port, "/metrics", "POST")[0], 405)
        p.signal(signal.SIGTERM)
        self.assertEqual(p.wait().rc, 0)

    def test_health_turns_503_when_a_sink_keeps_failing(self):
        cfg = self.config(f"""
            health_sink_grace: 500ms
            sources:
              in: {{type: exec, command: [sh, -c, "echo hello; sleep 30"], passthrough: false}}
            sinks:
              full: {{type: file, inputs: [in], path: /dev/full}}
            """)
        p, port = self.start_with_metrics(cfg)
        status, _, body = wait_until(lambda: (r := get(port, "/health"))[0] == 503 and r,
                                     what="health 503")
        self.assertIn('"full":{"state":"failing"}', body)
        retries = prometheus_sample(get(port, "/metrics")[2], "sluice_sink_retries_total", component="full")
        self.assertGreater(retries, 0)
        p.kill()


if __name__ == "__main__":
    main()
