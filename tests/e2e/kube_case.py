"""The set-up shared by the end-to-end tests of the `container` source's Kubernetes metadata:
the API-server emulator over HTTPS with its test CA and a bearer token, pods' log files written
as the kubelet names them (CRI records), and sluice started on them with `kubernetes:` on."""

import http.client
import json
import os
import signal
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kube_objects  # noqa: E402
from kube_emulator import KubeApiEmulator  # noqa: E402
from sluice_e2e import (SluiceTestCase, base_env, read_jsonl, read_jsonl_so_far,  # noqa: E402
                        yaml_str)

CRI = "2026-12-07T10:00:00.000000000Z stdout F "
NODE = "node-1"


class KubeCase(SluiceTestCase):
    """A test case with a running emulator (`self.kube`), the token file it accepts
    (`self.token`) and a directory of container logs."""

    TOKEN = "t0"
    # Further `kubernetes:` options of every run, and the environment sluice runs with.
    KUBERNETES = ""
    ENV = {}

    def setUp(self):
        self.kube = KubeApiEmulator(tls=True, token=self.TOKEN)
        self.kube.up()
        self.addCleanup(self.kube.close)
        self.token = self.write_file("token", self.TOKEN + "\n")
        os.makedirs(self.path("containers"), exist_ok=True)
        self.started = []  # the sluice processes start_sluice ran

    def write_log(self, pod, container, lines):
        """Appends CRI lines to the pod's /var/log/containers-style file; returns its path."""
        path = self.path("containers", kube_objects.log_file_name(pod, container))
        with open(path, "a") as f:
            for line in lines:
                f.write(CRI + line + "\n")
        return path

    def pods_config(self, extra="", transforms="", sinks=""):
        """A config whose source `pods` reads the container logs with metadata from the
        emulator (`extra`: more `kubernetes:` options), into the file sink `out` (out.jsonl)
        and the `sinks` given; returns (config path, output path)."""
        out = self.path("out.jsonl")
        cfg = self.config(f"""
            data_dir: {yaml_str(self.path('data'))}
            sources:
              pods:
                type: container
                include: [{yaml_str(self.path('containers', '*.log'))}]
                read_from: beginning
                glob_interval: 100ms
                kubernetes:
                  enabled: true
                  api_url: {yaml_str(self.kube.url)}
                  token_file: {yaml_str(self.token)}
                  ca_file: {yaml_str(self.kube.ca_file)}
                  node_name: {NODE}
                  {self.KUBERNETES}
                  {extra}
            {transforms}
            sinks:
              out: {{type: file, inputs: [pods], path: {yaml_str(out)}}}
              {sinks}
            """)
        return cfg, out

    def start_sluice(self, extra="", env=None):
        cfg, out = self.pods_config(extra)
        p = self.start(["run", "-c", cfg], env=base_env(dict(self.ENV, **(env or {}))))
        self.started.append(p)
        return p, out

    def health(self, port):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/health")
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()

    def events(self, out):
        """The sink's events: while a sluice of this test runs, its complete lines (the sink may
        be mid-write); once none runs, every line, which must then end with its newline."""
        if any(p.proc.poll() is None for p in self.started):
            return read_jsonl_so_far(out)
        return read_jsonl(out) if os.path.exists(out) else []

    def by_message(self, out):
        return {e["message"]: e for e in self.events(out)}

    def stop(self, p):
        p.signal(signal.SIGTERM)
        r = p.wait()
        self.assertEqual(r.rc, 0, r.describe())
        return r
