"""Hostile config files (issue 12, "Config input"): huge, deeply nested, unreadable or holding a
NUL byte. Each is refused before yaml-cpp parses it, with exit 78 and a message that names the
file, the reason and the limit, in `run` and `validate` alike, within a small memory bound."""

import os
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402

EX_CONFIG = 78
MiB = 1 << 20
# What a refused config may cost at most (the bound), and where a runaway process is
# stopped so that the old binary (6 GB for 50 MB) cannot take the machine down. A sanitizer
# build starts at about 100 MiB of RSS (shadow memory): there the bound is its own baseline
# (`sluice version`) plus the same margin.
RSS_BOUND_MIB = 64
RSS_KILL_MIB = 512


def vm_rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0


def run_measured(args, env=None, timeout=30, preexec_fn=None):
    """Runs sluice; returns (exit code, stderr text, peak RSS in MiB from wait4's rusage). A
    watchdog kills it past RSS_KILL_MIB (over the baseline) or the timeout (the result then
    shows -9)."""
    err_path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"sluice-e2e-{os.getpid()}.err")
    with open(err_path, "wb") as err:
        proc = subprocess.Popen([e2e.BIN] + list(args), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err,
                                env=env or e2e.base_env(), preexec_fn=preexec_fn)
    done = threading.Event()

    def watchdog():
        deadline = time.monotonic() + timeout
        while not done.wait(0.005):
            if vm_rss_mib(proc.pid) > RSS_KILL_MIB + baseline_rss_mib() or \
                    time.monotonic() > deadline:
                if not done.is_set():
                    os.kill(proc.pid, signal.SIGKILL)
                return

    thread = threading.Thread(target=watchdog)
    thread.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        done.set()
        thread.join()
        proc.returncode = 0  # reaped above; keeps Popen from waiting again
    with open(err_path, "rb") as f:
        stderr = f.read().decode("utf-8", "replace")
    os.unlink(err_path)
    return os.waitstatus_to_exitcode(status), stderr, usage.ru_maxrss / 1024


_baseline = []


def baseline_rss_mib():
    """Peak RSS of `sluice version`: what the binary costs before it reads any config."""
    if not _baseline:
        proc = subprocess.Popen([e2e.BIN, "version"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=e2e.base_env())
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0
        _baseline.append(usage.ru_maxrss / 1024)
    return _baseline[0]


def rss_bound_mib():
    """The issue's bound (64 MiB) for a release build. A sanitizer build starts near 100 MiB,
    gives every allocation redzones and keeps freed memory in quarantine, so a config refused
    after 16 MiB of `${VAR}` expansions peaks ~80 MiB over its baseline there (35 MiB in all
    in release): it gets its baseline + 96 MiB, still far below the GBs this guards against."""
    if baseline_rss_mib() + RSS_BOUND_MIB / 2 <= RSS_BOUND_MIB:
        return RSS_BOUND_MIB
    return baseline_rss_mib() + 96


class HostileConfig(e2e.SluiceTestCase):

    def assertRefused(self, path, patterns, env=None, commands=("validate", "run"),
                      preexec_fn=None):
        for command in commands:
            with self.subTest(command=command, config=os.path.basename(path)):
                rc, stderr, rss = run_measured([command, "-c", path], env=env,
                                               preexec_fn=preexec_fn)
                self.assertEqual(rc, EX_CONFIG, f"rc={rc}, peak RSS {rss:.0f} MiB\n{stderr[-2000:]}")
                self.assertLess(rss, rss_bound_mib(), f"peak RSS {rss:.0f} MiB (baseline "
                                f"{baseline_rss_mib():.0f} MiB)\n{stderr[-2000:]}")
                self.assertIn(path, stderr)
                for p in patterns:
                    self.assertRegex(stderr, p)
                self.assertNotIn("terminate called", stderr)

    # --- size, depth and number of values ---

    def test_50_mb_config_is_refused_before_parsing(self):
        # A valid-looking config: one remap whose `add` holds 50 MB of fields.
        path = self.path("big.yaml")
        with open(path, "w") as f:
            f.write("sources:\n  in: {type: stdin}\ntransforms:\n  t:\n    type: remap\n"
                    "    inputs: [in]\n    add:\n")
            line = "      field_{:08d}: value\n"
            for i in range(50 * MiB // len(line.format(0))):
                f.write(line.format(i))
            f.write("sinks:\n  out: {type: stdout, inputs: [t]}\n")
        self.assertGreaterEqual(os.path.getsize(path), 50 * MiB)
        self.assertRefused(path, [r"at most 16 MiB", r"\b5\d{7} bytes"])

    def test_5_mb_of_brackets(self):
        path = self.write_file("brackets.yaml", "[" * (5 * MiB))
        self.assertRefused(path, [r"brackets\.yaml:1:\d+: nesting deeper than 64 levels"])

    def test_deep_nesting_of_every_kind(self):
        block = "".join(" " * i + "a:\n" for i in range(1000))
        sequence = "a:\n" + "".join("  " * i + "-\n" for i in range(1000))
        cases = {
            "flow_sequences.yaml": "a: " + "[" * 1000 + "]" * 1000 + "\n",
            "flow_mappings.yaml": "a: " + "{a: " * 1000 + "1" + "}" * 1000 + "\n",
            "json.yaml": '{"a": ' * 1000 + "1" + "}" * 1000 + "\n",
            "block_mappings.yaml": block,
            "block_sequences.yaml": sequence,
            "compact_sequences.yaml": "- " * 1000 + "x\n",
            "mixed.yaml": "sinks:\n  out:\n    add: " + "[{a: " * 500 + "]}" * 500 + "\n",
        }
        for name, text in cases.items():
            path = self.write_file(name, text)
            self.assertRefused(path, [r":\d+:\d+: nesting deeper than 64 levels \(the limit"])

    def test_nesting_within_the_limit_is_an_ordinary_config_error(self):
        # 40 levels: past the pre-scan, then the reader says what is wrong with it.
        path = self.write_file("nested.yaml", "sources:\n  in: {type: stdin, parser: " +
                               "[" * 40 + "]" * 40 + "}\nsinks:\n  out: {type: stdout, inputs: [in]}\n")
        self.assertRefused(path, [r"nested\.yaml:2:\d+: source `in`: `parser` must be a single value"])

    def test_one_million_values_in_one_megabyte(self):
        path = self.write_file("values.yaml", "x: [" + "1," * 500_000 + "1]\n")
        self.assertRefused(path, [r"values\.yaml:1:\d+: more than 100000 values"])

    def test_aliases_count_as_what_they_expand_to(self):
        # yaml-cpp shares an anchored node between its aliases; sluice's reader copies it for
        # each. One 1 MiB string aliased 200 times, a 1 MiB filter condition aliased by 100
        # filters (each compiled), and "billion laughs" under a key sluice walks: each is a
        # config far over 16 MiB when written out, and refused as one.
        one_mib = "x" * MiB
        cases = {
            "alias_strings.yaml":
                "sources:\n  in: {type: stdin}\ntransforms:\n  t:\n    type: remap\n"
                "    inputs: [in]\n    add:\n"
                f'      f0: &big "{one_mib}"\n' +
                "".join(f"      f{i}: *big\n" for i in range(1, 200)) +
                "sinks:\n  out: {type: stdout, inputs: [t]}\n",
            "alias_conditions.yaml":
                "sources:\n  in: {type: stdin}\ntransforms:\n"
                "  t0: {type: filter, inputs: [in], condition: &c \"" +
                "a == 1 and " * (MiB // 11) + "b == 2\"}\n" +
                "".join(f"  t{i}: {{type: filter, inputs: [in], condition: *c}}\n"
                        for i in range(1, 100)) +
                "sinks:\n  out: {type: stdout, inputs: [" +
                ", ".join(f"t{i}" for i in range(100)) + "]}\n",
            "laughs.yaml":
                "sources:\n  in: {type: stdin}\ntransforms:\n  t:\n    type: remap\n"
                "    inputs: [in]\n    add:\n"
                '      l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' +
                "".join(f"      l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]\n"
                        for i in range(1, 12)) +
                "sinks:\n  out: {type: stdout, inputs: [t]}\n",
            "cycle.yaml": "sources:\n  in: &s {type: stdin, parser: *s}\n",
        }
        for name, text in cases.items():
            path = self.write_file(name, text)
            pattern = (r"an alias inside the value it refers to" if name == "cycle.yaml" else
                       r":\d+:\d+: aliases of this value expand the config beyond 16 MiB")
            self.assertRefused(path, [pattern])
        # Ordinary aliases are fine.
        path = self.write_file("ok.yaml", "sources:\n  in: {type: stdin}\nsinks:\n"
                               "  a: {type: stdout, inputs: &i [in]}\n"
                               "  b: {type: stdout, inputs: *i}\n")
        self.run_ok(["validate", "-c", path])

    def test_variables_expanding_beyond_the_size_limit(self):
        # A variable may hold up to 128 KiB (Linux); 200 values of 1,000 references to one of
        # 100 KB are 800 KB of config standing for 20 GB. The expansions count against the
        # config file's own limit.
        path = self.write_file("expand.yaml", "sources:\n  in: {type: stdin}\ntransforms:\n"
                               "  t:\n    type: remap\n    inputs: [in]\n    add:\n" +
                               "".join(f'      f{i}: "' + "${BIG}" * 1000 + '"\n'
                                       for i in range(200)) +
                               "sinks:\n  out: {type: stdout, inputs: [t]}\n")
        env = e2e.base_env({"BIG": "x" * 100_000})
        self.assertRefused(path, [r"expand\.yaml:\d+:\d+: .*`\$\{BIG\}` and the variables "
                                  r"before it expand the config by more than 16 MiB"], env=env)
        # A few large values are fine.
        ok = self.write_file("ok.yaml", "sources:\n  in: {type: stdin}\ntransforms:\n"
                             "  t: {type: remap, inputs: [in], add: {a: \"${BIG}${BIG}\"}}\n"
                             "sinks:\n  out: {type: stdout, inputs: [t]}\n")
        self.run_ok(["validate", "-c", ok], env=env)

    # --- unreadable files ---

    def test_unreadable_configs_say_why(self):
        os.mkdir(self.path("a_directory"))
        os.mkfifo(self.path("a_fifo"))  # nobody writes: opening it must not hang
        os.symlink(self.path("gone.yaml"), self.path("dangling.yaml"))
        cases = {
            self.path("a_directory"): r"cannot read the config file: Is a directory",
            self.path("a_fifo"): r"cannot read the config file: not a regular file \(a FIFO\)",
            self.path("missing.yaml"): r"cannot read the config file: No such file or directory",
            self.path("dangling.yaml"):
                r"No such file or directory \(a symbolic link to a missing file\)",
            "/dev/zero": r"not a regular file \(a character device\)",
        }
        for path, pattern in cases.items():
            self.assertRefused(path, [pattern])
        # Through SLUICE_CONFIG as well.
        rc, stderr, _ = run_measured(["validate"], env=e2e.base_env(
            {"SLUICE_CONFIG": self.path("a_fifo")}))
        self.assertEqual(rc, EX_CONFIG, stderr)
        self.assertIn("not a regular file (a FIFO)", stderr)

    def test_permission_denied(self):
        path = self.write_file("secret.yaml", "sources:\n  in: {type: stdin}\n")
        os.chmod(path, 0)
        preexec = None
        if os.geteuid() == 0:
            # root reads any file: run sluice as nobody, in a directory nobody may enter.
            os.chmod(self.dir, 0o755)

            def preexec():
                os.setgid(65534)
                os.setuid(65534)
            probe = subprocess.run([e2e.BIN, "version"], preexec_fn=preexec,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   timeout=10, check=False)
            if probe.returncode != 0:
                self.skipTest("the sluice binary cannot be run as nobody here")
        self.assertRefused(path, [r"cannot read the config file: Permission denied"],
                           preexec_fn=preexec)

    # --- NUL bytes ---

    def test_nul_byte_in_a_string_is_an_error_with_its_position(self):
        sink = "sinks:\n  out: {type: file, inputs: [in], path: %s}\n"
        cases = {
            "escape.yaml": ("sources:\n  in: {type: stdin}\n" + sink % '"/tmp/a\\0b.jsonl"', 4),
            "hex.yaml": ("sources:\n  in: {type: stdin}\n" + sink % '"/tmp/a\\x00b.jsonl"', 4),
            "unicode.yaml": ("sources:\n  in: {type: stdin}\n" + sink % '"/tmp/a\\u0000b"', 4),
            "raw.yaml": ("sources:\n  in: {type: stdin}\n" + sink % "/tmp/a\0b.jsonl", 4),
            "key.yaml": ('sources:\n  in: {type: stdin, "parser\\0x": json}\n' +
                         sink % "/tmp/x.jsonl", 2),
            "list.yaml": ('sources:\n  in: {type: file, include: ["/tmp/a\\0b/*.log"]}\n' +
                          sink % "/tmp/x.jsonl", 2),
        }
        for name, (text, line) in cases.items():
            path = self.write_file(name, text)
            self.assertRefused(path, [rf"{name}:{line}:\d+: .*NUL byte"])

    def test_nul_byte_from_sluice_sinks(self):
        env = e2e.base_env({"SLUICE_SINKS": "file:///tmp/a%00b.jsonl"})
        for command in ("validate", "run"):
            rc, stderr, _ = run_measured([command, "--", "true"], env=env)
            self.assertEqual(rc, EX_CONFIG, stderr)
            self.assertIn("SLUICE_SINKS: `%00` (a NUL byte) is not allowed", stderr)


if __name__ == "__main__":
    e2e.main()
