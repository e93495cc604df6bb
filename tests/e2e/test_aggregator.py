"""End-to-end: the two tiers together, as deployed. A node agent (a `container` source, the
`kafka` sink of deploy/node-daemon.yaml) ships pod logs to Kafka (librdkafka's mock cluster);
config/aggregator.yaml, unchanged, consumes them in a group and writes them to Elasticsearch
(the `_bulk` emulator). An aggregator killed with kill -9 mid-stream and restarted re-reads what
it had not committed, and `id: auto` (Kafka topic, partition, offset) makes those documents
overwrite themselves: every event is stored exactly once."""

import json
import os
import signal

from es_helpers import Emulator, emulator_available
from kafka_helpers import MockCluster, count, tools_available
from sluice_e2e import SOURCE_DIR, SluiceTestCase, base_env, main, wait_until, yaml_str
from tool_process import started

CID = "5e1f" + "0" * 56 + "beef"  # a container id: 64 hex digits
AGGREGATOR = os.path.join(SOURCE_DIR, "config", "aggregator.yaml")
PODS = {"shop": "api-6f7c9-q2x", "web": "nginx-5b8d4-k7m"}
PER_POD = 15_000


class AggregatorTest(SluiceTestCase):
    def setUp(self):
        super().setUp()
        if not tools_available() or not emulator_available():
            self.skipTest("the Kafka test tools or the Elasticsearch emulator are not built")
        self.kafka = started(self, MockCluster(topics={"logs.shop": 3, "logs.web": 3,
                                                       "logs.host": 1}))
        self.es = started(self, Emulator())

    def write_pod_logs(self):
        """CRI logs as the kubelet writes them: the app's JSON lines, one file per pod."""
        os.makedirs(self.path("containers"), exist_ok=True)
        for ns, pod in PODS.items():
            lines = [f'2024-05-01T10:{n // 1000 % 60:02d}:00.{n:09d}Z stdout F '
                     + json.dumps({"level": "info", "msg": f"{ns} event", "n": n})
                     for n in range(PER_POD)]
            path = self.path("containers", f"{pod}_{ns}_app-{CID}.log")
            with open(path, "w") as f:
                f.write("\n".join(lines) + "\n")

    def run_agent(self):
        """The node daemon's kafka sink (as in deploy/node-daemon.yaml), reading every pod log
        to its end once."""
        cfg = self.config(f"""
            data_dir: {yaml_str(self.path('agent'))}
            sources:
              containers:
                type: container
                include: [{yaml_str(self.path('containers', '*.log'))}]
                read_from: beginning
                stop_at_eof: true
            sinks:
              kafka:
                type: kafka
                inputs: [containers]
                brokers: {yaml_str(self.kafka.bootstrap)}
                topic: "logs.{{{{ kubernetes.namespace }}}}"
                default_topic: logs.host
                key: "{{{{ kubernetes.pod.uid }}}}"
            """, name="agent.yaml")
        r = self.run_sluice(["run", "-c", cfg], env=base_env(), timeout=120)
        self.assertEqual(r.rc, 0, r.describe())

    def start_aggregator(self):
        env = base_env({"KAFKA_BROKERS": self.kafka.bootstrap, "ES_URL": self.es.url,
                        "SLUICE_DATA_DIR": self.path("aggregator"), "SLUICE_GROUP": "agg"})
        return self.start(["run", "-c", AGGREGATOR], env=env)

    def test_agent_to_kafka_to_aggregator_to_elasticsearch_exactly_once_across_kill_9(self):
        self.write_pod_logs()
        self.run_agent()
        total = PER_POD * len(PODS)
        self.assertEqual(sum(count(self.kafka.bootstrap, f"logs.{ns}") for ns in PODS), total)

        first = self.start_aggregator()
        wait_until(lambda: self.es.stats()["stored_docs"] >= total // 4, timeout=60,
                   interval=0.05, what="a part of the stream in Elasticsearch")
        first.signal(signal.SIGKILL)
        first.wait(timeout=10)
        before_kill = self.es.stats()["stored_docs"]

        second = self.start_aggregator()
        wait_until(lambda: self.es.stats()["stored_docs"] >= total, timeout=90, interval=0.2,
                   what="every event in Elasticsearch after the restart")
        second.signal(signal.SIGTERM)
        r = second.wait(timeout=30)
        self.assertEqual(r.rc, 0, r.describe())

        docs = self.es.docs()
        stats = self.es.stats()
        self.assertEqual(len(docs), total, "stored exactly once: replays overwrote themselves")
        seen = {(d["_source"]["kubernetes"]["namespace"], d["_source"]["n"]) for d in docs}
        self.assertEqual(seen, {(ns, n) for ns in PODS for n in range(PER_POD)})
        for d in docs[:50] + docs[-50:]:
            src = d["_source"]
            ns = src["kubernetes"]["namespace"]
            # The index comes from the agent's Kubernetes metadata and the runtime's time.
            self.assertEqual(d["_index"], f"logs-{ns}-2024.05.01")
            self.assertEqual(src["kubernetes"]["pod"]["name"], PODS[ns])
            self.assertEqual(src["kafka"]["topic"], f"logs.{ns}")
            self.assertTrue(src["@timestamp"].startswith("2024-05-01T10:"), src)
        print(f"\n  aggregator killed after {before_kill} of {total} stored; "
              f"{stats.get('updated_docs', stats.get('updated', 0))} documents overwritten "
              f"by the replay", flush=True)


if __name__ == "__main__":
    main()
