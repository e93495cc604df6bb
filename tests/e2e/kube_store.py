"""The emulated API server's storage (used by kube_emulator.py): pods and namespaces by key, one
resourceVersion counter for every resource (etcd's revision), the history of changes that
watches replay, and compaction.

Rules kept from the API (https://kubernetes.io/docs/reference/using-api/api-concepts/):
  - every write bumps the one global resourceVersion and stamps it on the object;
  - a deletion is a change too: the DELETED event carries the object's last state with the
    deletion's resourceVersion; a graceful deletion first sets deletionTimestamp (MODIFIED);
  - a watch from resourceVersion N sees exactly the changes after N; N older than the
    compaction point is answered `410 Expired` (kube_emulator.py);
  - a list with resourceVersion N and resourceVersionMatch=Exact (or a continue token of N)
    shows the state at N.
"""

import bisect
import copy
import threading

import kube_objects

RESOURCES = {"pods": ("Pod", True), "namespaces": ("Namespace", False)}  # kind, namespaced


class Conflict(Exception):
    """An add of an object that exists, or a change of one that does not: (code, Status)."""

    def __init__(self, code, body):
        super().__init__(body["message"])
        self.code = code
        self.body = body


class Change:
    """One entry of the history: `old` is None for a creation; `deleted` marks a deletion, whose
    `new` is the object's last state stamped with the deletion's resourceVersion."""

    __slots__ = ("rv", "resource", "old", "new", "deleted", "_json")

    def __init__(self, rv, resource, old, new, deleted):
        self.rv, self.resource, self.old, self.new, self.deleted = rv, resource, old, new, deleted
        self._json = None

    def object_json(self, dumps):
        """The watch event's object, serialised once for every watcher."""
        if self._json is None:
            self._json = dumps(with_type_meta(self.resource, self.new))
        return self._json


def key_of(resource, obj):
    meta = obj["metadata"]
    return (meta.get("namespace", "") if RESOURCES[resource][1] else "", meta["name"])


def with_type_meta(resource, obj):
    """The object with kind and apiVersion first, as GET and watch events carry it (list items
    do not)."""
    out = {"kind": RESOURCES[resource][0], "apiVersion": "v1"}
    out.update(obj)
    return out


class Store:
    def __init__(self, first_resource_version=1000):
        self.cond = threading.Condition()
        self.rv = first_resource_version
        self.compacted_rv = first_resource_version  # watches from before this get 410
        self.objects = {name: {} for name in RESOURCES}
        self.history = []   # Change, in resourceVersion order
        self._history_rvs = []
        self.bookmark_requests = 0  # bumped by request_bookmark(): every watch sends one
        self.watch_generation = 0   # bumped by end_watches(): every open watch ends

    # --- writes ----------------------------------------------------------------------------

    def _record(self, resource, old, new, deleted=False):
        """Under the lock: bump the resourceVersion, stamp it, keep the change, wake watches."""
        self.rv += 1
        new = copy.deepcopy(new)
        new["metadata"]["resourceVersion"] = str(self.rv)
        if deleted:
            self.objects[resource].pop(key_of(resource, new), None)
        else:
            self.objects[resource][key_of(resource, new)] = new
        self.history.append(Change(self.rv, resource, old, new, deleted))
        self._history_rvs.append(self.rv)
        self.cond.notify_all()
        return copy.deepcopy(new)

    def add(self, resource, obj):
        with self.cond:
            key = key_of(resource, obj)
            if key in self.objects[resource]:
                raise Conflict(409, kube_objects.status(
                    409, "AlreadyExists", f'{resource} "{key[1]}" already exists',
                    {"name": key[1], "kind": resource}))
            return self._record(resource, None, obj)

    def _existing(self, resource, namespace, name):
        obj = self.objects[resource].get((namespace if RESOURCES[resource][1] else "", name))
        if obj is None:
            raise Conflict(404, not_found(resource, name))
        return obj

    def patch(self, resource, namespace, name, merge_patch):
        """Applies an RFC 7386 merge patch; name, namespace and uid cannot change."""
        with self.cond:
            old = self._existing(resource, namespace, name)
            new = kube_objects.merge_patch(old, merge_patch)
            for field in ("name", "namespace", "uid"):
                if field in old["metadata"]:
                    new["metadata"][field] = old["metadata"][field]
            return self._record(resource, old, new)

    def replace(self, resource, obj):
        with self.cond:
            meta = obj["metadata"]
            old = self._existing(resource, meta.get("namespace", ""), meta["name"])
            return self._record(resource, old, obj)

    def delete(self, resource, namespace, name, graceful=True, grace_seconds=30):
        """Deletes an object; `graceful` first sets deletionTimestamp (a MODIFIED event), as the
        API server does for a pod with a grace period. Returns the deletion's resourceVersion."""
        with self.cond:
            old = self._existing(resource, namespace, name)
            if graceful:
                marked = copy.deepcopy(old)
                marked["metadata"]["deletionTimestamp"] = kube_objects.rfc3339()
                marked["metadata"]["deletionGracePeriodSeconds"] = grace_seconds
                old = self._record(resource, old, marked)
            self._record(resource, old, old, deleted=True)
            return self.rv

    def compact(self):
        """Forgets the history up to now: a watch or an exact list from an older
        resourceVersion gets 410. Open watches go on (they hold their place)."""
        with self.cond:
            self.compacted_rv = self.rv
            return self.rv

    def request_bookmark(self):
        with self.cond:
            self.bookmark_requests += 1
            self.cond.notify_all()

    def end_watches(self):
        with self.cond:
            self.watch_generation += 1
            self.cond.notify_all()

    # --- reads ----------------------------------------------------------------------------

    def get(self, resource, namespace, name):
        with self.cond:
            return copy.deepcopy(self._existing(resource, namespace, name))

    def snapshot(self, resource, at_rv=None):
        """[(key, object)] sorted by key (etcd's order) now, or at resourceVersion `at_rv` (replayed
        from the history)."""
        with self.cond:
            if at_rv is None or at_rv >= self.rv:
                items = dict(self.objects[resource])
            else:
                items = {}
                for change in self.history[:self.history_index_after(at_rv)]:
                    if change.resource != resource:
                        continue
                    if change.deleted:
                        items.pop(key_of(resource, change.new), None)
                    else:
                        items[key_of(resource, change.new)] = change.new
            return sorted(items.items())

    def history_index_after(self, rv):
        """Index in `history` of the first change after resourceVersion `rv` (under the lock)."""
        return bisect.bisect_right(self._history_rvs, rv)


def not_found(resource, name):
    return kube_objects.status(404, "NotFound", f'{resource} "{name}" not found',
                               {"name": name, "kind": resource})
