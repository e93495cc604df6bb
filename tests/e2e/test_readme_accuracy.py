"""What the README tells a new user works as written: the smallest configs with the commands
they are shown with, the no-config SLUICE_SINKS example, the node daemon's NODE_NAME, and the
environment list of `sluice run --help`."""

import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402

README = os.path.join(e2e.SOURCE_DIR, "README.md")
NODE_CONFIG = os.path.join(e2e.SOURCE_DIR, "deploy", "node-daemon.yaml")
EX_CONFIG = 78


def smallest_configs():
    """The two YAML blocks after "The smallest config": for `-- myapp`, then for a pipe."""
    with open(README) as f:
        text = f.read()
    section = text[text.index("The smallest config"):]
    return re.findall(r"```yaml\n(.*?)```", section, re.S)[:2]


class ReadmeExamples(e2e.SluiceTestCase):

    def test_smallest_config_with_the_first_example(self):
        wrapped, piped = smallest_configs()
        out = self.path("out.jsonl")
        cfg = self.write_file("sluice.yaml", wrapped.replace("/tmp/out.jsonl", out))
        # `sluice run -c sluice.yaml -- myapp`
        self.run_ok(["run", "-c", cfg, "--", "sh", "-c", "echo 'level=info msg=hello'"])
        self.assertEqual([e["msg"] for e in e2e.read_jsonl(out)], ["hello"])

        # `producer | sluice run -c pipe.yaml`
        piped_out = self.path("piped.jsonl")
        cfg = self.write_file("pipe.yaml", piped.replace("/tmp/out.jsonl", piped_out))
        self.run_ok(["run", "-c", cfg], input=b"level=warn msg=piped\n")
        self.assertEqual([e["msg"] for e in e2e.read_jsonl(piped_out)], ["piped"])

    def test_sinks_from_the_environment_show_each_line_once(self):
        out = self.path("app.jsonl")
        env = e2e.base_env({"SLUICE_SINKS": "file://" + out})
        r = self.run_ok(["run", "--", "sh", "-c", "echo one; echo two"], env=env)
        self.assertEqual(r.stdout, b"one\ntwo\n")  # the app's own output, passed through once
        self.assertEqual([e["message"] for e in e2e.read_jsonl(out)], ["one", "two"])

    def test_node_daemon_needs_node_name_and_says_so(self):
        env = e2e.base_env({"NODE_NAME": None, "SLUICE_DATA_DIR": self.dir})
        r = self.run_sluice(["validate", "-c", NODE_CONFIG], env=env)
        self.assertEqual(r.rc, EX_CONFIG, r.describe())
        self.assertIn("set NODE_NAME to the name of this node", r.stderr_text)
        env["NODE_NAME"] = "node-1"
        self.run_ok(["validate", "-c", NODE_CONFIG], env=env)

    def test_run_help_lists_every_environment_variable(self):
        r = self.run_ok(["run", "--help"])
        for var in ["SLUICE_CONFIG", "SLUICE_SINKS", "SLUICE_LOG", "SLUICE_DATA_DIR",
                    "SLUICE_METRICS_ADDR", "SLUICE_SHUTDOWN_TIMEOUT_SECONDS", "NO_COLOR"]:
            self.assertIn(var, r.stdout.decode())


if __name__ == "__main__":
    e2e.main()
