"""End-to-end: the `container` source's Kubernetes metadata when the API server goes away while a
watch is established (tests/e2e/kube_emulator.py): stopped for 30 s (the issue's figure), its
listener closed and its connections cut, then back with its history (the watch resumes from its
resourceVersion) or compacted (410: a relist); and a half-open watch (the server's node gone
without a FIN: the connection stays open and silent), dropped after the watch's own timeout plus
a margin. Meanwhile events keep flowing: files of cached pods with their metadata, files of new
pods with the path's, counted as misses; /health says degraded; one log line per state change.

`retry_backoff_max: 1s` bounds every wait between two tries (the jittered delay is at most the
step, which is at most the max), so the recovery is awaited for a few seconds, not 30."""

import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kube_objects  # noqa: E402
from kube_case import KubeCase  # noqa: E402
from sluice_e2e import log_records, main, metric, metrics_port, wait_until  # noqa: E402

OUTAGE_SECONDS = 30
# retry_backoff_max below, a connect and a TLS handshake on loopback, and slack for a loaded
# machine.
RECOVERY_SECONDS = 10
NOT_IN_SYNC = "kubernetes API: metadata not in sync"
IN_SYNC = "kubernetes API: metadata in sync"


class KubeOutageTest(KubeCase):
    KUBERNETES = 'annotations: ["prometheus.io/*"]'
    ENV = {"SLUICE_LOG": "debug"}

    def start_watching(self, extra=""):
        p, out = self.start_sluice("retry_backoff_max: 1s\n                  " + extra,
                                   env={"SLUICE_METRICS_ADDR": "127.0.0.1:0"})
        port = metrics_port(p)
        self.kube.wait_for_open_watches(1)
        return p, out, port

    def kube_health(self, port):
        return self.health(port)[1]["sources"]["pods"]["kubernetes"]

    def event(self, out, message, timeout=10):
        return wait_until(lambda: self.by_message(out).get(message), timeout=timeout,
                          what=f"the event {message!r}")

    def until_labelled(self, out, pod, key, value, timeout=20):
        """Writes lines to the pod's (open) file until one goes out with the label; bounded."""
        written = []

        def labelled():
            written.append(f"{pod['metadata']['name']} line {len(written)}")
            self.write_log(pod, "app", [written[-1]])
            return any(e["kubernetes"].get("labels", {}).get(key) == value
                       for e in self.events(out) if e["message"] in written)
        wait_until(labelled, timeout=timeout, interval=0.2, what=f"an event with {key}={value}")

    def test_api_server_stopped_for_30s_events_flow_and_metadata_resumes(self):
        web = kube_objects.deployment_pod("web", "shop", labels={"app": "web", "version": "1"})
        self.kube.add_pod(web)
        self.write_log(web, "app", ["before"])
        p, out, port = self.start_watching()
        self.assertEqual(self.event(out, "before")["kubernetes"]["labels"]["app"], "web")
        wait_until(lambda: not self.kube_health(port)["degraded"], what="metadata in sync")

        stopped = time.monotonic()
        self.kube.down()  # listener closed, the watch's connection cut: connects are refused
        wait_until(lambda: self.kube_health(port) == {"state": "unreachable", "degraded": True},
                   timeout=RECOVERY_SECONDS, what="degraded metadata")
        # A cached pod's file keeps its metadata.
        self.write_log(web, "app", ["during"])
        self.assertEqual(self.event(out, "during")["kubernetes"]["labels"]["app"], "web")
        # Changed and created while the API server is away: nobody can know yet.
        self.kube.patch_pod("shop", web["metadata"]["name"],
                            {"metadata": {"labels": {"version": "2"}}})
        early = kube_objects.deployment_pod("api", "shop", labels={"app": "api"})
        late = kube_objects.statefulset_pod("db", 0, "shop", labels={"app": "db"})
        self.kube.add_pod(early)
        self.kube.add_pod(late)
        # A new pod's file does not wait for an API known to be unreachable: path metadata,
        # a miss.
        self.write_log(early, "app", ["new pod during"])
        new = self.event(out, "new pod during")["kubernetes"]
        self.assertNotIn("labels", new)
        self.assertEqual(new["pod"]["name"], early["metadata"]["name"])
        self.assertEqual(metric(port, "sluice_kubernetes_metadata_misses_total",
                                component="pods"), 1)
        self.assertEqual(self.events(out)[0]["kubernetes"]["labels"]["version"], "1")

        # The rest of the 30 s, then one more look: retried all along, logged once.
        time.sleep(max(0.0, stopped + OUTAGE_SECONDS - time.monotonic()))
        failed = metric(port, "sluice_kubernetes_api_requests_total", component="pods",
                        kind="watch", code="error")
        self.assertGreaterEqual(failed, 10)  # every second or so (retry_backoff_max: 1s)
        self.assertEqual(p.stderr_text().count(NOT_IN_SYNC), 1, p.stderr_text())
        self.assertEqual(self.kube_health(port)["state"], "unreachable")
        lists = len(self.kube.requests(verb="list", resource="pods"))

        self.kube.up()  # the same port, the same history: the watch resumes where it was
        self.kube.wait_for_open_watches(1, timeout=RECOVERY_SECONDS)
        wait_until(lambda: self.kube_health(port) == {"state": "synced", "degraded": False},
                   timeout=RECOVERY_SECONDS, what="metadata in sync again")
        recovered = time.monotonic() - stopped
        # The label changed during the outage reaches the file open all along.
        self.until_labelled(out, web, "version", "2")
        # A pod created during the outage: its file, opened now, gets its labels.
        self.write_log(late, "app", ["new pod after"])
        self.assertEqual(self.event(out, "new pod after")["kubernetes"]["labels"]["app"], "db")
        r = self.stop(p)
        stderr = r.stderr.decode() if isinstance(r.stderr, bytes) else r.stderr
        self.assertEqual(stderr.count(NOT_IN_SYNC), 1, stderr)
        self.assertEqual(stderr.count(IN_SYNC), 2, stderr)  # at start, after the outage
        self.assertLess(recovered, OUTAGE_SECONDS + RECOVERY_SECONDS)
        # Resumed from its resourceVersion: no list, no GET.
        self.assertEqual(len(self.kube.requests(verb="list", resource="pods")), lists)
        self.assertEqual(len(self.kube.requests(verb="get", resource="pods")), 0)
        # Nor does any other layer repeat itself (the HTTP client says once that the endpoint
        # failed, and once that it recovered).
        warnings = [r.get("msg") for r in log_records(stderr)
                    if r.get("level") in ("warn", "error")]
        self.assertEqual(len(warnings), len(set(warnings)), warnings)

    def test_api_server_back_without_the_history_relists(self):
        web = kube_objects.deployment_pod("web", "shop", labels={"app": "web", "version": "1"})
        job = kube_objects.cronjob_pod("report", namespace="ops", labels={"app": "report"})
        for pod in (web, job):
            self.kube.add_pod(pod)
        self.write_log(web, "app", ["web before"])
        self.write_log(job, "app", ["job before"])
        p, out, port = self.start_watching()
        self.event(out, "web before")
        self.event(out, "job before")
        lists = len(self.kube.requests(verb="list", resource="pods"))

        self.kube.down()
        wait_until(lambda: self.kube_health(port)["degraded"], timeout=RECOVERY_SECONDS,
                   what="degraded metadata")
        self.kube.patch_pod("shop", web["metadata"]["name"],
                            {"metadata": {"labels": {"version": "2"}}})
        late = kube_objects.statefulset_pod("db", 0, "shop", labels={"app": "db"})
        self.kube.add_pod(late)
        self.kube.delete_pod("ops", job["metadata"]["name"])  # its file is still read
        # The restarted server's history starts after sluice's resourceVersion: 410 Gone.
        self.kube.compact()
        self.kube.up()
        wait_until(lambda: len(self.kube.requests(verb="list", resource="pods")) > lists,
                   timeout=RECOVERY_SECONDS, what="the relist")
        self.kube.wait_for_open_watches(1, timeout=RECOVERY_SECONDS)
        wait_until(lambda: not self.kube_health(port)["degraded"], timeout=RECOVERY_SECONDS,
                   what="metadata in sync again")
        self.assertGreaterEqual(metric(port, "sluice_kubernetes_relists_total",
                                       component="pods"), 1)
        self.until_labelled(out, web, "version", "2")
        self.write_log(late, "app", ["db after"])
        self.assertEqual(self.event(out, "db after")["kubernetes"]["labels"]["app"], "db")
        # Gone from the relist, but its file is open: kept.
        self.write_log(job, "app", ["job after"])
        self.assertEqual(self.event(out, "job after")["kubernetes"]["cronjob"],
                         {"name": "report"})
        self.stop(p)

    def test_half_open_watch_is_dropped_after_its_timeout_and_resumed(self):
        web = kube_objects.deployment_pod("web", "shop", labels={"app": "web", "version": "1"})
        self.kube.add_pod(web)
        self.write_log(web, "app", ["before"])
        # The server ends each watch after 2 s: one silent for 2 s + the 2 s margin is dead.
        p, out, port = self.start_watching("watch_timeout: 2s")
        self.event(out, "before")
        # A watch may be between two (each ends after 2 s): stall one that is open.
        wait_until(lambda: self.kube.open_watches() == 1 and self.kube.stall_watches() == 1,
                   what="a watch stalled")
        self.kube.patch_pod("shop", web["metadata"]["name"],
                            {"metadata": {"labels": {"version": "2"}}})
        # sluice closes the silent connection itself, then watches again from where it was.
        wait_until(lambda: self.kube.stalled_watches_closed() == 1, timeout=4 + RECOVERY_SECONDS,
                   what="the silent watch closed by sluice")
        self.until_labelled(out, web, "version", "2")
        self.assertEqual(len(self.kube.requests(verb="list", resource="pods")), 1)
        watches = self.kube.requests(verb="watch", resource="pods")
        self.assertTrue(all("timeoutSeconds" in r.query and r.query["timeoutSeconds"] == "2"
                            for r in watches), watches)
        self.stop(p)


if __name__ == "__main__":
    main()
