"""deploy/: the configs the manifests and the image ship are valid and do what they say.

- deploy/node-daemon.yaml is embedded verbatim in the DaemonSet's ConfigMap, validates, and
  run against a scratch /var/log it tails container and host logs into its archive.
- deploy/kubernetes/sidecar.yaml's SLUICE_SINKS works for `sluice run -- app`.
- The Dockerfiles copy files that exist; the DaemonSet's grace period outlasts sluice's
  shutdown deadline; every variable the config requires is set in the DaemonSet.
- Every manifest follows the Kubernetes API's schemas (kube_schema.py: the models of Debian's
  python3-kubernetes), and the daemon's RBAC is what its metadata needs and no more.
Nothing here needs docker or a cluster. Cases that need the `file`/`container` sources are
skipped until the build has them.
"""

import copy
import glob
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kube_schema  # noqa: E402
import sluice_e2e as e2e  # noqa: E402

SOURCE_DIR = e2e.SOURCE_DIR
DEPLOY = os.path.join(SOURCE_DIR, "deploy")
NODE_CONFIG = os.path.join(DEPLOY, "node-daemon.yaml")
DAEMONSET = os.path.join(DEPLOY, "kubernetes", "daemonset.yaml")
SIDECAR = os.path.join(DEPLOY, "kubernetes", "sidecar.yaml")


def read(path):
    with open(path) as f:
        return f.read()


def block_scalar(text, key):
    """The value of the literal block scalar `key: |` in YAML text (no YAML library needed):
    the following lines indented deeper than the key, de-indented; blank lines kept."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)" + re.escape(key) + r":\s*\|\s*$", line)
        if not m:
            continue
        key_indent = len(m.group(1))
        body = []
        indent = None
        for raw in lines[i + 1:]:
            if raw.strip() == "":
                body.append("\n")
                continue
            this = len(raw) - len(raw.lstrip(" "))
            if this <= key_indent:
                break
            if indent is None:
                indent = this
            body.append(raw[indent:])
        while body and body[-1] == "\n":  # `|` keeps exactly one final newline
            body.pop()
        return "".join(body)
    raise AssertionError(f"no `{key}: |` block in the text")


def env_values(manifest_text):
    """{name: value} of the literal `- name: X / value: Y` env entries of a manifest."""
    out = {}
    for m in re.finditer(r"-\s+name:\s*(\S+)\s*\n\s+value:\s*(.+)", manifest_text):
        value = m.group(2).strip()
        if value[:1] in "\"'":
            value = json.loads(value) if value[0] == '"' else value[1:-1]
        out[m.group(1)] = value
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DeployFiles(e2e.SluiceTestCase):
    """Static checks: need neither the file source nor docker."""

    def test_configmap_embeds_node_daemon_config_verbatim(self):
        embedded = block_scalar(read(DAEMONSET), "sluice.yaml")
        self.assertEqual(embedded, read(NODE_CONFIG),
                         "the ConfigMap in daemonset.yaml and deploy/node-daemon.yaml differ")

    def test_manifests_parse_when_pyyaml_is_present(self):
        try:
            import yaml
        except ImportError:
            self.skipTest("PyYAML not installed")
        docs = list(yaml.safe_load_all(read(DAEMONSET)))
        self.assertEqual([d["kind"] for d in docs],
                         ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                          "ConfigMap", "DaemonSet"])
        self.assertEqual(docs[4]["data"]["sluice.yaml"], read(NODE_CONFIG))
        pod = docs[5]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        mounts = {m["mountPath"]: m.get("readOnly", False) for m in container["volumeMounts"]}
        self.assertEqual(mounts, {"/etc/sluice": True, "/var/log": True,
                                  "/var/lib/docker/containers": True, "/var/lib/sluice": False})
        self.assertEqual(container["ports"][0]["name"], "metrics")
        # Liveness must not depend on sinks (a destination outage must not restart the pod).
        self.assertEqual(container["livenessProbe"]["httpGet"]["path"], "/health/live")
        self.assertEqual(container["readinessProbe"]["httpGet"]["path"], "/health/ready")
        self.assertTrue(container["securityContext"]["readOnlyRootFilesystem"])
        self.assertEqual(pod["tolerations"], [{"operator": "Exists"}])
        sidecar = list(yaml.safe_load_all(read(SIDECAR)))
        self.assertEqual([d["kind"] for d in sidecar], ["Deployment"])

    def test_daemonset_grace_period_outlasts_shutdown_deadline(self):
        text = read(DAEMONSET)
        grace = int(re.search(r"terminationGracePeriodSeconds:\s*(\d+)", text).group(1))
        env = env_values(text)
        self.assertGreater(grace, float(env["SLUICE_SHUTDOWN_TIMEOUT_SECONDS"]))
        self.assertEqual(env["SLUICE_METRICS_ADDR"], "0.0.0.0:9598")
        self.assertIn("fieldPath: spec.nodeName", text)
        sidecar = read(SIDECAR)
        grace = int(re.search(r"terminationGracePeriodSeconds:\s*(\d+)", sidecar).group(1))
        self.assertGreater(grace, float(env_values(sidecar)["SLUICE_SHUTDOWN_TIMEOUT_SECONDS"]))

    def test_daemonset_sets_every_variable_the_config_requires(self):
        config = read(NODE_CONFIG)
        # ${VAR} and ${VAR:?msg}, commented-out sinks included: they are the placeholders.
        required = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:\}|:\?)", config))
        self.assertIn("NODE_NAME", required)
        self.assertTrue({"KAFKA_BROKERS", "ES_URL"} <= required, required)
        text = read(DAEMONSET)
        for var in required:
            self.assertRegex(text, r"-\s+name:\s*" + var + r"\s*\n", f"{var} not set")

    def test_dockerfiles_copy_files_that_exist(self):
        for name in ("Dockerfile",):
            text = read(os.path.join(DEPLOY, name))
            for m in re.finditer(r"^COPY\s+(?!--from)(\S+)\s+\S+", text, re.M):
                if m.group(1) != ".":
                    self.assertTrue(os.path.exists(os.path.join(SOURCE_DIR, m.group(1))),
                                    f"{name} copies missing {m.group(1)}")
            self.assertIn('ENTRYPOINT ["/usr/local/bin/sluice"]', text)
            self.assertIn('CMD ["run", "-c", "/etc/sluice/sluice.yaml"]', text)
            self.assertIn("USER 10001:10001", text)
        # The sidecar image reads the package list the sluice image writes.
        self.assertIn("/usr/local/share/sluice/runtime-packages.txt", read(os.path.join(
            DEPLOY, "sidecar.Dockerfile")))

    def test_runtime_packages_cover_the_binary(self):
        if subprocess.run(["sh", "-c", "command -v dpkg && command -v ldd"],
                          capture_output=True).returncode != 0:
            self.skipTest("needs dpkg and ldd (Debian)")
        r = subprocess.run([os.path.join(DEPLOY, "runtime-packages.sh"), e2e.BIN],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        packages = r.stdout.split()
        self.assertIn("libc6", packages)
        self.assertIn("libre2-9", packages)
        self.assertEqual(packages, sorted(set(packages)))

    def test_sidecar_sinks_wrap_an_app(self):
        text = read(SIDECAR)
        command = json.loads(re.search(r"command:\s*(\[.*\])", text).group(1))
        self.assertEqual(command[:3], ["/usr/local/bin/sluice", "run", "--"])
        sinks = env_values(text)["SLUICE_SINKS"]
        self.assertNotIn("stdout://", sinks)  # passthrough already prints the app's output
        # As Kubernetes would expand it, with the volume moved to a scratch directory.
        sinks = sinks.replace("$(POD_NAME)", "orders-7d9f-x2x").replace("/var/log/app",
                                                                          self.dir)
        env = e2e.base_env({"SLUICE_SINKS": sinks, "SLUICE_METRICS_ADDR": "off"})
        r = self.run_sluice(["validate", "--", "/app/server"], env=env, timeout=10)
        self.assertEqual(r.rc, 0, r.describe())
        app = 'echo \'{"level":"info","msg":"order placed"}\'; echo oops >&2; exit 3'
        r = self.run_sluice(["run", "--", "sh", "-c", app], env=env, timeout=20)
        self.assertEqual(r.rc, 3, r.describe())  # the app's exit code
        self.assertIn(b"order placed", r.stdout)  # passed through for `kubectl logs`
        files = glob.glob(os.path.join(self.dir, "orders-7d9f-x2x-*.jsonl.gz"))
        self.assertEqual(len(files), 1, os.listdir(self.dir))
        import gzip
        with gzip.open(files[0], "rb") as f:
            events = e2e.parse_jsonl_bytes(f.read())
        self.assertEqual([e.get("msg", e.get("message")) for e in events],
                         ["order placed", "oops"])


def manifest_documents():
    """{file name: [documents]} of every deploy/kubernetes/*.yaml."""
    import yaml  # kube_schema makes Debian's python3-yaml importable, as python3-kubernetes
    out = {}
    for path in sorted(glob.glob(os.path.join(DEPLOY, "kubernetes", "*.yaml"))):
        out[os.path.basename(path)] = [d for d in yaml.safe_load_all(read(path)) if d is not None]
    return out


def uncommented_rules(text):
    """The manifest with its commented-out YAML lines (`  # - apiGroups: ...`,
    `  #   verbs: ...`) made live, as a user enabling them would."""
    return re.sub(r"^(\s*)# ((?:- |  )[A-Za-z]+: .*)$", r"\1\2", text, flags=re.M)


class ManifestSchemas(e2e.SluiceTestCase):
    """deploy/kubernetes/*.yaml against the API's schemas: every key a field of its model, every
    value of its type, required fields present, apiVersion serving the kind."""

    @classmethod
    def setUpClass(cls):
        if not kube_schema.models_available():
            raise AssertionError("python3-kubernetes is missing (scripts/install-deps.sh, run "
                                 "by `make test`, installs it)")
        cls.docs = manifest_documents()

    def by_kind(self, name, kind):
        found = [d for d in self.docs[name] if d["kind"] == kind]
        self.assertEqual(len(found), 1, f"{kind} in {name}")
        return found[0]

    def test_every_manifest_follows_the_api_schema(self):
        self.assertEqual(sorted(self.docs), ["daemonset.yaml", "sidecar.yaml"])
        for name, docs in self.docs.items():
            for doc in docs:
                with self.subTest(file=name, kind=doc.get("kind")):
                    self.assertEqual(kube_schema.check_object(doc), [])

    def test_the_check_catches_misspelt_keys_wrong_types_and_versions(self):
        daemonset = copy.deepcopy(self.by_kind("daemonset.yaml", "DaemonSet"))
        container = daemonset["spec"]["template"]["spec"]["containers"][0]
        field_ref = container["env"][0]["valueFrom"]["fieldRef"]
        field_ref["fieldpath"] = field_ref.pop("fieldPath")
        container["ports"][0]["containerPort"] = "9598"
        daemonset["spec"]["template"]["spec"]["serviceAcountName"] = "sluice"
        where = "DaemonSet sluice: spec.template.spec."
        errors = kube_schema.check_object(daemonset)
        self.assertCountEqual([e.split(" (known: ")[0] for e in errors], [
            where + "serviceAcountName: unknown field of V1PodSpec",
            where + "containers[0].env[0].valueFrom.fieldRef.fieldpath: unknown field of "
            "V1ObjectFieldSelector",
            where + "containers[0].env[0].valueFrom.fieldRef.fieldPath: required field of "
            "V1ObjectFieldSelector missing",
            where + "containers[0].ports[0].containerPort: expected int, got str '9598'"])
        binding = dict(self.by_kind("daemonset.yaml", "ClusterRoleBinding"),
                       apiVersion="rbac.authorization.k8s.io/v1beta2")
        self.assertEqual(kube_schema.check_object(binding), [
            "ClusterRoleBinding sluice: apiVersion rbac.authorization.k8s.io/v1beta2 does not "
            "serve kind ClusterRoleBinding (served by: rbac.authorization.k8s.io/v1, "
            "rbac.authorization.k8s.io/v1alpha1)"])

    def test_daemon_may_read_pods_and_nothing_else(self):
        account = self.by_kind("daemonset.yaml", "ServiceAccount")
        role = self.by_kind("daemonset.yaml", "ClusterRole")
        binding = self.by_kind("daemonset.yaml", "ClusterRoleBinding")
        pod = self.by_kind("daemonset.yaml", "DaemonSet")["spec"]["template"]["spec"]
        self.assertNotEqual(account.get("automountServiceAccountToken"), False)
        self.assertIs(pod["automountServiceAccountToken"], True)
        self.assertEqual(pod["serviceAccountName"], account["metadata"]["name"])
        self.assertEqual(role["rules"], [{"apiGroups": [""], "resources": ["pods"],
                                          "verbs": ["get", "list", "watch"]}])
        self.assertEqual(binding["roleRef"], {"apiGroup": "rbac.authorization.k8s.io",
                                              "kind": "ClusterRole",
                                              "name": role["metadata"]["name"]})
        self.assertEqual(binding["subjects"], [{"kind": "ServiceAccount",
                                                "name": account["metadata"]["name"],
                                                "namespace": account["metadata"]["namespace"]}])
        env = {e["name"]: e for e in pod["containers"][0]["env"]}
        self.assertEqual(env["NODE_NAME"]["valueFrom"], {"fieldRef": {"fieldPath":
                                                                      "spec.nodeName"}})
        # The sidecar's sluice reads pipes only: no token in its pod.
        sidecar = self.by_kind("sidecar.yaml", "Deployment")["spec"]["template"]["spec"]
        self.assertIs(sidecar["automountServiceAccountToken"], False)
        self.assertNotIn("serviceAccountName", sidecar)

    def test_namespace_rule_to_uncomment_for_namespace_labels(self):
        import yaml
        docs = list(yaml.safe_load_all(uncommented_rules(read(DAEMONSET))))
        role, = [d for d in docs if d["kind"] == "ClusterRole"]
        self.assertEqual(kube_schema.check_object(role), [])
        self.assertEqual(role["rules"][1], {"apiGroups": [""], "resources": ["namespaces"],
                                            "verbs": ["get", "list", "watch"]})
        self.assertEqual(len(docs), len(self.docs["daemonset.yaml"]))  # nothing else changed


class NodeDaemonConfig(e2e.SluiceTestCase):
    def node_env(self, **extra):
        env = {"NODE_NAME": "node-1", "SLUICE_LOG_ROOT": self.path("log"),
               "SLUICE_DATA_DIR": self.path("data"), "SLUICE_METRICS_ADDR": "off"}
        env.update(extra)
        return e2e.base_env(env)

    def test_validates(self):
        r = self.run_sluice(["validate", "-c", NODE_CONFIG], env=self.node_env(), timeout=10)
        self.assertEqual(r.rc, 0, r.describe())
        for name in ("containers", "host_logs", "archive", "console"):
            self.assertIn(name, r.stdout.decode())
        # With the DaemonSet's own environment (paths as in the pod), too.
        env = {k: v for k, v in env_values(read(DAEMONSET)).items()}
        env.update({"NODE_NAME": "node-1", "SLUICE_METRICS_ADDR": "off"})
        r = self.run_sluice(["validate", "-c", NODE_CONFIG], env=e2e.base_env(env), timeout=10)
        self.assertEqual(r.rc, 0, r.describe())

    def test_node_name_is_required(self):
        r = self.run_sluice(["validate", "-c", NODE_CONFIG],
                            env=self.node_env(NODE_NAME=None), timeout=10)
        self.assertEqual(r.rc, 78, r.describe())
        self.assertIn("NODE_NAME", r.stderr_text)

    def test_tails_containers_and_host_logs_into_the_archive(self):
        if subprocess.run(["sh", "-c", "command -v zstd"], capture_output=True).returncode:
            self.skipTest("needs the zstd command to read the archive")
        containers = self.path("log", "containers")
        os.makedirs(containers)
        os.makedirs(self.path("data"))
        pod_log = os.path.join(containers, "api-1_shop_server-" + "c" * 64 + ".log")
        own_log = os.path.join(containers, "sluice-x2x_sluice_sluice-" + "d" * 64 + ".log")
        with open(pod_log, "w") as f:
            f.write('2024-05-01T10:00:00.1Z stdout F {"level":"info","msg":"hi"}\n'
                    '2024-05-01T10:00:00.2Z stderr F Exception in thread "main" '
                    "java.lang.IllegalStateException: boom\n"
                    "2024-05-01T10:00:00.2Z stderr F \tat com.example.A.b(A.java:1)\n"
                    '2024-05-01T10:00:00.3Z stdout F {"level":"error","msg":"bad"}\n')
        with open(own_log, "w") as f:
            f.write('2024-05-01T10:00:00.4Z stdout F {"level":"error","msg":"echo of ours"}\n')
        syslog = self.write_file("log/syslog", "history, not replayed\n")
        port = free_port()
        running = self.start(["run", "-c", NODE_CONFIG],
                             env=self.node_env(SLUICE_METRICS_ADDR=f"127.0.0.1:{port}"))
        e2e.wait_until(lambda: b"bad" in running.stdout(), timeout=15,
                       what="the error on the console")
        for path in ("/health/live", "/health/ready"):  # what the DaemonSet's probes ask
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
                self.assertEqual(resp.status, 200, path)
        # Host lines appended while running are read (the file's history is not); the first
        # ones may land before the file is first found, and count as history then.
        for _ in range(10):
            with open(syslog, "a") as f:
                f.write("2024-05-01T10:00:01.000000+00:00 node1 kernel[12]: disk ok\n")
            time.sleep(0.3)
        running.signal(signal.SIGTERM)
        r = running.wait(timeout=20)
        self.assertEqual(r.rc, 0, r.describe())

        console = e2e.parse_jsonl_bytes(r.stdout)
        self.assertEqual([e["msg"] for e in console], ["bad"])  # warnings and up only
        self.assertEqual(console[0]["host"]["name"], "node-1")
        shop = glob.glob(self.path("data", "archive", "shop", "*.jsonl.zst"))
        self.assertEqual(len(shop), 1, shop)
        events = [json.loads(line) for line in self._archive_bytes().splitlines()]
        container_events = [e for e in events if e["source"] == "containers"]
        self.assertEqual(len(container_events), 3, container_events)  # own log excluded
        self.assertEqual(container_events[0]["kubernetes"]["namespace"], "shop")
        self.assertIn("boom\n\tat com.example.A.b", container_events[1]["message"])
        host = [e for e in events if e["source"] == "host_logs"]
        self.assertTrue(host, "no host log events")
        self.assertEqual(host[0]["program"], "kernel")
        self.assertEqual(host[0]["message"], "disk ok")
        self.assertNotIn("history", json.dumps(events))

    def _archive_bytes(self):
        out = b""
        for path in sorted(glob.glob(self.path("data", "archive", "*", "*.jsonl.zst"))):
            out += subprocess.run(["zstd", "-dc", "-q", path], capture_output=True,
                                  check=True).stdout
        return out


if __name__ == "__main__":
    e2e.main()
