"""Kubernetes objects for the API-server emulator (kube_emulator.py): pods and namespaces shaped
as the API server returns them, `Status` error bodies, label and field selectors, and JSON merge
patches. Standard library only.

Field names follow the core/v1 schema (tests/e2e/test_kube_emulator.py checks every pod this
module builds against python3-kubernetes' V1Pod model); values follow what the kubelet, the
scheduler and the controllers write (owner references with `controller: true`, the
`pod-template-hash` label on a ReplicaSet's pods, `containerd://<64 hex>` container IDs, ...).

    pod = deployment_pod("web", "shop", node="node-1", labels={"app": "web"})
    pod["metadata"]["ownerReferences"][0]["name"]   # "web-6b7c9d8f5d" (the ReplicaSet)
    log_file_name(pod, "web")   # "web-6b7c9d8f5d-k2x7q_shop_web-<64 hex>.log" (/var/log/containers)
"""

import hashlib
import json
import re
import time

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet of generateName suffixes and hashes


def _digest(*parts):
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def _suffix(seed, length):
    """A deterministic suffix in the alphabet Kubernetes uses for generated names."""
    digest = _digest(seed)
    return "".join(_ALPHANUMS[int(digest[i * 2:i * 2 + 2], 16) % len(_ALPHANUMS)]
                   for i in range(length))


def uid_for(*parts):
    """A deterministic UUID-shaped uid."""
    d = _digest("uid", *parts)
    return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"


def rfc3339(seconds=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if seconds is None
                                                           else seconds))


def container_id(pod_name, namespace, container):
    """The 64 hex digits of a container's ID (the suffix of its /var/log/containers file)."""
    return _digest("container", namespace, pod_name, container)


def log_file_name(pod, container):
    """The kubelet's /var/log/containers/ name of a container's log: pod_namespace_container-id."""
    meta = pod["metadata"]
    return (f"{meta['name']}_{meta['namespace']}_{container}-"
            f"{container_id(meta['name'], meta['namespace'], container)}.log")


def _last_applied(name, namespace, size):
    """A kubectl last-applied-configuration of about `size` bytes: a JSON manifest whose env
    carries the padding, as large ConfigMap-style env blocks do."""
    manifest = {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"annotations": {}, "name": name, "namespace": namespace},
                "spec": {"containers": [{"name": "app", "image": "app:1", "env": []}]}}
    env = manifest["spec"]["containers"][0]["env"]
    length = len(json.dumps(manifest, separators=(",", ":")))
    while length < size:  # counted as it grows: dumping the whole each time is quadratic
        i = len(env)
        entry = {"name": f"SETTING_{i}",
                 "value": (_digest("env", name, str(i)) * 2)[:max(1, min(128, size - length))]}
        env.append(entry)
        length += len(json.dumps(entry, separators=(",", ":"))) + (1 if i else 0)
    return json.dumps(manifest, separators=(",", ":")) + "\n"


def make_pod(name, namespace="default", node="node-1", labels=None, annotations=None,
             owner=None, containers=None, ip=None, last_applied_bytes=0, phase="Running",
             generate_name=None, uid=None):
    """A pod as `GET /api/v1/namespaces/{ns}/pods/{name}` returns it, without resourceVersion
    (the emulator sets it). `owner` is (kind, name, apiVersion) of the controlling object;
    `containers` maps container name to image (default {"app": "registry.example.com/app:1.0"});
    `node=None` is a pod not scheduled yet (no nodeName, phase Pending, no IP)."""
    containers = containers or {"app": "registry.example.com/app:1.0"}
    uid = uid or uid_for("pod", namespace, name)
    created = rfc3339()
    meta = {"name": name, "namespace": namespace, "uid": uid, "creationTimestamp": created,
            "labels": dict(labels or {})}
    if generate_name:
        meta["generateName"] = generate_name
    meta["annotations"] = dict(annotations or {})
    if last_applied_bytes:
        meta["annotations"][LAST_APPLIED] = _last_applied(name, namespace, last_applied_bytes)
    if owner:
        kind, owner_name, api_version = owner
        meta["ownerReferences"] = [{"apiVersion": api_version, "kind": kind, "name": owner_name,
                                    "uid": uid_for(kind, namespace, owner_name),
                                    "controller": True, "blockOwnerDeletion": True}]
    meta["managedFields"] = [{"manager": "kube-controller-manager" if owner else "kubectl",
                              "operation": "Update", "apiVersion": "v1", "time": created,
                              "fieldsType": "FieldsV1",
                              "fieldsV1": {"f:metadata": {"f:labels": {
                                  f"f:{k}": {} for k in meta["labels"]}}}}]
    if not meta["annotations"]:
        del meta["annotations"]
    token_volume = f"kube-api-access-{_suffix(uid, 5)}"
    spec = {
        "volumes": [{"name": token_volume, "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt",
                           "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}],
        "containers": [{
            "name": cname, "image": image,
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
            "volumeMounts": [{"name": token_volume, "readOnly": True,
                              "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}
            for cname, image in containers.items()],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst", "serviceAccountName": "default",
        "serviceAccount": "default", "securityContext": {},
        "schedulerName": "default-scheduler",
        "tolerations": [{"key": f"node.kubernetes.io/{t}", "operator": "Exists",
                         "effect": "NoExecute", "tolerationSeconds": 300}
                        for t in ("not-ready", "unreachable")],
        "priority": 0, "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority"}
    status = {"phase": "Pending" if node is None else phase, "qosClass": "Burstable"}
    if node is not None:
        spec["nodeName"] = node
        digest = _digest("ip", namespace, name)
        ip = ip or f"10.244.{int(digest[:2], 16)}.{int(digest[2:4], 16) % 253 + 2}"
        host_ip = f"192.168.0.{int(_digest('node', node)[:2], 16) % 250 + 2}"
        ready = "True" if phase == "Running" else "False"
        status.update({
            "conditions": [{"type": t, "status": "True" if t in ("Initialized", "PodScheduled")
                            else ready, "lastProbeTime": None, "lastTransitionTime": created}
                           for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
            "hostIP": host_ip,
            "podIP": ip, "podIPs": [{"ip": ip}], "startTime": created,
            "containerStatuses": [{
                "name": cname, "state": {"running": {"startedAt": created}}, "lastState": {},
                "ready": phase == "Running", "restartCount": 0,
                "image": _full_image(image),
                "imageID": f"{_full_image(image).rsplit(':', 1)[0]}@sha256:"
                           f"{_digest('image', image)}",
                "containerID": f"containerd://{container_id(name, namespace, cname)}",
                "started": phase == "Running"} for cname, image in containers.items()]})
    else:
        status["conditions"] = [{"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                                 "lastTransitionTime": created, "reason": "Unschedulable",
                                 "message": "0/1 nodes are available."}]
    return {"metadata": meta, "spec": spec, "status": status}


def _full_image(image):
    """The image as the runtime reports it: docker.io/library/nginx:1.25 for nginx:1.25."""
    name = image if ":" in image.rsplit("/", 1)[-1] else image + ":latest"
    first = name.split("/", 1)[0]
    if "/" not in name:
        return "docker.io/library/" + name
    if "." not in first and ":" not in first and first != "localhost":
        return "docker.io/" + name
    return name


# --- pods of each kind of workload, named as their controllers name them ----------------------

def deployment_pod(deployment, namespace="default", node="node-1", labels=None, replica=0,
                   template_hash=None, **kwargs):
    """A pod of Deployment `deployment`: owned by ReplicaSet `<deployment>-<pod-template-hash>`,
    named `<replicaset>-<5 chars>`, labelled pod-template-hash."""
    template_hash = template_hash or _suffix(f"hash/{namespace}/{deployment}", 10)
    replicaset = f"{deployment}-{template_hash}"
    labels = dict(labels or {}, **{"pod-template-hash": template_hash})
    return make_pod(f"{replicaset}-{_suffix(f'{replicaset}/{replica}', 5)}", namespace, node,
                    labels=labels, owner=("ReplicaSet", replicaset, "apps/v1"),
                    generate_name=replicaset + "-", **kwargs)


def statefulset_pod(statefulset, ordinal=0, namespace="default", node="node-1", labels=None,
                    **kwargs):
    name = f"{statefulset}-{ordinal}"
    labels = dict(labels or {}, **{
        "controller-revision-hash": f"{statefulset}-{_suffix(statefulset, 10)}",
        "statefulset.kubernetes.io/pod-name": name, "apps.kubernetes.io/pod-index": str(ordinal)})
    return make_pod(name, namespace, node, labels=labels,
                    owner=("StatefulSet", statefulset, "apps/v1"),
                    generate_name=statefulset + "-", **kwargs)


def daemonset_pod(daemonset, namespace="kube-system", node="node-1", labels=None, **kwargs):
    labels = dict(labels or {}, **{"controller-revision-hash": _suffix(daemonset, 10),
                                   "pod-template-generation": "1"})
    return make_pod(f"{daemonset}-{_suffix(f'{daemonset}/{node}', 5)}", namespace, node,
                    labels=labels, owner=("DaemonSet", daemonset, "apps/v1"),
                    generate_name=daemonset + "-", **kwargs)


def job_pod(job, namespace="default", node="node-1", labels=None, **kwargs):
    """A pod of Job `job`; a CronJob's Job is `<cronjob>-<scheduled time in minutes>`
    (cronjob_pod)."""
    job_uid = uid_for("Job", namespace, job)
    labels = dict(labels or {}, **{"batch.kubernetes.io/controller-uid": job_uid,
                                   "batch.kubernetes.io/job-name": job,
                                   "controller-uid": job_uid, "job-name": job})
    return make_pod(f"{job}-{_suffix(job, 5)}", namespace, node, labels=labels,
                    owner=("Job", job, "batch/v1"), generate_name=job + "-", **kwargs)


def cronjob_pod(cronjob, scheduled_minutes=28_000_000, **kwargs):
    return job_pod(f"{cronjob}-{scheduled_minutes}", **kwargs)


def make_namespace(name, labels=None):
    labels = dict(labels or {}, **{"kubernetes.io/metadata.name": name})
    return {"metadata": {"name": name, "uid": uid_for("namespace", name),
                         "creationTimestamp": rfc3339(), "labels": labels},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


# --- errors ------------------------------------------------------------------------------------

def status(code, reason, message, details=None):
    """A meta/v1 Status, the body of every error answer and of a watch's ERROR event."""
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


# --- selectors ---------------------------------------------------------------------------------

class SelectorError(ValueError):
    pass


# Fields the API server accepts in a fieldSelector, by resource (pkg/registry/core/*/strategy.go).
SELECTABLE_FIELDS = {
    "pods": {"metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy",
             "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
             "status.podIP", "status.nominatedNodeName"},
    "namespaces": {"metadata.name", "status.phase"},
}


def _field_value(obj, path):
    value = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def field_selector(text, resource):
    """A predicate for `fieldSelector` (`a=b`, `a==b`, `a!=b`, comma-separated: all must hold)."""
    terms = []
    for term in filter(None, (text or "").split(",")):
        m = re.fullmatch(r"([^=!]+)(==|=|!=)(.*)", term)
        if not m:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
        field, op, value = m.groups()
        if field not in SELECTABLE_FIELDS[resource]:
            raise SelectorError(f'field label not supported: {field}')
        terms.append((field, op != "!=", value))
    return lambda obj: all((_field_value(obj, f) == v) == eq for f, eq, v in terms)


_LABEL_TERM = re.compile(r"\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9._-]*)|"
                         r"(in|notin)\s*\(([^)]*)\))?\s*")


def label_selector(text):
    """A predicate for `labelSelector`: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a)`,
    `k` (exists), `!k` (does not), comma-separated outside parentheses."""
    terms = []
    text = text or ""
    pos = 0
    while pos < len(text):
        m = _LABEL_TERM.match(text, pos)
        if not m or m.end() == pos:
            raise SelectorError(f"unable to parse requirement: {text[pos:]!r}")
        neg, key, op, value, set_op, values = m.groups()
        if neg and (op or set_op):
            raise SelectorError(f"unable to parse requirement: {m.group(0)!r}")
        if set_op:
            allowed = {v.strip() for v in values.split(",")}
            terms.append(lambda labels, k=key, s=allowed, inside=set_op == "in":
                         (labels.get(k) in s) == inside)
        elif op:
            terms.append(lambda labels, k=key, v=value, eq=op != "!=":
                         (labels.get(k) == v) == eq)
        else:
            terms.append(lambda labels, k=key, exists=not neg: (k in labels) == exists)
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                raise SelectorError(f"unable to parse requirement: {text[pos:]!r}")
            pos += 1
    return lambda obj: all(t(obj["metadata"].get("labels") or {}) for t in terms)


# --- changes -----------------------------------------------------------------------------------

def merge_patch(target, patch):
    """RFC 7386 JSON merge patch (`application/merge-patch+json`): null deletes a key."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out
