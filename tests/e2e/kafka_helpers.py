"""Kafka helpers for the end-to-end tests: a librdkafka mock cluster and a plain producer/consumer.

The tools are built with the tests (tests/kafka/): SLUICE_KAFKA_MOCK and SLUICE_KAFKA_TOOL name
them (ctest sets both); the defaults are beside the binary, in build/tests/.

    with MockCluster(topics={"logs": 6}) as kafka:
        kafka.bootstrap                     # "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3"
        kafka.create("other", 3)
        kafka.down(2); kafka.up(2)          # broker ids are 1..brokers
        produce(kafka.bootstrap, "logs", count=1000, keys=10)
        msgs = consume(kafka.bootstrap, "logs", expect=1000)   # list of dicts
        count(kafka.bootstrap, "logs")                         # 1000 (high watermarks)

Every call has a bounded timeout: a hung tool fails the test instead of hanging the suite.
"""

import json
import os
import subprocess
import time

from sluice_e2e import BUILD_TESTS as _BUILD_TESTS
from sluice_e2e import SluiceTestCase
from tool_process import StdinDrivenTool, started

MOCK = os.environ.get("SLUICE_KAFKA_MOCK", os.path.join(_BUILD_TESTS, "sluice_kafka_mock"))
TOOL = os.environ.get("SLUICE_KAFKA_TOOL", os.path.join(_BUILD_TESTS, "sluice_kafka_tool"))

# Kafka protocol error codes for MockCluster.topic_error / produce_errors.
UNKNOWN_TOPIC_OR_PART = 3
MSG_SIZE_TOO_LARGE = 10
REQUEST_TIMED_OUT = 7
NOT_ENOUGH_REPLICAS = 19
TOPIC_AUTHORIZATION_FAILED = 29


def tools_available():
    return all(os.path.isfile(p) and os.access(p, os.X_OK) for p in (MOCK, TOOL))


class KafkaTestCase(SluiceTestCase):
    """A test case that needs the Kafka test tools (a missing tool fails it, never skips it);
    kafka() starts a mock cluster that is stopped at the test's cleanup."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not tools_available():
            raise AssertionError("Kafka test tools missing: build the tests (sluice_kafka_mock)")

    def kafka(self, **kwargs):
        return started(self, MockCluster(**kwargs))


class MockCluster(StdinDrivenTool):
    """sluice_kafka_mock in the background, driven over its stdin; a context manager."""

    name = "sluice_kafka_mock"

    def __init__(self, brokers=3, topics=None, start_timeout=30.0):
        super().__init__(start_timeout)
        self.brokers = brokers
        self.topics = dict(topics or {})
        self.bootstrap = None

    def start(self):
        if not tools_available():
            raise AssertionError(f"Kafka test tools not found ({MOCK}, {TOOL}): build the tests")
        args = [MOCK, "--brokers", str(self.brokers)]
        for name, partitions in self.topics.items():
            args += ["--topic", f"{name}:{partitions}"]
        self.bootstrap = self.start_process(args, "bootstrap=", keep_stderr=False)

    def down(self, broker_id):
        self.command(f"down {broker_id}")

    def up(self, broker_id):
        self.command(f"up {broker_id}")

    def create(self, topic, partitions, replication=None):
        self.command(f"create {topic} {partitions}" + (f" {replication}" if replication else ""))

    def topic_error(self, topic, code):
        """Metadata for `topic` answers with Kafka error `code` (0 clears it)."""
        self.command(f"topic-error {topic} {code}")

    def produce_errors(self, *codes):
        """The next Produce requests (one per code) fail with these Kafka error codes."""
        self.command("produce-errors " + " ".join(str(c) for c in codes))

    def rtt(self, broker_id, ms):
        self.command(f"rtt {broker_id} {ms}")



def produce(brokers, topic, lines=None, count=None, keys=None, size=None, headers=None,
            timestamp_ms=None, compression=None, timeout=60):
    """Produces `lines` (str or bytes items, one message each) or `count` generated JSON
    messages {"seq":i,"msg":...}; waits for every delivery report. Raises on any failure."""
    args = [TOOL, "produce", "--brokers", brokers, "--topic", topic]
    if count is not None:
        args += ["--count", str(count)]
    if keys:
        args += ["--keys", str(keys)]
    if size:
        args += ["--size", str(size)]
    for name, value in (headers or {}).items():
        args += ["--header", f"{name}={value}"]
    if timestamp_ms is not None:
        args += ["--timestamp", str(timestamp_ms)]
    if compression:
        args += ["--compression", compression]
    data = None
    if lines is not None:
        data = b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in lines)
    proc = subprocess.run(args, input=data if data is not None else b"", capture_output=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"sluice_kafka_tool produce failed (rc={proc.returncode}): "
                             f"{proc.stderr.decode(errors='replace')[-2000:]}")


def consume(brokers, topic, expect, timeout=30, group=None, allow_short=False):
    """Reads `topic` from the beginning until at least `expect` messages were read and every
    partition is at its end. Returns a list of dicts: topic, partition, offset, key, value,
    headers, timestamp (ms). Raises on timeout unless allow_short (then returns what it got)."""
    args = [TOOL, "consume", "--brokers", brokers, "--topic", topic, "--expect", str(expect),
            "--timeout", str(timeout)]
    if group:
        args += ["--group", group]
    proc = subprocess.run(args, capture_output=True, timeout=timeout + 30)
    msgs = [json.loads(line) for line in proc.stdout.decode().splitlines() if line]
    if proc.returncode != 0 and not allow_short:
        raise AssertionError(f"sluice_kafka_tool consume: got {len(msgs)} of {expect} messages "
                             f"(rc={proc.returncode}): "
                             f"{proc.stderr.decode(errors='replace')[-2000:]}")
    return msgs


def count(brokers, topic, timeout=30, held=False):
    """The number of messages written to `topic` (sum of the partitions' high watermarks); with
    `held`, those it still holds (the mock drops old messages past a few MiB per partition)."""
    proc = subprocess.run([TOOL, "count", "--brokers", brokers, "--topic", topic, "--timeout",
                           str(timeout)] + (["--held"] if held else []), capture_output=True,
                          timeout=timeout + 30)
    if proc.returncode != 0:
        raise AssertionError(f"sluice_kafka_tool count: {proc.stderr.decode(errors='replace')}")
    return int(proc.stdout)


def by_partition(msgs):
    """{partition: [messages in offset order]}."""
    out = {}
    for m in sorted(msgs, key=lambda m: (m["partition"], m["offset"])):
        out.setdefault(m["partition"], []).append(m)
    return out
