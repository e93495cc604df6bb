#!/usr/bin/env python3
"""An emulator of the Kubernetes API server's core/v1 pods and namespaces, for the tests of
sluice's Kubernetes metadata: list, get and chunked watch streams over HTTPS (a test CA made at
start) or plain HTTP, bearer tokens, bookmarks, `410 Expired`, and injected faults. Python 3
standard library only (plus the `openssl` command for the CA); listens on 127.0.0.1 only.

Written from the API docs (https://kubernetes.io/docs/reference/using-api/api-concepts/):
  GET /api/v1/pods, /api/v1/namespaces/{ns}/pods           list (PodList) or, with watch=1, watch
  GET /api/v1/namespaces/{ns}/pods/{name}                  one Pod
  GET /api/v1/namespaces, /api/v1/namespaces/{name}        namespaces (list, watch, get)
  GET /version
  Query: labelSelector, fieldSelector (spec.nodeName=..., metadata.namespace=..., ...),
  resourceVersion, resourceVersionMatch, limit and continue (lists), allowWatchBookmarks and
  timeoutSeconds (watches).
  - A list answers {"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"N"},
    "items":[...]} (items without kind/apiVersion, as the server sends them).
  - A watch answers 200 with `Transfer-Encoding: chunked`, one JSON event a line:
    {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}. Without resourceVersion
    (or with "0") it starts with an ADDED event for every object; from resourceVersion N it
    sends exactly the changes after N, or, when N is older than the last compaction, one ERROR
    event with a Status of code 410, reason Expired, and ends. An object that starts or stops
    matching the selectors is ADDED or DELETED for that watch. BOOKMARK objects carry only
    kind, apiVersion and metadata.resourceVersion; they are sent only to watches that asked
    with allowWatchBookmarks=true. timeoutSeconds ends the stream (cleanly) after that long.
  - Errors are meta/v1 Status objects: 401 Unauthorized, 403 Forbidden, 404 NotFound,
    400 BadRequest (selectors), 410 Expired, 5xx and 429 when injected.

In the test process (each test gets its own; all methods are thread-safe):

    with KubeApiEmulator(tls=True, token="t0") as kube:   # or tls=False for http://
        kube.url, kube.ca_file                 # https://127.0.0.1:PORT, the test CA (PEM)
        kube.add_pod(kube_objects.deployment_pod("web", "shop", node="node-1"))
        kube.patch_pod("shop", name, {"metadata": {"labels": {"v": "2"}}})
        kube.delete_pod("shop", name)          # graceful: MODIFIED (deletionTimestamp), DELETED
        kube.add_namespace("shop", {"team": "a"}); kube.patch_namespace(...)
        kube.set_token("t1")                   # the old token now gets 401; None: no auth
        kube.compact()                         # older resourceVersions now get 410
        kube.send_bookmark()                   # every open watch that allows them gets one
        kube.end_watches(abrupt=True)          # cut every open watch (no final chunk)
        kube.stall_watches()                   # open watches go silent, connections stay open
        kube.set_delay(ms); kube.fail_next(count, status=503, verb="watch")
        kube.forbid("namespaces")              # 403 for that resource (RBAC without the rule)
        kube.down(); kube.up()                 # refuse connections / listen on the same port
        kube.requests(verb="get", resource="pods")   # recorded requests, see Request
        kube.wait_for_requests(count=1, verb="watch"); kube.wait_for_open_watches(1)

Standalone (for tests in another process, e.g. C++, which find it at
SLUICE_SOURCE_DIR "/tests/e2e/kube_emulator.py"; it is executable): `kube_emulator.py [--tls]
[--token T] [--port N] [--bookmark-interval S]` prints `url=URL ca_file=PATH` (ca_file only with
--tls), then reads one command a line on stdin and answers each with one line, `ok [JSON]` or
`error <message>` (the protocol of tool_process.py). Commands (JSON on one line):
    add-pod POD_JSON | make-pod KIND KWARGS_JSON     ok <the stored pod>; KIND is pod,
        deployment, statefulset, daemonset, job or cronjob (kube_objects' builders' arguments)
    patch-pod NS NAME MERGE_PATCH_JSON | delete-pod NS NAME [now]    ok <resourceVersion>
    add-namespace NAME [LABELS_JSON] | patch-namespace NAME PATCH | delete-namespace NAME
    token TOKEN | token -     compact     bookmark     end-watches [clean]     stall-watches
    delay MS
    fail STATUS COUNT [get|list|watch]     forbid RESOURCE     allow RESOURCE
    down     up     requests (ok <JSON list>)     clear-requests     quit (or end of input)
"""

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kube_objects  # noqa: E402
from kube_handler import Handler, Request  # noqa: E402
from kube_store import Conflict, Store  # noqa: E402

__all__ = ["KubeApiEmulator", "Request", "Conflict", "make_test_ca"]


def make_test_ca(directory):
    """(ca_cert, server_cert, server_key) paths: a new test CA and a server certificate it
    signed for 127.0.0.1 and localhost (EC P-256, valid two days). Needs the `openssl` command."""
    if shutil.which("openssl") is None:
        raise AssertionError("the `openssl` command is needed to make the test CA")
    ca_key, ca_cert = (os.path.join(directory, n) for n in ("ca.key", "ca.crt"))
    key, csr, cert = (os.path.join(directory, n) for n in ("server.key", "server.csr",
                                                             "server.crt"))
    ext = os.path.join(directory, "server.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for args in (
            ["req", "-x509", *ec, "-days", "2", "-subj", "/CN=sluice-test-kubernetes-ca",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-keyout", ca_key, "-out", ca_cert],
            ["req", "-new", *ec, "-subj", "/CN=kube-apiserver", "-keyout", key, "-out", csr],
            ["x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
             "-days", "2", "-extfile", ext, "-out", cert]):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)
    return ca_cert, cert, key


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address, emulator, tls_context):
        self.emulator = emulator
        self.tls_context = tls_context
        super().__init__(address, Handler)

    def handle_error(self, request, client_address):
        """A client that went away mid-answer is normal here (tests cut connections); anything
        else is a bug of the emulator and is printed."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, TimeoutError)):
            super().handle_error(request, client_address)

    def get_request(self):
        sock, addr = super().get_request()
        if self.tls_context is not None:  # the handshake runs in the connection's thread
            sock = self.tls_context.wrap_socket(sock, server_side=True,
                                                do_handshake_on_connect=False)
        return sock, addr


class KubeApiEmulator:
    def __init__(self, tls=True, token=None, port=0, bookmark_interval=None):
        self.store = Store()
        self.tls = tls
        self.port = port
        self.bookmark_interval = bookmark_interval  # seconds; None: bookmarks only on demand
        self._lock = threading.Lock()
        self._token = token
        self._delay = 0.0
        self._failures = []   # [status, count, verb or None]
        self._forbidden = set()
        self._requests = []
        self._connections = {}  # socket -> whether it carries a watch now
        self._stalled = set()   # watch sockets that send nothing more (stall_watches)
        self._stalled_closed = 0
        self._server = None
        self._thread = None
        self._dir = tempfile.mkdtemp(prefix="sluice-kube-")
        self.ca_file = None
        self._tls_context = None
        if tls:
            self.ca_file, cert, key = make_test_ca(self._dir)
            self._tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls_context.load_cert_chain(cert, key)

    # --- life cycle --------------------------------------------------------------------------

    def __enter__(self):
        self.up()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def up(self):
        """Listens (again) on 127.0.0.1:port; the first call picks a free port."""
        with self._lock:
            if self._server is not None:
                return
            self._server = _Server(("127.0.0.1", self.port), self, self._tls_context)
            self.port = self._server.server_address[1]
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.05}, daemon=True)
            self._thread.start()

    def down(self):
        """Closes the listener and every connection: connects are refused until up()."""
        with self._lock:
            server, self._server = self._server, None
            connections = list(self._connections)
        if server is None:
            return
        server.shutdown()
        server.server_close()
        for sock in connections:  # cut first: no watch may end cleanly
            self._cut(sock)
        self.store.end_watches()
        self._thread.join(timeout=10)

    def close(self):
        self.down()
        shutil.rmtree(self._dir, ignore_errors=True)

    @staticmethod
    def _cut(sock):
        try:  # the plain socket's shutdown: no TLS close_notify, as a vanished peer
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass

    # --- objects -----------------------------------------------------------------------------

    def add_pod(self, pod):
        """Stores a new pod (kube_objects' builders make them); returns it as stored."""
        return self.store.add("pods", pod)

    def patch_pod(self, namespace, name, merge_patch):
        return self.store.patch("pods", namespace, name, merge_patch)

    def replace_pod(self, pod):
        return self.store.replace("pods", pod)

    def delete_pod(self, namespace, name, graceful=True):
        """Returns the deletion's resourceVersion."""
        return self.store.delete("pods", namespace, name, graceful)

    def pod(self, namespace, name):
        return self.store.get("pods", namespace, name)

    def add_namespace(self, name, labels=None):
        return self.store.add("namespaces", kube_objects.make_namespace(name, labels))

    def patch_namespace(self, name, merge_patch):
        return self.store.patch("namespaces", "", name, merge_patch)

    def delete_namespace(self, name):
        return self.store.delete("namespaces", "", name, graceful=False)

    @property
    def resource_version(self):
        with self.store.cond:
            return self.store.rv

    def compact(self):
        return self.store.compact()

    def send_bookmark(self):
        self.store.request_bookmark()

    def end_watches(self, abrupt=True):
        """Ends every open watch: abruptly (connection cut mid-stream, as a dropped connection
        or a restarted API server), or cleanly (final chunk, as timeoutSeconds does)."""
        with self._lock:
            watches = [sock for sock, watching in self._connections.items() if watching]
        if abrupt:  # cut first: no watch may end cleanly
            for sock in watches:
                self._cut(sock)
        self.store.end_watches()

    def stall_watches(self):
        """Every open watch goes silent: nothing more is sent on it, not even the end at its
        timeoutSeconds, and its connection stays open until the client closes it. That is a
        half-open connection as the client sees it (the API server's node gone without a FIN).
        Watches opened later are served as usual. Returns how many watches were stalled."""
        with self._lock:
            stalled = [sock for sock, watching in self._connections.items() if watching]
            self._stalled.update(stalled)
        with self.store.cond:  # the watches look now, before anything else is sent
            self.store.cond.notify_all()
        return len(stalled)

    def stalled_watches_closed(self):
        """How many stalled watches their client has closed."""
        with self._lock:
            return self._stalled_closed

    # --- behaviour -------------------------------------------------------------------------------

    def set_token(self, token):
        """The one bearer token accepted from now on; None accepts any request (kubectl proxy)."""
        with self._lock:
            self._token = token

    def set_delay(self, milliseconds):
        """Every answer (a watch's headers included) waits this long first."""
        with self._lock:
            self._delay = milliseconds / 1000.0

    def fail_next(self, count=1, status=500, verb=None):
        """The next `count` requests (only of `verb`: get, list or watch, when given) are answered
        `status` (500 InternalError, 503 ServiceUnavailable, 504 Timeout, 429 TooManyRequests
        with Retry-After: 1)."""
        with self._lock:
            self._failures.append([status, count, verb])

    def forbid(self, resource, forbidden=True):
        """403 for every request on `resource`, as RBAC without a rule for it answers."""
        with self._lock:
            (self._forbidden.add if forbidden else self._forbidden.discard)(resource)

    # --- the record ------------------------------------------------------------------------------

    def requests(self, verb=None, resource=None, status=None):
        """Recorded requests, oldest first, optionally only those of a verb (get, list, watch,
        or None for paths that are no resource), a resource, or an answer status."""
        with self._lock:
            out = list(self._requests)
        return [r for r in out if (verb is None or r.verb == verb)
                and (resource is None or r.resource == resource)
                and (status is None or r.status == status)]

    def clear_requests(self):
        with self._lock:
            self._requests.clear()

    def wait_for_requests(self, timeout=10.0, count=1, **filters):
        """Waits (bounded) until at least `count` requests match `filters`; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.requests(**filters)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {count} "
                                     f"request(s) {filters}; got {found}")
            time.sleep(0.01)

    def open_watches(self):
        """Watches whose answer has started and that have not ended (a cut one may count until
        its thread notices)."""
        with self._lock:
            return sum(1 for watching in self._connections.values() if watching)

    def wait_for_open_watches(self, count, timeout=10.0):
        """Waits (bounded) until exactly `count` watches are open."""
        deadline = time.monotonic() + timeout
        while self.open_watches() != count:
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {count} open "
                                     f"watches; {self.open_watches()} open")
            time.sleep(0.01)

    # --- for the handler (kube_handler.py) --------------------------------------------------

    def _connection_opened(self, sock):
        with self._lock:
            self._connections[sock] = False

    def _set_watching(self, sock, watching):
        with self._lock:
            if sock in self._connections:
                self._connections[sock] = watching

    def _connection_closed(self, sock):
        with self._lock:
            self._connections.pop(sock, None)
            self._stalled.discard(sock)

    def _is_stalled(self, sock):
        with self._lock:
            return sock in self._stalled

    def _stalled_watch_closed(self, sock):
        with self._lock:
            self._stalled.discard(sock)
            self._stalled_closed += 1

    def _admit(self, request):
        """Records the request; returns (delay seconds, injected status or None, token)."""
        with self._lock:
            self._requests.append(request)
            injected = None
            for failure in self._failures:
                if failure[1] > 0 and failure[2] in (None, request.verb):
                    failure[1] -= 1
                    injected = failure[0]
                    break
            self._failures = [f for f in self._failures if f[1] > 0]
            return self._delay, injected, self._token

    def _is_forbidden(self, resource):
        with self._lock:
            return resource in self._forbidden


# --- standalone --------------------------------------------------------------------------------

_BUILDERS = {"pod": kube_objects.make_pod, "deployment": kube_objects.deployment_pod,
             "statefulset": kube_objects.statefulset_pod,
             "daemonset": kube_objects.daemonset_pod, "job": kube_objects.job_pod,
             "cronjob": kube_objects.cronjob_pod}


def run_command(kube, line):
    """One stdin command (see the module's doc); returns the answer's text after `ok`."""
    words = line.split(" ", 3)
    cmd, args = words[0], words[1:]
    if cmd == "add-pod":
        return json.dumps(kube.add_pod(json.loads(line.split(" ", 1)[1])))
    if cmd == "make-pod":
        kind, kwargs = line.split(" ", 2)[1:]
        return json.dumps(kube.add_pod(_BUILDERS[kind](**json.loads(kwargs))))
    if cmd == "patch-pod":
        return kube.patch_pod(args[0], args[1], json.loads(args[2]))["metadata"]["resourceVersion"]
    if cmd == "delete-pod":
        return str(kube.delete_pod(args[0], args[1], graceful=args[2:] != ["now"]))
    if cmd == "add-namespace":
        labels = json.loads(line.split(" ", 2)[2]) if len(args) > 1 else None
        return kube.add_namespace(args[0], labels)["metadata"]["resourceVersion"]
    if cmd == "patch-namespace":
        patch = json.loads(line.split(" ", 2)[2])
        return kube.patch_namespace(args[0], patch)["metadata"]["resourceVersion"]
    if cmd == "delete-namespace":
        return str(kube.delete_namespace(args[0]))
    if cmd == "token":
        kube.set_token(None if args[0] == "-" else args[0])
    elif cmd == "compact":
        return str(kube.compact())
    elif cmd == "bookmark":
        kube.send_bookmark()
    elif cmd == "end-watches":
        kube.end_watches(abrupt=args != ["clean"])
    elif cmd == "stall-watches":
        kube.stall_watches()
    elif cmd == "delay":
        kube.set_delay(float(args[0]))
    elif cmd == "fail":
        kube.fail_next(int(args[1]), int(args[0]), args[2] if len(args) > 2 else None)
    elif cmd in ("forbid", "allow"):
        kube.forbid(args[0], cmd == "forbid")
    elif cmd == "down":
        kube.down()
    elif cmd == "up":
        kube.up()
    elif cmd == "requests":
        return json.dumps([r.as_dict() for r in kube.requests()])
    elif cmd == "clear-requests":
        kube.clear_requests()
    else:
        raise ValueError(f"unknown command {cmd!r}")
    return ""


def main(argv):
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--token")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bookmark-interval", type=float)
    opts = parser.parse_args(argv)
    kube = KubeApiEmulator(tls=opts.tls, token=opts.token, port=opts.port,
                           bookmark_interval=opts.bookmark_interval)
    kube.up()
    try:
        print(f"url={kube.url}" + (f" ca_file={kube.ca_file}" if kube.ca_file else ""),
              flush=True)
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            if line == "quit":
                break
            try:
                answer = run_command(kube, line)
                print("ok " + answer if answer else "ok", flush=True)
            except (Conflict, ValueError, KeyError, IndexError, TypeError) as e:
                print(f"error {type(e).__name__}: {e}".replace("\n", " "), flush=True)
    finally:
        kube.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
