"""The throttle transform, end to end: per-key token buckets on the real binary, with what it
drops counted in /metrics exactly. The rate is so low (one token per 1000 s) that exactly
`burst` events per key pass during the test, however slow the machine: nothing depends on
timing."""

import json
import os
import signal
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402


def pod_line(namespace, pod, i, level="info"):
    return json.dumps({"level": level, "msg": f"{pod} event {i}", "i": i,
                       "kubernetes": {"namespace": namespace, "pod": {"name": pod}}}).encode()


def wait_through(port, component, events):
    """Waits until `events` events have been through the throttle `component`: then its counters
    are final. (Received is counted before a batch is applied, the drops while it is applied,
    sent after it: received alone can be complete while the last batch's drops are not.)"""
    def through():
        sent = e2e.metric(port, "sluice_component_sent_events_total", component=component) or 0
        dropped = e2e.metric(port, "sluice_component_dropped_events_total", component=component,
                             reason="throttled") or 0
        return sent + dropped == events
    e2e.wait_until(through, what=f"{events} events through the throttle")
    assert e2e.metric(port, "sluice_component_received_events_total",
                      component=component) == events


class Throttle(e2e.SluiceTestCase):

    def test_per_key_counts_in_output_and_metrics_agree(self):
        out = self.path("out.jsonl")
        cfg = self.config(f"""
            sources:
              in: {{type: stdin}}
            transforms:
              limit:
                type: throttle
                inputs: [in]
                key: "{{{{ kubernetes.namespace }}}}/{{{{ kubernetes.pod.name }}}}"
                events_per_second: 0.001
                burst: 5
                exclude: 'level == "error"'
            sinks:
              out: {{type: file, inputs: [limit], path: {e2e.yaml_str(out)}}}
            """)
        # Two noisy pods, one quiet one, and errors of a noisy pod that are never throttled;
        # interleaved so that every batch holds several keys.
        lines, expected = [], {"shop/web": 0, "shop/db": 0, "ops/cron": 0}
        sent = {"shop/web": 0, "shop/db": 0, "ops/cron": 0}
        for i in range(400):
            lines.append(pod_line("shop", "web", i))
            sent["shop/web"] += 1
            if i % 2 == 0:
                lines.append(pod_line("shop", "db", i))
                sent["shop/db"] += 1
            if i % 100 == 0:
                lines.append(pod_line("ops", "cron", i))
                sent["ops/cron"] += 1
            if i % 50 == 0:
                lines.append(pod_line("shop", "web", i, level="error"))
        errors = 8
        for key in expected:
            expected[key] = min(sent[key], 5)
        dropped = {key: sent[key] - expected[key] for key in sent if sent[key] > 5}
        self.assertEqual(dropped, {"shop/web": 395, "shop/db": 195})

        running = self.start(["run", "-c", cfg], stdin=subprocess.PIPE,
                             env=e2e.base_env({"SLUICE_METRICS_ADDR": "127.0.0.1:0"}))
        port = e2e.metrics_port(running)
        running.proc.stdin.write(b"\n".join(lines) + b"\n")
        running.proc.stdin.flush()
        wait_through(port, "limit", len(lines))
        self.assertEqual(
            e2e.metric(port, "sluice_throttled_events_total", component="limit", key="shop/web"),
            395)
        self.assertEqual(
            e2e.metric(port, "sluice_throttled_events_total", component="limit", key="shop/db"),
            195)
        self.assertIsNone(
            e2e.metric(port, "sluice_throttled_events_total", component="limit", key="ops/cron"))
        self.assertEqual(
            e2e.metric(port, "sluice_component_dropped_events_total", component="limit",
                       reason="throttled"), 590)
        passed = sum(expected.values()) + errors
        self.assertEqual(
            e2e.metric(port, "sluice_component_sent_events_total", component="limit"), passed)
        self.assertEqual(e2e.metric(port, "sluice_throttle_keys", component="limit"), 3)

        r = running.wait(timeout=30)
        self.assertEqual(r.rc, 0, r.describe())
        events = e2e.read_jsonl(out)
        got = {}
        for e in events:
            if e["level"] == "error":
                continue
            key = e["kubernetes"]["namespace"] + "/" + e["kubernetes"]["pod"]["name"]
            got[key] = got.get(key, 0) + 1
        self.assertEqual(got, expected)
        self.assertEqual(sum(1 for e in events if e["level"] == "error"), errors)
        # The first events of each key are the ones that passed (a full bucket to start with).
        self.assertEqual([e["i"] for e in events if e["msg"].startswith("db ")], [0, 2, 4, 6, 8])
        self.assertTotals(r, "limit", events_in=len(lines), events_out=passed, dropped=590)
        # One log line names the first key that went over its rate.
        first = [rec for rec in e2e.log_records(r.stderr_text)
                 if rec.get("msg", "").startswith("throttle: a key went over its rate")]
        self.assertGreaterEqual(len(first), 1, r.describe())
        self.assertIn(first[0]["key"], ("shop/web", "shop/db"))
        self.assertEqual(first[0]["component"], "limit")

    def test_per_pod_keys_from_container_log_paths(self):
        """The `container` source's Kubernetes metadata (from the log paths) makes the keys: a
        noisy pod is held to its burst while a quiet one on the same node passes whole."""
        cid = "3c4f" + "0" * 56 + "abcd"
        os.makedirs(self.path("containers"), exist_ok=True)
        sent = {"shop/noisy-7d9f8-x2z": 300, "shop/quiet-5c6b7-k8p": 3}
        for key, n in sent.items():
            ns, pod = key.split("/")
            records = b"".join(b"2024-05-01T10:00:00.000000000Z stdout F line %d of %s\n"
                               % (i, pod.encode()) for i in range(n))
            target = self.write_file(f"pods/{ns}_{pod}_1234-uid/app/0.log", records)
            os.symlink(target, self.path("containers", f"{pod}_{ns}_app-{cid}.log"))
        out = self.path("out.jsonl")
        cfg = self.config(f"""
            data_dir: {e2e.yaml_str(self.path('data'))}
            sources:
              pods:
                type: container
                include: [{e2e.yaml_str(self.path('containers', '*.log'))}]
                read_from: beginning
            transforms:
              per_pod:
                type: throttle
                inputs: [pods]
                key: "{{{{ kubernetes.namespace }}}}/{{{{ kubernetes.pod.name }}}}"
                events_per_second: 0.001
                burst: 3
            sinks:
              out: {{type: file, inputs: [per_pod], path: {e2e.yaml_str(out)}}}
            """)
        running = self.start(["run", "-c", cfg],
                             env=e2e.base_env({"SLUICE_METRICS_ADDR": "127.0.0.1:0"}))
        port = e2e.metrics_port(running)
        wait_through(port, "per_pod", sum(sent.values()))
        self.assertEqual(e2e.metric(port, "sluice_throttled_events_total", component="per_pod",
                                    key="shop/noisy-7d9f8-x2z"), 297)
        self.assertIsNone(e2e.metric(port, "sluice_throttled_events_total", component="per_pod",
                                     key="shop/quiet-5c6b7-k8p"))
        e2e.wait_until(lambda: len(e2e.read_jsonl_so_far(out)) == 6,
                       what="the six events that passed")
        running.signal(signal.SIGTERM)
        r = running.wait()
        self.assertEqual(r.rc, 0, r.describe())
        self.assertEqual(sorted(e["message"] for e in e2e.read_jsonl(out)),
                         sorted(f"line {i} of {pod}" for i in range(3)
                                for pod in ("noisy-7d9f8-x2z", "quiet-5c6b7-k8p")))

    def test_config_errors_name_the_option(self):
        def check(options):
            cfg = self.config(
                "sources:\n  in: {type: stdin}\ntransforms:\n  limit:\n    type: throttle\n"
                "    inputs: [in]\n" + options +
                "sinks:\n  out: {type: stdout, inputs: [limit]}\n", name="bad.yaml")
            r = self.run_sluice(["validate", "-c", cfg])
            self.assertNotEqual(r.rc, 0, r.describe())
            return r.stderr_text

        err = check("    burst: 3\n")
        self.assertRegex(err, r"bad\.yaml:5:5: transform `limit`: `events_per_second` is required")
        err = check("    events_per_second: -1\n")
        self.assertRegex(err, r"bad\.yaml:7:24: .*`events_per_second` must be greater than 0")
        err = check("    events_per_second: lots\n")
        self.assertRegex(err, r"bad\.yaml:7:24: .*`events_per_second` must be a number")
        err = check("    events_per_second: 1\n    key: '{{ pod'\n")
        self.assertRegex(err, r"bad\.yaml:8:10: .*invalid `key`: unclosed `\{\{`")


if __name__ == "__main__":
    e2e.main()
