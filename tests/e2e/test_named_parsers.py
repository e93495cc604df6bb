"""`parser: syslog` and `parser: clf` through the real binary, on real lines: loghub's Linux
syslog (logpai/loghub) and Loki promtail's short access log (grafana/loki), see the corpus README;
plus `sluice tail --parser`."""

import calendar
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402

MONTHS = {m: i for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)}


def field(event, dotted):
    """A dotted ECS name, whether written as a dotted key or as nested objects."""
    if dotted in event:
        return event[dotted]
    node = event
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def inferred_year(read_time, month, day, clock):
    """The read time's year unless that puts the time more than a day after it (UTC)."""
    year = time.gmtime(read_time).tm_year
    h, m, s = (int(float(x)) for x in clock.split(":"))
    if calendar.timegm((year, month, day, h, m, s, 0, 0, 0)) > read_time + 86400:
        year -= 1
    return year


def corpus_lines(*parts):
    with open(e2e.corpus_path(*parts), "rb") as f:
        lines = f.read().split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


class NamedParsers(e2e.SluiceTestCase):

    def run_lines(self, lines, parser):
        out = self.path(f"out-{time.monotonic_ns()}.jsonl")
        cfg = self.stdin_file_config(out, source_opts=f", parser: {parser}")
        self.run_ok(["run", "-c", cfg], input=b"".join(line + b"\n" for line in lines),
                    timeout=30)
        return e2e.read_jsonl(out)

    def test_syslog_loghub_linux(self):
        lines = corpus_lines("loghub", "Linux_2k.log")
        self.assertEqual(len(lines), 2000)
        before = time.time()
        events = self.run_lines(lines, "syslog")
        self.assertEqual(len(events), len(lines))
        # The year is inferred from the read time: the most recent year that does not put the
        # line more than a day ahead of it.
        for line, event in zip(lines, events):
            text = line.decode()
            self.assertNotIn("tags", event, text)
            month, day, hms = MONTHS[text[:3]], int(text[4:6]), text[7:15]
            year = inferred_year(before, month, day, hms)
            self.assertEqual(event["@timestamp"],
                             e2e.normalised_rfc3339(f"{year}-{month:02d}-{day:02d}T{hms}Z"), text)
            self.assertEqual(field(event, "host.hostname"), "combo", text)
            # The metadata host stays: a parsed host.hostname does not replace host.name.
            self.assertTrue(field(event, "host.name"), text)
            self.assertEqual(event["source"], "in")
        first = events[0]
        self.assertEqual(field(first, "process.name"), "sshd(pam_unix)")
        self.assertEqual(field(first, "process.pid"), 19939)
        self.assertEqual(first["message"], lines[0].decode().split("]: ", 1)[1])

    def test_syslog_priority_and_5424(self):
        events = self.run_lines([
            b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
            b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 '
            b'[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application '
            b'event log entry...',
            b"not a syslog line",
        ], "syslog")
        self.assertEqual(len(events), 3)
        self.assertEqual(events[0]["level"], "crit")
        self.assertEqual(field(events[0], "log.syslog.facility.name"), "auth")
        self.assertEqual(field(events[0], "log.syslog.severity.code"), 2)
        self.assertEqual(events[1]["@timestamp"], "2003-10-11T22:14:15.003000000Z")
        self.assertEqual(events[1]["level"], "notice")
        self.assertEqual(field(events[1], "log.syslog.structured_data"),
                         {"exampleSDID@32473": {"iut": "3", "eventSource": "Application",
                                                "eventID": "1011"}})
        self.assertEqual(field(events[1], "log.syslog.msgid"), "ID47")
        self.assertEqual(events[2]["message"], "not a syslog line")
        self.assertEqual(events[2]["tags"], ["parse_error"])

    def test_clf_loki_access_log(self):
        lines = corpus_lines("extra", "loki-promtail_short-access.log")
        events = self.run_lines(lines, "clf")
        self.assertEqual(len(events), len(lines))
        for line, event in zip(lines, events):
            text = line.decode()
            self.assertNotIn("tags", event, text)
            stamp = text[text.index("[") + 1:text.index("]")]  # 26/Jan/2019:20:27:53 +0330
            day, mon, rest = stamp.split("/")
            iso = (f"{rest[:4]}-{MONTHS[mon]:02d}-{day}T{rest[5:13]}"
                   f"{rest[14:17]}:{rest[17:19]}")
            self.assertEqual(event["@timestamp"], e2e.normalised_rfc3339(iso), text)
            self.assertEqual(field(event, "source.address"), text.split(" ", 1)[0])
            request = text.split('"')[1]
            method, target, version = request.split(" ")
            self.assertEqual(field(event, "http.request.method"), method)
            self.assertEqual(field(event, "url.original"), target)
            self.assertEqual(field(event, "http.version"), version[len("HTTP/"):])
            status = int(text.split('"')[2].split()[0])
            self.assertEqual(field(event, "http.response.status_code"), status)
            self.assertEqual(event["message"], text)
            # source.address takes the place of the source's name (one key, one type).
            self.assertNotIn("source", event)
        agents = [field(e, "user_agent.original") for e in events]
        self.assertIn("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
                      agents)

    def test_logcat_loghub_android_and_klog(self):
        lines = corpus_lines("loghub", "Android_2k.log")
        before = time.time()
        events = self.run_lines(lines, "logcat")
        self.assertEqual(len(events), 2000)
        for line, event in zip(lines, events):
            text = line.decode()
            self.assertNotIn("tags", event, text)
            date, clock, pid, tid, level = text.split()[:5]
            self.assertEqual(event["level"], level)
            self.assertEqual(field(event, "process.pid"), int(pid))
            self.assertEqual(field(event, "process.thread.id"), int(tid))
            year = inferred_year(before, int(date[:2]), int(date[3:]), clock)
            self.assertEqual(event["@timestamp"],
                             e2e.normalised_rfc3339(f"{year}-{date}T{clock}Z"), text)

        events = self.run_lines([
            b"E0930 02:45:00.550361   15299 handlers.go:131] GET /api/v1/pods: 500",
            b"plain",
        ], "klog")
        self.assertEqual(events[0]["level"], "E")
        self.assertEqual(field(events[0], "log.origin.file.name"), "handlers.go")
        self.assertEqual(field(events[0], "log.origin.file.line"), 131)
        self.assertEqual(events[0]["message"], "GET /api/v1/pods: 500")
        self.assertEqual(events[1]["tags"], ["parse_error"])

    def test_multiline_auto_with_klog(self):
        """`multiline: auto` joins a klog message's continuation lines; the joined record is
        then parsed by `parser: klog` with its first line's header."""
        head = (b"I0930 02:45:00.561813   15325 controller.go:250] Pod nginx updated.\n" * 12)
        data = head + (b"E0930 02:45:01.000000   15325 controller.go:300] sync failed:\n"
                       b"  pod nginx: timeout\n  pod web: timeout\n"
                       b"I0930 02:45:02.000000   15325 controller.go:250] done\n")
        out = self.path("auto.jsonl")
        cfg = self.stdin_file_config(out, source_opts=", parser: klog, multiline: auto")
        self.run_ok(["run", "-c", cfg], input=data, timeout=30)
        events = e2e.read_jsonl(out)
        self.assertEqual(len(events), 14)
        self.assertEqual(events[12]["level"], "E")
        self.assertEqual(events[12]["message"], "sync failed:\n  pod nginx: timeout\n  pod web: timeout")
        self.assertEqual(field(events[12], "log.origin.file.line"), 300)
        self.assertEqual(events[13]["message"], "done")

        # A stream that is mostly not timed stays line by line.
        out = self.path("plain.jsonl")
        cfg = self.stdin_file_config(out, source_opts=", multiline: auto")
        self.run_ok(["run", "-c", cfg], input=b"one\n  two\nthree\n" * 20, timeout=30)
        self.assertEqual(len(e2e.read_jsonl(out)), 60)

    def test_tail_parser_option(self):
        data = (b"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /a.gif HTTP/1.0\" 503 "
                b"2326 \"-\" \"curl/8\"\n"
                b"127.0.0.1 - - [10/Oct/2000:13:55:37 -0700] \"GET /b HTTP/1.0\" 200 1 \"-\" "
                b"\"curl/8\"\n")
        r = self.run_ok(["tail", "--parser", "clf", "--json", "--filter",
                         "http.response.status_code >= 500"], input=data, timeout=20)
        events = e2e.parse_jsonl_bytes(r.stdout)
        self.assertEqual(len(events), 1, r.describe())
        self.assertEqual(events[0]["@timestamp"], "2000-10-10T20:55:36.000000000Z")
        self.assertEqual(field(events[0], "user.name"), "frank")

        # --multiline auto: the traceback after a timed Python logging line is one event.
        lines = b"".join(b"2024-01-02 03:04:%02d,000 INFO app: step %d\n" % (i, i) for i in range(12))
        lines += (b"2024-01-02 03:05:00,000 ERROR app: failed\nTraceback (most recent call last):\n"
                  b'  File "x.py", line 1, in <module>\nValueError: boom\n')
        r = self.run_ok(["tail", "--multiline", "auto", "--json"], input=lines, timeout=20)
        events = e2e.parse_jsonl_bytes(r.stdout)
        self.assertEqual(len(events), 13, r.describe())
        self.assertEqual(events[12]["level"], "ERROR")
        self.assertTrue(events[12]["message"].endswith("\nValueError: boom"), events[12])

        r = self.run_sluice(["tail", "--parser", "sislog"], input=b"x\n", timeout=20)
        self.assertEqual(r.rc, 78, r.describe())
        self.assertIn("syslog", r.stderr_text)


if __name__ == "__main__":
    e2e.main()
