"""First run and install: `make run` builds the `sluice` binary alone, and `make install` puts
the binary, its manual page and the example configs under PREFIX, where they work."""

import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402

# The build directory is where the binary under test was built (build/ or build-asan/).
BUILD_DIR = os.path.dirname(os.path.abspath(e2e.BIN))


def make_dry_run(target, *variables):
    """The commands `make -n TARGET` would run in the source tree."""
    r = subprocess.run(["make", "-n", "-C", e2e.SOURCE_DIR, target, *variables],
                       capture_output=True, timeout=30, check=True)
    return r.stdout.decode().splitlines()


def run_installed(args, env=None, cwd=None):
    return subprocess.run(args, capture_output=True, text=True, env=env or e2e.base_env(),
                          cwd=cwd, timeout=e2e.DEFAULT_TIMEOUT)


class FirstRun(e2e.SluiceTestCase):

    def test_make_run_builds_only_the_sluice_target(self):
        builds = [line for line in make_dry_run("run") if re.search(r"\bcmake\s+--build\b", line)]
        self.assertEqual(len(builds), 1, builds)
        # No `make build` (every target) on the way, and exactly one target named.
        self.assertEqual(re.findall(r"--target\s+(\S+(?:\s+[^-\s]\S*)*)", builds[0]), ["sluice"],
                         builds[0])

    def test_make_install_installs_into_prefix(self):
        commands = make_dry_run("install", "PREFIX=/opt/somewhere")
        installs = [line for line in commands if "cmake --install" in line]
        self.assertEqual(len(installs), 1, commands)
        self.assertIn("--prefix /opt/somewhere", installs[0])


class Install(e2e.SluiceTestCase):

    def test_installed_binary_runs_an_installed_example(self):
        # `make install` is this, after building the binary and the manual page.
        subprocess.run(["cmake", "--build", BUILD_DIR, "--target", "sluice_manpage"],
                       capture_output=True, timeout=300, check=True)
        prefix = self.path("prefix")
        r = subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", prefix],
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr.decode())

        installed = os.path.join(prefix, "bin", "sluice")
        self.assertTrue(os.access(installed, os.X_OK))
        version = run_installed([installed, "version"])
        self.assertEqual(version.returncode, 0, version.stderr)
        self.assertRegex(version.stdout, r"^sluice \d+\.\d+\.\d+ ")

        # The manual page holds every subcommand's --help.
        with open(os.path.join(prefix, "share", "man", "man1", "sluice.1")) as f:
            page = f.read()
        self.assertTrue(page.startswith(".TH SLUICE 1"), page[:80])
        for sub in ["RUN", "VALIDATE", "TAIL", "LIST", "DESCRIBE"]:
            self.assertIn(f'.SH "SLUICE {sub}"', page)
        self.assertIn("--from-beginning", page)

        # The examples validate with the installed binary, and the demo runs from them.
        examples = os.path.join(prefix, "share", "sluice", "examples")
        for name in ["demo.yaml", "sidecar.yaml", "aggregator.yaml", "node-daemon.yaml"]:
            self.assertTrue(os.path.isfile(os.path.join(examples, name)), name)
        env = e2e.base_env({"NODE_NAME": "node-1", "SLUICE_DATA_DIR": self.path("data")})
        check = run_installed(
            [installed, "validate", "-c", os.path.join(examples, "node-daemon.yaml")], env=env)
        self.assertEqual(check.returncode, 0, check.stderr)
        demo = run_installed([installed, "run", "-c", os.path.join(examples, "demo.yaml"), "--",
                              "sh", os.path.join(examples, "demo-app.sh")], env=env, cwd=self.dir)
        self.assertEqual(demo.returncode, 0, demo.stderr)
        self.assertGreater(len(e2e.read_jsonl(os.path.join(self.dir, "data", "demo.jsonl"))), 5)


if __name__ == "__main__":
    e2e.main()
