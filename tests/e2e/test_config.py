"""Configuration: located errors (exit 78), DAG validation, env interpolation, `validate`,
SLUICE_SINKS without a file, `version` and `--help`."""

import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402

EX_CONFIG = 78


class Config(e2e.SluiceTestCase):

    def assertConfigError(self, cfg, line, patterns, col=None, env=None):
        """Both `validate` and `run` reject the file with 78 and a file:line:col message."""
        for cmd in (["validate", "-c", cfg], ["run", "-c", cfg]):
            with self.subTest(cmd=cmd[0]):
                r = self.run_sluice(cmd, env=env, timeout=10)
                self.assertEqual(r.rc, EX_CONFIG, r.describe())
                where = re.escape(cfg) + f":{line}:" + (str(col) if col else r"\d+") + ":"
                self.assertRegex(r.stderr_text, where, "error not located at file:line:col")
                for p in patterns:
                    self.assertRegex(r.stderr_text, p)
                self.assertEqual(r.stdout, b"")

    # --- located errors ---

    def test_unknown_key_typo_in_file_sink(self):
        never = self.path("never-written.jsonl")
        cfg = self.config(f"""
            sources:
              in: {{type: stdin}}
            sinks:
              out:
                type: file
                inputs: [in]
                pth: {e2e.yaml_str(never)}
            """)
        self.assertConfigError(cfg, 7, [r"unknown key `?pth`?", r"did you mean `?path`?"], col=5)
        self.assertFalse(os.path.exists(never))

    def test_unknown_optional_key_typo(self):
        out = self.path("never.jsonl")
        cfg = self.config(f"""
            sources:
              in: {{type: stdin}}
            sinks:
              out:
                type: file
                inputs: [in]
                path: {e2e.yaml_str(out)}
                encodng: raw
            """)
        self.assertConfigError(cfg, 8, [r"unknown key `?encodng`?", r"did you mean `?encoding`?"],
                               col=5)
        self.assertFalse(os.path.exists(out))

    def test_unknown_key_in_source(self):
        cfg = self.config("""
            sources:
              in:
                type: stdin
                parsr: json
            sinks:
              out: {type: stdout, inputs: [in]}
            """)
        self.assertConfigError(cfg, 4, [r"parsr", r"did you mean `?parser`?"])

    def test_unknown_top_level_key(self):
        cfg = self.config("""
            sources:
              in: {type: stdin}
            sink:
              out: {type: stdout, inputs: [in]}
            """)
        self.assertConfigError(cfg, 3, [r"sink\b", r"did you mean `?sinks`?"])

    def test_unknown_type(self):
        cfg = self.config("""
            sources:
              in: {type: stdn}
            sinks:
              out: {type: stdout, inputs: [in]}
            """)
        self.assertConfigError(cfg, 2, [r"unknown type `?stdn`?", r"did you mean `?stdin`?"])

    def test_unknown_sink_type(self):
        cfg = self.config("""
            sources:
              in: {type: stdin}
            sinks:
              out: {type: flie, inputs: [in], path: /tmp/x}
            """)
        self.assertConfigError(cfg, 4, [r"unknown type `?flie`?", r"file"])

    def test_unknown_input(self):
        cfg = self.config("""
            sources:
              in: {type: stdin}
            sinks:
              out: {type: stdout, inputs: [inn]}
            """)
        self.assertConfigError(cfg, 4, [r"unknown input `?inn`?", r"did you mean `?in`?"])

    def test_cycle_between_two_transforms(self):
        cfg = self.config("""
            sources:
              in: {type: stdin}
            transforms:
              a: {type: filter, inputs: [in, b], condition: 'level >= warn'}
              b: {type: remap, inputs: [a], add: {x: 1}}
            sinks:
              out: {type: stdout, inputs: [b]}
            """)
        self.assertConfigError(cfg, r"[45]", [r"cycle", r"`?[ab]`?"])

    def test_unused_source(self):
        cfg = self.config("""
            sources:
              in: {type: stdin}
              other: {type: exec, command: [echo, hi]}
            sinks:
              out: {type: stdout, inputs: [in]}
            """)
        self.assertConfigError(cfg, 3, [r"`?other`?", r"not used|unused"])

    def test_unused_transform(self):
        cfg = self.config("""
            sources:
              in: {type: stdin}
            transforms:
              lonely: {type: filter, inputs: [in], condition: 'level >= warn'}
            sinks:
              out: {type: stdout, inputs: [in]}
            """)
        self.assertConfigError(cfg, 4, [r"`?lonely`?", r"not used|unused"])

    def test_bad_values(self):
        cases = [
            ("parser: xml", r"xml"),
            ("max_line_bytes: lots", r"max_line_bytes"),
            ("timestamp_field: [a, {b: c}]", r"timestamp_field"),
        ]
        for opt, pattern in cases:
            with self.subTest(opt=opt):
                cfg = self.config(f"""
                    sources:
                      in:
                        type: stdin
                        {opt}
                    sinks:
                      out: {{type: stdout, inputs: [in]}}
                    """)
                self.assertConfigError(cfg, 4, [pattern])

    def test_invalid_filter_condition(self):
        cfg = self.config("""
            sources:
              in: {type: stdin}
            transforms:
              f: {type: filter, inputs: [in], condition: 'level >>= warn and ('}
            sinks:
              out: {type: stdout, inputs: [f]}
            """)
        self.assertConfigError(cfg, 4, [r"condition"])

    def test_yaml_syntax_error(self):
        cfg = self.config("""
            sources:
              in: {type: stdin
            sinks:
              out: {type: stdout, inputs: [in]}
            """)
        for cmd in ("validate", "run"):
            r = self.run_sluice([cmd, "-c", cfg], timeout=10)
            self.assertEqual(r.rc, EX_CONFIG, r.describe())
            self.assertRegex(r.stderr_text, re.escape(cfg) + r":\d+:\d+:")

    def test_missing_config_file(self):
        missing = self.path("does-not-exist.yaml")
        r = self.run_sluice(["validate", "-c", missing], timeout=10)
        self.assertEqual(r.rc, EX_CONFIG, r.describe())
        self.assertIn(missing, r.stderr_text)

    # --- interpolation ---

    def test_env_interpolation(self):
        outdir = self.tmpdir()
        cfg = self.config("""
            sources:
              in: {type: stdin, parser: '${PARSER}'}
            transforms:
              tag: {type: remap, inputs: [in], add: {env: '${DEPLOY_ENV:-dev}', region: '${REGION:-eu-1}', lit: '$${NOT_EXPANDED}'}}
            sinks:
              out: {type: file, inputs: [tag], path: '${OUT_DIR}/${NAME:-fallback}.jsonl'}
            """)
        env = e2e.base_env({"PARSER": "none", "OUT_DIR": outdir, "REGION": "us-2",
                            "DEPLOY_ENV": "", "NAME": None, "NOT_EXPANDED": "oops"})
        self.run_ok(["run", "-c", cfg], input=b'{"a":1}\n', env=env, timeout=10)
        self.assertEqual(os.listdir(outdir), ["fallback.jsonl"])
        [ev] = e2e.read_jsonl(os.path.join(outdir, "fallback.jsonl"))
        self.assertEqual(ev["message"], '{"a":1}')  # parser: none came from ${PARSER}
        self.assertEqual(ev["env"], "dev")           # empty counts as unset for :-
        self.assertEqual(ev["region"], "us-2")
        self.assertEqual(ev["lit"], "${NOT_EXPANDED}")

    def test_required_variable_missing(self):
        cfg = self.config("""
            sources:
              in: {type: stdin}
            sinks:
              out: {type: file, inputs: [in], path: '${OUT_DIR:?set OUT_DIR to the output directory}/x.jsonl'}
            """)
        self.assertConfigError(cfg, 4, [r"OUT_DIR", r"set OUT_DIR to the output directory"],
                               env=e2e.base_env({"OUT_DIR": None}))

    def test_required_variable_present(self):
        outdir = self.tmpdir()
        cfg = self.config("""
            sources:
              in: {type: stdin}
            sinks:
              out: {type: file, inputs: [in], path: '${OUT_DIR:?set OUT_DIR}/x.jsonl'}
            """)
        self.run_ok(["run", "-c", cfg], input=b"hi\n", env=e2e.base_env({"OUT_DIR": outdir}),
                    timeout=10)
        self.assertEqual(e2e.messages(e2e.read_jsonl(os.path.join(outdir, "x.jsonl"))), ["hi"])

    def test_plain_variable_missing_is_an_error_and_colon_dash_allows_it(self):
        cfg = self.config("""
            sources:
              in: {type: stdin}
            transforms:
              t: {type: remap, inputs: [in], add: {who: 'x${SLUICE_E2E_UNSET_VAR}y'}}
            sinks:
              out: {type: stdout, inputs: [t]}
            """)
        self.assertConfigError(cfg, 4, [r"SLUICE_E2E_UNSET_VAR is not set"])
        cfg = self.config("""
            sources:
              in: {type: stdin}
            transforms:
              t: {type: remap, inputs: [in], add: {who: 'x${SLUICE_E2E_UNSET_VAR:-}y'}}
            sinks:
              out: {type: stdout, inputs: [t]}
            """)
        r = self.run_ok(["run", "-c", cfg], input=b"m\n", timeout=10)
        self.assertEqual(e2e.parse_jsonl_bytes(r.stdout)[0]["who"], "xy")

    # --- validate, SLUICE_SINKS, version, help ---

    def test_validate_prints_topology(self):
        out = self.path("never-created.jsonl")
        cfg = self.config(f"""
            sources:
              app: {{type: exec, command: [sh, -c, 'touch {self.path("ran")}']}}
              in: {{type: stdin}}
            transforms:
              warnings: {{type: filter, inputs: [app, in], condition: 'level >= warn'}}
            sinks:
              archive: {{type: file, inputs: [warnings], path: {e2e.yaml_str(out)}}}
              console: {{type: stdout, inputs: [in, warnings], encoding: text}}
            """)
        r = self.run_ok(["validate", "-c", cfg], timeout=10)
        text = r.stdout.decode()
        for name, kind in [("app", "exec"), ("in", "stdin"), ("warnings", "filter"),
                           ("archive", "file"), ("console", "stdout")]:
            self.assertRegex(text, rf"(?m)^\s*{name}\b.*\b{kind}\b", f"{name} missing:\n{text}")
        # Edges: each component's line names what it feeds or reads from.
        self.assertRegex(text, r"(?m)^\s*warnings\b.*\bapp\b.*\bin\b")
        self.assertRegex(text, r"(?m)^\s*console\b.*\bin\b.*\bwarnings\b")
        self.assertFalse(os.path.exists(out), "validate must not open sinks")
        self.assertFalse(os.path.exists(self.path("ran")), "validate must not run sources")

    def test_sluice_sinks_only_with_stdin(self):
        out = self.path("out.jsonl")
        env = e2e.base_env({"SLUICE_SINKS": f"file://{out},stdout://"})
        r = self.run_ok(["run"], input=b"one\ntwo\n", env=env, timeout=10)
        file_events = e2e.read_jsonl(out)
        stdout_events = e2e.parse_jsonl_bytes(r.stdout)
        self.assertEqual(e2e.messages(file_events), ["one", "two"])
        self.assertEqual(file_events, stdout_events)
        for ev in file_events:
            self.assertEventShape(ev, "stdin", "stdin")

    def test_sluice_sinks_with_query_options(self):
        out = self.path("out.log")
        env = e2e.base_env({"SLUICE_SINKS": f"file://{out}?encoding=raw"})
        self.run_ok(["run"], input=b"raw one\nraw two\n", env=env, timeout=10)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"raw one\nraw two\n")

    def test_sluice_sinks_errors(self):
        for value, pattern in [("kafka://broker:9092", r"kafka"),
                               ("file://relative/out.jsonl", r"absolute"),
                               ("not a url", r"not a URL|URL")]:
            with self.subTest(value=value):
                r = self.run_sluice(["run"], input=b"", timeout=10,
                                    env=e2e.base_env({"SLUICE_SINKS": value}))
                self.assertEqual(r.rc, EX_CONFIG, r.describe())
                self.assertIn("SLUICE_SINKS", r.stderr_text)
                self.assertRegex(r.stderr_text, pattern)

    def test_no_sinks_at_all(self):
        r = self.run_sluice(["run"], input=b"x\n", timeout=10)
        self.assertEqual(r.rc, EX_CONFIG, r.describe())
        self.assertIn("SLUICE_SINKS", r.stderr_text)

    def test_sluice_config_env_var(self):
        out = self.path("out.jsonl")
        cfg = self.stdin_file_config(out)
        self.run_ok(["run"], input=b"via env\n", env=e2e.base_env({"SLUICE_CONFIG": cfg}),
                    timeout=10)
        self.assertEqual(e2e.messages(e2e.read_jsonl(out)), ["via env"])

    def test_version(self):
        r = self.run_ok(["version"], timeout=10)
        self.assertRegex(r.stdout.decode(), r"^sluice \d+\.\d+\.\d+")
        r = self.run_ok(["--version"], timeout=10)
        self.assertRegex(r.stdout.decode(), r"\d+\.\d+\.\d+")

    def test_help(self):
        r = self.run_ok(["--help"], timeout=10)
        text = r.stdout.decode()
        for word in ("run", "validate", "version"):
            self.assertIn(word, text)
        r = self.run_ok(["run", "--help"], timeout=10)
        self.assertIn("--config", r.stdout.decode())
        self.assertIn("SLUICE_SINKS", r.stdout.decode())

    def test_usage_errors(self):
        r = self.run_sluice([], timeout=10)
        self.assertNotEqual(r.rc, 0)
        r = self.run_sluice(["frobnicate"], timeout=10)
        self.assertNotIn(r.rc, (0, EX_CONFIG))
        r = self.run_sluice(["validate", "-c", "x.yaml", "--", "echo"], timeout=10)
        self.assertNotEqual(r.rc, 0)

    def test_bad_sluice_log_level(self):
        r = self.run_sluice(["version"], env=e2e.base_env({"SLUICE_LOG": "loud"}), timeout=10)
        self.assertEqual(r.rc, EX_CONFIG, r.describe())
        self.assertIn("SLUICE_LOG", r.stderr_text)

    def test_bad_shutdown_timeout(self):
        env = e2e.base_env({"SLUICE_SINKS": "stdout://", "SLUICE_SHUTDOWN_TIMEOUT_SECONDS": "soon"})
        r = self.run_sluice(["run"], input=b"x\n", env=env, timeout=10)
        self.assertEqual(r.rc, EX_CONFIG, r.describe())
        self.assertIn("SLUICE_SHUTDOWN_TIMEOUT_SECONDS", r.stderr_text)


if __name__ == "__main__":
    e2e.main()
