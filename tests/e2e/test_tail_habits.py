"""`sluice tail` as `tail` and `kubectl logs` users expect it: -n N, where each line came from
when several files or pods are shown, stack traces as lines, compressed archives read
decompressed, silence when the reader goes away, and --container saying where it looked."""

import gzip
import os
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402
from test_tail import TailTestCase, parse_text, shown_messages  # noqa: E402

EX_USAGE = 64
EX_NOINPUT = 66
PREFIX = re.compile(r"^\[(.*?)\] (?=\d{4}-)")


def prefixes(output):
    """The `[origin]` of each line of text output (None where a line has none)."""
    found = []
    for line in output.decode().splitlines():
        m = PREFIX.match(line)
        found.append(m.group(1) if m else None)
    return found


class TailLines(TailTestCase):

    def test_lines_with_no_follow_prints_the_last_n(self):
        log = self.write_file("app.log", "".join(f"line {i}\n" for i in range(1, 11)))
        r = self.tail_ok(["--no-follow", "-n", "3", log])
        self.assertEqual(shown_messages(r.stdout), ["line 8", "line 9", "line 10"])
        r = self.tail_ok(["--no-follow", "--lines", "20", log])
        self.assertEqual(len(shown_messages(r.stdout)), 10)
        # An unfinished last line counts, as in tail.
        unfinished = self.write_file("u.log", "a\nb\nc")
        r = self.tail_ok(["--no-follow", "-n", "2", unfinished])
        self.assertEqual(shown_messages(r.stdout), ["b", "c"])

    def test_lines_then_follow(self):
        log = self.write_file("app.log", "".join(f"old {i}\n" for i in range(1, 6)))
        running = self.start(["tail", "-n", "2", log])
        e2e.wait_until(lambda: b"old 5" in running.stdout(), timeout=15, what="last lines shown")
        with open(log, "a") as f:
            f.write("appended\n")
        e2e.wait_until(lambda: b"appended" in running.stdout(), timeout=15, what="followed")
        running.signal(signal.SIGINT)
        r = running.wait(timeout=15)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertEqual(shown_messages(r.stdout), ["old 4", "old 5", "appended"])

    def test_lines_and_from_beginning_conflict(self):
        r = self.tail(["-n", "2", "-b", self.write_file("a.log", "x\n")])
        self.assertEqual(r.rc, EX_USAGE, r.describe())


class TailPrefix(TailTestCase):

    def test_one_file_has_no_prefix(self):
        r = self.tail_ok(["--no-follow", self.write_file("a.log", "one\n")])
        self.assertEqual(prefixes(r.stdout), [None])

    def test_several_files_or_a_glob_show_the_file_name(self):
        a = self.write_file("a.log", "from a\n")
        b = self.write_file("sub/b.log", "from b\n")
        r = self.tail_ok(["--no-follow", a, b])
        self.assertEqual(sorted(zip(prefixes(r.stdout), shown_messages(r.stdout))),
                         [("a.log", "from a"), ("b.log", "from b")])
        r = self.tail_ok(["--no-follow", self.path("**/*.log")])
        self.assertEqual(sorted(prefixes(r.stdout)), ["a.log", "b.log"])
        # Standard input beside a file is named `stdin`.
        r = self.tail_ok(["--no-follow", a, "-"], input=b"piped\n")
        self.assertEqual(sorted(prefixes(r.stdout)), ["a.log", "stdin"])

    def test_prefix_colour_only_when_colours_are_on(self):
        a = self.write_file("a.log", "from a\n")
        b = self.write_file("b.log", "from b\n")
        r = self.tail_ok(["--no-follow", a, b])
        self.assertNotIn(e2e.ANSI, r.stdout)
        r = self.tail_ok(["--no-follow", "--color", "always", a, b])
        for line in r.stdout.splitlines():
            self.assertRegex(line, rb"^\x1b\[[0-9;]*m\[[ab]\.log\]\x1b\[0m ")

    def test_containers_show_namespace_pod_container(self):
        self.write_file("api-7d9f_shop_server-" + "a" * 64 + ".log",
                        "2024-05-01T10:00:00.1Z stdout F from api\n")
        self.write_file("web-1_front_nginx-" + "b" * 64 + ".log",
                        "2024-05-01T10:00:00.2Z stdout F from web\n")
        r = self.tail_ok(["--no-follow", "--container", self.path("*.log")])
        self.assertEqual(sorted(zip(prefixes(r.stdout), shown_messages(r.stdout))),
                         [("front/web-1/nginx", "from web"), ("shop/api-7d9f/server", "from api")])


class TailText(TailTestCase):

    def test_a_stack_trace_prints_as_indented_lines(self):
        data = (b'Exception in thread "main" java.lang.IllegalStateException: boom\r\n'
                b"\tat com.example.Service.run(Service.java:42)\r\n"
                b"\tat com.example.Main.main(Main.java:7)\r\n"
                b"next record \x1b[31m\n")
        r = self.tail_ok(["--multiline", "java"], input=data)
        lines = r.stdout.decode().splitlines()
        self.assertEqual(len(lines), 4, r.stdout)
        self.assertTrue(lines[0].endswith("java.lang.IllegalStateException: boom"), lines[0])
        self.assertEqual(lines[1], "    \tat com.example.Service.run(Service.java:42)")
        self.assertEqual(lines[2], "    \tat com.example.Main.main(Main.java:7)")
        self.assertEqual(parse_text(lines[3].encode()), [("-", "next record \\x1b[31m")])
        self.assertNotIn(b"\\x0a", r.stdout)


class TailArchives(TailTestCase):

    def test_gzip_and_zstd_files_are_read_decompressed(self):
        gz = self.path("app.log.1.gz")
        with gzip.open(gz, "wb") as f:
            f.write(b'{"level":"error","msg":"from gzip"}\nsecond gzip line\n')
        # A zstd archive as sluice itself writes one.
        zst = self.path("app.log.2.zst")
        e2e.run(["tail", "--no-follow", "--to", f"file://{zst}?compression=zstd&encoding=raw",
                 self.write_file("plain.txt", "from zstd\n")])
        self.assertTrue(os.path.getsize(zst) > 0)
        r = self.tail_ok(["--no-follow", gz])
        self.assertEqual(parse_text(r.stdout), [("ERROR", "from gzip"), ("-", "second gzip line")])
        r = self.tail_ok(["--no-follow", "--json", zst])
        self.assertEqual([e["message"] for e in e2e.parse_jsonl_bytes(r.stdout)], ["from zstd"])
        # Through a glob too, beside a plain file, each named by its prefix.
        live = self.write_file("app.log", "live line\n")
        r = self.tail_ok(["--no-follow", self.path("app.log*")])
        self.assertEqual(sorted(zip(prefixes(r.stdout), shown_messages(r.stdout))),
                         [("app.log", "live line"), ("app.log.1.gz", "from gzip"),
                          ("app.log.1.gz", "second gzip line"), ("app.log.2.zst", "from zstd")])
        self.assertTrue(os.path.exists(live))

    def test_a_damaged_archive_is_reported(self):
        bad = self.write_file("bad.log.zst", "not zstd at all\n")
        r = self.tail(["--no-follow", bad])
        self.assertIn("cannot decompress", r.stderr_text)


class TailEndings(TailTestCase):

    def test_closed_output_is_silent(self):
        big = self.write_file("big.log", "".join(f"line {i}\n" for i in range(200000)))
        proc = subprocess.Popen([e2e.BIN, "tail", "--no-follow", big], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=e2e.base_env())
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.assertTrue(proc.stdout.readline().startswith(b"20"))  # `| head -1`
        proc.stdout.close()
        _, err = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(err.decode(), "")

    def test_container_without_a_log_directory_says_where_it_looked(self):
        if os.path.isdir("/var/log/containers"):
            self.skipTest("this machine has /var/log/containers")
        start = time.monotonic()
        r = self.tail(["--container"])
        self.assertEqual(r.rc, EX_NOINPUT, r.describe())
        self.assertIn("/var/log/containers does not exist", r.stderr_text)
        self.assertLess(time.monotonic() - start, 10)

    def test_a_glob_matching_nothing_says_so(self):
        r = self.tail_ok(["--no-follow", self.path("*.log")])
        self.assertIn("nothing matches " + self.path("*.log"), r.stderr_text)


if __name__ == "__main__":
    e2e.main()
