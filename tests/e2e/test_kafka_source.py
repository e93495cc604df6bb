"""End-to-end: the `kafka` source (aggregator tier) against librdkafka's mock cluster (real Kafka
protocol over loopback TCP, 3 brokers): messages produced with a plain librdkafka producer
(sluice_kafka_tool) go through sluice's consumer group into a file sink.

At-least-once is checked as "every produced message is in the output"; duplicates are allowed
(after kill -9, or where the mock coordinator refuses a commit during a rebalance) and counted.
"""

import json
import os
import signal
import threading
import time

from kafka_helpers import KafkaTestCase, consume, count, produce
from sluice_e2e import base_env, main, metrics_port, read_jsonl_so_far, wait_until, yaml_str

TIMESTAMP_MS = 1_700_000_000_123  # 2023-11-14T22:13:20.123Z


def read_events(path):
    """The events of a JSON-lines file. A last line without its newline (the process was
    killed in the middle of a write) is left out: it was never acknowledged, so it is read
    again after the restart."""
    return read_jsonl_so_far(path)


def count_lines(*paths):
    n = 0
    for p in paths:
        if os.path.exists(p):
            with open(p, "rb") as f:
                n += f.read().count(b"\n")
    return n


def seqs(events):
    return [e["seq"] for e in events]


class KafkaSourceTest(KafkaTestCase):

    def env(self):
        return base_env({"SLUICE_DATA_DIR": self.path("data")})

    def source_config(self, kafka, group, topics, out, name="agg.yaml", commit_interval="200ms"):
        """kafka source `k` (a consumer in `group`) -> file sink at `out`."""
        return self.config(f"""
            sources:
              k:
                type: kafka
                brokers: {yaml_str(kafka.bootstrap)}
                group_id: {yaml_str(group)}
                topics: {yaml_str(topics)}
                auto_offset_reset: earliest
                commit_interval: {commit_interval}
                # The mock coordinator holds every rebalance for the session timeout minus 1 s.
                librdkafka: {{session.timeout.ms: 4000, heartbeat.interval.ms: 500}}
            sinks:
              out: {{type: file, inputs: [k], path: {yaml_str(out)}}}
            """, name=name)

    def stop(self, running, timeout=20):
        running.signal(signal.SIGTERM)
        result = running.wait(timeout=timeout)
        self.assertEqual(result.rc, 0, result.describe())
        return result

    def background_produce(self, kafka, topic, chunks, per_chunk, pause=0.05):
        """Produces `chunks` x `per_chunk` JSON lines {"seq":i,...} of about 200 bytes while sluice
        consumes (mid-stream); returns the thread and a list that collects its errors. Keyed
        (64 keys), so that every partition gets its share: keyless messages stick to one
        partition for long runs, and the mock cluster keeps only 5 MiB per partition, dropping
        the oldest messages before a slow rebalance has read them."""
        errors = []

        def run():
            try:
                for c in range(chunks):
                    first = c * per_chunk
                    produce(kafka.bootstrap, topic,
                            lines=[json.dumps({"seq": i, "msg": "m" + "x" * 170})
                                   for i in range(first, first + per_chunk)], keys=64)
                    time.sleep(pause)
            except Exception as e:  # reported by the test
                errors.append(e)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread, errors

    # --- (a) -----------------------------------------------------------------------------------

    def test_every_message_once_with_kafka_metadata_and_a_clean_restart_resumes_exactly(self):
        kafka = self.kafka(topics={"logs": 4})
        n = 20000
        produce(kafka.bootstrap, "logs", count=n, keys=10, size=200, timestamp_ms=TIMESTAMP_MS)
        # A message with newlines is one event; one with a time of its own keeps it.
        produce(kafka.bootstrap, "logs",
                lines=['{"seq":-1,"msg":"a\\nb","time":"2024-05-06T07:08:09.5Z"}'])
        truth = {json.loads(m["value"])["seq"]: m for m in consume(kafka.bootstrap, "logs", n + 1)}
        self.assertEqual(len(truth), n + 1)

        out = self.path("out.jsonl")
        cfg = self.source_config(kafka, "agg-a", ["logs"], out)
        sluice = self.start(["run", "-c", cfg], env=self.env())
        wait_until(lambda: count_lines(out) >= n + 1, timeout=60, what="all events in the file")
        time.sleep(0.5)  # nothing more arrives
        result = self.stop(sluice)

        events = read_events(out)
        self.assertEqual(len(events), n + 1, result.describe())
        self.assertEqual(sorted(seqs(events)), sorted(truth))
        for e in events:
            m = truth[e["seq"]]
            want = {"topic": "logs", "partition": m["partition"], "offset": m["offset"]}
            if m["key"] is not None:
                want["key"] = m["key"]
            self.assertEqual(e["kafka"], want, e)
            self.assertEqual(e["source"], "k")
            if e["seq"] >= 0:
                # No time in the line: the message's Kafka timestamp.
                self.assertEqual(e["@timestamp"], "2023-11-14T22:13:20.123000000Z")
        special = next(e for e in events if e["seq"] == -1)
        self.assertEqual(special["msg"], "a\nb")
        self.assertNotIn("key", special["kafka"])  # produced without a key
        self.assertEqual(special["@timestamp"], "2024-05-06T07:08:09.500000000Z")
        # Order within a partition is kept.
        last = {}
        for e in events:
            p, off = e["kafka"]["partition"], e["kafka"]["offset"]
            self.assertGreater(off, last.get(p, -1))
            last[p] = off
        self.assertTotals(result, "k", events_out=n + 1)

        # SIGTERM waited for the file sink and committed: a restart reads only what is new.
        produce(kafka.bootstrap, "logs", count=100, keys=10, size=200)
        out2 = self.path("out2.jsonl")
        cfg2 = self.source_config(kafka, "agg-a", ["logs"], out2, name="agg2.yaml")
        sluice = self.start(["run", "-c", cfg2], env=self.env())
        wait_until(lambda: count_lines(out2) >= 100, timeout=30, what="the new events")
        time.sleep(1.0)
        result = self.stop(sluice)
        self.assertEqual(sorted(seqs(read_events(out2))), list(range(100)), result.describe())

    def test_regex_subscription(self):
        kafka = self.kafka(topics={"app-a": 2, "app-b": 2, "other": 2})
        for topic in ("app-a", "app-b", "other"):
            produce(kafka.bootstrap, topic, lines=[json.dumps({"seq": i, "t": topic})
                                                   for i in range(50)])
        out = self.path("out.jsonl")
        cfg = self.source_config(kafka, "agg-re", ["^app-.*"], out)
        sluice = self.start(["run", "-c", cfg], env=self.env())
        wait_until(lambda: count_lines(out) >= 100, timeout=60, what="both app topics")
        time.sleep(0.5)
        self.stop(sluice)
        events = read_events(out)
        self.assertEqual(len(events), 100)
        self.assertEqual({e["kafka"]["topic"] for e in events}, {"app-a", "app-b"})
        self.assertTrue(all(e["t"] == e["kafka"]["topic"] for e in events))

    # --- (b) -----------------------------------------------------------------------------------

    def test_kill_9_mid_stream_and_restart_loses_nothing(self):
        # 8 partitions, keyed: 12 MB in all, far from the mock's 5 MiB per partition, whatever
        # the time the group takes to notice the killed member.
        kafka = self.kafka(topics={"logs": 8})
        chunks, per_chunk = 60, 1000
        n = chunks * per_chunk
        out1, out2 = self.path("out1.jsonl"), self.path("out2.jsonl")
        cfg1 = self.source_config(kafka, "agg-b", ["logs"], out1, name="b1.yaml")
        first = self.start(["run", "-c", cfg1], env=self.env())
        wait_until(lambda: "kafka partitions assigned" in first.stderr_text(), timeout=30,
                   what="the group to form")
        producer, errors = self.background_produce(kafka, "logs", chunks, per_chunk)
        wait_until(lambda: count_lines(out1) >= 15000, timeout=60, what="a part of the stream")
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=10)
        read_before_kill = len(read_events(out1))

        cfg2 = self.source_config(kafka, "agg-b", ["logs"], out2, name="b2.yaml")
        second = self.start(["run", "-c", cfg2], env=self.env())
        producer.join(timeout=120)
        self.assertFalse(producer.is_alive())
        self.assertEqual(errors, [])
        try:
            wait_until(lambda: count_lines(out1, out2) >= n, timeout=90, interval=0.2,
                       what="every message after the restart")
        except AssertionError as e:
            # What the test needs to tell a slow rebalance from a lost message.
            held = count(kafka.bootstrap, "logs", held=True)
            raise AssertionError(f"{e}: {count_lines(out1)} + {count_lines(out2)} lines of {n}, "
                                 f"the topic holds {held}; the second run's log:\n"
                                 + "\n".join(second.stderr_text().splitlines()[-30:])) from None
        time.sleep(0.5)
        result = self.stop(second)
        s1, s2 = seqs(read_events(out1)), seqs(read_events(out2))
        self.assertEqual(set(s1) | set(s2), set(range(n)), result.describe())
        self.assertEqual(len(s1), len(set(s1)))  # one run never repeats itself
        self.assertEqual(len(s2), len(set(s2)))
        duplicates = len(s1) + len(s2) - n
        print(f"\nkill -9 after {read_before_kill} of {n} events: {duplicates} read again "
              f"(delivered, not yet committed at the kill)")
        self.assertLess(read_before_kill, n, "the kill was not mid-stream")
        # Only what was delivered after the last periodic commit is read again.
        self.assertLess(duplicates, read_before_kill)

    # --- (c) -----------------------------------------------------------------------------------

    def test_two_processes_split_partitions_and_sigterm_hands_over(self):
        kafka = self.kafka(topics={"logs": 6})
        out1, out2 = self.path("m1.jsonl"), self.path("m2.jsonl")
        cfg1 = self.source_config(kafka, "agg-c", ["logs"], out1, name="c1.yaml")
        cfg2 = self.source_config(kafka, "agg-c", ["logs"], out2, name="c2.yaml")
        one = self.start(["run", "-c", cfg1], env=self.env())
        two = self.start(["run", "-c", cfg2], env=self.env())

        def partitions(path):
            return {e["kafka"]["partition"] for e in read_events(path)}

        # Produce until both members have partitions of their own (the group settles).
        total = 0
        deadline = time.monotonic() + 60
        while not (partitions(out1) and partitions(out2)):
            self.assertLess(time.monotonic(), deadline, "the partitions were never split")
            produce(kafka.bootstrap, "logs", count=600, keys=12, size=200)
            total += 600  # seq restarts at 0 per call: identify messages by partition/offset
            time.sleep(0.5)

        def union():
            got = {}
            for path in (out1, out2):
                for e in read_events(path):
                    key = (e["kafka"]["partition"], e["kafka"]["offset"])
                    got[key] = got.get(key, 0) + 1
            return got

        wait_until(lambda: len(union()) >= total, timeout=60, interval=0.5,
                   what="every message across both members")
        p1, p2 = partitions(out1), partitions(out2)
        self.assertTrue(p1 and p2)
        print(f"\nmember 1 partitions {sorted(p1)}, member 2 partitions {sorted(p2)}")

        # SIGTERM: member 1 commits what it delivered and leaves; member 2 takes over.
        self.stop(one)
        written_by_one = {(e["kafka"]["partition"], e["kafka"]["offset"])
                          for e in read_events(out1)}
        lines_by_one = count_lines(out1)  # may hold re-reads of its own from the rebalance
        two_before = len(read_events(out2))
        produce(kafka.bootstrap, "logs", count=6000, keys=12, size=200)
        total += 6000
        wait_until(lambda: len(union()) >= total, timeout=60, interval=0.5,
                   what="member 2 taking over every partition")
        self.stop(two)
        got = union()
        self.assertEqual(len(got), total)
        self.assertEqual(count_lines(out1), lines_by_one)  # a stopped member writes nothing
        after = read_events(out2)[two_before:]
        self.assertTrue(p1 <= {e["kafka"]["partition"] for e in after})  # member 1's partitions
        # Member 2 resumes them at member 1's final commit: nothing member 1 wrote is read again.
        again = [e for e in after if (e["kafka"]["partition"], e["kafka"]["offset"]) in written_by_one]
        self.assertEqual(again, [])
        duplicates = sum(c - 1 for c in got.values())
        # Member 2 may re-read its own partitions: the mock coordinator refuses the commit a
        # member makes while giving partitions up in a rebalance (a real broker accepts it).
        print(f"{total} messages, {duplicates} read twice")

    def test_a_reload_that_changes_the_source_rejoins_the_group_where_it_left_off(self):
        # A live reload replaces the changed source: the old consumer commits what was
        # acknowledged and leaves the group, the new one joins (a rebalance) and resumes at that
        # commit. With one member nobody else takes partitions meanwhile: nothing is read twice.
        import http.client
        kafka = self.kafka(topics={"logs": 4})
        out = self.path("out.jsonl")
        produce(kafka.bootstrap, "logs", lines=[json.dumps({"seq": i}) for i in range(3000)])
        cfg = self.source_config(kafka, "agg-r", ["logs"], out, commit_interval="200ms")
        env = self.env()
        env["SLUICE_METRICS_ADDR"] = "127.0.0.1:0"
        sluice = self.start(["run", "-c", cfg], env=env)
        port = metrics_port(sluice)
        wait_until(lambda: count_lines(out) >= 3000, timeout=60, what="the first 3000 events")
        self.source_config(kafka, "agg-r", ["logs"], out, commit_interval="300ms")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("POST", "/reload")
            response = conn.getresponse()
            status, answer = response.status, json.loads(response.read().decode())
        finally:
            conn.close()
        self.assertEqual(status, 200, answer)
        self.assertIn("source k", answer["detail"])
        produce(kafka.bootstrap, "logs", lines=[json.dumps({"seq": i}) for i in range(3000, 6000)])
        wait_until(lambda: count_lines(out) >= 6000, timeout=60,
                   what="the events produced after the reload")
        result = self.stop(sluice)
        got = seqs(read_events(out))
        self.assertEqual(sorted(set(got)), list(range(6000)), result.describe())
        self.assertEqual(len(got), 6000, "an event read twice across the rebalance")

    # --- config --------------------------------------------------------------------------------

    def test_config_errors(self):
        cfg = self.config("""
            sources:
              k: {type: kafka, brokers: "127.0.0.1:1", group_id: g, topics: [t],
                  librdkafka: {enable.auto.commit: true}}
            sinks:
              out: {type: stdout, inputs: [k]}
            """)
        r = self.run_sluice(["validate", "-c", cfg], env=self.env())
        self.assertEqual(r.rc, 78, r.describe())
        self.assertIn("enable.auto.commit", r.stderr_text)
        cfg = self.config("""
            sources:
              k: {type: kafka, brokers: "127.0.0.1:1", topics: [t]}
            sinks:
              out: {type: stdout, inputs: [k]}
            """, name="b.yaml")
        r = self.run_sluice(["validate", "-c", cfg], env=self.env())
        self.assertEqual(r.rc, 78, r.describe())
        self.assertIn("`group_id` is required", r.stderr_text)


if __name__ == "__main__":
    main()
