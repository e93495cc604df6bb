"""Config errors that say what is wrong and what to write instead: unset variables, unknown level
names in conditions, a misspelt `inputs`, TOML, a JSON file that is not a mapping, a missing
file. Each exits 78."""

import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402

EX_CONFIG = 78


class ConfigErrors(e2e.SluiceTestCase):

    def rejected(self, cfg, env=None):
        r = self.run_sluice(["validate", "-c", cfg], env=env, timeout=10)
        self.assertEqual(r.rc, EX_CONFIG, r.describe())
        return r.stderr_text

    def assertLocated(self, text, cfg, line):
        self.assertRegex(text, re.escape(cfg) + f":{line}:\\d+:")

    def test_unset_variable_is_an_error_naming_it_and_where(self):
        cfg = self.config("""
            sources:
              in: {type: stdin}
            sinks:
              out: {type: file, inputs: [in], path: '${OUT_DIR}/o.jsonl'}
            """)
        env = e2e.base_env({"OUT_DIR": None})
        err = self.rejected(cfg, env)
        self.assertLocated(err, cfg, 4)
        self.assertIn("OUT_DIR is not set", err)
        self.assertIn("${OUT_DIR:-}", err)  # says how to allow it
        # Set and empty is a value; `${VAR:-}` allows unset.
        out = self.path("o.jsonl")
        env["OUT_DIR"] = ""
        allowed = self.config(f"""
            sources:
              in: {{type: stdin}}
            transforms:
              t: {{type: remap, inputs: [in], add: {{team: '${{OUT_DIR}}${{TEAM:-}}'}}}}
            sinks:
              out: {{type: file, inputs: [t], path: {e2e.yaml_str(out)}}}
            """, name="allowed.yaml")
        self.run_ok(["run", "-c", allowed], input=b"x\n", env=env)
        self.assertEqual(e2e.read_jsonl(out)[0]["team"], "")

    def test_unknown_level_in_a_condition_suggests_the_name(self):
        cfg = self.config("""
            sources:
              in: {type: stdin}
            transforms:
              important: {type: filter, inputs: [in], condition: "level >= warnn"}
            sinks:
              out: {type: stdout, inputs: [important]}
            """)
        err = self.rejected(cfg)
        self.assertLocated(err, cfg, 4)
        self.assertIn("unknown level 'warnn' (did you mean 'warn'?)", err)

    def test_misspelt_inputs_key_gets_a_hint(self):
        cfg = self.config("""
            sources:
              in: {type: stdin}
            sinks:
              out:
                type: stdout
                input: [in]
            """)
        err = self.rejected(cfg)
        self.assertLocated(err, cfg, 6)
        self.assertIn("`input` is not an option (did you mean `inputs`?)", err)

    def test_toml_says_it_is_toml_and_what_to_write(self):
        cfg = self.write_file("sluice.toml", '[sinks.out]\ntype = "stdout"\ninputs = ["app"]\n')
        err = self.rejected(cfg)
        self.assertIn("looks like TOML; sluice reads YAML", err)
        self.assertIn("sinks:", err)

    def test_json_that_is_not_a_mapping(self):
        cfg = self.write_file("sluice.json", '[{"sinks": {}}]\n')
        err = self.rejected(cfg)
        self.assertIn("the config is a list (a JSON array); it must be a mapping", err)
        self.assertIn('{"sinks": {"out"', err)
        # A JSON mapping is fine: JSON is YAML.
        ok = self.write_file("ok.json", '{"sinks": {"out": {"type": "stdout", "inputs": ["in"]}},'
                                        ' "sources": {"in": {"type": "stdin"}}}\n')
        self.run_ok(["validate", "-c", ok])

    def test_missing_file_gives_the_reason(self):
        err = self.rejected(self.path("nope.yaml"))
        self.assertIn("cannot read the config file: No such file or directory", err)
        self.assertIn("-c or in SLUICE_CONFIG", err)


if __name__ == "__main__":
    e2e.main()
