"""End-to-end: the Kubernetes API-server emulator itself (kube_emulator.py), with a plain HTTP
client written here from the API docs.

The metadata tests trust the emulator to behave as the API server does; these tests pin down each
rule it implements (list then watch, bookmarks, 410 after compaction, selectors, tokens, TLS,
injected faults), and check the pods it serves against the API's schema. Every wait is bounded:
a watch is read until an event the test caused (a requested bookmark marks "everything before
it has been sent"), never for a fixed time."""

import http.client
import json
import os
import ssl
import sys
import time
import unittest
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kube_objects as objects  # noqa: E402
import kube_schema  # noqa: E402
from kube_emulator import KubeApiEmulator  # noqa: E402
from tool_process import StdinDrivenTool, started  # noqa: E402

NODE1 = "spec.nodeName=node-1"


class Client:
    """A minimal API client: one keep-alive connection for requests, one per watch."""

    def __init__(self, kube, token="t0", ca_file=None, host="127.0.0.1"):
        self.kube, self.token, self.host = kube, token, host
        self.ca_file = ca_file if ca_file is not None else kube.ca_file
        self.conn = self.connect()

    def connect(self, timeout=10):
        if self.kube.tls:
            ctx = ssl.create_default_context(cafile=self.ca_file)
            return http.client.HTTPSConnection(self.host, self.kube.port, timeout=timeout,
                                               context=ctx)
        return http.client.HTTPConnection(self.host, self.kube.port, timeout=timeout)

    def headers(self):
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path, **query):
        """(status, parsed body) on the shared connection."""
        self.conn.request("GET", path + ("?" + urllib.parse.urlencode(query) if query else ""),
                          headers=self.headers())
        resp = self.conn.getresponse()
        return resp.status, json.loads(resp.read())

    def watch(self, path, **query):
        conn = self.connect()
        conn.request("GET", f"{path}?{urllib.parse.urlencode(dict(watch='1', **query))}",
                     headers=self.headers())
        return Watch(conn, conn.getresponse())


class Watch:
    def __init__(self, conn, resp):
        self.conn, self.resp, self.status = conn, resp, resp.status
        self.buffer = b""

    def next(self):
        """The next event, or None when the stream ended cleanly (final chunk); a cut stream
        raises http.client.IncompleteRead (read1 tells the two apart, readline does not)."""
        while b"\n" not in self.buffer:
            data = self.resp.read1(65536)
            if not data:
                if self.buffer:
                    raise AssertionError(f"stream ended inside an event: {self.buffer[:200]!r}")
                return None
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def until(self, predicate):
        """Events up to and including the first for which predicate(event) holds."""
        events = []
        while True:
            event = self.next()
            if event is None:
                raise AssertionError(f"watch ended before the awaited event; got {events}")
            events.append(event)
            if predicate(event):
                return events

    def close(self):
        self.conn.close()


def is_bookmark(event):
    return event["type"] == "BOOKMARK"


def summary(events):
    return [(e["type"], e["object"]["metadata"].get("name"),
             e["object"]["metadata"]["resourceVersion"]) for e in events]


class EmulatorTest(unittest.TestCase):
    maxDiff = 4000

    def emulator(self, **kwargs):
        kwargs.setdefault("token", "t0")
        kube = KubeApiEmulator(**kwargs)
        kube.up()
        self.addCleanup(kube.close)
        return kube

    def client(self, kube, **kwargs):
        client = Client(kube, **kwargs)
        self.addCleanup(client.conn.close)
        return client

    def watch(self, client, path, **query):
        watch = client.watch(path, **query)
        self.addCleanup(watch.close)
        self.assertEqual(watch.status, 200)
        return watch

    # --- list and watch ------------------------------------------------------------------

    def test_list_then_watch_from_its_resource_version_sees_exactly_the_later_changes(self):
        kube = self.emulator()
        web = kube.add_pod(objects.deployment_pod("web", "shop", node="node-1"))["metadata"]
        kube.add_pod(objects.statefulset_pod("db", 0, "shop", node="node-2"))
        client = self.client(kube)
        status, listed = client.get("/api/v1/pods", fieldSelector=NODE1)
        self.assertEqual(status, 200)
        self.assertEqual((listed["kind"], listed["apiVersion"]), ("PodList", "v1"))
        self.assertEqual([p["metadata"]["name"] for p in listed["items"]], [web["name"]])
        self.assertNotIn("kind", listed["items"][0])  # list items carry no type meta
        rv = listed["metadata"]["resourceVersion"]
        self.assertEqual(rv, str(kube.resource_version))

        later = kube.add_pod(objects.job_pod("backup", "ops", node="node-1"))["metadata"]
        kube.add_pod(objects.daemonset_pod("agent", node="node-2"))  # not on this node
        relabelled = kube.patch_pod("shop", web["name"], {"metadata": {"labels": {"v": "2"}}})
        kube.delete_pod("ops", later["name"])
        watch = self.watch(client, "/api/v1/pods", fieldSelector=NODE1, resourceVersion=rv,
                           allowWatchBookmarks="true")
        kube.send_bookmark()  # sent after every change made so far
        events = watch.until(is_bookmark)
        self.assertEqual(summary(events[:-1]), [
            ("ADDED", later["name"], later["resourceVersion"]),
            ("MODIFIED", web["name"], relabelled["metadata"]["resourceVersion"]),
            ("MODIFIED", later["name"], str(int(relabelled["metadata"]["resourceVersion"]) + 1)),
            ("DELETED", later["name"], str(kube.resource_version))])
        self.assertIn("deletionTimestamp", events[2]["object"]["metadata"])  # graceful
        self.assertEqual(events[1]["object"]["metadata"]["labels"]["v"], "2")
        self.assertEqual((events[0]["object"]["kind"], events[0]["object"]["apiVersion"]),
                         ("Pod", "v1"))
        self.assertEqual(events[-1]["object"], {"kind": "Pod", "apiVersion": "v1", "metadata": {
            "resourceVersion": str(kube.resource_version)}})
        # Live changes arrive on the open stream too.
        kube.add_pod(objects.make_pod("late", "shop", node="node-1"))
        self.assertEqual(watch.next()["object"]["metadata"]["name"], "late")

    def test_watch_without_resource_version_starts_with_the_current_state(self):
        kube = self.emulator()
        for i in range(3):
            kube.add_pod(objects.make_pod(f"p{i}", "shop", node="node-1" if i < 2 else "node-2"))
        client = self.client(kube)
        for rv in ({}, {"resourceVersion": "0"}):
            watch = self.watch(client, "/api/v1/pods", fieldSelector=NODE1, **rv)
            self.assertEqual([(e["type"], e["object"]["metadata"]["name"])
                              for e in (watch.next(), watch.next())],
                             [("ADDED", "p0"), ("ADDED", "p1")])
            kube.patch_pod("shop", "p1", {"metadata": {"labels": {"x": "y"}}})
            self.assertEqual(watch.next()["type"], "MODIFIED")

    def test_bookmarks_only_for_watches_that_allow_them(self):
        kube = self.emulator()
        client = self.client(kube)
        plain = self.watch(client, "/api/v1/pods", resourceVersion=str(kube.resource_version))
        asking = self.watch(client, "/api/v1/pods", resourceVersion=str(kube.resource_version),
                            allowWatchBookmarks="1")
        kube.wait_for_open_watches(2)
        kube.send_bookmark()
        self.assertEqual(asking.next()["type"], "BOOKMARK")
        kube.add_pod(objects.make_pod("p", "shop"))
        self.assertEqual([e["type"] for e in plain.until(lambda e: e["type"] == "ADDED")],
                         ["ADDED"])

    def test_periodic_bookmarks_and_timeout_end_the_stream_cleanly(self):
        kube = self.emulator(bookmark_interval=0.05)
        client = self.client(kube)
        watch = self.watch(client, "/api/v1/pods", allowWatchBookmarks="true",
                           resourceVersion=str(kube.resource_version), timeoutSeconds="1")
        start = time.monotonic()
        events = []
        while (event := watch.next()) is not None:  # ends by itself after timeoutSeconds
            events.append(event)
        self.assertGreaterEqual(time.monotonic() - start, 0.9)
        self.assertTrue(events and all(e["type"] == "BOOKMARK" for e in events), events)

    def test_selectors_add_and_delete_objects_that_start_or_stop_matching(self):
        kube = self.emulator()
        kube.add_pod(objects.make_pod("a", "shop", labels={"app": "web", "tier": "front"}))
        kube.add_pod(objects.make_pod("b", "shop", labels={"app": "db"}))
        kube.add_pod(objects.make_pod("c", "ops", labels={"app": "web"}))
        client = self.client(kube)
        for selector, names in (("app=web", ["c", "a"]), ("app in (web,db),tier", ["a"]),
                                ("app!=web", ["b"]), ("!tier", ["c", "b"]),
                                ("app notin (db)", ["c", "a"])):
            status, listed = client.get("/api/v1/pods", labelSelector=selector)
            self.assertEqual((status, [p["metadata"]["name"] for p in listed["items"]]),
                             (200, names), selector)
        status, listed = client.get("/api/v1/namespaces/shop/pods", labelSelector="app=web")
        self.assertEqual([p["metadata"]["name"] for p in listed["items"]], ["a"])
        status, error = client.get("/api/v1/pods", fieldSelector="spec.nodeNam=node-1")
        self.assertEqual((status, error["reason"], error["message"]),
                         (400, "BadRequest", "field label not supported: spec.nodeNam"))

        watch = self.watch(client, "/api/v1/pods", labelSelector="app=web",
                           resourceVersion=str(kube.resource_version))
        kube.patch_pod("shop", "b", {"metadata": {"labels": {"app": "web"}}})
        kube.patch_pod("shop", "a", {"metadata": {"labels": {"app": None}}})
        kube.patch_pod("shop", "a", {"metadata": {"labels": {"tier": "back"}}})  # not seen
        kube.patch_pod("ops", "c", {"metadata": {"annotations": {"n": "1"}}})
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"])
                          for e in (watch.next(), watch.next(), watch.next())],
                         [("ADDED", "b"), ("DELETED", "a"), ("MODIFIED", "c")])

    def test_pages_of_a_list_show_one_consistent_state(self):
        kube = self.emulator()
        for i in range(5):
            kube.add_pod(objects.make_pod(f"p{i}", "shop"))
        client = self.client(kube)
        status, page = client.get("/api/v1/pods", limit="2")
        self.assertEqual((status, page["metadata"]["remainingItemCount"]), (200, 3))
        names = [p["metadata"]["name"] for p in page["items"]]
        kube.add_pod(objects.make_pod("p10", "shop"))  # after the first page: not in this list
        kube.delete_pod("shop", "p4", graceful=False)
        while page["metadata"].get("continue"):
            status, page = client.get("/api/v1/pods", limit="2",
                                      **{"continue": page["metadata"]["continue"]})
            self.assertEqual(status, 200)
            names += [p["metadata"]["name"] for p in page["items"]]
        self.assertEqual(names, [f"p{i}" for i in range(5)])

    # --- 410 ------------------------------------------------------------------------------

    def test_watch_from_before_a_compaction_gets_410_expired(self):
        kube = self.emulator()
        client = self.client(kube)
        _, listed = client.get("/api/v1/pods")
        old = listed["metadata"]["resourceVersion"]
        _, page = client.get("/api/v1/pods", limit="1")
        kube.add_pod(objects.make_pod("a", "shop"))
        kube.add_pod(objects.make_pod("b", "shop"))
        compacted = kube.compact()
        watch = self.watch(client, "/api/v1/pods", resourceVersion=old)
        error = watch.next()
        self.assertEqual(error["type"], "ERROR")
        self.assertEqual({k: error["object"][k] for k in ("kind", "status", "reason", "code")},
                         {"kind": "Status", "status": "Failure", "reason": "Expired",
                          "code": 410})
        self.assertEqual(error["object"]["message"],
                         f"too old resource version: {old} ({compacted})")
        self.assertIsNone(watch.next())  # and the stream ends
        status, body = client.get("/api/v1/pods", resourceVersion=old,
                                  resourceVersionMatch="Exact")
        self.assertEqual((status, body["code"], body["reason"]), (410, 410, "Expired"))
        # A fresh list works, and a watch from its resourceVersion is accepted.
        status, listed = client.get("/api/v1/pods")
        self.assertEqual((status, len(listed["items"])), (200, 2))
        watch = self.watch(client, "/api/v1/pods",
                           resourceVersion=listed["metadata"]["resourceVersion"])
        kube.delete_pod("shop", "a", graceful=False)
        self.assertEqual(watch.next()["type"], "DELETED")

    # --- objects -----------------------------------------------------------------------------

    def test_get_one_pod_and_not_found(self):
        kube = self.emulator()
        pod = kube.add_pod(objects.deployment_pod("web", "shop"))
        client = self.client(kube)
        name = pod["metadata"]["name"]
        status, got = client.get(f"/api/v1/namespaces/shop/pods/{name}")
        self.assertEqual((status, got["kind"], got["apiVersion"]), (200, "Pod", "v1"))
        self.assertEqual(got["metadata"], pod["metadata"])
        status, error = client.get("/api/v1/namespaces/shop/pods/gone")
        self.assertEqual(error, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                 "status": "Failure", "message": 'pods "gone" not found',
                                 "reason": "NotFound", "code": 404,
                                 "details": {"name": "gone", "kind": "pods"}})
        self.assertEqual(status, 404)
        self.assertEqual(len(kube.requests(verb="get", resource="pods")), 2)

    def test_namespaces_with_labels_list_watch_and_get(self):
        kube = self.emulator()
        kube.add_namespace("shop", {"team": "checkout"})
        client = self.client(kube)
        status, listed = client.get("/api/v1/namespaces")
        self.assertEqual((status, listed["kind"]), (200, "NamespaceList"))
        self.assertEqual(listed["items"][0]["metadata"]["labels"],
                         {"team": "checkout", "kubernetes.io/metadata.name": "shop"})
        watch = self.watch(client, "/api/v1/namespaces",
                           resourceVersion=listed["metadata"]["resourceVersion"])
        kube.patch_namespace("shop", {"metadata": {"labels": {"team": "payments"}}})
        event = watch.next()
        self.assertEqual((event["type"], event["object"]["kind"],
                          event["object"]["metadata"]["labels"]["team"]),
                         ("MODIFIED", "Namespace", "payments"))
        self.assertEqual(client.get("/api/v1/namespaces/shop")[0], 200)

    def test_pods_follow_the_api_schema_and_the_controllers_conventions(self):
        self.assertTrue(kube_schema.models_available(), "python3-kubernetes is not installed")
        kube = self.emulator()
        client = self.client(kube)
        pods = [objects.make_pod("bare", "shop", containers={"app": "nginx:1.25",
                                                             "proxy": "envoyproxy/envoy:v1"}),
                objects.make_pod("pending", "shop", node=None),
                objects.deployment_pod("web", "shop", last_applied_bytes=200 * 1024),
                objects.statefulset_pod("db", 2, "shop"), objects.daemonset_pod("agent"),
                objects.job_pod("backup", "ops"), objects.cronjob_pod("nightly", namespace="ops")]
        for pod in pods:
            stored = kube.add_pod(pod)
            status, got = client.get(f"/api/v1/namespaces/{stored['metadata']['namespace']}"
                                     f"/pods/{stored['metadata']['name']}")
            self.assertEqual(status, 200)
            self.assertEqual(kube_schema.check_object(got), [], got["metadata"]["name"])
        web = kube.pod("shop", pods[2]["metadata"]["name"])
        owner, = web["metadata"]["ownerReferences"]
        template_hash = web["metadata"]["labels"]["pod-template-hash"]
        self.assertEqual((owner["kind"], owner["apiVersion"], owner["controller"]),
                         ("ReplicaSet", "apps/v1", True))
        self.assertEqual(owner["name"], f"web-{template_hash}")
        self.assertTrue(web["metadata"]["name"].startswith(owner["name"] + "-"))
        self.assertGreaterEqual(len(web["metadata"]["annotations"][objects.LAST_APPLIED]),
                                200 * 1024)
        json.loads(web["metadata"]["annotations"][objects.LAST_APPLIED])
        cron = pods[6]["metadata"]["ownerReferences"][0]
        self.assertEqual((cron["kind"], cron["name"]), ("Job", "nightly-28000000"))
        bare = pods[0]
        ids = [s["containerID"] for s in bare["status"]["containerStatuses"]]
        self.assertTrue(all(i.startswith("containerd://") and len(i) == 13 + 64 for i in ids))
        self.assertEqual(objects.log_file_name(bare, "proxy"),
                         f"bare_shop_proxy-{ids[1][len('containerd://'):]}.log")
        self.assertEqual(bare["status"]["containerStatuses"][0]["image"],
                         "docker.io/library/nginx:1.25")
        self.assertNotIn("nodeName", pods[1]["spec"])
        # The schema check does catch mistakes.
        broken = dict(got, spec=dict(got["spec"], nodeNam="node-1"))
        errors = kube_schema.check_object(broken)
        self.assertEqual(len(errors), 1, errors)
        self.assertTrue(errors[0].startswith(f"Pod {got['metadata']['name']}: spec.nodeNam: "
                                             "unknown field of V1PodSpec (known: "), errors)

    # --- authentication and TLS ------------------------------------------------------------

    def test_token_change_makes_the_old_token_unauthorized(self):
        kube = self.emulator()
        old = self.client(kube, token="t0")
        self.assertEqual(old.get("/api/v1/pods")[0], 200)
        kube.set_token("t1")
        status, error = old.get("/api/v1/pods")
        self.assertEqual((status, error["reason"], error["code"]), (401, "Unauthorized", 401))
        self.assertEqual(self.client(kube, token="t1").get("/api/v1/pods")[0], 200)
        self.assertEqual(self.client(kube, token=None).get("/api/v1/pods")[0], 401)
        seen = [(r.authorization, r.status) for r in kube.requests(verb="list")]
        self.assertEqual(seen, [("Bearer t0", 200), ("Bearer t0", 401), ("Bearer t1", 200),
                                (None, 401)])

    def test_tls_is_verified_with_the_test_ca_only(self):
        kube = self.emulator()
        for host in ("127.0.0.1", "localhost"):
            self.assertEqual(self.client(kube, host=host).get("/version")[0], 200)
        conn = http.client.HTTPSConnection("127.0.0.1", kube.port, timeout=10,
                                           context=ssl.create_default_context())
        self.addCleanup(conn.close)
        with self.assertRaises(ssl.SSLCertVerificationError):
            conn.request("GET", "/version")

    def test_plain_http_without_token(self):
        kube = self.emulator(tls=False, token=None)
        self.assertTrue(kube.url.startswith("http://127.0.0.1:"))
        self.assertIsNone(kube.ca_file)
        kube.add_pod(objects.make_pod("a", "shop"))
        status, listed = self.client(kube, token=None).get("/api/v1/pods")
        self.assertEqual((status, len(listed["items"])), (200, 1))

    def test_forbidden_resource(self):
        kube = self.emulator()
        kube.forbid("namespaces")
        client = self.client(kube)
        status, error = client.get("/api/v1/namespaces")
        self.assertEqual((status, error["reason"]), (403, "Forbidden"))
        self.assertEqual(error["message"], 'namespaces is forbidden: User "system:serviceaccount:'
                         'sluice:sluice" cannot list resource "namespaces" in API group "" at '
                         'the cluster scope')
        self.assertEqual(client.get("/api/v1/pods")[0], 200)

    # --- injected faults ------------------------------------------------------------------

    def test_end_watches_abruptly_or_cleanly(self):
        kube = self.emulator()
        client = self.client(kube)
        for abrupt in (True, False):
            watch = self.watch(client, "/api/v1/pods", resourceVersion=str(kube.resource_version))
            kube.add_pod(objects.make_pod(f"p{abrupt}", "shop"))
            self.assertEqual(watch.next()["type"], "ADDED")  # the watch is open
            kube.end_watches(abrupt=abrupt)
            if abrupt:
                with self.assertRaises((http.client.IncompleteRead, ConnectionError)):
                    watch.next()
            else:
                self.assertIsNone(watch.next())
        kube.wait_for_open_watches(0)
        for tls in (True, False):  # a client that closes its watch ends it (TLS or not)
            kube = self.emulator(tls=tls)
            watch = self.watch(self.client(kube), "/api/v1/pods")
            kube.wait_for_open_watches(1)
            watch.close()
            kube.wait_for_open_watches(0)

    def test_stalled_watch_sends_nothing_and_stays_open_until_its_client_closes_it(self):
        kube = self.emulator()
        client = self.client(kube)
        watch = self.watch(client, "/api/v1/pods", resourceVersion=str(kube.resource_version),
                           timeoutSeconds="1")
        kube.wait_for_open_watches(1)
        kube.stall_watches()
        kube.add_pod(objects.make_pod("unseen", "shop"))
        # Neither the event nor the end at timeoutSeconds comes: the read times out instead.
        watch.conn.sock.settimeout(2.5)
        with self.assertRaises(TimeoutError):
            watch.next()
        self.assertEqual(kube.stalled_watches_closed(), 0)
        watch.close()
        deadline = time.monotonic() + 10
        while kube.stalled_watches_closed() != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(kube.stalled_watches_closed(), 1)
        # A new watch is served as usual.
        watch = self.watch(client, "/api/v1/pods", resourceVersion=str(kube.resource_version))
        kube.add_pod(objects.make_pod("seen", "shop"))
        self.assertEqual(watch.next()["object"]["metadata"]["name"], "seen")

    def test_failures_delays_and_a_stopped_server(self):
        kube = self.emulator()
        client = self.client(kube)
        kube.fail_next(1, status=503, verb="watch")
        self.assertEqual(client.get("/api/v1/pods")[0], 200)  # a list is not a watch
        watch = client.watch("/api/v1/pods")
        self.addCleanup(watch.close)
        self.assertEqual(watch.status, 503)
        kube.fail_next(2, status=429)
        for _ in range(2):
            status, error = client.get("/api/v1/pods")
            self.assertEqual((status, error["reason"], error["details"]["retryAfterSeconds"]),
                             (429, "TooManyRequests", 1))
        self.assertEqual(client.get("/api/v1/pods")[0], 200)

        kube.set_delay(300)
        start = time.monotonic()
        self.assertEqual(client.get("/api/v1/pods")[0], 200)
        self.assertGreaterEqual(time.monotonic() - start, 0.3)
        kube.set_delay(0)

        port = kube.port
        kube.down()
        with self.assertRaises(ConnectionRefusedError):
            self.client(kube).get("/version")
        kube.up()
        self.assertEqual(kube.port, port)
        self.assertEqual(self.client(kube).get("/api/v1/pods")[0], 200)


class EmulatorProcess(StdinDrivenTool):
    name = "kube_emulator.py"

    def __init__(self, *args):
        super().__init__()
        self.args = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "kube_emulator.py"), *args]

    def start(self):
        fields = dict(f.split("=", 1) for f in self.start_process(self.args, "").split())
        self.url, self.ca_file = fields["url"], fields.get("ca_file")
        self.tls = self.url.startswith("https:")
        self.port = int(self.url.rsplit(":", 1)[1])


class StandaloneTest(unittest.TestCase):
    def test_driven_over_stdin(self):
        kube = started(self, EmulatorProcess("--tls", "--token", "s3"))
        pod = json.loads(kube.command('make-pod deployment {"deployment": "web", '
                                      '"namespace": "shop", "node": "node-7"}'))
        self.assertEqual(pod["metadata"]["namespace"], "shop")
        client = Client(kube, token="s3")
        self.addCleanup(client.conn.close)
        status, listed = client.get("/api/v1/pods", fieldSelector="spec.nodeName=node-7")
        self.assertEqual([p["metadata"]["name"] for p in listed["items"]],
                         [pod["metadata"]["name"]])
        rv = kube.command(f"delete-pod shop {pod['metadata']['name']} now")
        self.assertEqual(int(rv), int(pod["metadata"]["resourceVersion"]) + 1)
        kube.command("token s4")
        self.assertEqual(client.get("/api/v1/pods")[0], 401)
        recorded = json.loads(kube.command("requests"))
        self.assertEqual([(r["verb"], r["status"]) for r in recorded],
                         [("list", 200), ("list", 401)])
        with self.assertRaises(AssertionError):
            kube.command("no-such-command")


if __name__ == "__main__":
    unittest.main(verbosity=2)
