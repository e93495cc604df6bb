"""`sluice list` and `sluice describe`: the component list and each component's options, from
the same schemas the config is checked against."""

import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402

EX_USAGE = 64


def markdown_rows(text):
    """(key, type, default) of each row of a `describe --markdown` table."""
    rows = []
    for line in text.splitlines()[2:]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        key = re.match(r"`([^`]+)`", cells[0]).group(1)
        rows.append((key, cells[1], cells[2]))
    return rows


class Describe(e2e.SluiceTestCase):

    def test_list_names_every_component_once(self):
        r = self.run_ok(["list"])
        lines = r.stdout.decode().splitlines()
        pairs = [tuple(line.split()[:2]) for line in lines]
        self.assertEqual(len(pairs), len(set(pairs)))
        for pair in [("source", "stdin"), ("source", "exec"), ("source", "file"),
                     ("source", "container"), ("source", "kafka"), ("transform", "filter"),
                     ("transform", "remap"), ("sink", "file"), ("sink", "stdout"),
                     ("sink", "kafka"), ("sink", "elasticsearch")]:
            self.assertIn(pair, pairs)
        # Every component listed can be described.
        for kind, type_ in pairs:
            self.run_ok(["describe", f"{kind}/{type_}"])

    def test_describe_prints_options_and_refuses_ambiguous_names(self):
        r = self.run_ok(["describe", "stdout"])
        out = r.stdout.decode()
        self.assertIn("sink/stdout:", out)
        self.assertRegex(out, r"\n  color +auto\|always\|never +auto +")
        self.assertIn("SLUICE_SINKS schemes: stdout://", out)
        r = self.run_sluice(["describe", "file"])
        self.assertEqual(r.rc, EX_USAGE, r.describe())
        self.assertIn("use source/file or sink/file", r.stderr_text)
        r = self.run_sluice(["describe", "stdot"])
        self.assertEqual(r.rc, EX_USAGE, r.describe())
        self.assertIn("did you mean `stdout`?", r.stderr_text)

    def test_documented_keys_and_defaults_are_what_the_config_accepts(self):
        """Every scalar option of the file sink and the file source, set to the default
        `describe` shows, is a valid config: the schema and the reading code agree."""
        scalar = ("bool", "integer", "size", "duration")
        sink = markdown_rows(self.run_ok(["describe", "--markdown", "sink/file"]).stdout.decode())
        source = markdown_rows(
            self.run_ok(["describe", "--markdown", "source/file"]).stdout.decode())

        def settings(rows):
            out = []
            for key, type_, default in rows:
                if "." in key or not default or default == "required":
                    continue
                value = default.split(" ")[0].strip("`")
                if type_ in scalar or type_.startswith("`"):
                    out.append(f"{key}: {e2e.yaml_str(value)}")
            return out

        sink_settings, source_settings = settings(sink), settings(source)
        self.assertGreater(len(sink_settings), 5)
        self.assertGreater(len(source_settings), 8)
        out = self.path("out.jsonl")
        logs = self.path("logs")
        cfg = self.config(
            "sources:\n  in:\n    type: file\n    include: [" + e2e.yaml_str(logs + "/*.log") +
            "]\n" + "".join(f"    {s}\n" for s in source_settings) +
            "sinks:\n  out:\n    type: file\n    inputs: [in]\n    path: " + e2e.yaml_str(out) +
            "\n" + "".join(f"    {s}\n" for s in sink_settings))
        r = self.run_sluice(["validate", "-c", cfg])
        self.assertEqual(r.rc, 0, r.describe() + "\n" + open(cfg).read())


if __name__ == "__main__":
    e2e.main()
