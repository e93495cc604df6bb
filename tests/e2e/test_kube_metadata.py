"""End-to-end: the `container` source with `kubernetes:` on, against the API-server emulator
(tests/e2e/kube_emulator.py, over HTTPS with its test CA and a bearer token): every event of a
pod's log file carries the pod's labels, workload, node and image; a file that appears before
its pod waits for it; a pod excluded by its hint is not read; a refused or unreachable API
leaves the path metadata; the requests stay one list and one watch (no request per file)."""

import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kube_objects  # noqa: E402
from kube_case import KubeCase  # noqa: E402
from sluice_e2e import main, metric, metrics_port, wait_until  # noqa: E402

class KubeMetadataTest(KubeCase):
    KUBERNETES = 'annotations: ["prometheus.io/*"]'
    ENV = {"SLUICE_LOG": "debug"}

    def test_events_carry_labels_workload_node_and_image(self):
        web = kube_objects.deployment_pod(
            "web", "shop", labels={"team": "checkout", "app": "web",
                                   "app.kubernetes.io/name": "web"},
            annotations={"prometheus.io/port": "9102", "other.example.com/x": "no"},
            containers={"web": "registry.example.com/shop/web:1.4.2"},
            last_applied_bytes=200 << 10)
        db = kube_objects.statefulset_pod("db", 0, "shop", labels={"team": "data"},
                                          containers={"pg": "postgres:16"})
        report = kube_objects.cronjob_pod("report", namespace="ops",
                                          containers={"job": "report:2"})
        for pod in (web, db, report):
            self.kube.add_pod(pod)
        self.write_log(web, "web", ["web says hi"])
        self.write_log(db, "pg", ["db says hi"])
        self.write_log(report, "job", ["report says hi"])
        p, out = self.start_sluice()
        wait_until(lambda: len(self.events(out)) == 3, what="three events")
        events = self.by_message(out)
        w = events["web says hi"]["kubernetes"]
        self.assertEqual(w["labels"]["team"], "checkout")
        # Keys with dots stay whole, beside the key they start with.
        self.assertEqual(w["labels"]["app"], "web")
        self.assertEqual(w["labels"]["app.kubernetes.io/name"], "web")
        self.assertEqual(w["labels"]["pod-template-hash"],
                         web["metadata"]["labels"]["pod-template-hash"])
        self.assertEqual(w["deployment"], {"name": "web"})
        self.assertEqual(w["replicaset"], {"name": web["metadata"]["ownerReferences"][0]["name"]})
        self.assertEqual(w["node"], {"name": "node-1"})
        self.assertEqual(w["pod"]["uid"], web["metadata"]["uid"])
        self.assertEqual(w["pod"]["ip"], web["status"]["podIP"])
        self.assertEqual(w["namespace"], "shop")
        # Only the selected annotation; never the 200 KiB last-applied-configuration.
        self.assertEqual(w["annotations"], {"prometheus.io/port": "9102"})
        self.assertEqual(events["web says hi"]["container"]["image"]["name"],
                         "registry.example.com/shop/web:1.4.2")
        d = events["db says hi"]["kubernetes"]
        self.assertEqual(d["statefulset"], {"name": "db"})
        self.assertEqual(events["db says hi"]["container"]["image"]["name"], "postgres:16")
        r = events["report says hi"]["kubernetes"]
        self.assertEqual(r["job"], {"name": "report-28000000"})
        self.assertEqual(r["cronjob"], {"name": "report"})
        self.stop(p)
        # One list and one watch of the node's pods: no request per file.
        self.assertEqual(len(self.kube.requests(verb="list", resource="pods")), 1)
        self.assertEqual(len(self.kube.requests(verb="get", resource="pods")), 0)
        watches = self.kube.requests(verb="watch", resource="pods")
        self.assertGreaterEqual(len(watches), 1)
        for req in self.kube.requests():
            self.assertEqual(req.authorization, "Bearer t0")

    def test_file_before_its_pod_waits_for_it_and_new_pods_arrive_by_the_watch(self):
        p, out = self.start_sluice()
        self.kube.wait_for_open_watches(1)
        early = kube_objects.deployment_pod("api", "shop", labels={"app": "api"})
        self.write_log(early, "app", ["before its pod"])
        # Given a moment, the file is seen before its pod exists and waits (at most 1 s) for the
        # watch to bring it; on a starved machine the wait may run out first and its one GET
        # finds the pod instead. No assertion depends on which: the event carries the pod's
        # labels either way (the wait itself is unit-tested with a clock: file_source_pods_test).
        time.sleep(0.3)
        self.kube.add_pod(early)
        wait_until(lambda: len(self.events(out)) == 1, what="the early file's event")
        self.assertEqual(self.events(out)[0]["kubernetes"]["labels"]["app"], "api")
        early_gets = self.pod_gets(early)
        self.assertLessEqual(early_gets, 1)
        # A pod that never comes: after the wait and one GET, the path metadata only.
        ghost = kube_objects.deployment_pod("ghost", "shop", labels={"app": "ghost"})
        self.write_log(ghost, "app", ["no pod"])
        wait_until(lambda: len(self.events(out)) == 2, timeout=15, what="the ghost's event")
        g = self.by_message(out)["no pod"]["kubernetes"]
        self.assertNotIn("labels", g)
        self.assertEqual(g["pod"]["name"], ghost["metadata"]["name"])
        self.assertEqual(self.pod_gets(ghost), 1)
        self.assertEqual(len(self.kube.requests(verb="get", resource="pods")), early_gets + 1)
        self.stop(p)

    def pod_gets(self, pod):
        name = pod["metadata"]["name"]
        return len([r for r in self.kube.requests(verb="get", resource="pods")
                    if r.path.endswith("/pods/" + name)])

    def test_label_changes_are_picked_up_by_open_files(self):
        pod = kube_objects.deployment_pod("web", "shop", labels={"app": "web", "version": "1"})
        self.kube.add_pod(pod)
        self.write_log(pod, "app", ["v1 line"])
        p, out = self.start_sluice()
        wait_until(lambda: len(self.events(out)) == 1, what="the first event")
        self.kube.patch_pod("shop", pod["metadata"]["name"],
                            {"metadata": {"labels": {"version": "2"}}})
        written = []

        def relabelled():
            written.append(f"line {len(written)}")
            self.write_log(pod, "app", [written[-1]])
            return any(e["kubernetes"]["labels"].get("version") == "2" for e in self.events(out))
        wait_until(relabelled, timeout=20, interval=0.2, what="an event with the new label")
        self.stop(p)
        versions = [e["kubernetes"]["labels"]["version"] for e in self.events(out)]
        self.assertEqual(versions[0], "1")
        # Once the change is seen, it stays: no event after it has the old label.
        first_new = versions.index("2")
        self.assertEqual(set(versions[first_new:]), {"2"})
        self.assertEqual(len(self.kube.requests(verb="get", resource="pods")), 0)

    def test_excluded_pod_is_not_read_and_namespaces_filter(self):
        quiet = kube_objects.deployment_pod("quiet", "shop",
                                            annotations={"sluice.io/exclude": "true"})
        loud = kube_objects.deployment_pod("loud", "shop")
        system = kube_objects.daemonset_pod("proxy", "kube-system")
        for pod in (quiet, loud, system):
            self.kube.add_pod(pod)
        self.write_log(quiet, "app", ["excluded"])
        self.write_log(system, "app", ["system"])
        self.write_log(loud, "app", ["kept"])
        p, out = self.start_sluice('namespaces: {exclude: ["kube-*"]}')
        wait_until(lambda: len(self.events(out)) >= 1, what="the kept event")
        self.stop(p)
        self.assertEqual([e["message"] for e in self.events(out)], ["kept"])

    def test_unreachable_api_leaves_path_metadata_and_metadata_resumes(self):
        self.kube.down()
        p, out = self.start_sluice()
        pod = kube_objects.deployment_pod("web", "shop", labels={"app": "web"})
        self.kube.add_pod(pod)
        self.write_log(pod, "app", ["while down"])
        wait_until(lambda: len(self.events(out)) == 1, timeout=15, what="the event while down")
        e = self.events(out)[0]["kubernetes"]
        self.assertNotIn("labels", e)
        self.assertEqual(e["pod"]["name"], pod["metadata"]["name"])
        self.kube.up()
        self.kube.wait_for_open_watches(1, timeout=60)
        late = kube_objects.statefulset_pod("db", 0, "shop", labels={"app": "db"})
        self.kube.add_pod(late)
        self.write_log(late, "app", ["after recovery"])
        wait_until(lambda: len(self.events(out)) == 2, timeout=15, what="the event after")
        self.assertEqual(self.by_message(out)["after recovery"]["kubernetes"]["labels"]["app"],
                         "db")
        r = self.stop(p)
        stderr = r.stderr.decode() if isinstance(r.stderr, bytes) else r.stderr
        # One line per change of state, not one per retry.
        self.assertEqual(stderr.count("kubernetes API: metadata not in sync"), 1, stderr)
        self.assertIn("kubernetes API: metadata in sync", stderr)

    def test_deleted_pod_keeps_its_metadata_while_read_and_across_a_restart(self):
        pod = kube_objects.cronjob_pod("report", namespace="ops", labels={"app": "report"})
        self.kube.add_pod(pod)
        self.write_log(pod, "app", ["first"])
        p, out = self.start_sluice()
        wait_until(lambda: len(self.events(out)) == 1, what="the first event")
        self.kube.delete_pod("ops", pod["metadata"]["name"])
        kept = self.path("data", "checkpoints", "pods.kubernetes_pods.json")
        uid = pod["metadata"]["uid"]
        wait_until(lambda: os.path.exists(kept) and uid in open(kept).read(),
                   what="the deleted pod kept and saved")
        self.write_log(pod, "app", ["after delete"])
        wait_until(lambda: len(self.events(out)) == 2, what="the event after the deletion")
        self.stop(p)
        self.write_log(pod, "app", ["after restart"])
        p, out = self.start_sluice()
        wait_until(lambda: len(self.events(out)) == 3, what="the event after the restart")
        self.stop(p)
        events = self.by_message(out)
        for message in ("first", "after delete", "after restart"):
            k = events[message]["kubernetes"]
            self.assertEqual(k["labels"]["app"], "report", message)
            self.assertEqual(k["cronjob"], {"name": "report"}, message)
            self.assertEqual(k["pod"]["uid"], uid, message)
        # The pod was never asked for by name: the kept copy answered.
        self.assertEqual(len(self.kube.requests(verb="get", resource="pods")), 0)

    def test_metrics_and_health(self):
        for name in ("web", "api"):
            pod = kube_objects.deployment_pod(name, "shop")
            self.kube.add_pod(pod)
            self.write_log(pod, "app", [name])
        p, out = self.start_sluice(env={"SLUICE_METRICS_ADDR": "127.0.0.1:0"})
        port = metrics_port(p)
        wait_until(lambda: len(self.events(out)) == 2, what="two events")
        self.assertEqual(metric(port, "sluice_kubernetes_api_requests_total", component="pods",
                                kind="list", code="200"), 1)
        self.assertEqual(metric(port, "sluice_kubernetes_pods_cached", component="pods"), 2)
        self.assertEqual(metric(port, "sluice_kubernetes_metadata_misses_total",
                                component="pods"), 0)
        self.assertEqual(metric(port, "sluice_kubernetes_api_degraded", component="pods",
                                state="synced"), 0)
        self.assertLess(metric(port, "sluice_kubernetes_cache_bytes", component="pods"), 64 << 10)
        status, body = self.health(port)
        self.assertEqual(status, 200)
        self.assertEqual(body["sources"]["pods"]["kubernetes"],
                         {"state": "synced", "degraded": False})
        # The API goes away: degraded, not failing (events still flow with path metadata).
        self.kube.down()
        wait_until(lambda: self.health(port)[1]["sources"]["pods"]["kubernetes"]["degraded"],
                   timeout=20, what="degraded metadata")
        status, body = self.health(port)
        self.assertEqual(status, 200)
        self.assertEqual(body["sources"]["pods"]["kubernetes"]["state"], "unreachable")
        self.assertEqual(metric(port, "sluice_kubernetes_api_degraded", component="pods",
                                state="unreachable"), 1)
        self.stop(p)

    def test_rotated_token_after_401(self):
        p, out = self.start_sluice()
        self.kube.wait_for_open_watches(1)
        # The kubelet rotates the projected token: the old one is refused from now on.
        self.write_file("token", "t1\n")
        self.kube.set_token("t1")
        self.kube.end_watches(abrupt=True)
        # The watch comes back refused (401), re-reads the token file and resumes with it.
        wait_until(lambda: any(r.authorization == "Bearer t1"
                               for r in self.kube.requests(verb="watch", status=200)),
                   timeout=20, what="a watch with the new token")
        pod = kube_objects.deployment_pod("web", "shop", labels={"app": "web"})
        self.kube.add_pod(pod)
        self.write_log(pod, "app", ["after rotation"])
        wait_until(lambda: len(self.events(out)) == 1, timeout=20, what="the event")
        self.assertEqual(self.events(out)[0]["kubernetes"]["labels"]["app"], "web")
        self.stop(p)
        refused = self.kube.requests(status=401)
        self.assertGreaterEqual(len(refused), 1)
        self.assertTrue(all(r.authorization == "Bearer t0" for r in refused))


if __name__ == "__main__":
    main()
