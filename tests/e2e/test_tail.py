"""`sluice tail`: stdin and file modes, text/JSON output, colours on a terminal, filters, --to,
exit codes. File-mode cases run only when the build has the `file` source."""

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402

# `2024-05-01T10:00:01.500Z LEVEL message k=v`: 24 characters of time, a space, the level
# padded to 6; `[origin] ` before it when several files or pods are shown.
TEXT_LINE = re.compile(r"^(?:\[.*?\] )?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (.{6})(.*)$")
ANSI_SEQ = re.compile(rb"\x1b\[[0-9;]*m")


def parse_text(output):
    """[(level, rest)] of text output; fails on a line that is not in the text format."""
    rows = []
    for line in output.decode("utf-8").replace("\r\n", "\n").splitlines():
        m = TEXT_LINE.match(line)
        if not m:
            raise AssertionError(f"not a text event line: {line!r}")
        rows.append((m.group(1).strip(), m.group(2)))
    return rows


def shown_messages(output):
    """The message part (up to the first ` key=`) of each text line."""
    return [re.split(r" [A-Za-z_.@-]+=", rest, maxsplit=1)[0] for _, rest in parse_text(output)]


def jsonl(*objects):
    return "".join(json.dumps(o) + "\n" for o in objects).encode()


def rfc3339(seconds_ago):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - seconds_ago))


class TailTestCase(e2e.SluiceTestCase):
    def tail(self, args, input=b"", env=None, timeout=20):
        return self.run_sluice(["tail"] + list(args), input=input, env=env, timeout=timeout)

    def tail_ok(self, args, input=b"", env=None, timeout=20):
        r = self.tail(args, input=input, env=env, timeout=timeout)
        self.assertEqual(r.rc, 0, r.describe())
        return r

    def run_in_pty(self, args, input, env):
        """Runs sluice with stdout on a pseudo-terminal (stdin a pipe); returns (rc, output)."""
        master, slave = pty.openpty()
        proc = subprocess.Popen([e2e.BIN] + args, stdin=subprocess.PIPE, stdout=slave,
                                stderr=subprocess.PIPE, env=env)
        os.close(slave)  # only the child holds it now: its exit makes reads fail with EIO
        proc.stdin.write(input)
        proc.stdin.close()
        out = b""
        deadline = time.monotonic() + 20
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.2)
                if not ready:
                    if proc.poll() is not None:
                        break
                    continue
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the terminal's last writer is gone
                    break
                if not chunk:
                    break
                out += chunk
            rc = proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stderr.close()
            os.close(master)
        return rc, out


class TailStdin(TailTestCase):
    MIXED = (jsonl({"level": "info", "msg": "json info", "user": "bob"})
             + b"plain text line\n"
             + b'level=error msg="logfmt error" code=500\n'
             + jsonl({"level": "warn", "msg": "json warn", "time": "2024-05-01T10:00:00Z"}))

    def test_pipe_output_is_plain_text(self):
        r = self.tail_ok([], input=self.MIXED)
        self.assertNotIn(e2e.ANSI, r.stdout)
        self.assertEqual(parse_text(r.stdout), [
            ("INFO", "json info user=bob"),
            ("-", "plain text line"),
            ("ERROR", "logfmt error code=500"),
            ("WARN", "json warn"),
        ])
        # The event's own time is shown, not the time it was read.
        self.assertTrue(r.stdout.decode().splitlines()[3].startswith("2024-05-01T10:00:00.000Z"))

    def test_dash_means_stdin(self):
        r = self.tail_ok(["-"], input=b"one\ntwo\n")
        self.assertEqual(shown_messages(r.stdout), ["one", "two"])

    def test_json_output(self):
        r = self.tail_ok(["--json"], input=self.MIXED)
        events = e2e.parse_jsonl_bytes(r.stdout)
        self.assertEqual([e.get("msg", e.get("message")) for e in events],
                         ["json info", "plain text line", "logfmt error", "json warn"])
        for event in events:
            self.assertEventShape(event, "stdin", "stdin")
        self.assertEqual(events[3]["@timestamp"], "2024-05-01T10:00:00.000000000Z")

    def test_quiet_by_default_and_sluice_log_still_works(self):
        r = self.tail_ok([], input=b"x\n")
        self.assertEqual(r.stderr_text, "", "tail should print no logs of its own by default")
        r = self.tail_ok([], input=b"x\n", env=e2e.base_env({"SLUICE_LOG": "info"}))
        self.assertIn("component totals", r.stderr_text)

    def test_ignores_sluice_sinks_and_config(self):
        stray = self.path("stray.jsonl")
        env = e2e.base_env({"SLUICE_SINKS": "file://" + stray,
                            "SLUICE_CONFIG": self.path("missing.yaml")})
        r = self.tail_ok([], input=b"hello\n", env=env)
        self.assertEqual(shown_messages(r.stdout), ["hello"])
        self.assertFalse(os.path.exists(stray))

    # --- filters ---

    def test_level(self):
        data = (jsonl({"level": "info", "msg": "i1"}, {"level": "warn", "msg": "w1"})
                + b"level=error msg=e1\n"
                + jsonl({"lvl": "ERROR", "msg": "e2"}, {"level": 50, "msg": "pino-error"},
                        {"severity": "WARNING", "msg": "gcp-warn"})
                + b"no level at all\n"
                + jsonl({"level": "debug", "msg": "d1"}, {"level": "fatal", "msg": "f1"}))
        r = self.tail_ok(["--level", "warn"], input=data)
        self.assertEqual(shown_messages(r.stdout),
                         ["w1", "e1", "e2", "pino-error", "gcp-warn", "f1"])
        r = self.tail_ok(["-l", "ERROR"], input=data)
        self.assertEqual(shown_messages(r.stdout), ["e1", "e2", "pino-error", "f1"])

    def test_grep_matches_raw_line_or_message(self):
        data = (jsonl({"msg": "hello", "user": "bob"}, {"msg": 'say "quoted"'},
                      {"msg": "other", "user": "alice"})
                + b"price $5\nTimeout here\nnothing\n")
        r = self.tail_ok(["--grep", "bob"], input=data)
        self.assertEqual(shown_messages(r.stdout), ["hello"])  # a field value, in the raw line
        # The message as parsed (unescaped): the raw line holds say \"quoted\".
        r = self.tail_ok(["-g", 'say "quoted"'], input=data)
        self.assertEqual(shown_messages(r.stdout), ['say "quoted"'])
        r = self.tail_ok(["-g", r"price \$5$"], input=data)  # `$` is the regex's, not ${VAR}
        self.assertEqual(shown_messages(r.stdout), ["price $5"])
        r = self.tail_ok(["-g", "(?i)timeout"], input=data)
        self.assertEqual(shown_messages(r.stdout), ["Timeout here"])

    def test_where(self):
        data = (jsonl({"user": "bob", "status": 500, "msg": "a"},
                      {"user": "alice", "status": 500, "msg": "b"},
                      {"user": "bob", "status": 200, "msg": "c"})
                + b"user=bob status=500 msg=d\n"
                + jsonl({"kubernetes": {"pod": {"name": "api-1"}}, "msg": "e"},
                        {"user": 'bob "the" ${HOME}', "msg": "f"}))
        r = self.tail_ok(["-w", "user=bob", "--where", "status=500"], input=data)
        self.assertEqual(shown_messages(r.stdout), ["a", "d"])
        r = self.tail_ok(["-w", "kubernetes.pod.name=api-1"], input=data)
        self.assertEqual(shown_messages(r.stdout), ["e"])
        r = self.tail_ok(["-w", 'user=bob "the" ${HOME}'], input=data)  # taken literally
        self.assertEqual(shown_messages(r.stdout), ["f"])
        r = self.tail_ok(["-w", "user!=bob"], input=data)  # a missing field is "not bob"
        self.assertEqual(shown_messages(r.stdout), ["b", "e", "f"])

    def test_where_with_a_quoted_key(self):
        # A double-quoted segment is one key as written: dots, slashes and `=` included.
        data = jsonl({"app.kubernetes.io/name": "web", "msg": "a"},
                     {"labels": {"app.kubernetes.io/name": "web"}, "msg": "b"},
                     {"labels": {"app": {"kubernetes": "web"}}, "msg": "c"},
                     {"a=b": "x", "msg": "d"})
        def first_words(output):  # the messages are one word; keys with `/` follow them
            return [rest.split(" ")[0] for _, rest in parse_text(output)]
        r = self.tail_ok(["-w", '"app.kubernetes.io/name"=web'], input=data)
        self.assertEqual(first_words(r.stdout), ["a"])
        r = self.tail_ok(["-w", 'labels."app.kubernetes.io/name"=web'], input=data)
        self.assertEqual(first_words(r.stdout), ["b"])
        r = self.tail_ok(["-w", '"a=b"=x'], input=data)
        self.assertEqual(first_words(r.stdout), ["d"])
        r = self.tail_ok(["--filter", 'labels."app.kubernetes.io/name" != web'], input=data)
        self.assertEqual(first_words(r.stdout), ["a", "c", "d"])

    def test_since(self):
        data = jsonl({"time": "2001-01-01T00:00:00Z", "msg": "ancient"},
                     {"time": rfc3339(3600), "msg": "an hour ago"},
                     {"time": rfc3339(30), "msg": "30s ago"}) + b"no time: counts as now\n"
        r = self.tail_ok(["--since", "10m"], input=data)
        self.assertEqual(shown_messages(r.stdout), ["30s ago", "no time: counts as now"])
        r = self.tail_ok(["--since", "1h30m"], input=data)
        self.assertEqual(shown_messages(r.stdout),
                         ["an hour ago", "30s ago", "no time: counts as now"])
        r = self.tail_ok(["--since", "2000-06-01T00:00:00+02:00"], input=data)
        self.assertEqual(len(shown_messages(r.stdout)), 4)
        r = self.tail_ok(["--since", "2001-01-01T00:00:01Z"], input=data)
        self.assertEqual(len(shown_messages(r.stdout)), 3)

    def test_filter_expression_and_combination(self):
        data = jsonl({"level": "error", "status": 503, "path": "/api", "msg": "a"},
                     {"level": "error", "status": 503, "path": "/health", "msg": "b"},
                     {"level": "info", "status": 503, "path": "/api", "msg": "c"},
                     {"level": "error", "status": 404, "path": "/api", "msg": "d timeout"},
                     {"level": "error", "status": 500, "path": "/api", "msg": "e timeout"})
        r = self.tail_ok(["--filter", "status >= 500", "--filter", 'not path =~ "^/health"'],
                         input=data)
        self.assertEqual(shown_messages(r.stdout), ["a", "c", "e timeout"])
        r = self.tail_ok(["-l", "warn", "--filter", "status >= 500", "-g", "timeout"],
                         input=data)
        self.assertEqual(shown_messages(r.stdout), ["e timeout"])

    def test_to_ships_what_is_shown(self):
        first = self.path("shown.jsonl")
        second = self.path("shown.jsonl.gz")
        data = jsonl({"level": "info", "msg": "quiet"}, {"level": "error", "msg": "loud"})
        r = self.tail_ok(["-l", "warn", "--to", "file://" + first,
                          "--to", "file://" + second + "?compression=gzip"], input=data)
        self.assertEqual(shown_messages(r.stdout), ["loud"])
        events = e2e.read_jsonl(first)
        self.assertEqual([e["msg"] for e in events], ["loud"])
        self.assertEventShape(events[0], "stdin", "stdin")
        import gzip
        with gzip.open(second, "rb") as f:
            self.assertEqual([e["msg"] for e in e2e.parse_jsonl_bytes(f.read())], ["loud"])

    # --- errors ---

    def test_invalid_options_exit_78_with_a_clear_message(self):
        cases = [
            (["-l", "loud"], "--level: unknown level `loud`"),
            (["-g", "("], "--grep `(`: invalid regular expression"),
            (["-w", "nokey"], "--where `nokey`: expected key=value"),
            (["-w", "=v"], "--where `=v`"),
            (["-w", 'labels."app=web'],
             "--where `labels.\"app=web`, at character 8: unterminated quoted name"),
            (["--filter", 'labels."app == web'],
             "column 8: unterminated quoted name in field path"),
            (["--since", "yesterday"], "--since `yesterday`"),
            (["--filter", "level >="], "--filter `level >=`: column"),
            (["--to", "ftp://x/y"], "--to: unsupported sink scheme `ftp`"),
            (["--to", "file://relative.jsonl"], "--to: file URLs need an absolute path"),
            (["--to", "file:///tmp/x.jsonl?bogus=1"], "unknown key `bogus`"),
            ([self.dir], "is a directory"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                r = self.tail(args, input=b"x\n")
                self.assertEqual(r.rc, 78, r.describe())
                self.assertTrue(r.stderr_text.startswith("sluice tail: "), r.describe())
                self.assertIn(message, r.stderr_text)
                self.assertEqual(r.stdout, b"")

    def test_usage_errors_exit_64(self):
        for args in (["--color", "maybe"], ["--no-such-flag"], ["--follow", "--no-follow"]):
            with self.subTest(args=args):
                self.assertEqual(self.tail(args).rc, 64)

    def test_help_documents_options_and_examples(self):
        r = self.run_ok(["tail", "--help"])
        text = r.stdout.decode()
        for word in ("--level", "--grep", "--where", "--since", "--filter", "--to", "--json",
                     "--no-follow", "--from-beginning", "--color", "Examples:", "NO_COLOR"):
            self.assertIn(word, text)

    # --- interaction ---

    def test_starts_instantly_and_exits_0_on_sigint(self):
        proc_args = ["tail", "--json"]
        running = self.start(proc_args, stdin=subprocess.PIPE)
        start = time.monotonic()
        running.proc.stdin.write(b"first\n")
        running.proc.stdin.flush()
        e2e.wait_until(lambda: b"first" in running.stdout(), timeout=10, what="first line shown")
        self.assertLess(time.monotonic() - start, 2.0, "the first line took too long to show")
        running.signal(signal.SIGINT)
        r = running.wait(timeout=10)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertLess(r.elapsed, 5)

    def test_closed_output_ends_tail(self):
        # `... | sluice tail | head`: once the reader is gone, tail stops instead of running on.
        proc = subprocess.Popen([e2e.BIN, "tail"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=e2e.base_env())
        self.addCleanup(proc.stdin.close)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        proc.stdin.write(b"one\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        self.assertTrue(ready, "no output within 10s")
        self.assertIn(b"one", proc.stdout.readline())
        proc.stdout.close()  # stdin stays open: only the closed output can end it
        self.assertEqual(proc.wait(timeout=10), 0)

    def test_multiline_joins_a_stack_trace(self):
        data = (b'Exception in thread "main" java.lang.IllegalStateException: boom\n'
                b"\tat com.example.Service.run(Service.java:42)\n"
                b"\tat com.example.Main.main(Main.java:7)\n"
                b"next record\n")
        r = self.tail_ok(["--multiline", "java", "--json"], input=data)
        events = e2e.parse_jsonl_bytes(r.stdout)
        self.assertEqual(len(events), 2, r.stdout)
        self.assertIn("boom\n\tat com.example.Service.run", events[0]["message"])
        self.assertEqual(events[1]["message"], "next record")

    def test_no_metrics_server(self):
        # A person's tail must not take the daemon's metrics port (or any port).
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = e2e.base_env({"SLUICE_METRICS_ADDR": f"127.0.0.1:{port}"})
        running = self.start(["tail"], env=env, stdin=subprocess.PIPE)
        running.proc.stdin.write(b"ready\n")
        running.proc.stdin.flush()
        e2e.wait_until(lambda: b"ready" in running.stdout(), what="first line shown")
        with socket.socket() as s:
            self.assertNotEqual(s.connect_ex(("127.0.0.1", port)), 0,
                                "sluice tail is listening on SLUICE_METRICS_ADDR")
        self.assertEqual(running.wait().rc, 0)

    # --- terminal ---

    def test_colours_on_a_terminal(self):
        rc, out = self.run_in_pty(["tail"], self.MIXED, e2e.base_env())
        self.assertEqual(rc, 0)
        self.assertIn(e2e.ANSI, out)
        self.assertIn(b"\x1b[31m", out)  # error in red
        self.assertEqual(shown_messages(ANSI_SEQ.sub(b"", out))[:2], ["json info", "plain text line"])

    def test_no_color_on_a_terminal(self):
        rc, out = self.run_in_pty(["tail"], self.MIXED, e2e.base_env({"NO_COLOR": "1"}))
        self.assertEqual(rc, 0)
        self.assertNotIn(e2e.ANSI, out)
        self.assertEqual(len(parse_text(out)), 4)
        rc, out = self.run_in_pty(["tail", "--color", "never"], self.MIXED, e2e.base_env())
        self.assertNotIn(e2e.ANSI, out)

    def test_color_always_in_a_pipe(self):
        r = self.tail_ok(["--color", "always"], input=self.MIXED)
        self.assertIn(e2e.ANSI, r.stdout)


class TailFiles(TailTestCase):
    def append(self, path, text):
        with open(path, "a") as f:
            f.write(text)

    def wait_following(self, running, path):
        """Appends probe lines until one shows: the file is then open and followed."""
        for n in range(200):
            self.append(path, f"probe-{n}\n")
            time.sleep(0.05)
            if b"probe-" in running.stdout():
                return
        self.fail(f"{path} was never followed; stderr:\n{running.stderr_text()[-2000:]}")

    def wait_shown(self, running, *words):
        e2e.wait_until(lambda: all(w.encode() in running.stdout() for w in words), timeout=15,
                       what=f"{words} shown; stderr: {running.stderr_text()[-1000:]}")

    def stop(self, running):
        running.signal(signal.SIGINT)
        r = running.wait(timeout=15)
        self.assertEqual(r.rc, 0, r.describe())
        return r

    def test_follow_starts_at_the_end(self):
        log = self.write_file("app.log", "old line\n")
        running = self.start(["tail", log])
        self.wait_following(running, log)
        self.append(log, '{"level":"error","msg":"appended"}\n')
        self.wait_shown(running, "appended")
        r = self.stop(running)
        self.assertNotIn(b"old line", r.stdout)
        self.assertIn(("ERROR", "appended"), parse_text(r.stdout))

    def test_from_beginning_then_follow(self):
        log = self.write_file("app.log", "old line\n")
        running = self.start(["tail", "-b", log])
        self.wait_shown(running, "old line")
        self.append(log, "new line\n")
        self.wait_shown(running, "new line")
        self.stop(running)

    def test_no_follow_reads_whole_files_and_exits(self):
        # Files larger than a read budget (512 KiB), the later name written first: they are
        # printed one after the other in path order, as `cat` would, not interleaved by budget
        # nor in the order the file system numbered them.
        later = [f"b line {i:06d}" for i in range(60000)]
        b = self.write_file("b.log", "\n".join(later) + "\n")
        small = self.write_file("c.log", "level=warn msg=small\n")
        first = [f"a line {i:06d}" for i in range(60000)]
        a = self.write_file("a.log", "\n".join(first) + "\n")
        r = self.tail_ok(["--no-follow", small, b, a])
        got = shown_messages(r.stdout)
        self.assertEqual(got, first + later + ["small"])
        self.assertLess(r.elapsed, 10)

    def test_no_follow_with_filters_and_json(self):
        log = self.write_file("app.log", "level=info msg=a\nlevel=error msg=b\n")
        r = self.tail_ok(["--no-follow", "--json", "-l", "error", log])
        events = e2e.parse_jsonl_bytes(r.stdout)
        self.assertEqual([e["msg"] for e in events], ["b"])
        self.assertEqual(events[0]["source"], "file")
        self.assertEqual(events[0]["log"]["file"]["path"], log)

    def test_globs(self):
        self.write_file("a.log", "in a\n")
        self.write_file("sub/deep/b.log", "in b\n")
        self.write_file("c.txt", "in c\n")
        self.write_file("lit[1].log", "literal brackets\n")
        r = self.tail_ok(["--no-follow", self.path("**/*.log")])
        self.assertEqual(sorted(shown_messages(r.stdout)),
                         ["in a", "in b", "literal brackets"])
        # A name that exists is taken literally even with glob characters in it.
        r = self.tail_ok(["--no-follow", self.path("lit[1].log")])
        self.assertEqual(shown_messages(r.stdout), ["literal brackets"])

    def test_follow_glob_picks_up_new_files_from_their_start(self):
        first = self.write_file("a.log", "")
        running = self.start(["tail", self.path("*.log")])
        self.wait_following(running, first)
        self.write_file("b.log", "first line of a new file\n")
        self.wait_shown(running, "first line of a new file")
        self.stop(running)

    def test_missing_file_is_waited_for(self):
        present = self.write_file("present.log", "")
        later = self.path("later.log")
        running = self.start(["tail", present, later])
        self.wait_following(running, present)
        self.write_file("later.log", "created later\n")
        self.wait_shown(running, "created later")
        r = self.stop(running)
        self.assertIn("later.log does not exist yet", r.stderr_text)

    def test_missing_file_with_no_follow_exits_66(self):
        r = self.tail(["--no-follow", self.path("nope.log")])
        self.assertEqual(r.rc, 66, r.describe())
        self.assertIn("nope.log: no such file", r.stderr_text)

    def test_rename_rotation(self):
        log = self.write_file("app.log", "")
        running = self.start(["tail", log])
        self.wait_following(running, log)
        self.append(log, "before rotation\n")
        os.rename(log, log + ".1")
        self.append(log + ".1", "late write to the rotated file\n")
        self.write_file("app.log", "after rotation\n")
        self.wait_shown(running, "before rotation", "late write to the rotated file",
                        "after rotation")
        self.stop(running)

    def test_copytruncate_rotation(self):
        log = self.write_file("app.log", "")
        running = self.start(["tail", log])
        self.wait_following(running, log)
        self.append(log, "before truncation " + "x" * 200 + "\n")
        self.wait_shown(running, "before truncation")
        os.truncate(log, 0)
        self.append(log, "after truncation\n")
        self.wait_shown(running, "after truncation")
        self.stop(running)

    def test_container_logs_are_decoded(self):
        name = "api-7d9f_shop_server-" + "a" * 64 + ".log"
        self.write_file(name,
                        '2024-05-01T10:00:00.1Z stdout F {"level":"error","msg":"boom"}\n'
                        "2024-05-01T10:00:00.2Z stderr P partial \n"
                        "2024-05-01T10:00:00.3Z stderr F end\n")
        self.write_file("other_web_nginx-" + "b" * 64 + ".log",
                        "2024-05-01T10:00:00.4Z stdout F elsewhere\n")
        r = self.tail_ok(["--no-follow", "--container", "-w", "kubernetes.namespace=shop",
                          self.path("*.log")])
        self.assertEqual(parse_text(r.stdout), [("ERROR", "boom"), ("-", "partial end")])
        # A glob may match several pods: each line says which.
        self.assertTrue(r.stdout.startswith(b"[shop/api-7d9f/server] 2024-05-01T10:00:00.100Z"),
                        r.stdout)

    def test_dash_dash_ends_options(self):
        self.write_file("-odd.log", "odd name\n")
        r = self.run_ok(["tail", "--no-follow", "--", "-odd.log"], cwd=self.dir)
        self.assertEqual(shown_messages(r.stdout), ["odd name"])

    def test_files_and_stdin_together(self):
        log = self.write_file("app.log", "from the file\n")
        r = self.tail_ok(["--no-follow", log, "-"], input=b"from stdin\n")
        self.assertEqual(sorted(shown_messages(r.stdout)), ["from stdin", "from the file"])
        # Every source reaches the filters, not only the first.
        r = self.tail_ok(["--no-follow", "-g", "from", log, "-"], input=b"from stdin\nno\n")
        self.assertEqual(sorted(shown_messages(r.stdout)), ["from stdin", "from the file"])
        r = self.tail_ok(["--no-follow", "-g", "the", "-w", "a!=b", log, "-"],
                         input=b"from stdin\n")
        self.assertEqual(shown_messages(r.stdout), ["from the file"])


if __name__ == "__main__":
    e2e.main()
