#!/usr/bin/env python3
"""Fails when an #include in src/ or include/sluice/ points up the layers.

The layers, from the top (may include anything below) to the bottom. Folders on one line are
siblings: each may include only itself and the layers below, never a sibling. README.md's
"## Layout" section explains each folder; keep the two in step.

    cli
    config
    sources  transforms  sinks  server
    options
    core
    parse  net        (net/: the HTTP client; sinks and sources include it, it includes base)
    base
    sluice            (include/sluice/: the public interfaces)

A file may include headers of its own folder and of any folder of a lower layer. Includes are
read as written: `#include "core/x.hpp"` names folder `core`. A project include in angle
brackets counts the same. Run by ctest (`layers.includes_point_down`, label unit); it first
checks itself on a small tree with an upward include, so that it cannot pass by finding nothing.

Usage: check_layers.py [REPOSITORY_ROOT]
"""
import os
import re
import sys
import tempfile

LAYERS = [
    ["cli"],
    ["config"],
    ["sources", "transforms", "sinks", "server"],
    ["options"],
    ["core"],
    ["parse", "net"],
    ["base"],
    ["sluice"],
]
RANK = {folder: len(LAYERS) - i for i, line in enumerate(LAYERS) for folder in line}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')
SOURCE_SUFFIXES = (".hpp", ".cpp", ".h", ".cc", ".ipp")


def folder_of_file(root, path):
    """The layer folder a file lives in: src/<folder>/... or include/sluice/..."""
    rel = os.path.relpath(path, root).split(os.sep)
    if rel[0] == "include":
        return rel[1] if len(rel) > 2 else None
    if rel[0] == "src" and len(rel) > 2:
        return rel[1]
    return None


def violations(root):
    found = []
    for top in ("src", "include"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                own = folder_of_file(root, path)
                if own not in RANK:
                    found.append(f"{rel}: folder `{own}` is in no layer (add it to "
                                 "scripts/check_layers.py and README.md's Layout)")
                    continue
                with open(path, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        target = m.group(2)
                        if ".." in target.split("/"):
                            found.append(f"{rel}:{number}: relative include `{target}`")
                            continue
                        if "/" not in target:
                            if m.group(1) == '"':
                                found.append(f"{rel}:{number}: `{target}` names no folder")
                            continue
                        to = target.split("/")[0]
                        if to not in RANK:
                            if m.group(1) == '"':
                                found.append(f"{rel}:{number}: `{target}`: folder `{to}` is "
                                             "in no layer")
                            continue  # a system or third-party header
                        if to != own and RANK[to] >= RANK[own]:
                            way = "a sibling" if RANK[to] == RANK[own] else "up"
                            found.append(f"{rel}:{number}: `{own}` includes `{target}`, which "
                                         f"points {way} the layers")
    return found


def self_test():
    """The checker must catch an upward and a sibling include, and pass a downward one."""
    with tempfile.TemporaryDirectory() as root:
        files = {
            "src/core/a.hpp": '#include "base/b.hpp"\n#include "sluice/event.hpp"\n',
            "src/base/b.hpp": '#include <string>\n#include "core/a.hpp"\n',
            "src/sinks/s.cpp": '#include "sources/x.hpp"\n#include "options/o.hpp"\n',
        }
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w", encoding="utf-8") as f:
                f.write(text)
        got = violations(root)
        want = ["src/base/b.hpp:2:", "src/sinks/s.cpp:1:"]
        if len(got) != len(want) or not all(g.startswith(w) for g, w in zip(sorted(got), want)):
            print("check_layers.py self-test failed; found:\n  " + "\n  ".join(got))
            return False
    return True


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))
    if not self_test():
        return 2
    found = violations(root)
    for v in found:
        print(v)
    if found:
        print(f"{len(found)} include(s) point up the layers: see README.md, ## Layout")
        return 1
    print("every #include in src/ and include/sluice/ points down the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
