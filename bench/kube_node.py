#!/usr/bin/env python3
"""The node of bench/kubernetes.sh: pods as a busy node runs them and a container log file for
each (run by the script, not a test). Standard library only, plus tests/e2e/kube_objects.py for
the pods' shapes and their /var/log/containers file names.

    kube_node.py pods DIR PODS LINES ANNOTATION_KIB SEED
        Writes LINES CRI lines to DIR/<pod>_<namespace>_<container>-<id>.log for each of PODS
        pods and prints, one a line, the emulator's `make-pod` command of each pod (standalone
        protocol of tests/e2e/kube_emulator.py).
    kube_node.py append DIR PODS LINES SEED OUT
        Writes to OUT, grouped by file, LINES more lines for each of those files as
        `<file name>\\t<CRI line>`: the script appends them all at once with awk when it times
        the steady state.

The pods: Deployments (ReplicaSet owners, `pod-template-hash`), StatefulSets, DaemonSets and
Jobs (some of CronJobs) in a handful of namespaces, each with about ten labels as Helm charts and
kubectl set them (`app`, `app.kubernetes.io/{name,instance,version,component,part-of,
managed-by}`, `team`, `version`, `environment`, plus the controller's own), a
`kubectl.kubernetes.io/last-applied-configuration` of ANNOTATION_KIB KiB, and a few other
annotations (`prometheus.io/*`, `kubectl.kubernetes.io/restartedAt`, `checksum/config`). The lines
are what such services write: JSON request logs, nginx access lines, log4j-style lines.
"""

import json
import os
import random
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import kube_objects  # noqa: E402

NAMESPACES = ["shop", "payments", "search", "data", "monitoring", "kube-system", "batch"]
# (kind, share of the pods) — what a general-purpose node runs.
KINDS = [("deployment", 0.64), ("statefulset", 0.14), ("daemonset", 0.08), ("job", 0.07),
         ("cronjob", 0.07)]
APPS = ["checkout", "cart", "catalog", "orders", "ledger", "gateway", "search-api", "indexer",
        "postgres", "redis", "kafka", "prometheus", "fluent-relay", "node-exporter", "kube-proxy",
        "report", "billing-sync", "thumbnailer", "recommender", "auth"]
TEAMS = ["checkout", "payments", "search", "data", "platform", "sre"]
STYLES = ["json", "nginx", "log4j"]


def pod_spec(i, annotation_kib):
    """The builder and its arguments for the node's i-th pod."""
    rng = random.Random(i)
    cut, kind = rng.random(), KINDS[-1][0]
    for name, share in KINDS:
        if cut < share:
            kind = name
            break
        cut -= share
    app = APPS[i % len(APPS)]
    namespace = {"daemonset": "kube-system", "job": "batch", "cronjob": "batch"}.get(
        kind, NAMESPACES[i % 5])
    version = f"{1 + i % 3}.{i % 7}.{i % 5}"
    component = rng.choice(["api", "worker", "database", "cache", "agent"])
    labels = {"app": app, "app.kubernetes.io/name": app,
              "app.kubernetes.io/instance": f"{app}-prod", "app.kubernetes.io/version": version,
              "app.kubernetes.io/component": component, "app.kubernetes.io/part-of": namespace,
              "app.kubernetes.io/managed-by": "Helm", "team": TEAMS[i % len(TEAMS)],
              "version": f"v{version}", "environment": "production"}
    annotations = {"prometheus.io/scrape": "true", "prometheus.io/port": str(9100 + i % 50),
                   "kubectl.kubernetes.io/restartedAt": "2026-12-01T09:30:00Z",
                   "checksum/config": kube_objects.uid_for("config", app).replace("-", "")}
    image = f"registry.example.com/{namespace}/{app}:{version}"
    kwargs = {"namespace": namespace, "labels": labels, "annotations": annotations,
              "containers": {app: image}, "last_applied_bytes": annotation_kib << 10}
    # Names unique on the node: replica/ordinal numbers from i.
    if kind == "deployment":
        kwargs.update(deployment=f"{app}-{i // len(APPS)}", replica=i)
    elif kind == "statefulset":
        kwargs.update(statefulset=f"{app}-{i // len(APPS)}", ordinal=i % 5)
    elif kind == "daemonset":
        kwargs.update(daemonset=f"{app}-{i}")
    elif kind == "job":
        kwargs.update(job=f"{app}-migrate-{i}")
    else:
        kwargs.update(cronjob=f"{app}-{i}", scheduled_minutes=29_000_000 + i)
    return kind, kwargs, app, STYLES[i % len(STYLES)]


def cri_lines(rng, app, style, count, start_ns):
    """`count` CRI records (`<RFC 3339 ns> <stream> F <line>`) of a service of that style."""
    out = []
    paths = ["/api/v1/orders", "/api/v1/cart/items", "/healthz", "/api/v1/search", "/metrics",
             "/api/v2/users/profile", "/static/app.js"]
    for n in range(count):
        ns = start_ns + n * 1_000_000
        secs, frac = divmod(ns, 1_000_000_000)
        stamp = kube_objects.rfc3339(secs)[:-1] + f".{frac:09d}Z"
        status = rng.choice([200, 200, 200, 200, 201, 204, 304, 404, 500])
        path = rng.choice(paths)
        ms = rng.randint(1, 900) / 10
        stream = "stdout"
        if style == "json":
            level = "error" if status >= 500 else rng.choice(["info", "info", "info", "debug"])
            line = json.dumps({"time": stamp, "level": level, "logger": f"{app}.http",
                               "msg": "request handled", "method": rng.choice(["GET", "POST"]),
                               "path": path, "status": status, "duration_ms": ms,
                               "trace_id": f"{rng.getrandbits(64):016x}"}, separators=(",", ":"))
        elif style == "nginx":
            line = (f"10.244.{rng.randint(0, 255)}.{rng.randint(2, 254)} - - "
                    f"[07/Dec/2026:10:{n // 60 % 60:02d}:{n % 60:02d} +0000] "
                    f"\"GET {path} HTTP/1.1\" "
                    f"{status} {rng.randint(100, 90000)} \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\"")
        else:
            level = "ERROR" if status >= 500 else rng.choice(["INFO", "INFO", "WARN", "DEBUG"])
            stream = "stderr" if level == "ERROR" else "stdout"
            thread = f"http-nio-8080-exec-{rng.randint(1, 20)}"
            line = (f"{stamp[:10]} {stamp[11:23]} {level:5} [{thread}]"
                    f" c.e.{app.replace('-', '')}.web.RequestLogger - {path} answered {status}"
                    f" in {ms} ms")
        out.append(f"{stamp} {stream} F {line}\n")
    return out


def log_name(kind, kwargs, app):
    """The pod's log file name (the builders are deterministic: built again without the
    annotation, the pod has the same name)."""
    light = dict(kwargs, last_applied_bytes=0)
    pod = {"deployment": kube_objects.deployment_pod, "statefulset": kube_objects.statefulset_pod,
           "daemonset": kube_objects.daemonset_pod, "job": kube_objects.job_pod,
           "cronjob": kube_objects.cronjob_pod}[kind](**light)
    return kube_objects.log_file_name(pod, app)


def main(argv):
    mode, directory, pods, lines = argv[0], argv[1], int(argv[2]), int(argv[3])
    if mode == "pods":
        annotation_kib, seed = int(argv[4]), int(argv[5])
        for i in range(pods):
            kind, kwargs, app, style = pod_spec(i, annotation_kib)
            rng = random.Random(seed * 1_000_003 + i)
            with open(os.path.join(directory, log_name(kind, kwargs, app)), "w") as f:
                f.writelines(cri_lines(rng, app, style, lines, 1_796_637_600_000_000_000))
            print(f"make-pod {kind} {json.dumps(kwargs, separators=(',', ':'))}")
    elif mode == "append":
        seed, out = int(argv[4]), argv[5]
        with open(out, "w") as f:
            for i in range(pods):
                kind, kwargs, app, style = pod_spec(i, 0)
                rng = random.Random(seed * 1_000_003 + i + 7_777_777)
                name = log_name(kind, kwargs, app)
                f.writelines(f"{name}\t{line}" for line in
                             cri_lines(rng, app, style, lines, 1_796_641_200_000_000_000))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
