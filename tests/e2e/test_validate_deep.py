"""`sluice validate --deep`: directories sluice writes to must be writable and network sinks must
answer (read-only probes); 69 when a sink does not answer, 73 for a directory it cannot write,
78 stays config errors."""

import http.server
import os
import socket
import sys
import threading

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402

EX_UNAVAILABLE = 69
EX_CANTCREAT = 73
EX_CONFIG = 78


def closed_port():
    """A local port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Answering(http.server.BaseHTTPRequestHandler):
    requests = []

    def do_GET(self):  # noqa: N802 (the stdlib's name)
        Answering.requests.append((self.command, self.path))
        body = b'{"version":{"number":"8.0.0"}}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class ValidateDeep(e2e.SluiceTestCase):

    def setUp(self):
        self.server = http.server.HTTPServer(("127.0.0.1", 0), Answering)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.addCleanup(self.server.server_close)  # cleanups run last-first: after shutdown
        self.addCleanup(self.server.shutdown)
        self.es = f"http://127.0.0.1:{self.server.server_address[1]}"

    def deep(self, sinks):
        cfg = self.config("data_dir: " + e2e.yaml_str(self.path("data")) + "\n"
                          "sources:\n  in: {type: stdin}\nsinks:\n" + sinks)
        return self.run_sluice(["validate", "--deep", "-c", cfg], timeout=30)

    def test_everything_answers(self):
        out = self.path("logs", "{{ source }}.jsonl")
        r = self.deep(f"  es: {{type: elasticsearch, inputs: [in], endpoints: [{self.es}]}}\n"
                      f"  file: {{type: file, inputs: [in], path: {e2e.yaml_str(out)}}}\n")
        self.assertEqual(r.rc, 0, r.describe() + r.stdout.decode())
        text = r.stdout.decode()
        self.assertIn(f"ok    sink `es` endpoint {self.es}: HTTP 200", text)
        self.assertIn("ok    sink `file` directory", text)
        self.assertNotIn("FAIL", text)
        self.assertEqual(Answering.requests[-1], ("GET", "/"))  # a read-only probe
        self.assertFalse(os.path.exists(self.path("logs")), "validate must not create anything")

    def test_unreachable_sinks_exit_69(self):
        port = closed_port()
        r = self.deep(f"  es: {{type: elasticsearch, inputs: [in], endpoints: "
                      f"[http://127.0.0.1:{port}]}}\n"
                      f"  k: {{type: kafka, inputs: [in], brokers: '127.0.0.1:{port}', topic: t}}\n")
        self.assertEqual(r.rc, EX_UNAVAILABLE, r.describe())
        text = r.stdout.decode()
        self.assertIn(f"FAIL  sink `es` endpoint http://127.0.0.1:{port}: Connection refused", text)
        self.assertIn(f"FAIL  sink `k` brokers: 127.0.0.1:{port} Connection refused", text)

    def test_unwritable_directory_exits_73(self):
        not_a_dir = self.write_file("plain-file", "x")
        r = self.deep(f"  file: {{type: file, inputs: [in], "
                      f"path: {e2e.yaml_str(not_a_dir + '/sub/out.jsonl')}}}\n")
        self.assertEqual(r.rc, EX_CANTCREAT, r.describe())
        self.assertIn(f"{not_a_dir} is not a directory", r.stdout.decode())

    def test_config_errors_stay_78(self):
        r = self.deep("  file: {type: file, inputs: [nope], path: /tmp/x.jsonl}\n")
        self.assertEqual(r.rc, EX_CONFIG, r.describe())


if __name__ == "__main__":
    e2e.main()
