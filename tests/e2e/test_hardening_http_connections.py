"""End-to-end (issue 12): idle, silent and slow clients cannot lock the probes out of sluice's
HTTP endpoint. Hundreds of connections that send nothing, half a request, or a byte a second,
re-opened as soon as sluice closes them, while /health/live, /health and /metrics are probed on
fresh connections: every probe must be answered, quickly."""

import re
import selectors
import socket
import threading
import time

from sluice_e2e import SluiceTestCase, base_env, main, metrics_port

SILENT = 300        # connect, then nothing
HALF_SENT = 60      # half a request head, then nothing
DRIBBLERS = 64      # a byte of a request head every second
PROBE_TIMEOUT = 2.0  # seconds: the kubelet's default probe timeout is 1 s, the DaemonSet's 2 s
ATTACK_SECONDS = 8   # longer than the request deadline (3 s): dribblers are cut and come back
REQUEST_DEADLINE = 3.0


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.setblocking(False)
    return s


def probe(port, path):
    """(status, seconds) of one GET on a fresh connection; status None when it failed."""
    begin = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=PROBE_TIMEOUT) as s:
            s.settimeout(PROBE_TIMEOUT)
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        m = re.match(rb"HTTP/1\.1 (\d{3}) ", data)
        return (int(m.group(1)) if m else None), time.monotonic() - begin
    except OSError:
        return None, time.monotonic() - begin


class Attack:
    """Keeps SILENT + HALF_SENT + DRIBBLERS connections open against `port`, re-opening every
    connection the server closes, until stop()."""

    def __init__(self, port):
        self.port = port
        self.stopping = threading.Event()
        self.reopened = 0
        self.sockets = {}  # socket -> kind
        self.thread = threading.Thread(target=self.run, daemon=True)

    def open(self, kind):
        try:
            s = connect(self.port)
        except OSError:
            return
        if kind == "half":
            s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Wait: ")
        self.sockets[s] = kind

    def start(self):
        for kind, n in (("silent", SILENT), ("half", HALF_SENT), ("dribble", DRIBBLERS)):
            for _ in range(n):
                self.open(kind)
        self.thread.start()

    def run(self):
        sel = selectors.DefaultSelector()
        next_dribble = time.monotonic()
        while not self.stopping.is_set():
            # Closed by the server: readable with EOF (or a reset). Re-open at once.
            sel_map = {}
            for s in list(self.sockets):
                sel.register(s, selectors.EVENT_READ)
                sel_map[s] = True
            ready = sel.select(timeout=0.05)
            for key, _ in ready:
                s = key.fileobj
                try:
                    closed = s.recv(4096) == b""
                except BlockingIOError:
                    closed = False
                except OSError:
                    closed = True
                if closed:
                    kind = self.sockets.pop(s)
                    sel.unregister(s)
                    s.close()
                    self.reopened += 1
                    self.open(kind)
            for s in list(sel_map):
                if s in self.sockets:
                    sel.unregister(s)
            if time.monotonic() >= next_dribble:
                next_dribble += 1.0
                for s, kind in list(self.sockets.items()):
                    if kind == "dribble":
                        try:
                            s.send(b"G")
                        except OSError:
                            pass
        sel.close()

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=10)
        for s in self.sockets:
            s.close()


class HttpConnectionsTest(SluiceTestCase):
    def start_sluice(self):
        cfg = self.config(f"""
            sources:
              app: {{type: exec, command: [sleep, "120"], passthrough: false}}
            sinks:
              out: {{type: file, inputs: [app], path: {self.path('out.jsonl')!r}}}
            """)
        p = self.start(["run", "-c", cfg],
                       env=base_env({"SLUICE_METRICS_ADDR": "127.0.0.1:0", "SLUICE_LOG": "info"}))
        port = metrics_port(p)
        return p, port

    def test_probes_get_through_hundreds_of_idle_and_slow_connections(self):
        p, port = self.start_sluice()
        self.assertEqual(probe(port, "/health")[0], 200)
        attack = Attack(port)
        attack.start()
        self.addCleanup(attack.stop)
        results = []
        end = time.monotonic() + ATTACK_SECONDS
        paths = ["/health/live", "/health", "/metrics"]
        while time.monotonic() < end:
            path = paths[len(results) % len(paths)]
            status, seconds = probe(port, path)
            results.append((path, status, seconds))
            time.sleep(0.1)
        attack.stop()
        failed = [r for r in results if r[1] != 200]
        slowest = max(r[2] for r in results)
        print(f"{len(results)} probes under {SILENT + HALF_SENT + DRIBBLERS} hostile connections "
              f"({attack.reopened} re-opened after sluice closed them): slowest {slowest:.3f}s")
        self.assertEqual(failed, [], f"probes not answered 200 ({len(failed)} of {len(results)})")
        self.assertLess(slowest, PROBE_TIMEOUT)
        self.assertGreater(attack.reopened, 0)  # the connections were held against the cap
        self.assertIn("connection limit reached", p.stderr_text())
        self.assertIsNone(p.proc.poll(), "sluice exited under the attack")

    def test_a_client_dribbling_a_byte_a_second_is_cut_off_by_the_request_deadline(self):
        """Slowloris: every byte arrives within any per-read idle timer; one deadline for the
        whole request head (3 s from its first byte) closes the connection all the same."""
        _, port = self.start_sluice()
        clients = [connect(port) for _ in range(8)]
        first_byte = time.monotonic()
        sent = [0] * len(clients)
        closed_after = [None] * len(clients)
        request = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
        sel = selectors.DefaultSelector()
        for i, s in enumerate(clients):
            sel.register(s, selectors.EVENT_READ, i)
        next_byte = first_byte
        while any(c is None for c in closed_after) and time.monotonic() - first_byte < 15:
            now = time.monotonic()
            if now >= next_byte:  # one byte from every open dribbler, once a second
                next_byte += 1.0
                for i, s in enumerate(clients):
                    if closed_after[i] is None:
                        try:
                            s.send(request[sent[i]:sent[i] + 1])
                            sent[i] += 1
                        except OSError:
                            pass  # closed: the read side reports when
            # Closure is noticed as it happens, not at the next byte.
            for key, _ in sel.select(timeout=max(0.0, next_byte - time.monotonic())):
                i = key.data
                try:
                    closed = key.fileobj.recv(4096) == b""
                except BlockingIOError:
                    closed = False
                except OSError:
                    closed = True
                if closed:
                    closed_after[i] = time.monotonic() - first_byte
                    sel.unregister(key.fileobj)
        sel.close()
        for s in clients:
            s.close()
        print(f"dribblers closed after {[round(t, 2) if t else t for t in closed_after]} s, "
              f"having sent {sent} bytes")
        for i, t in enumerate(closed_after):
            self.assertIsNotNone(t, f"dribbler {i} was never closed")
            self.assertGreaterEqual(sent[i], 2, f"dribbler {i} was closed before it could dribble")
            self.assertLess(t, REQUEST_DEADLINE + 2.0, f"dribbler {i} kept for {t:.1f}s")


if __name__ == "__main__":
    main()
