"""Elasticsearch helpers for the end-to-end tests: the `_bulk` emulator (tests/es/) and a plain
HTTP client for it.

The emulator is built with the tests: SLUICE_ES_EMULATOR names it (ctest sets it); the default
is the path in the build directory of SLUICE_BIN.

    with Emulator(reject_429=0.2, fail_503=0.05, seed=7) as es:
        es.url                          # "http://127.0.0.1:PORT"
        es.bulk([{"index": {"_index": "a"}}, {"x": 1}])   # (status, parsed JSON answer)
        es.down(); es.up()              # listener and connections closed / listening again
        es.set("reject-429", 0)
        es.stats()                      # GET /_emulator/stats as a dict
        es.docs()                       # GET /_emulator/docs: [{"_index", "_id", "_source"}]

Every call has a bounded timeout: a hung emulator fails the test instead of hanging the suite.
"""

import gzip as gziplib
import http.client
import json
import os
import shutil
import ssl
import subprocess
import time

from sluice_e2e import BUILD_TESTS as _BUILD_TESTS
from tool_process import StdinDrivenTool

EMULATOR = os.environ.get("SLUICE_ES_EMULATOR", os.path.join(_BUILD_TESTS, "sluice_es_emulator"))
NDJSON = "application/x-ndjson"


def emulator_available():
    return os.path.isfile(EMULATOR) and os.access(EMULATOR, os.X_OK)


def ndjson(items):
    """Bytes of an NDJSON body: each item a dict (dumped), str or bytes; ends with '\\n'."""
    out = []
    for item in items:
        if isinstance(item, bytes):
            out.append(item)
        elif isinstance(item, str):
            out.append(item.encode())
        else:
            out.append(json.dumps(item, separators=(",", ":")).encode())
    return b"\n".join(out) + b"\n"


def make_self_signed(directory, name="localhost"):
    """(cert, key) paths of a new self-signed certificate for 127.0.0.1/localhost, or None when
    the `openssl` command is missing."""
    if shutil.which("openssl") is None:
        return None
    cert = os.path.join(directory, "es-cert.pem")
    key = os.path.join(directory, "es-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={name}", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    return cert, key


class Emulator(StdinDrivenTool):
    """sluice_es_emulator in the background, driven over its stdin; a context manager."""

    name = "sluice_es_emulator"

    def __init__(self, reject_429=None, fail_503=None, seed=None, data_streams=None, null=False,
                 tls=None, basic=None, api_key=None, port=0, start_timeout=10.0):
        super().__init__(start_timeout)
        self.args = [EMULATOR, "--port", str(port)]
        if reject_429 is not None:
            self.args += ["--reject-429", str(reject_429)]
        if fail_503 is not None:
            self.args += ["--fail-503", str(fail_503)]
        if seed is not None:
            self.args += ["--seed", str(seed)]
        if data_streams:
            self.args += ["--data-streams", ",".join(data_streams)]
        if null:
            self.args.append("--null")
        if tls:
            self.args += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        if basic:
            self.args += ["--basic", basic]
        if api_key:
            self.args += ["--api-key", api_key]
        self.tls = tls
        self.basic = basic
        self.api_key = api_key
        self.host = "127.0.0.1"
        self.port = None

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def start(self):
        if not emulator_available():
            raise AssertionError(f"Elasticsearch emulator not found ({EMULATOR}): build the tests")
        address = self.start_process(self.args, "address=")
        self.host, port = address.rsplit(":", 1)
        self.port = int(port)

    def down(self):
        self.command("down")

    def up(self):
        self.command("up")

    def set(self, name, value):
        self.command(f"set {name} {value}")

    def stats_command(self):
        return json.loads(self.command("stats"))


    # --- HTTP ----------------------------------------------------------------------------------

    def connection(self, timeout=30):
        if self.tls:
            ctx = ssl.create_default_context(cafile=self.tls[0])
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=ctx)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=30):
        """One request on a new connection: (status, headers dict (lower-case names), body)."""
        conn = self.connection(timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            headers = {}
            for k, v in resp.getheaders():  # repeated headers joined, as RFC 9110 allows
                headers[k.lower()] = headers[k.lower()] + ", " + v if k.lower() in headers else v
            return resp.status, headers, data
        finally:
            conn.close()

    def auth_headers(self):
        if self.api_key:
            return {"Authorization": f"ApiKey {self.api_key}"}
        if self.basic:
            import base64
            return {"Authorization": "Basic " + base64.b64encode(self.basic.encode()).decode()}
        return {}

    def bulk(self, items=None, body=None, index=None, gzip=False, content_type=NDJSON,
             headers=None, query=""):
        """POST /_bulk (or /{index}/_bulk): (status, parsed JSON answer)."""
        if body is None:
            body = ndjson(items)
        hdrs = dict(self.auth_headers())
        if content_type is not None:
            hdrs["Content-Type"] = content_type
        if gzip:
            body = gziplib.compress(body)
            hdrs["Content-Encoding"] = "gzip"
        hdrs.update(headers or {})
        path = (f"/{index}/_bulk" if index else "/_bulk") + (f"?{query}" if query else "")
        status, _, data = self.request("POST", path, body=body, headers=hdrs)
        return status, json.loads(data)

    def stats(self):
        status, _, data = self.request("GET", "/_emulator/stats")
        if status != 200:
            raise AssertionError(f"GET /_emulator/stats: {status} {data[:300]!r}")
        return json.loads(data)

    def docs(self):
        status, _, data = self.request("GET", "/_emulator/docs", timeout=60)
        if status != 200:
            raise AssertionError(f"GET /_emulator/docs: {status} {data[:300]!r}")
        return [json.loads(line) for line in data.splitlines() if line]


def item_result(item):
    """(action, body) of one item of a bulk answer."""
    (action, body), = item.items()
    return action, body
