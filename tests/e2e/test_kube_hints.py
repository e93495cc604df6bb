"""End-to-end: the pods' hints on the `container` source with metadata from the API server (the
emulator, over HTTPS with a bearer token): `sluice.io/parser` and `sluice.io/parser-<container>`
change how that pod's (container's) lines are parsed, `sluice.io/multiline` joins its records,
`sluice.io/exclude` keeps its files unread, an unknown value is logged once and the source's own
setting used; and the `enabled` decision: `auto` outside a cluster logs one line saying off and
why, `true` without a node name is a config error.

Every wait is bounded (wait_until), never a fixed sleep."""

import os
import signal
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kube_objects as objects  # noqa: E402
from kube_emulator import KubeApiEmulator  # noqa: E402
from sluice_e2e import (SluiceTestCase, base_env, main, metric, metrics_port,  # noqa: E402
                        read_jsonl, wait_until, yaml_str)

TOKEN = "t0ken-e2e"
NODE = "node-1"


def cri(message, stream="stdout"):
    return f"2026-12-07T10:00:00.000000000Z {stream} F {message}\n".encode()


class KubeHintsTest(SluiceTestCase):
    def setUp(self):
        self.kube = KubeApiEmulator(tls=True, token=TOKEN)
        self.kube.__enter__()
        self.addCleanup(self.kube.__exit__, None, None, None)
        self.token_file = self.write_file("token", TOKEN + "\n")
        os.makedirs(self.path("containers"), exist_ok=True)

    def log_file(self, pod, container, lines):
        """Writes the container's log as the kubelet names it (CRI records)."""
        path = self.path("containers", objects.log_file_name(pod, container))
        with open(path, "ab") as f:
            for line in lines:
                f.write(cri(line))
        return path

    def start_sluice(self, kubernetes="", env=None):
        out = self.path("out.jsonl")
        cfg = self.config(f"""
            data_dir: {yaml_str(self.path('data'))}
            sources:
              pods:
                type: container
                include: [{yaml_str(self.path('containers', '*.log'))}]
                read_from: beginning
                glob_interval: 100ms
                kubernetes:
                  enabled: true
                  api_url: {yaml_str(self.kube.url)}
                  token_file: {yaml_str(self.token_file)}
                  ca_file: {yaml_str(self.kube.ca_file)}
                  node_name: {NODE}
                  {kubernetes}
            sinks:
              out: {{type: file, inputs: [pods], path: {yaml_str(out)}}}
            """)
        p = self.start(["run", "-c", cfg], env=base_env(env))
        return p, out

    def events(self, out):
        return read_jsonl(out) if os.path.exists(out) else []

    def stop(self, p):
        p.signal(signal.SIGTERM)
        r = p.wait()
        self.assertEqual(r.rc, 0, r.describe())
        return r

    def test_hints_change_the_parser_and_exclude_a_pod(self):
        logfmt = objects.deployment_pod("lf", "shop", node=NODE,
                                        annotations={"sluice.io/parser": "logfmt"})
        per_container = objects.deployment_pod(
            "mixed", "shop", node=NODE, containers={"app": "app:1", "side": "side:1"},
            annotations={"sluice.io/parser-side": "json"})
        excluded = objects.deployment_pod("quiet", "shop", node=NODE,
                                          annotations={"sluice.io/exclude": "true"})
        unknown = objects.deployment_pod("odd", "shop", node=NODE,
                                         annotations={"sluice.io/parser": "yaml"})
        for pod in (logfmt, per_container, excluded, unknown):
            self.kube.add_pod(pod)
        self.log_file(logfmt, "app", ["level=warn msg=\"from logfmt\" user=7"])
        self.log_file(per_container, "app", ["level=warn msg=plain-auto"])
        self.log_file(per_container, "side", ['{"msg": "from json", "n": 1}'])
        self.log_file(excluded, "app", ["must not be read"])
        self.log_file(unknown, "app", ["odd one"])
        p, out = self.start_sluice(env={"SLUICE_METRICS_ADDR": "127.0.0.1:0"})
        port = metrics_port(p)
        wait_until(lambda: len(self.events(out)) == 4, what="the events of the read pods")
        # Decided by the first scan, before any line was read.
        self.assertEqual(metric(port, "sluice_kubernetes_excluded_files_total", component="pods"),
                         1)
        r = self.stop(p)
        events = self.events(out)
        by_pod = {}
        for e in events:
            by_pod.setdefault((e["kubernetes"]["pod"]["name"], e["kubernetes"]["container"]["name"]),
                              []).append(e)
        self.assertNotIn(excluded["metadata"]["name"], {k[0] for k in by_pod})
        lf = by_pod[(logfmt["metadata"]["name"], "app")][0]
        self.assertEqual(lf["msg"], "from logfmt")
        self.assertEqual(lf["user"], "7")
        side = by_pod[(per_container["metadata"]["name"], "side")][0]
        self.assertEqual(side["msg"], "from json")
        self.assertEqual(side["n"], 1)
        records = r.logs
        excluded_logs = [rec for rec in records if rec.get("msg") == "container log not read"
                         and "sluice.io/exclude" in rec.get("why", "")]
        self.assertEqual(len(excluded_logs), 1, r.stderr_text)
        unknown_logs = [rec for rec in records
                        if rec.get("msg") == "unknown hint value; the source's own setting is used"]
        self.assertEqual(len(unknown_logs), 1, r.stderr_text)
        self.assertIn("sluice.io/parser=yaml", unknown_logs[0].get("hint", ""))

    def test_multiline_hint_joins_that_pods_records(self):
        trace = ["Exception in thread \"main\" java.lang.IllegalStateException: boom",
                 "\tat com.example.App.run(App.java:42)", "\tat com.example.App.main(App.java:7)"]
        java = objects.deployment_pod("java", "shop", node=NODE,
                                      annotations={"sluice.io/multiline": "java"})
        plain = objects.deployment_pod("plain", "shop", node=NODE)
        for pod in (java, plain):
            self.kube.add_pod(pod)
            self.log_file(pod, "app", trace + ["done"])
        p, out = self.start_sluice()
        wait_until(lambda: len(self.events(out)) == 6, what="2 events of one pod, 4 of the other")
        self.stop(p)
        messages = {}
        for e in self.events(out):
            messages.setdefault(e["kubernetes"]["deployment"]["name"], []).append(e["message"])
        self.assertEqual(messages["java"], ["\n".join(trace), "done"])
        self.assertEqual(messages["plain"], trace + ["done"])


class KubeAutoTest(SluiceTestCase):
    def test_auto_outside_a_cluster_says_off_and_why(self):
        os.makedirs(self.path("containers"), exist_ok=True)
        out = self.path("out.jsonl")
        cfg = self.config(f"""
            data_dir: {yaml_str(self.path('data'))}
            sources:
              pods:
                type: container
                include: [{yaml_str(self.path('containers', '*.log'))}]
            sinks:
              out: {{type: file, inputs: [pods], path: {yaml_str(out)}}}
            """)
        p = self.start(["run", "-c", cfg],
                       env=base_env({"KUBERNETES_SERVICE_HOST": None, "NODE_NAME": None}))
        wait_until(lambda: "kubernetes metadata off" in p.stderr_text(), what="the decision")
        p.signal(signal.SIGTERM)
        r = p.wait()
        self.assertEqual(r.rc, 0, r.describe())
        off = [rec for rec in r.logs if rec.get("msg") == "kubernetes metadata off"]
        self.assertEqual(len(off), 1, r.stderr_text)
        self.assertIn("KUBERNETES_SERVICE_HOST is not set", off[0].get("why", ""))

    def test_true_without_a_node_is_a_config_error(self):
        cfg = self.config(f"""
            sources:
              pods:
                type: container
                kubernetes: {{enabled: true, api_url: "https://127.0.0.1:1"}}
            sinks:
              out: {{type: stdout, inputs: [pods]}}
            """)
        r = self.run_sluice(["validate", "-c", cfg], env=base_env({"NODE_NAME": None}))
        self.assertNotEqual(r.rc, 0)
        self.assertIn(f"{cfg}:4:", r.stderr_text)
        self.assertIn("needs `node_name`", r.stderr_text)


if __name__ == "__main__":
    main()
