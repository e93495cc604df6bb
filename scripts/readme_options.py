#!/usr/bin/env python3
"""Generates the README's option tables from the component schemas, or checks them.

Each table sits between two markers:

    <!-- options: sink/kafka -->
    | option | type | default | description |
    ...
    <!-- end options -->

and is what `sluice describe --markdown sink/kafka` prints (a kind, `source`, `transform` or
`sink`, gives the options every component of that kind has). Every component `sluice list`
names, and every kind, must have its table.

Usage: readme_options.py SLUICE_BINARY README.md           rewrites the tables
       readme_options.py --check SLUICE_BINARY README.md   exit 1 when a table differs or is
                                                            missing (ctest
                                                            config.readme_options_match_schema)
With --check it first checks itself on a README with a stale table, so that it cannot pass by
finding nothing.
"""
import difflib
import os
import re
import subprocess
import sys
import tempfile

MARKED = re.compile(r"(<!-- options: (\S+) -->\n)(.*?)(<!-- end options -->)", re.S)
KINDS = ("config", "source", "transform", "sink")


def describe(binary, name):
    return subprocess.run([binary, "describe", "--markdown", name], check=True,
                          capture_output=True, text=True).stdout


def components(binary):
    out = subprocess.run([binary, "list"], check=True, capture_output=True, text=True).stdout
    return [f"{line.split()[0]}/{line.split()[1]}" for line in out.splitlines() if line.strip()]


def generate(binary, text):
    """The README with every marked table regenerated; and the problems found."""
    problems = []
    seen = set()

    def table(match):
        name = match.group(2)
        seen.add(name)
        return match.group(1) + describe(binary, name) + match.group(4)

    new = MARKED.sub(table, text)
    for name in list(KINDS) + components(binary):
        if name not in seen:
            problems.append(f"no table for `{name}`: add `<!-- options: {name} -->` "
                            "`<!-- end options -->` to the Configuration reference")
    return new, problems


def check(binary, path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    new, problems = generate(binary, text)
    if new != text:
        diff = difflib.unified_diff(text.splitlines(), new.splitlines(), path, "generated",
                                    lineterm="", n=1)
        problems.append("option tables differ from the schemas (run scripts/readme_options.py "
                        "SLUICE_BINARY README.md):\n" + "\n".join(diff))
    return problems


def self_test(binary):
    """A stale table and a missing one must both be reported."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "README.md")
        with open(path, "w", encoding="utf-8") as f:
            f.write("<!-- options: sink/stdout -->\n| option |\n<!-- end options -->\n")
        problems = check(binary, path)
        if not any("differ" in p for p in problems) or not any("sink/kafka" in p
                                                                for p in problems):
            sys.exit("readme_options.py: the self-test found no problem in a stale README")


def main(argv):
    args = argv[1:]
    checking = "--check" in args
    args = [a for a in args if a != "--check"]
    if len(args) != 2:
        sys.exit(__doc__)
    binary, path = args
    if checking:
        self_test(binary)
        problems = check(binary, path)
        for p in problems:
            print(f"{path}: {p}", file=sys.stderr)
        return 1 if problems else 0
    with open(path, encoding="utf-8") as f:
        text = f.read()
    new, problems = generate(binary, text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(new)
    for p in problems:
        print(f"{path}: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
