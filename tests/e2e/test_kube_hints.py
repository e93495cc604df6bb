"""End-to-end: the pods' hints on the `container` source with metadata from the API server (the
emulator, over HTTPS with a bearer token): `sluice.io/parser` and `sluice.io/parser-<container>`
change how that pod's (container's) lines are parsed, also on files already open when the hint
changes; `sluice.io/multiline` joins its records, also on a file already open when it changes; `sluice.io/exclude` drops the pod's lines
(counted per line as the source's drops, checkpointed so that neither lifting the hint nor a
restart reads them again); an unknown value is logged once and the source's own setting used;
and the `enabled` decision: `auto` outside a cluster logs one line saying off and
why, `true` without a node name is a config error.

Every wait is bounded (wait_until), never a fixed sleep."""

import os
import signal
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kube_objects as objects  # noqa: E402
from kube_case import CRI, NODE, KubeCase  # noqa: E402
from sluice_e2e import (SluiceTestCase, base_env, main, metric, metrics_port,  # noqa: E402
                        wait_until, yaml_str)

EXCLUDED_LOG = "pod's logs excluded: read, counted and dropped"
EXCLUSION_ENDED_LOG = "pod's logs no longer excluded; its files go on from where they are read"


class KubeHintsTest(KubeCase):
    TOKEN = "t0ken-e2e"

    def test_hints_change_the_parser_and_exclude_a_pod(self):
        logfmt = objects.deployment_pod("lf", "shop", node=NODE,
                                        annotations={"sluice.io/parser": "logfmt"})
        per_container = objects.deployment_pod(
            "mixed", "shop", node=NODE, containers={"app": "app:1", "side": "side:1"},
            annotations={"sluice.io/parser-side": "json"})
        excluded = objects.deployment_pod("quiet", "shop", node=NODE,
                                          containers={"app": "app:1", "side": "side:1"},
                                          annotations={"sluice.io/exclude": "true"})
        unknown = objects.deployment_pod("odd", "shop", node=NODE,
                                         annotations={"sluice.io/parser": "yaml"})
        for pod in (logfmt, per_container, excluded, unknown):
            self.kube.add_pod(pod)
        self.write_log(logfmt, "app", ["level=warn msg=\"from logfmt\" user=7"])
        self.write_log(per_container, "app", ["level=warn msg=plain-auto"])
        self.write_log(per_container, "side", ['{"msg": "from json", "n": 1}'])
        self.write_log(excluded, "app", [f"must not be emitted {i}" for i in range(5)])
        self.write_log(excluded, "side", ["nor this one"])
        self.write_log(unknown, "app", ["odd one"])
        p, out = self.start_sluice(env={"SLUICE_METRICS_ADDR": "127.0.0.1:0"})
        port = metrics_port(p)
        wait_until(lambda: len(self.events(out)) == 4, what="the events of the read pods")
        # The excluded pod's lines are read and counted, each as one dropped event.
        wait_until(lambda: metric(port, "sluice_kubernetes_excluded_events_total",
                                  component="pods") == 6, what="6 excluded lines counted")
        self.assertEqual(metric(port, "sluice_component_dropped_events_total", component="pods",
                                kind="source", reason="excluded"), 6)
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
        self.assertEqual(len(events), 4)
        # Once for the pod, not once per file.
        excluded_logs = [rec for rec in records if rec.get("msg") == EXCLUDED_LOG]
        self.assertEqual(len(excluded_logs), 1, r.stderr_text)
        self.assertEqual(excluded_logs[0].get("pod"), excluded["metadata"]["name"])
        totals = [rec for rec in records
                  if rec.get("msg") == "component totals" and rec.get("component") == "pods"]
        self.assertEqual([rec.get("dropped") for rec in totals], ["6"], r.stderr_text)
        unknown_logs = [rec for rec in records
                        if rec.get("msg") == "unknown hint value; the source's own setting is used"]
        self.assertEqual(len(unknown_logs), 1, r.stderr_text)
        self.assertIn("sluice.io/parser=yaml", unknown_logs[0].get("hint", ""))

    def excluded_count(self, port):
        return metric(port, "sluice_kubernetes_excluded_events_total", component="pods") or 0

    def write_and_settle(self, path, pod, line, out, port):
        """Appends a line and waits until it was emitted (True) or counted as excluded (False)."""
        before = self.excluded_count(port)
        self.append(path, line)
        outcome = {}

        def settled():
            if any(e.get("message") == line for e in self.events(out)):
                outcome["emitted"] = True
            elif self.excluded_count(port) > before:
                outcome["emitted"] = False
            return outcome
        wait_until(settled, what=f"{line!r} emitted or counted")
        return outcome["emitted"]

    def append(self, path, line):
        with open(path, "a") as f:
            f.write(CRI + line + "\n")

    def probe_until(self, path, pod, out, port, emitted, prefix):
        """Writes probe lines until one is emitted (or dropped, per `emitted`): the hint change
        has then reached the open file. Returns the probes that went the other way."""
        for i in range(200):
            if self.write_and_settle(path, pod, f"{prefix} {i}", out, port) == emitted:
                return i
        self.fail("the hint change never reached the open file")

    def test_exclude_on_a_running_pod_stops_its_open_file_and_lifting_it_resumes_from_there(self):
        pod = objects.deployment_pod("web", "shop", node=NODE)
        self.kube.add_pod(pod)
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        path = self.write_log(pod, "app", ["before"])
        p, out = self.start_sluice(env={"SLUICE_METRICS_ADDR": "127.0.0.1:0"})
        port = metrics_port(p)
        wait_until(lambda: len(self.events(out)) == 1, what="the line written before")

        self.kube.patch_pod(ns, name, {"metadata": {"annotations": {"sluice.io/exclude": "true"}}})
        emitted_while_changing = self.probe_until(path, pod, out, port, False, "excluding")
        for i in range(20):
            self.append(path, f"secret {i}")
        wait_until(lambda: self.excluded_count(port) == 21, what="21 lines dropped and counted")

        self.kube.patch_pod(ns, name, {"metadata": {"annotations": {"sluice.io/exclude": None}}})
        dropped_while_changing = self.probe_until(path, pod, out, port, True, "lifting")
        for i in range(5):
            self.append(path, f"after {i}")
        wait_until(lambda: sum(e["message"].startswith("after") for e in self.events(out)) == 5,
                   what="the lines written after the exclusion")
        self.assertEqual(self.excluded_count(port), 21 + dropped_while_changing)
        self.assertEqual(metric(port, "sluice_component_dropped_events_total", component="pods",
                                kind="source", reason="excluded"), 21 + dropped_while_changing)
        r = self.stop(p)
        messages = [e["message"] for e in self.events(out)]
        # Every line once: those of the exclusion never, nothing read again from before it.
        self.assertEqual(len(messages), len(set(messages)), messages)
        self.assertEqual(len(messages), 1 + emitted_while_changing + 1 + 5, messages)
        self.assertFalse([m for m in messages if m.startswith("secret")])
        self.assertEqual(messages[0], "before")
        self.assertEqual(messages[-5:], [f"after {i}" for i in range(5)])
        self.assertEqual(len([rec for rec in r.logs if rec.get("msg") == EXCLUDED_LOG]), 1,
                         r.stderr_text)
        self.assertEqual(len([rec for rec in r.logs if rec.get("msg") == EXCLUSION_ENDED_LOG]), 1,
                         r.stderr_text)

    def test_lines_dropped_while_excluded_are_not_read_again_after_a_restart(self):
        pod = objects.deployment_pod("quiet", "shop", node=NODE,
                                     annotations={"sluice.io/exclude": "true"})
        self.kube.add_pod(pod)
        path = self.write_log(pod, "app", [f"secret {i}" for i in range(3)])
        p, out = self.start_sluice(env={"SLUICE_METRICS_ADDR": "127.0.0.1:0"})
        port = metrics_port(p)
        wait_until(lambda: self.excluded_count(port) == 3, what="3 lines dropped and counted")
        self.stop(p)
        # The checkpoint moved over them: with the hint gone, a restart does not read them.
        self.kube.patch_pod(pod["metadata"]["namespace"], pod["metadata"]["name"],
                            {"metadata": {"annotations": {"sluice.io/exclude": None}}})
        p, out = self.start_sluice()
        self.append(path, "fresh")
        wait_until(lambda: any(e["message"] == "fresh" for e in self.events(out)),
                   what="the line written after the restart")
        self.stop(p)
        self.assertEqual([e["message"] for e in self.events(out)], ["fresh"])

    def test_a_parser_hint_change_reaches_the_open_file(self):
        pod = objects.deployment_pod("api", "shop", node=NODE,
                                     annotations={"sluice.io/parser": "json"})
        self.kube.add_pod(pod)
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        path = self.write_log(pod, "app", ["level=warn msg=first n=0"])
        p, out = self.start_sluice()
        wait_until(lambda: len(self.events(out)) == 1, what="the first line")
        self.assertNotIn("n", self.events(out)[0])  # not JSON: kept as the message
        self.kube.patch_pod(ns, name, {"metadata": {"annotations": {"sluice.io/parser": "logfmt"}}})
        for i in range(1, 200):
            self.append(path, f"level=warn msg=probe n={i}")
            wait_until(lambda: len(self.events(out)) == i + 1, what=f"probe {i}")
            if "n" in self.events(out)[-1]:
                break
        else:
            self.fail("the parser hint never reached the open file")
        for i in range(3):
            self.append(path, f"level=warn msg=later n=later{i}")
        wait_until(lambda: sum(e.get("msg") == "later" for e in self.events(out)) == 3,
                   what="the later lines parsed as logfmt")
        self.stop(p)
        events = self.events(out)
        first_parsed = next(i for i, e in enumerate(events) if "n" in e)
        # From the change on, every line parsed as logfmt; before it, none.
        self.assertTrue(all("n" in e for e in events[first_parsed:]), events)
        self.assertFalse(any("n" in e for e in events[:first_parsed]), events)
        self.assertEqual([e["n"] for e in events[-3:]], [f"later{i}" for i in range(3)])

    def test_multiline_hint_joins_that_pods_records(self):
        trace = ["Exception in thread \"main\" java.lang.IllegalStateException: boom",
                 "\tat com.example.App.run(App.java:42)", "\tat com.example.App.main(App.java:7)"]
        java = objects.deployment_pod("java", "shop", node=NODE,
                                      annotations={"sluice.io/multiline": "java"})
        plain = objects.deployment_pod("plain", "shop", node=NODE)
        for pod in (java, plain):
            self.kube.add_pod(pod)
            self.write_log(pod, "app", trace + ["done"])
        p, out = self.start_sluice()
        wait_until(lambda: len(self.events(out)) == 6, what="2 events of one pod, 4 of the other")
        self.stop(p)
        messages = {}
        for e in self.events(out):
            messages.setdefault(e["kubernetes"]["deployment"]["name"], []).append(e["message"])
        self.assertEqual(messages["java"], ["\n".join(trace), "done"])
        self.assertEqual(messages["plain"], trace + ["done"])

    def test_a_multiline_hint_change_reaches_the_open_file(self):
        pod = objects.deployment_pod("jvm", "shop", node=NODE)
        self.kube.add_pod(pod)
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        path = self.write_log(pod, "app", ["started"])
        written = ["started"]
        p, out = self.start_sluice()
        wait_until(lambda: len(self.events(out)) == 1, what="the first line")

        def probe(i):
            """A trace and the line after it; True once the trace went out as one event."""
            trace = [f"Exception in thread \"main\" java.lang.IllegalStateException: {i}",
                     f"\tat com.example.App.run(App.java:{i})",
                     "\tat com.example.App.main(App.java:7)"]
            self.write_log(pod, "app", trace + [f"after {i}"])
            written.extend(trace + [f"after {i}"])
            joined = "\n".join(trace)
            found = []

            def handed_on():
                messages = [e["message"] for e in self.events(out)]
                found[:] = [joined in messages, trace[0] in messages]
                return any(found)
            wait_until(handed_on, what=f"trace {i}")
            return found[0]

        def probe_until(joined, start):
            for i in range(start, start + 200):
                if probe(i) == joined:
                    return i + 1
            self.fail(f"the multiline hint change never reached the open file (joined={joined})")

        self.assertFalse(probe(0))  # the source joins nothing
        self.kube.patch_pod(ns, name, {"metadata": {"annotations": {"sluice.io/multiline": "java"}}})
        n = probe_until(True, 1)
        self.assertTrue(probe(n))
        # The hint removed: lines one by one again; the record being joined is handed on.
        self.kube.patch_pod(ns, name, {"metadata": {"annotations": {"sluice.io/multiline": None}}})
        n = probe_until(False, n + 1)
        self.assertFalse(probe(n))
        wait_until(lambda: any(e["message"] == f"after {n}" for e in self.events(out)),
                   what="the last line")
        self.stop(p)
        lines = [line for e in self.events(out) for line in e["message"].split("\n")]
        self.assertEqual(lines, written)  # every line once, in order
        self.assertTrue(all(e["kubernetes"]["deployment"]["name"] == "jvm"
                            for e in self.events(out)))


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
