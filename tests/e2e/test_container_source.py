"""End-to-end: the `container` source tails Kubernetes container logs (CRI and Docker json-file,
through /var/log/containers-style symlinks), rejoins partial lines, keeps the stream and the
runtime's time, adds Kubernetes metadata from the path, and parses the app's own JSON."""

import json
import os
import signal

from sluice_e2e import (SluiceTestCase, base_env, corpus_path, main, read_jsonl,
                        read_jsonl_so_far, wait_until, yaml_str)

CID = "3c4f" + "0" * 56 + "abcd"  # 64 hex digits


class ContainerSourceTest(SluiceTestCase):
    def setup_pod(self, content, pod="web-7d9f8-x2z", ns="shop", container="api"):
        """Writes content as /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log and links it from
        containers/<pod>_<ns>_<container>-<id>.log, as the kubelet does."""
        target = self.write_file(f"pods/{ns}_{pod}_1234-uid/{container}/0.log", content)
        os.makedirs(self.path("containers"), exist_ok=True)
        link = self.path("containers", f"{pod}_{ns}_{container}-{CID}.log")
        os.symlink(target, link)
        return target, link

    def run_container(self, extra=""):
        out = self.path("out.jsonl")
        cfg = self.config(f"""
            data_dir: {yaml_str(self.path('data'))}
            sources:
              pods:
                type: container
                include: [{yaml_str(self.path('containers', '*.log'))}]
                read_from: beginning
                glob_interval: 100ms
                {extra}
            sinks:
              out: {{type: file, inputs: [pods], path: {yaml_str(out)}}}
            """)
        p = self.start(["run", "-c", cfg], env=base_env({"SLUICE_LOG": "debug"}))
        return p, out

    def stop(self, p):
        p.signal(signal.SIGTERM)
        r = p.wait()
        self.assertEqual(r.rc, 0, r.describe())
        return r

    def test_cri_partial_lines_are_joined_with_stream_time_and_kubernetes_metadata(self):
        target, link = self.setup_pod(
            b"2024-05-01T10:00:00.123456789Z stdout P {\"level\":\"warn\",\n"
            b"2024-05-01T10:00:00.200000000Z stdout F \"msg\":\"joined\"}\n"
            b"2024-05-01T10:00:01.000000000Z stderr F plain error text\n")
        p, out = self.run_container()
        wait_until(lambda: len(read_jsonl_so_far(out)) == 2, what="two events")
        # A partial line whose final part arrives later is held, not emitted in pieces.
        with open(target, "ab") as f:
            f.write(b"2024-05-01T10:00:02.000000000Z stdout P part one, \n")
        with open(target, "ab") as f:
            f.write(b"2024-05-01T10:00:02.500000000Z stdout F part two\n")
        wait_until(lambda: len(read_jsonl_so_far(out)) == 3, what="the third event")
        self.stop(p)
        events = read_jsonl(out)
        first = events[0]
        self.assertEqual(first["level"], "warn")  # the app's JSON, joined from two records, parsed
        self.assertEqual(first["msg"], "joined")
        self.assertEqual(first["stream"], "stdout")
        self.assertEqual(first["@timestamp"], "2024-05-01T10:00:00.123456789Z")
        self.assertEqual(first["kubernetes"], {"pod": {"name": "web-7d9f8-x2z"},
                                               "namespace": "shop",
                                               "container": {"name": "api"}})
        self.assertEqual(first["container"], {"id": CID})
        self.assertEqual(first["log"]["file"]["path"], link)
        self.assertEqual(events[1]["message"], "plain error text")
        self.assertEqual(events[1]["stream"], "stderr")
        self.assertEqual(events[1]["@timestamp"], "2024-05-01T10:00:01.000000000Z")
        self.assertEqual(events[2]["message"], "part one, part two")

    def test_docker_json_file_with_split_records(self):
        with open(corpus_path("containers", "fluent-bit_tail_dockermode_splitted_line.log"),
                  "rb") as f:
            self.setup_pod(f.read())
        p, out = self.run_container()
        wait_until(lambda: len(read_jsonl_so_far(out)) == 2, what="two lines")
        self.stop(p)
        self.assertEqual([e["message"] for e in read_jsonl(out)],
                         ["2020-03-24 Single line", "2020-03-24 Another single line"])

    def test_corrupt_record_is_kept_and_tagged(self):
        """beats' docker_corrupted.log: 20 good records and one whose `{` is missing; all 21
        show up, the corrupt one as a parse error with its raw text."""
        with open(corpus_path("containers", "beats_docker_corrupted.log"), "rb") as f:
            data = f.read()
        self.setup_pod(data)
        p, out = self.run_container()
        wait_until(lambda: len(read_jsonl_so_far(out)) == 21,
                   what="the records")
        self.stop(p)
        events = read_jsonl(out)
        self.assertEqual(len(events), 21)
        errors = [e for e in events if "parse_error" in e.get("tags", [])]
        self.assertEqual(len(errors), 1, "the corrupt record must be kept and tagged")
        self.assertTrue(errors[0]["message"].startswith('"log":"cp packetbeat.yml'))
        self.assertTrue(all(e["stream"] in ("stdout", "stderr") for e in events
                            if e not in errors))

    def test_cri_java_trace_becomes_one_event_with_multiline(self):
        with open(corpus_path("containers", "fluent-bit_avro-multiline_cri-extracted.log"),
                  "rb") as f:
            data = f.read()
        self.setup_pod(data)
        p, out = self.run_container("multiline: {mode: java, flush_after: 300ms}")
        wait_until(lambda: os.path.exists(out) and
                   any("\n\tat " in e.get("message", "") for e in read_jsonl(out)),
                   what="the joined trace")
        self.stop(p)
        events = read_jsonl(out)
        self.assertLess(len(events), data.count(b"\n") / 3, [e.get("message") for e in events])


if __name__ == "__main__":
    main()
