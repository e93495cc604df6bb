"""The example configs under config/ are valid, and the sidecar example does what it says."""
import glob
import gzip
import os

import sluice_e2e as e2e

CONFIG_DIR = os.path.join(e2e.SOURCE_DIR, "config")


class Examples(e2e.SluiceTestCase):
    def test_every_example_config_validates(self):
        configs = sorted(glob.glob(os.path.join(CONFIG_DIR, "*.yaml")))
        self.assertGreaterEqual(len(configs), 2, CONFIG_DIR)
        # The aggregator's required settings (validate connects to nothing).
        env = e2e.base_env({"KAFKA_BROKERS": "127.0.0.1:9092", "ES_URL": "http://127.0.0.1:9200"})
        for path in configs:
            # Wrapper configs declare source `app` without a command: `--` supplies it.
            with open(path) as f:
                wrapper = "\n  app:\n" in f.read()
            r = self.run_sluice(["validate", "-c", path] + (["--", "true"] if wrapper else []),
                                env=env, timeout=10)
            self.assertEqual(r.rc, 0, r.describe())
            self.assertIn("valid", r.stdout.decode())

    def test_validate_without_the_command_explains_what_is_missing(self):
        r = self.run_sluice(["validate", "-c", os.path.join(CONFIG_DIR, "sidecar.yaml")],
                            timeout=10)
        self.assertEqual(r.rc, 78, r.describe())
        self.assertIn("`command` is required", r.stderr.decode())

    def test_sidecar_example_archives_without_health_checks(self):
        app = ("echo '{\"level\":\"info\",\"msg\":\"order placed\",\"path\":\"/orders\"}'; "
               "echo '{\"level\":\"debug\",\"msg\":\"probe\",\"path\":\"/healthz\"}'; "
               "echo 'level=info msg=\"Health check ok\"'; "
               "echo 'plain line' >&2; exit 4")
        env = e2e.base_env({"SLUICE_OUT_DIR": self.dir})
        r = self.run_sluice(["run", "-c", os.path.join(CONFIG_DIR, "sidecar.yaml"), "--",
                             "sh", "-c", app], env=env, timeout=20)
        self.assertEqual(r.rc, 4, r.describe())  # the app's exit code
        # Passthrough: the app's own bytes still reach stdout unchanged.
        self.assertIn(b"order placed", r.stdout)
        archives = glob.glob(os.path.join(self.dir, "app-*.jsonl.gz"))
        self.assertEqual(len(archives), 1, os.listdir(self.dir))
        with gzip.open(archives[0], "rb") as f:
            events = e2e.parse_jsonl_bytes(f.read())
        self.assertEqual([e.get("msg", e.get("message")) for e in events],
                         ["order placed", "plain line"])
        self.assertEqual(events[1]["stream"], "stderr")


if __name__ == "__main__":
    e2e.main()
