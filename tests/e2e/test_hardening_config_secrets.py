"""Credentials never leave sluice (issue 12, "Secrets and output hygiene"): not in its logs
(librdkafka's own lines included), /health, /metrics, `validate` output or config errors, while
the messages still say what went wrong (`kafka://user:***@127.0.0.1:…`)."""

import base64
import http.client
import os
import re
import signal
import socket
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402

EX_CONFIG = 78

# A number is an IPv4 address to getaddrinfo (2130706433 = 127.0.0.1) and needs no DNS: as a
# broker's host name it puts a secret into librdkafka's own log lines ("Connect to … failed"),
# which is what the log callbacks must mask.
NUMERIC_SECRET = "2130706433"
SECRETS = ["s3cretPW", "s3cretUSER", "s3cretKEYPW", "s3cretES", "s3cretAPIKEY", "s3cretOAUTH",
           NUMERIC_SECRET, base64.b64encode(b"elastic:s3cretES").decode()]


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        return conn.getresponse().read().decode("utf-8", "replace")
    finally:
        conn.close()


class Secrets(e2e.SluiceTestCase):

    def setUp(self):
        # Bound, never listening: connections are refused, and no other test can take the port.
        self.closed = socket.socket()
        self.closed.bind(("127.0.0.1", 0))
        self.addCleanup(self.closed.close)
        self.port = self.closed.getsockname()[1]

    def assertNoSecret(self, text, what):
        for secret in SECRETS:
            self.assertNotIn(secret, text, f"a secret in {what}:\n{text[-3000:]}")
        self.assertNotIn("s3cret", text, f"part of a secret in {what}:\n{text[-3000:]}")

    def run_refused(self, args, env, stdin_lines=b""):
        """Runs sluice with a stdin it keeps open (a pipeline that starts keeps running: the
        old binary then shows what it logs); returns (rc, all output)."""
        proc = subprocess.Popen([e2e.BIN] + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=env)
        try:
            proc.stdin.write(stdin_lines)
            proc.stdin.flush()
            out, _ = proc.communicate(timeout=8)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        except BrokenPipeError:
            out, _ = proc.communicate(timeout=8)
        return proc.returncode, out.decode("utf-8", "replace")

    # --- credentials in sink URLs ---

    def test_credentials_in_sink_urls_are_refused_and_masked(self):
        p = self.port
        cases = {
            f"kafka://user:s3cretPW@127.0.0.1:{p}/t": f"`kafka://user:***@127.0.0.1:{p}/t`",
            f"kafka://user:s3cret/PW@127.0.0.1:{p}/t": f"`kafka://user:***@127.0.0.1:{p}/t`",
            f"kafka://s3cretPW@127.0.0.1:{p}/t": f"`kafka://***@127.0.0.1:{p}/t`",
            f"elasticsearch+http://elastic:s3cretPW@127.0.0.1:{p}/logs":
                f"`elasticsearch+http://elastic:***@127.0.0.1:{p}/logs`",
            f"stdout://,kafka://user:s3cretPW@127.0.0.1:{p},127.0.0.1:{p}/t?acks=1":
                f"`kafka://user:***@127.0.0.1:{p},127.0.0.1:{p}/t`",
        }
        for url, shown in cases.items():
            env = e2e.base_env({"SLUICE_SINKS": url})
            for args in (["validate"], ["run"]):
                with self.subTest(url=url, command=args[0]):
                    rc, out = self.run_refused(args, env, b'{"msg":"hello"}\n')
                    self.assertNoSecret(out, "the output")
                    self.assertEqual(rc, EX_CONFIG, out)
                    self.assertIn(shown, out)
                    self.assertIn("credentials in a sink URL are not accepted", out)
            if url.startswith("stdout"):
                continue
            with self.subTest(url=url, command="tail --to"):
                log = self.write_file("app.log", "one line\n")
                rc, out = self.run_refused(["tail", "--no-follow", "-b", "--to", url, log],
                                           e2e.base_env())
                self.assertNoSecret(out, "tail's output")
                self.assertEqual(rc, EX_CONFIG, out)

    def test_credentials_in_kafka_brokers_are_refused(self):
        for kind in ("source", "sink"):
            if kind == "sink":
                body = f"""
                    sources:
                      in: {{type: stdin}}
                    sinks:
                      k: {{type: kafka, inputs: [in], topic: t,
                           brokers: "user:s3cretPW@127.0.0.1:{self.port}"}}
                    """
            else:
                body = f"""
                    sources:
                      k: {{type: kafka, group_id: g, topics: [t],
                           brokers: "user:s3cretPW@127.0.0.1:{self.port}"}}
                    sinks:
                      out: {{type: stdout, inputs: [k]}}
                    """
            cfg = self.config(body, name=f"{kind}.yaml")
            for command in ("validate", "run"):
                with self.subTest(kind=kind, command=command):
                    rc, out = self.run_refused([command, "-c", cfg], e2e.base_env())
                    self.assertNoSecret(out, "the output")
                    self.assertEqual(rc, EX_CONFIG, out)
                    self.assertRegex(out, rf"{kind}\.yaml:\d+:\d+: .*`brokers` must not contain "
                                          r"credentials")

    def test_credentials_in_librdkafka_broker_lists_are_refused(self):
        # librdkafka's own broker-list properties reach the same host-name logging as `brokers`.
        for prop in ("bootstrap.servers", "metadata.broker.list"):
            cfg = self.config(f"""
                sources:
                  in: {{type: stdin}}
                sinks:
                  k: {{type: kafka, inputs: [in], topic: t, brokers: "127.0.0.1:{self.port}",
                       librdkafka: {{{prop}: "user:s3cretPW@127.0.0.1:{self.port}"}}}}
                """, name="rdk.yaml")
            env = e2e.base_env({"SLUICE_SINKS": None})
            url_env = e2e.base_env({"SLUICE_SINKS": f"kafka://127.0.0.1:{self.port}/t?librdkafka."
                                                    f"{prop}=user:s3cretPW@127.0.0.1:{self.port}"})
            for command, args, run_env in (("validate", ["-c", cfg], env), ("run", ["-c", cfg], env),
                                           ("validate", [], url_env), ("run", [], url_env)):
                with self.subTest(prop=prop, command=command, args=args):
                    rc, out = self.run_refused([command] + args, run_env)
                    self.assertNoSecret(out, "the output")
                    self.assertEqual(rc, EX_CONFIG, out)
                    self.assertIn(f"`{prop}` must not contain credentials", out)

    def test_sink_url_errors_quoting_a_secret_of_the_same_url(self):
        # The secret is a query parameter; the error is about another part of the URL.
        for url in (f"elasticsearch+http://127.0.0.1:{self.port}/S3cretES-%Y?auth.user=u&"
                    "auth.password=S3cretES",
                    f"kafka://127.0.0.1:{self.port}/S3cretPW x?librdkafka.sasl.password=S3cretPW"):
            with self.subTest(url=url):
                rc, out = self.run_refused(["validate"], e2e.base_env({"SLUICE_SINKS": url}))
                self.assertEqual(rc, EX_CONFIG, out)
                self.assertIn("SLUICE_SINKS", out)
                self.assertNotIn("S3cret", out)

    # --- a running pipeline: logs, /health, /metrics ---

    def pipeline_config(self):
        brokers = f"{NUMERIC_SECRET}:{self.port}"
        sasl = f"""{{security.protocol: sasl_plaintext, sasl.mechanism: PLAIN,
                      sasl.username: s3cretUSER, sasl.password: "{NUMERIC_SECRET}",
                      ssl.key.password: s3cretKEYPW}}"""
        return self.config(f"""
            data_dir: {e2e.yaml_str(self.path('data'))}
            sources:
              in: {{type: stdin}}
              kin:
                type: kafka
                brokers: "{brokers}"
                group_id: g
                topics: [t]
                librdkafka: {sasl}
            sinks:
              k:
                type: kafka
                inputs: [in, kin]
                brokers: "{brokers}"
                topic: t
                librdkafka: {sasl}
              es_basic:
                type: elasticsearch
                inputs: [in]
                endpoints: ["http://127.0.0.1:{self.port}"]
                auth: {{user: elastic, password: s3cretES}}
              es_key:
                type: elasticsearch
                inputs: [in]
                endpoints: ["http://127.0.0.1:{self.port}"]
                auth: {{api_key: s3cretAPIKEY}}
            """)

    def test_running_pipeline_never_shows_secrets(self):
        cfg = self.pipeline_config()
        r = self.run_sluice(["validate", "-c", cfg])
        self.assertEqual(r.rc, 0, r.describe())
        self.assertNoSecret(r.stdout.decode() + r.stderr_text, "validate's output")

        p = self.start(["run", "-c", cfg], stdin=subprocess.PIPE,
                       env=e2e.base_env({"SLUICE_METRICS_ADDR": "127.0.0.1:0",
                                         "SLUICE_LOG": "info"}))
        p.proc.stdin.write(b'{"msg":"hello"}\n' * 3)
        p.proc.stdin.flush()
        port = e2e.metrics_port(p)
        # librdkafka's own lines about the broker named by the secret, and the ES retries.
        e2e.wait_until(lambda: re.search(rf"level=warn msg=librdkafka .*Connect to "
                                         rf"ipv4#127\.0\.0\.1:{self.port} failed",
                                         p.stderr_text()),
                       timeout=20, what="librdkafka's connection warnings")
        e2e.wait_until(lambda: "elasticsearch bulk request failed" in p.stderr_text(),
                       timeout=20, what="the Elasticsearch retries")
        health = get(port, "/health")
        metrics = get(port, "/metrics")
        p.signal(signal.SIGTERM)
        r = p.wait(timeout=30)
        self.assertNoSecret(r.stderr_text, "sluice's logs")
        self.assertNoSecret(health, "/health")
        self.assertNoSecret(metrics, "/metrics")
        # The masked lines still say what happened.
        self.assertRegex(r.stderr_text, rf"sasl_plaintext://\*\*\*:{self.port}/bootstrap: Connect "
                                        rf"to ipv4#127\.0\.0\.1:{self.port} failed")
        self.assertIn(f"connecting to http://127.0.0.1:{self.port}", r.stderr_text)

    # --- config errors next to secrets ---

    def test_config_errors_next_to_secrets(self):
        p = self.port
        es = "sources:\n  in: {type: stdin}\nsinks:\n  es:\n    type: elasticsearch\n" \
             f"    inputs: [in]\n    endpoints: [\"http://127.0.0.1:{p}\"]\n"
        kafka_sink = "sources:\n  in: {type: stdin}\nsinks:\n  k:\n    type: kafka\n" \
                     f"    inputs: [in]\n    brokers: \"127.0.0.1:{p}\"\n    topic: t\n"
        kafka_source = "sinks:\n  out: {type: stdout, inputs: [k]}\nsources:\n  k:\n" \
                       f"    type: kafka\n    group_id: g\n    topics: [t]\n" \
                       f"    brokers: \"127.0.0.1:{p}\"\n"
        files = {
            "interpolation.yaml": (es + "    auth: {user: elastic, password: \"s3cretPW${\"}\n",
                                   r"interpolation\.yaml:8:\d+: .*`password`: invalid `\$\{"),
            "mechanism.yaml": (kafka_sink + "    librdkafka:\n      security.protocol: sasl_plaintext"
                               "\n      sasl.password: s3cretPW\n      sasl.mechanism: s3cretMECH\n",
                               r"mechanism\.yaml:10:\d+: .*Unsupported SASL mechanism: \*\*\*"),
            "source_property.yaml": (kafka_source + "    librdkafka:\n      sasl.username: s3cretUSER\n"
                                     "      sasl.kerberos.min.time.before.relogin: s3cretNUM\n",
                                     r"source_property\.yaml:11:\d+: .*relogin"),
            "typo.yaml": (es + "    auth: {user: elastic, pasword: s3cretPW}\n",
                          r"typo\.yaml:8:\d+: .*unknown key `pasword`"),
            "line_break.yaml": (es + "    auth: {api_key: \"s3cretAPIKEY\\nx\"}\n",
                                r"line_break\.yaml:8:\d+: .*line break"),
            # An error about an option read before the secret, quoting a value that holds it.
            "read_before.yaml": ("sources:\n  in: {type: stdin}\nsinks:\n  es:\n"
                                 "    type: elasticsearch\n    inputs: [in]\n"
                                 f"    endpoints: [\"http://127.0.0.1:{p}#s3cretES\"]\n"
                                 "    auth: {user: elastic, password: s3cretES}\n"
                                 "  es2:\n    type: elasticsearch\n    inputs: [in]\n"
                                 f"    endpoints: [\"http://127.0.0.1:{p}\"]\n"
                                 "    auth: {api_key: s3cretAPIKEY}\n",
                                 r"read_before\.yaml:7:\d+: .*query or fragment"),
            "ssl_key.yaml": (kafka_sink + "    librdkafka:\n      security.protocol: ssl\n"
                             "      ssl.key.location: /nonexistent/s3cretPW.pem\n"
                             "      ssl.key.password: s3cretKEYPW\n",
                             r"ssl_key\.yaml:\d+:\d+: .*librdkafka"),
        }
        for name, (text, pattern) in files.items():
            cfg = self.write_file(name, text)
            for command in ("validate", "run"):
                with self.subTest(config=name, command=command):
                    rc, out = self.run_refused([command, "-c", cfg], e2e.base_env())
                    self.assertNoSecret(out, "the error")
                    self.assertEqual(rc, EX_CONFIG, out)
                    self.assertRegex(out, pattern)

        urls = {
            f"kafka://127.0.0.1:{p}/t?librdkafka.sasl.password=s3cretPW&oops":
                rf"`\*\*\*` in `kafka://127\.0\.0\.1:{p}/t\?librdkafka\.sasl\.password=\*\*\*&oops` "
                r"is not key=value",
            f"kafka://127.0.0.1:{p}/t?librdkafka.sasl.password=s3cretPW&librdkafka.security."
            "protocol=sasl_plaintext&librdkafka.sasl.mechanism=s3cretMECH":
                r"SLUICE_SINKS: sink `kafka`: .*Unsupported SASL mechanism: \*\*\*",
            f"elasticsearch+http://127.0.0.1:{p}/i?auth.user=elastic&auth.password=s3cretPW%24%7B":
                r"SLUICE_SINKS: sink `elasticsearch`.*`password`: invalid `\$\{",
        }
        for url, pattern in urls.items():
            for command in ("validate", "run"):
                with self.subTest(url=url, command=command):
                    rc, out = self.run_refused([command], e2e.base_env({"SLUICE_SINKS": url}))
                    self.assertNoSecret(out, "the error")
                    self.assertEqual(rc, EX_CONFIG, out)
                    self.assertRegex(out, pattern)
            with self.subTest(url=url, command="tail --to"):
                log = self.write_file("app.log", "one line\n")
                rc, out = self.run_refused(["tail", "--no-follow", "-b", "--to", url, log],
                                           e2e.base_env())
                self.assertNoSecret(out, "tail's error")
                self.assertEqual(rc, EX_CONFIG, out)


if __name__ == "__main__":
    e2e.main()
