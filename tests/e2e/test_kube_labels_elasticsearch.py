"""End-to-end: pod labels and annotations from the API-server emulator (tests/e2e/kube_emulator.py)
reach the Elasticsearch `_bulk` emulator (tests/es/) dedotted (`app.kubernetes.io/name` →
`app_kubernetes_io/name`, the sink's `dedot`, on by default), while a file sink of the same
pipeline keeps the keys as written; with `dedot: false` Elasticsearch gets them as written too.
A filter with a quoted segment selects by such a label."""

import json
import os
import signal
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kube_objects  # noqa: E402
from es_helpers import Emulator, emulator_available  # noqa: E402
from kube_case import KubeCase  # noqa: E402
from sluice_e2e import base_env, main, read_jsonl, read_jsonl_so_far, wait_until  # noqa: E402
from tool_process import started  # noqa: E402


class KubeLabelsElasticsearchTest(KubeCase):
    KUBERNETES = 'annotations: ["prometheus.io/*"]'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not emulator_available():
            raise AssertionError("sluice_es_emulator missing: build the tests")

    def setUp(self):
        super().setUp()
        web = kube_objects.deployment_pod(
            "web", "shop", labels={"app": "shop", "app.kubernetes.io/name": "web"},
            annotations={"prometheus.io/port": "9102"})
        api = kube_objects.deployment_pod("api", "shop", labels={"app.kubernetes.io/name": "api"})
        for pod, message in ((web, "from web"), (api, "from api")):
            self.kube.add_pod(pod)
            self.write_log(pod, "app", [message])

    def run_sluice(self, es, dedot=None):
        dedot_option = "" if dedot is None else f"dedot: {str(dedot).lower()}"
        cfg, out = self.pods_config(
            transforms="""transforms:
              web_only:
                type: filter
                inputs: [pods]
                condition: 'kubernetes.labels."app.kubernetes.io/name" == web'""",
            sinks=f"""es:
                type: elasticsearch
                inputs: [web_only]
                endpoints: [{es.url}]
                index: logs
                flush_interval: 100ms
                {dedot_option}""")
        p = self.start(["run", "-c", cfg], env=base_env({}))
        wait_until(lambda: len(read_jsonl_so_far(out)) == 2, what="two events")
        wait_until(lambda: es.stats()["stored_docs"] >= 1, what="one document stored")
        p.signal(signal.SIGTERM)
        r = p.wait()
        self.assertEqual(r.rc, 0, r.describe())
        return {e["message"]: e for e in read_jsonl(out)}, [d["_source"] for d in es.docs()]

    def test_elasticsearch_gets_dedotted_keys_other_sinks_the_keys_as_written(self):
        es = started(self, Emulator())
        events, docs = self.run_sluice(es)
        # The filter read the label by its quoted name: only web's event went to Elasticsearch.
        self.assertEqual([d["message"] for d in docs], ["from web"], json.dumps(docs))
        labels = docs[0]["kubernetes"]["labels"]
        self.assertEqual(labels["app_kubernetes_io/name"], "web")
        self.assertEqual(labels["app"], "shop")
        self.assertNotIn("app.kubernetes.io/name", labels)
        self.assertEqual(docs[0]["kubernetes"]["annotations"], {"prometheus_io/port": "9102"})
        self.assertEqual(docs[0]["kubernetes"]["namespace"], "shop")
        web = events["from web"]["kubernetes"]
        self.assertEqual(web["labels"]["app.kubernetes.io/name"], "web")
        self.assertEqual(web["annotations"], {"prometheus.io/port": "9102"})
        self.assertEqual(events["from api"]["kubernetes"]["labels"]["app.kubernetes.io/name"],
                         "api")

    def test_dedot_false_sends_the_keys_as_written(self):
        es = started(self, Emulator())
        _, docs = self.run_sluice(es, dedot=False)
        self.assertEqual(len(docs), 1, json.dumps(docs))
        self.assertEqual(docs[0]["kubernetes"]["labels"]["app.kubernetes.io/name"], "web")
        self.assertNotIn("app_kubernetes_io/name", docs[0]["kubernetes"]["labels"])


if __name__ == "__main__":
    main()
