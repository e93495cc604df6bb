"""The HTTP side of the API-server emulator (kube_emulator.py documents the behaviour): routing,
authentication, injected faults, lists, gets and chunked watch streams."""

import base64
import binascii
import json
import re
import select
import ssl
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

import kube_objects
from kube_store import RESOURCES, Conflict, with_type_meta


# How often an idle watch looks whether its client has gone (then it ends, and stops counting in
# KubeApiEmulator.open_watches()).
PEER_CHECK_SECONDS = 0.2


def dumps(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


class Request:
    """One recorded request: method, path, query ({name: last value}), authorization (the
    header as sent, or None), verb (get, list, watch, or None for other paths), resource
    (pods, namespaces or None), namespace, name, and the answer's status (None until sent)."""

    def __init__(self, method, path, query, authorization, verb, resource, namespace, name):
        self.method, self.path, self.query = method, path, query
        self.authorization = authorization
        self.verb, self.resource, self.namespace, self.name = verb, resource, namespace, name
        self.status = None

    def as_dict(self):
        return dict(vars(self))

    def __repr__(self):
        return (f"Request({self.method} {self.path} {self.query} verb={self.verb} "
                f"status={self.status})")


def _bool(text):
    return text in ("1", "t", "T", "TRUE", "true", "True")  # Go's strconv.ParseBool


_PATHS = [
    (re.compile(r"/api/v1/pods"), "pods", False),
    (re.compile(r"/api/v1/namespaces/(?P<ns>[^/]+)/pods"), "pods", False),
    (re.compile(r"/api/v1/namespaces/(?P<ns>[^/]+)/pods/(?P<name>[^/]+)"), "pods", True),
    (re.compile(r"/api/v1/namespaces"), "namespaces", False),
    (re.compile(r"/api/v1/namespaces/(?P<name>[^/]+)"), "namespaces", True),
]

_FAILURES = {500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout",
             429: "TooManyRequests"}


def route(path, query):
    """(verb, resource, namespace, name) of a GET, or (None, None, None, None)."""
    for pattern, resource, single in _PATHS:
        m = pattern.fullmatch(path)
        if m:
            groups = m.groupdict()
            verb = "get" if single else ("watch" if _bool(query.get("watch", "")) else "list")
            return verb, resource, groups.get("ns"), groups.get("name")
    return None, None, None, None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and chunked watch streams
    server_version = "sluice-kube-emulator"
    timeout = 30

    # --- connection --------------------------------------------------------------------------

    def setup(self):
        super().setup()
        self.kube = self.server.emulator
        self.kube._connection_opened(self.connection)
        if self.server.tls_context is not None:
            try:
                self.connection.do_handshake()
            except (OSError, ValueError):
                self.close_connection = True
                self.handle_one_request = lambda: None  # nothing to read from a failed peer

    def finish(self):
        self.kube._connection_closed(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, *args):  # the record replaces the access log
        pass

    # --- answers -----------------------------------------------------------------------------

    def send_json(self, code, body, headers=()):
        data = dumps(body)
        self.request_record.status = code  # before the client can see the answer
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def send_status(self, code, reason, message, details=None, headers=()):
        self.send_json(code, kube_objects.status(code, reason, message, details), headers)

    def _answer_unsupported(self):
        self.request_record = Request(self.command, self.path, {}, None, None, None, None, None)
        self.kube._admit(self.request_record)
        self.close_connection = True  # its body is left unread
        self.send_status(405, "MethodNotAllowed",
                         "the server does not allow this method on the requested resource")

    do_POST = do_PUT = do_PATCH = do_DELETE = _answer_unsupported

    # --- requests ----------------------------------------------------------------------------

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query,
                                                            keep_blank_values=True).items()}
        verb, resource, namespace, name = route(url.path, query)
        self.request_record = Request("GET", url.path, query, self.headers.get("Authorization"),
                                      verb, resource, namespace, name)
        delay, injected, token = self.kube._admit(self.request_record)
        if delay:
            time.sleep(delay)
        if injected is not None:
            reason = _FAILURES.get(injected, "InternalError")
            headers = [("Retry-After", "1")] if injected == 429 else []
            details = {"retryAfterSeconds": 1} if injected == 429 else None
            return self.send_status(injected, reason, f"injected {injected}", details, headers)
        if token is not None and self.headers.get("Authorization") != f"Bearer {token}":
            return self.send_status(401, "Unauthorized", "Unauthorized")
        if url.path == "/version":
            return self.send_json(200, {"major": "1", "minor": "29", "gitVersion": "v1.29.0",
                                        "platform": "linux/amd64"})
        if verb is None:
            return self.send_status(404, "NotFound", "the server could not find the requested "
                                    "resource")
        if self.kube._is_forbidden(resource):
            scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            what = f'{resource} "{name}"' if name else resource
            return self.send_status(
                403, "Forbidden", f'{what} is forbidden: User "system:serviceaccount:sluice:'
                f'sluice" cannot {verb} resource "{resource}" in API group "" {scope}',
                {"name": name, "kind": resource} if name else {"kind": resource})
        if verb == "get":
            try:
                obj = self.kube.store.get(resource, namespace or "", name)
            except Conflict as e:
                return self.send_json(e.code, e.body)
            return self.send_json(200, with_type_meta(resource, obj))
        try:
            matches = self.selector(resource, namespace, query)
        except kube_objects.SelectorError as e:
            return self.send_status(400, "BadRequest", str(e))
        if verb == "list":
            return self.list(resource, matches, query)
        return self.watch(resource, matches, query)

    def selector(self, resource, namespace, query):
        by_field = kube_objects.field_selector(query.get("fieldSelector"), resource)
        by_label = kube_objects.label_selector(query.get("labelSelector"))
        if namespace is None:
            return lambda obj: by_field(obj) and by_label(obj)
        return lambda obj: (obj["metadata"].get("namespace") == namespace and by_field(obj)
                            and by_label(obj))

    # --- list --------------------------------------------------------------------------------

    def list(self, resource, matches, query):
        store = self.kube.store
        with store.cond:
            current, compacted = store.rv, store.compacted_rv
        start = ""
        rv_text = query.get("resourceVersion", "")
        if not (query.get("limit") or "0").isdigit():
            return self.send_status(400, "BadRequest", f"invalid limit: {query['limit']}")
        limit = int(query.get("limit") or 0)
        if query.get("continue"):
            try:
                token = json.loads(base64.urlsafe_b64decode(query["continue"] + "=="))
                at, start = int(token["rv"]), token["start"]
            except (ValueError, KeyError, TypeError, binascii.Error):
                return self.send_status(400, "BadRequest", "continue key is not valid")
            if at < compacted:
                return self.send_status(
                    410, "Expired", "The provided continue parameter is too old to display a "
                    "consistent list result. You can start a new list without the continue "
                    "parameter.")
        elif rv_text in ("", "0"):
            at = current
        elif not rv_text.isdigit():
            return self.send_status(400, "BadRequest", f"invalid resource version: {rv_text}")
        else:
            at = int(rv_text)
            exact = (query.get("resourceVersionMatch") == "Exact"
                     or (limit and not query.get("resourceVersionMatch")))
            if at > current:
                return self.send_status(
                    504, "Timeout", f"Too large resource version: {at}, current: {current}",
                    {"causes": [{"reason": "ResourceVersionTooLarge",
                                 "message": "Too large resource version"}],
                     "retryAfterSeconds": 1})
            if exact and at < compacted:
                return self.send_status(410, "Expired", f"too old resource version: {at} "
                                        f"({compacted})")
            if not exact:
                at = current
        items = [(key, obj) for key, obj in store.snapshot(resource, at)
                 if matches(obj) and "/".join(key) > start]
        meta = {"resourceVersion": str(at)}
        if limit and len(items) > limit:
            last = "/".join(items[limit - 1][0])
            meta["continue"] = base64.urlsafe_b64encode(dumps(
                {"v": "meta.k8s.io/v1", "rv": at, "start": last})).decode().rstrip("=")
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        self.send_json(200, {"kind": RESOURCES[resource][0] + "List", "apiVersion": "v1",
                             "metadata": meta, "items": [obj for _, obj in items]})

    # --- watch -------------------------------------------------------------------------------

    def peer_closed(self):
        """Whether the client closed the connection (a watch's client sends nothing more, so
        anything readable is its TLS close_notify or the end of the stream)."""
        if not select.select([self.connection], [], [], 0)[0]:
            return False
        self.connection.setblocking(False)
        try:
            return self.connection.recv(1) == b""
        except (BlockingIOError, ssl.SSLWantReadError):
            return False
        except OSError:
            return True
        finally:
            self.connection.settimeout(self.timeout)

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def write_event(self, event_type, object_json):
        self.write_chunk(b'{"type":"%s","object":%s}\n' % (event_type.encode(), object_json))

    def watch(self, resource, matches, query):
        store = self.kube.store
        bookmarks = _bool(query.get("allowWatchBookmarks", ""))
        timeout = float(query.get("timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        interval = self.kube.bookmark_interval
        next_bookmark = time.monotonic() + interval if interval else None
        rv_text = query.get("resourceVersion", "")
        if rv_text not in ("", "0") and not rv_text.isdigit():
            return self.send_status(400, "BadRequest", f"invalid resource version: {rv_text}")
        with store.cond:
            generation, bookmark_requests = store.watch_generation, store.bookmark_requests
            if rv_text in ("", "0"):  # the current state as ADDED events, then the changes
                cursor = len(store.history)
                initial = [obj for _, obj in store.snapshot(resource) if matches(obj)]
                too_old = None
            else:
                start = int(rv_text)
                cursor = store.history_index_after(start)
                initial = []
                too_old = start < store.compacted_rv and (start, store.compacted_rv)
        self.request_record.status = 200
        self.kube._set_watching(self.connection, not too_old)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        if too_old:
            self.write_event("ERROR", dumps(kube_objects.status(
                410, "Expired", "too old resource version: %d (%d)" % too_old)))
            return self.write_chunk(b"")
        try:
            for obj in initial:
                self.write_event("ADDED", dumps(with_type_meta(resource, obj)))
            while True:
                peer_check = time.monotonic() + PEER_CHECK_SECONDS
                with store.cond:
                    while (cursor == len(store.history) and generation == store.watch_generation
                           and bookmark_requests == store.bookmark_requests
                           and not self.kube._is_stalled(self.connection)):
                        now = time.monotonic()
                        wake = min(deadline, next_bookmark or deadline, peer_check)
                        if now >= wake:
                            break
                        store.cond.wait(wake - now)
                    idle = (cursor == len(store.history) and generation == store.watch_generation
                            and bookmark_requests == store.bookmark_requests)
                    changes = store.history[cursor:]
                    cursor = len(store.history)
                    rv_now = store.rv
                    ended = generation != store.watch_generation
                    bookmark = bookmark_requests != store.bookmark_requests
                    bookmark_requests = store.bookmark_requests
                if self.kube._is_stalled(self.connection):
                    return self.stay_silent()
                if idle and self.peer_closed():  # the client went away: so does the watch
                    self.close_connection = True
                    return
                if ended:  # end_watches(): abrupt ones are cut by the emulator already
                    self.close_connection = True
                    self.kube._set_watching(self.connection, False)
                    return self.write_chunk(b"")
                for change in changes:
                    event = self.event_type(change, resource, matches)
                    if event:
                        self.write_event(event, change.object_json(dumps))
                now = time.monotonic()
                if next_bookmark is not None and now >= next_bookmark:
                    bookmark = True
                    next_bookmark = now + interval
                if bookmark and bookmarks:
                    self.write_event("BOOKMARK", dumps({"kind": RESOURCES[resource][0],
                                                        "apiVersion": "v1", "metadata": {
                                                            "resourceVersion": str(rv_now)}}))
                if now >= deadline:
                    self.kube._set_watching(self.connection, False)
                    return self.write_chunk(b"")
        except OSError:
            self.close_connection = True
        finally:
            self.kube._set_watching(self.connection, False)

    def stay_silent(self):
        """A stalled watch (stall_watches): sends nothing, ends never, until the client closes
        the connection (or the emulator goes down, which cuts it)."""
        while not self.peer_closed():
            time.sleep(PEER_CHECK_SECONDS)
        self.kube._stalled_watch_closed(self.connection)
        self.close_connection = True

    @staticmethod
    def event_type(change, resource, matches):
        """The event a watch with selector `matches` gets for `change`, or None."""
        if change.resource != resource:
            return None
        if change.deleted:
            return "DELETED" if matches(change.new) else None
        was = change.old is not None and matches(change.old)
        now = matches(change.new)
        if was and now:
            return "MODIFIED"
        if now:
            return "ADDED"
        return "DELETED" if was else None
