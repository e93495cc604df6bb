"""End-to-end: the Elasticsearch `_bulk` emulator itself (tests/es/), with plain HTTP requests.

The sink's tests trust the emulator to behave as Elasticsearch does; these tests pin down each
rule it implements, so that a sink test passing means something."""

import gzip
import http.client
import json
import shutil
import socket
import tempfile
import threading
import time
import unittest

from es_helpers import NDJSON, Emulator, emulator_available, item_result, make_self_signed, ndjson
from sluice_e2e import main
from tool_process import started


class EmulatorTest(unittest.TestCase):
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        if not emulator_available():
            raise AssertionError("sluice_es_emulator missing: build the tests")

    def emulator(self, **kwargs):
        return started(self, Emulator(**kwargs))

    def assertError(self, status, answer, expected_status, error_type, reason_part=""):
        self.assertEqual(status, expected_status, answer)
        self.assertEqual(answer["status"], expected_status)
        self.assertEqual(answer["error"]["type"], error_type, answer)
        self.assertEqual(answer["error"]["root_cause"][0]["type"], error_type)
        self.assertIn(reason_part, answer["error"]["reason"])

    # --- the request as a whole ----------------------------------------------------------------

    def test_body_must_end_with_a_newline(self):
        es = self.emulator()
        body = ndjson([{"index": {"_index": "a"}}, {"x": 1}])[:-1]
        status, answer = es.bulk(body=body)
        self.assertError(status, answer, 400, "illegal_argument_exception",
                         "The bulk request must be terminated by a newline [\\n]")
        self.assertEqual(es.docs(), [])
        self.assertEqual(es.stats()["requests_400"], 1)

    def test_content_type_must_be_ndjson_or_json(self):
        es = self.emulator()
        body = ndjson([{"index": {"_index": "a"}}, {"x": 1}])
        for ctype in ("text/plain", None, "application/x-www-form-urlencoded"):
            with self.subTest(ctype=ctype):
                status, answer = es.bulk(body=body, content_type=ctype)
                self.assertEqual(status, 406, answer)
                self.assertEqual(answer["status"], 406)
                self.assertIn("is not supported", answer["error"])
        for ctype in (NDJSON, "application/json", "application/x-ndjson; charset=UTF-8",
                      "application/vnd.elasticsearch+x-ndjson; compatible-with=8"):
            with self.subTest(ctype=ctype):
                status, answer = es.bulk(body=body, content_type=ctype)
                self.assertEqual((status, answer["errors"]), (200, False), answer)
        stats = es.stats()
        self.assertEqual((stats["requests_406"], stats["stored_docs"]), (3, 4))

    def test_gzip_bodies_are_decompressed(self):
        es = self.emulator()
        items = []
        for i in range(500):
            items += [{"index": {"_index": "gz", "_id": str(i)}}, {"n": i, "pad": "z" * 100}]
        status, answer = es.bulk(items, gzip=True)
        self.assertEqual((status, answer["errors"], len(answer["items"])), (200, False, 500))
        self.assertEqual([d["_source"]["n"] for d in es.docs()], list(range(500)))
        stats = es.stats()
        self.assertEqual(stats["gzip_requests"], 1)
        self.assertLess(stats["body_bytes"], stats["decoded_bytes"] / 5)
        self.assertEqual(stats["decoded_bytes"], len(ndjson(items)))
        # A body that is not gzip although it says so: refused as a whole.
        status, answer = es.bulk(body=b"\x1f\x8bnot really gzip", headers={
            "Content-Encoding": "gzip"})
        self.assertEqual(status, 400, answer)
        self.assertEqual(es.stats()["stored_docs"], 500)

    def test_malformed_action_lines_fail_the_whole_request(self):
        es = self.emulator()
        cases = {
            "not an object": ([{"index": {"_index": "a"}}, {"x": 1}, "[1,2]"],
                              "Malformed action/metadata line [3]"),
            "unknown action": ([{"upsert": {"_index": "a"}}, {"x": 1}],
                               "expected field [create, delete, index, update] but found "
                               "[upsert]"),
            "unknown parameter": ([{"index": {"_index": "a", "_type": "doc"}}, {"x": 1}],
                                  "contains an unknown parameter [_type]"),
            "source missing": ([{"index": {"_index": "a"}}], "terminated by a newline"),
        }
        for name, (items, reason) in cases.items():
            with self.subTest(name):
                status, answer = es.bulk(items)
                self.assertError(status, answer, 400, "illegal_argument_exception", reason)
        self.assertEqual(es.docs(), [], "nothing of a malformed request is stored")

    def test_query_parameters(self):
        es = self.emulator()
        items = [{"index": {"_index": "q"}}, {"x": 1}]
        status, answer = es.bulk(items, query="pipeline=p1&refresh=wait_for&filter_path=items")
        self.assertEqual((status, answer["errors"]), (200, False))
        status, answer = es.bulk(items, query="frobnicate=1")
        self.assertError(status, answer, 400, "illegal_argument_exception",
                         "contains unrecognized parameter: [frobnicate]")

    def test_too_large_body_answered_413_before_it_is_read(self):
        es = self.emulator()
        with socket.create_connection((es.host, es.port), timeout=10) as s:
            s.sendall(b"POST /_bulk HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
                      b"Content-Length: 600000000\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        self.assertTrue(data.startswith(b"HTTP/1.1 413"), data[:200])
        self.assertEqual(es.stats()["requests_413"], 1)

    def test_cluster_info_unknown_paths_and_methods(self):
        es = self.emulator()
        status, headers, data = es.request("GET", "/")
        info = json.loads(data)
        self.assertEqual(status, 200)
        self.assertRegex(info["version"]["number"], r"^8\.\d+\.\d+$")
        self.assertEqual(info["tagline"], "You Know, for Search")
        self.assertEqual(headers.get("x-elastic-product"), "Elasticsearch")
        status, _, data = es.request("GET", "/_bulk")
        self.assertEqual(status, 405, data)
        status, _, data = es.request("GET", "/nope/_search")
        self.assertEqual(status, 400, data)
        self.assertIn("no handler found", json.loads(data)["error"])

    # --- items ---------------------------------------------------------------------------------

    def test_index_create_delete_and_versions(self):
        es = self.emulator()
        status, answer = es.bulk([
            {"index": {"_index": "v", "_id": "1"}}, {"n": 1},
            {"create": {"_index": "v", "_id": "2"}}, {"n": 2},
            {"index": {"_index": "v"}}, {"n": 3},
        ])
        self.assertEqual((status, answer["errors"]), (200, False))
        first = [item_result(i) for i in answer["items"]]
        self.assertEqual([(a, b["status"], b["result"], b["_version"]) for a, b in first],
                         [("index", 201, "created", 1), ("create", 201, "created", 1),
                          ("index", 201, "created", 1)])
        generated = first[2][1]["_id"]
        self.assertRegex(generated, r"^[A-Za-z0-9_-]{20}$")
        for _, body in first:
            self.assertEqual(body["_shards"], {"total": 2, "successful": 1, "failed": 0})
            self.assertEqual(body["_primary_term"], 1)
        self.assertEqual([b["_seq_no"] for _, b in first], [0, 1, 2])

        status, answer = es.bulk([
            {"index": {"_index": "v", "_id": "1"}}, {"n": 10},      # overwrite
            {"create": {"_index": "v", "_id": "2"}}, {"n": 20},     # conflict
            {"delete": {"_index": "v", "_id": generated}},
            {"delete": {"_index": "v", "_id": "missing"}},
        ])
        self.assertTrue(answer["errors"])
        second = [item_result(i) for i in answer["items"]]
        self.assertEqual((second[0][1]["result"], second[0][1]["_version"],
                          second[0][1]["status"]), ("updated", 2, 200))
        self.assertEqual(second[1][1]["status"], 409)
        self.assertEqual(second[1][1]["error"]["type"], "version_conflict_engine_exception")
        self.assertIn("document already exists (current version [1])",
                      second[1][1]["error"]["reason"])
        self.assertEqual((second[2][1]["result"], second[2][1]["status"]), ("deleted", 200))
        self.assertEqual((second[3][1]["result"], second[3][1]["status"]), ("not_found", 404))
        self.assertNotIn("error", second[3][1])
        # Store order kept; the overwritten document keeps its place with the new source.
        self.assertEqual([(d["_id"], d["_source"]) for d in es.docs()],
                         [("1", {"n": 10}), ("2", {"n": 2})])
        stats = es.stats()
        self.assertEqual((stats["created"], stats["updated"], stats["deleted"],
                          stats["items_409"], stats["stored_docs"]), (3, 1, 1, 1, 2))
        self.assertEqual(stats["actions"], {"index": 3, "create": 2, "delete": 2, "update": 0})

    def test_unparsable_source_fails_only_its_item(self):
        es = self.emulator()
        status, answer = es.bulk([
            {"index": {"_index": "p", "_id": "a"}}, {"ok": 1},
            {"index": {"_index": "p", "_id": "b"}}, '{"broken": ',
            {"index": {"_index": "p", "_id": "c"}}, "42",
            {"index": {"_index": "p", "_id": "d"}}, {"ok": 4},
        ])
        self.assertEqual(status, 200)
        self.assertTrue(answer["errors"])
        statuses = [item_result(i)[1]["status"] for i in answer["items"]]
        self.assertEqual(statuses, [201, 400, 400, 201])
        for i in (1, 2):
            error = item_result(answer["items"][i])[1]["error"]
            self.assertEqual(error["type"], "document_parsing_exception")
            self.assertIn("failed to parse", error["reason"])
        self.assertEqual([d["_id"] for d in es.docs()], ["a", "d"])
        self.assertEqual(es.stats()["items_400"], 2)

    def test_dynamic_mapping_conflicts_fail_the_document(self):
        es = self.emulator()
        status, answer = es.bulk([
            {"index": {"_index": "m", "_id": "1"}}, {"code": 1, "ok": True, "obj": {"a": 1}},
            {"index": {"_index": "m", "_id": "2"}}, {"code": "2", "ok": "false", "tags": ["x"]},
            {"index": {"_index": "m", "_id": "3"}}, {"code": "not-a-number"},
            {"index": {"_index": "m", "_id": "4"}}, {"obj": "flat"},
            {"index": {"_index": "m", "_id": "5"}}, {"ok": 3},
            {"index": {"_index": "m", "_id": "6"}}, {"tags": [1, 2], "code": 6.5},
            {"index": {"_index": "other", "_id": "7"}}, {"code": "a word"},  # own mapping
        ])
        results = [item_result(i)[1] for i in answer["items"]]
        self.assertEqual([r["status"] for r in results], [201, 201, 400, 400, 400, 201, 201])
        self.assertEqual(results[2]["error"]["type"], "document_parsing_exception")
        self.assertIn("failed to parse field [code] of type [long] in document with id '3'. "
                      "Preview of field's value: 'not-a-number'", results[2]["error"]["reason"])
        self.assertIn("object mapping for [obj] tried to parse field [obj] as object, but found "
                      "a concrete value", results[3]["error"]["reason"])
        self.assertIn("field [ok] of type [boolean]", results[4]["error"]["reason"])
        self.assertEqual([d["_id"] for d in es.docs()], ["1", "2", "6", "7"])

    def test_index_from_path_missing_index_and_invalid_names(self):
        es = self.emulator()
        status, answer = es.bulk([
            {"index": {}}, {"n": 0},
            {"index": {"_index": "other"}}, {"n": 1},
        ], index="from-path")
        self.assertEqual([item_result(i)[1]["_index"] for i in answer["items"]],
                         ["from-path", "other"])
        bad = ["Upper", "_under", "-dash", "+plus", "sp ace", "a/b", "a*b", "a#b", "a:b", ".."]
        items = [{"index": {}}, {"n": "no index"}]
        for name in bad:
            items += [{"index": {"_index": name}}, {"n": name}]
        status, answer = es.bulk(items)
        results = [item_result(i)[1] for i in answer["items"]]
        self.assertEqual(results[0]["status"], 400)
        self.assertEqual(results[0]["error"]["type"], "action_request_validation_exception")
        self.assertIn("index is missing", results[0]["error"]["reason"])
        for name, r in zip(bad, results[1:]):
            with self.subTest(name=name):
                self.assertEqual(r["status"], 400)
                self.assertEqual(r["error"]["type"], "invalid_index_name_exception")
                self.assertIn(f"Invalid index name [{name}]", r["error"]["reason"])
        self.assertEqual(len(es.docs()), 2)

    def test_update_is_answered_per_item(self):
        es = self.emulator()
        status, answer = es.bulk([
            {"update": {"_index": "u", "_id": "1"}}, {"doc": {"x": 1}},
            {"index": {"_index": "u", "_id": "2"}}, {"x": 2},
        ])
        results = [item_result(i) for i in answer["items"]]
        self.assertEqual([(a, r["status"]) for a, r in results], [("update", 400), ("index", 201)])

    def test_data_streams_take_create_with_timestamp_only(self):
        es = self.emulator(data_streams=["logs-*-*", "metrics-app"])
        ts = "2024-05-01T10:00:00.000000000Z"
        status, answer = es.bulk([
            {"create": {"_index": "logs-web-default", "_id": "1"}}, {"@timestamp": ts, "n": 1},
            {"index": {"_index": "logs-web-default", "_id": "2"}}, {"@timestamp": ts, "n": 2},
            {"create": {"_index": "logs-web-default", "_id": "3"}}, {"n": 3},
            {"create": {"_index": "logs-web-default", "_id": "1"}}, {"@timestamp": ts, "n": 4},
            {"index": {"_index": "logs-plain"}}, {"n": 5},  # no match: a plain index
            {"create": {"_index": "metrics-app"}}, {"@timestamp": ts, "n": 6},
        ])
        results = [item_result(i)[1] for i in answer["items"]]
        self.assertEqual([r["status"] for r in results], [201, 400, 400, 409, 201, 201])
        self.assertRegex(results[0]["_index"], r"^\.ds-logs-web-default-\d{4}\.\d\d\.\d\d-000001$")
        self.assertEqual(results[1]["error"]["type"], "illegal_argument_exception")
        self.assertIn("only write ops with an op_type of create are allowed in data streams",
                      results[1]["error"]["reason"])
        self.assertEqual(results[2]["error"]["type"], "document_parsing_exception")
        self.assertIn("data stream timestamp field [@timestamp] is missing",
                      results[2]["error"]["reason"])
        self.assertEqual(results[3]["error"]["type"], "version_conflict_engine_exception")
        self.assertEqual(results[4]["_index"], "logs-plain")
        self.assertEqual([d["_source"]["n"] for d in es.docs()], [1, 5, 6])

    # --- faults --------------------------------------------------------------------------------

    def outcomes(self, es, requests=200, items=50):
        """Per request: 503 or the tuple of item statuses."""
        out = []
        conn = es.connection()
        body_items = []
        for j in range(items):
            body_items += [{"index": {"_index": "f"}}, {"j": j}]
        body = ndjson(body_items)
        try:
            for _ in range(requests):
                conn.request("POST", "/_bulk", body=body, headers={"Content-Type": NDJSON})
                resp = conn.getresponse()
                answer = json.loads(resp.read())
                if resp.status == 503:
                    self.assertEqual(answer["error"]["type"], "cluster_block_exception")
                    out.append(503)
                else:
                    self.assertEqual(resp.status, 200)
                    out.append(tuple(item_result(i)[1]["status"] for i in answer["items"]))
        finally:
            conn.close()
        return out

    def test_429_and_503_shares_follow_the_seed(self):
        es = self.emulator(reject_429=0.2, fail_503=0.05, seed=42)
        first = self.outcomes(es)
        stats = es.stats()
        failed = sum(1 for o in first if o == 503)
        self.assertEqual(stats["requests_503"], failed)
        self.assertTrue(0.02 <= failed / 200 <= 0.09, failed)
        rejected = sum(s == 429 for o in first if o != 503 for s in o)
        stored = sum(s == 201 for o in first if o != 503 for s in o)
        self.assertEqual((stats["items_429"], stats["stored_docs"]), (rejected, stored))
        self.assertEqual(rejected + stored, (200 - failed) * 50)
        self.assertTrue(0.17 <= rejected / (rejected + stored) <= 0.23, rejected)
        status, answer = es.bulk([{"index": {"_index": "f"}}, {"j": 0}] * 100)
        for item in answer["items"]:
            body = item_result(item)[1]
            if body["status"] == 429:
                self.assertEqual(body["error"]["type"], "es_rejected_execution_exception")
        # The same seed gives the same sequence; another seed a different one.
        with Emulator(reject_429=0.2, fail_503=0.05, seed=42) as again:
            self.assertEqual(self.outcomes(again), first)
        with Emulator(reject_429=0.2, fail_503=0.05, seed=43) as other:
            self.assertNotEqual(self.outcomes(other), first)

    def test_fault_shares_can_be_changed_at_run_time(self):
        es = self.emulator()
        es.set("fail-503", 1)
        self.assertEqual(self.outcomes(es, requests=3, items=2), [503, 503, 503])
        es.set("fail-503", 0)
        es.set("reject-429", 1)
        self.assertEqual(self.outcomes(es, requests=2, items=2), [(429, 429), (429, 429)])
        es.set("reject-429", 0)
        self.assertEqual(self.outcomes(es, requests=1, items=2), [(201, 201)])
        stats = es.stats_command()
        self.assertEqual((stats["requests_503"], stats["items_429"], stats["stored_docs"]),
                         (3, 4, 2))
        over_http = es.stats()  # one more request and connection than when `stats` answered
        self.assertEqual(stats, over_http | {"http_requests": stats["http_requests"],
                                             "connections": stats["connections"]})
        with self.assertRaises(AssertionError):
            es.set("reject-429", 2)

    def test_down_refuses_connections_and_up_keeps_the_data(self):
        es = self.emulator()
        es.bulk([{"index": {"_index": "d", "_id": "1"}}, {"n": 1}])
        idle = es.connection()
        idle.request("GET", "/")
        idle.getresponse().read()
        es.down()
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection((es.host, es.port), timeout=5).close()
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            idle.request("GET", "/")  # the kept-alive connection was closed too
            idle.getresponse().read()
        idle.close()
        self.assertFalse(es.stats_command()["listening"])
        es.up()
        status, answer = es.bulk([{"index": {"_index": "d", "_id": "2"}}, {"n": 2}])
        self.assertEqual(status, 200)
        self.assertEqual([d["_id"] for d in es.docs()], ["1", "2"])

    def test_max_bytes_per_second_holds_answers_to_the_rate(self):
        rate = 200_000
        es = Emulator()
        es.args += ["--max-bytes-per-second", str(rate)]
        started(self, es)
        pad = "r" * 10_000
        bodies = [ndjson([x for i in range(5) for x in
                          ({"index": {"_index": "rl", "_id": f"{k}-{j}-{i}"}}, {"pad": pad})])
                  for k in range(2) for j in range(5)]
        total = sum(len(b) for b in bodies)
        errors = []

        def client(mine):
            try:
                conn = es.connection()
                for body in mine:
                    conn.request("POST", "/_bulk", body=body, headers={"Content-Type": NDJSON})
                    resp = conn.getresponse()
                    if resp.status != 200 or json.loads(resp.read())["errors"]:
                        errors.append(resp.status)
                conn.close()
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        # Two connections share one budget: the last answer comes once every byte has drained.
        start = time.monotonic()
        threads = [threading.Thread(target=client, args=(bodies[k::2],)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        elapsed = time.monotonic() - start
        self.assertEqual(errors, [])
        self.assertGreaterEqual(elapsed, 0.95 * total / rate, f"{total} B in {elapsed:.2f}s")
        self.assertLess(elapsed, total / rate + 10, f"{total} B in {elapsed:.2f}s")
        stats = es.stats()
        self.assertEqual((stats["max_bytes_per_second"], stats["throttled_requests"],
                          stats["stored_docs"]), (rate, 10, 50))
        # GETs are not limited.
        t0 = time.monotonic()
        es.stats()
        self.assertLess(time.monotonic() - t0, 1.0)

        # A crawl (500 B/s: ~100 s for this body); lifting the limit sends the held answer now.
        self.assertEqual(es.command("set max-bytes-per-second 500"), "max-bytes-per-second=500")
        held = {}

        def slow():
            held["answer"] = es.bulk(body=bodies[0])

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(1.0)
        self.assertTrue(t.is_alive(), "answered although the limit holds it for ~100 s")
        es.set("max-bytes-per-second", 0)
        t.join(timeout=5)
        self.assertFalse(t.is_alive(), "the held answer was not released")
        self.assertEqual(held["answer"][0], 200)
        t0 = time.monotonic()
        for body in bodies:
            self.assertEqual(es.bulk(body=body)[0], 200)
        self.assertLess(time.monotonic() - t0, 5.0, "unlimited again")
        self.assertEqual(es.stats()["throttled_requests"], 11)
        for bad in ("-1", "x", "1.5", "1 2"):
            with self.assertRaises(AssertionError):
                es.command(f"set max-bytes-per-second {bad}")

    # --- connections, auth, TLS, --null --------------------------------------------------------

    def test_keep_alive_and_concurrent_connections(self):
        es = self.emulator()
        errors = []

        def client(k):
            try:
                conn = es.connection()
                for j in range(20):
                    body = ndjson([{"index": {"_index": "c", "_id": f"{k}-{j}"}}, {"k": k}])
                    conn.request("POST", "/_bulk", body=body, headers={"Content-Type": NDJSON})
                    resp = conn.getresponse()
                    if resp.status != 200 or json.loads(resp.read())["errors"]:
                        errors.append((k, j, resp.status))
                conn.close()
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append((k, repr(e)))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        self.assertEqual(errors, [])
        stats = es.stats()
        self.assertEqual((stats["connections"], stats["requests"], stats["stored_docs"]),
                         (8 + 1, 160, 160))  # 8 clients (keep-alive) + this stats request

    def test_basic_auth_and_api_key(self):
        es = self.emulator(basic="elastic:s3cret", api_key="a2V5aWQ6c2VjcmV0")
        body = ndjson([{"index": {"_index": "auth"}}, {"x": 1}])
        cases = [
            ({}, 401, "missing authentication credentials for REST request [/_bulk]"),
            ({"Authorization": "Basic ZWxhc3RpYzp3cm9uZw=="}, 401,
             "unable to authenticate user [elastic]"),
            ({"Authorization": "ApiKey wrong"}, 401, "unable to authenticate with provided"),
            ({"Authorization": "Basic ZWxhc3RpYzpzM2NyZXQ="}, 200, None),
            ({"Authorization": "ApiKey a2V5aWQ6c2VjcmV0"}, 200, None),
        ]
        for headers, expected, reason in cases:
            with self.subTest(headers=headers):
                status, hdrs, data = es.request(
                    "POST", "/_bulk", body=body, headers={"Content-Type": NDJSON, **headers})
                self.assertEqual(status, expected, data)
                if reason:
                    answer = json.loads(data)
                    self.assertEqual(answer["error"]["type"], "security_exception")
                    self.assertIn(reason, answer["error"]["reason"])
                    self.assertIn("Basic realm=", hdrs.get("www-authenticate", ""))
        self.assertEqual(es.request("GET", "/")[0], 401)
        stats = es.stats()  # the test endpoints need no credentials
        self.assertEqual((stats["requests_401"], stats["stored_docs"]), (4, 2))

    def test_tls(self):
        d = tempfile.mkdtemp(prefix="sluice-es-tls-")
        self.addCleanup(shutil.rmtree, d, True)
        pair = make_self_signed(d)
        if pair is None:
            self.skipTest("no `openssl` command to make a self-signed certificate")
        es = self.emulator(tls=pair)
        self.assertTrue(es.url.startswith("https://"))
        status, answer = es.bulk([{"index": {"_index": "tls"}}, {"x": 1}])
        self.assertEqual((status, answer["errors"]), (200, False))
        with socket.create_connection((es.host, es.port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # plain HTTP: no answer
            s.settimeout(5)
            try:
                self.assertFalse(s.recv(100).startswith(b"HTTP/1.1 200"))
            except (ConnectionResetError, socket.timeout):
                pass
        self.assertEqual(len(es.docs()), 1)

    def test_null_mode_counts_without_parsing(self):
        es = self.emulator(null=True)
        body = b"this is not ndjson at all"
        status, answer = es.bulk(body=body, content_type="text/plain")
        self.assertEqual((status, answer), (200, {"took": 0, "errors": False, "items": []}))
        gz = gzip.compress(b"x" * 1000)
        status, _ = es.bulk(body=gz, headers={"Content-Encoding": "gzip"})
        self.assertEqual(status, 200)
        stats = es.stats()
        self.assertEqual((stats["requests"], stats["body_bytes"], stats["gzip_requests"],
                          stats["bulk_items"], stats["stored_docs"]),
                         (2, len(body) + len(gz), 1, 0, 0))
        self.assertEqual(es.docs(), [])


if __name__ == "__main__":
    main()
