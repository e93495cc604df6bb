"""`parser: auto` on plain text, measured on all 16 LogHub files (logpai/loghub, see the corpus
README): the share of lines whose @timestamp and level are the line's own, each file's expected
values read by its own regular expression below (written from LogHub's published log formats,
independent of the detector). Files in a layout the README lists must be read on every line;
on the others no line may get a wrong time or level (lines left alone are fine).
Run directly (`python3 test_text_detection.py -v`) it prints the README's table."""

import calendar
import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402

MONTHS = {m: i for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)}


def ymd(y, mo, d):
    return int(y), int(mo), int(d)


# file -> (regex, function(match) -> (year or None, month, day, "HH:MM:SS", fraction digits,
# level or None)). A year of None is inferred as syslog readers do (see inferred_year).
REFERENCE = {
    "Android_2k.log": (r"^(\d\d)-(\d\d) (\d\d:\d\d:\d\d)\.(\d{3}) +\d+ +\d+ ([VDIWEFA]) ",
                       lambda m: (None, int(m[1]), int(m[2]), m[3], m[4], m[5])),
    "Apache_2k.log": (r"^\[\w{3} (\w{3}) (\d\d) (\d\d:\d\d:\d\d) (\d{4})\] \[(\w+)\] ",
                      lambda m: (int(m[4]), MONTHS[m[1]], int(m[2]), m[3], "", m[5])),
    "Hadoop_2k.log": (r"^(\d{4})-(\d\d)-(\d\d) (\d\d:\d\d:\d\d),(\d{3}) ([A-Z]+) ",
                      lambda m: (*ymd(m[1], m[2], m[3]), m[4], m[5], m[6])),
    "Linux_2k.log": (r"^(\w{3}) +(\d+) (\d\d:\d\d:\d\d) ",
                     lambda m: (None, MONTHS[m[1]], int(m[2]), m[3], "", None)),
    "Mac_2k.log": (r"^(\w{3}) +(\d+) (\d\d:\d\d:\d\d) ",
                   lambda m: (None, MONTHS[m[1]], int(m[2]), m[3], "", None)),
    "OpenSSH_2k.log": (r"^(\w{3}) +(\d+) (\d\d:\d\d:\d\d) ",
                       lambda m: (None, MONTHS[m[1]], int(m[2]), m[3], "", None)),
    "Spark_2k.log": (r"^(\d\d)/(\d\d)/(\d\d) (\d\d:\d\d:\d\d) ([A-Z]+) ",
                     lambda m: (2000 + int(m[1]), int(m[2]), int(m[3]), m[4], "", m[5])),
    "Windows_2k.log": (r"^(\d{4})-(\d\d)-(\d\d) (\d\d:\d\d:\d\d), (\w+) ",
                       lambda m: (*ymd(m[1], m[2], m[3]), m[4], "", m[5])),
    "Zookeeper_2k.log": (r"^(\d{4})-(\d\d)-(\d\d) (\d\d:\d\d:\d\d),(\d{3}) - ([A-Z]+) ",
                         lambda m: (*ymd(m[1], m[2], m[3]), m[4], m[5], m[6])),
}
# BSD syslog as written to files has no level (no <PRI>).
WITHOUT_LEVEL = ["Linux_2k.log", "Mac_2k.log", "OpenSSH_2k.log"]
# Layouts the README does not list (epoch columns, a file name first, `[MM.dd HH:mm:ss]`,
# `yyMMdd HHmmss`, `yyyyMMdd-HH:mm:ss:SSS`): every line is left alone.
LEFT_ALONE = ["BGL_2k.log", "HDFS_2k.log", "HPC_2k.log", "HealthApp_2k.log", "OpenStack_2k.log",
              "Proxifier_2k.log", "Thunderbird_2k.log"]


def inferred_year(read_time, month, day, clock):
    """The read time's year unless that puts the time more than a day after it (UTC)."""
    year = time.gmtime(read_time).tm_year
    h, m, s = (int(x) for x in clock.split(":"))
    if calendar.timegm((year, month, day, h, m, s, 0, 0, 0)) > read_time + 86400:
        year -= 1
    return year


def file_lines(path):
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


class TextDetection(e2e.SluiceTestCase):

    def run_file(self, name):
        lines = file_lines(e2e.corpus_path("loghub", name))
        out = self.path(f"out-{time.monotonic_ns()}.jsonl")
        cfg = self.stdin_file_config(out)
        before = time.time()
        self.run_ok(["run", "-c", cfg], input=b"".join(line + b"\n" for line in lines),
                    timeout=60)
        events = e2e.read_jsonl(out)
        self.assertEqual(len(events), len(lines), name)
        return lines, events, before

    def measure(self, name):
        """(lines, own time right, own level right, wrong times, wrong levels)."""
        lines, events, before = self.run_file(name)
        pattern, read = REFERENCE.get(name, (None, None))
        time_ok = level_ok = wrong_time = wrong_level = 0
        for line, event in zip(lines, events):
            text = line.decode("utf-8", "replace")
            self.assertNotIn("tags", event, text)
            m = re.match(pattern, text) if pattern else None
            if m is None:
                # No reference reading: the line must be left alone (read time, no level).
                parsed_time = e2e.rfc3339_to_ns(event["@timestamp"]) < (before - 1) * 1e9
                wrong_time += parsed_time
                wrong_level += "level" in event
                continue
            year, month, day, clock, fraction, level = read(m)
            if year is None:
                year = inferred_year(before, month, day, clock)
            want = e2e.normalised_rfc3339(
                f"{year:04d}-{month:02d}-{day:02d}T{clock}{'.' + fraction if fraction else ''}Z")
            if event["@timestamp"] == want:
                time_ok += 1
            else:
                wrong_time += e2e.rfc3339_to_ns(event["@timestamp"]) < (before - 1) * 1e9
            if event.get("level") == level:
                level_ok += 1
            elif "level" in event:
                wrong_level += 1
        return len(lines), time_ok, level_ok, wrong_time, wrong_level

    def test_listed_layouts_every_line(self):
        for name in sorted(REFERENCE):
            with self.subTest(file=name):
                n, time_ok, level_ok, wrong_time, wrong_level = self.measure(name)
                self.assertEqual((time_ok, level_ok, wrong_time, wrong_level), (n, n, 0, 0))

    def test_other_layouts_no_wrong_time_or_level(self):
        for name in LEFT_ALONE:
            with self.subTest(file=name):
                n, time_ok, level_ok, wrong_time, wrong_level = self.measure(name)
                self.assertEqual((wrong_time, wrong_level), (0, 0))

    def test_year_of_an_old_file_comes_from_its_modification_time(self):
        # Written until 2020-01-01T00:00:30Z and read today: its year-less Dec 31 line is from
        # 2019 and its Jan 1 lines from 2020, whatever year it is now. The last line has no
        # newline: it is handed on only once the file is deleted (its end is final then), and
        # is still read against the file's time.
        log = self.write_file("logs/old.log",
                              b"Dec 31 23:59:59 host app[1]: last of the year\n"
                              b"Jan  1 00:00:01 host app[1]: first of the next\n"
                              b"Jan  1 00:00:02 host app[1]: unterminated")
        mtime = calendar.timegm((2020, 1, 1, 0, 0, 30, 0, 0, 0))
        os.utime(log, (mtime, mtime))
        out = self.path("out.jsonl")
        cfg = self.config(f"""
            data_dir: {e2e.yaml_str(self.path("data"))}
            sources:
              logs: {{type: file, include: [{e2e.yaml_str(log)}], read_from: beginning}}
            sinks:
              out: {{type: file, inputs: [logs], path: {e2e.yaml_str(out)}}}
            """)
        proc = self.start(["run", "-c", cfg])
        e2e.wait_until(lambda: len(e2e.read_jsonl_so_far(out)) >= 2,
                       timeout=20, what="two events")
        os.unlink(log)
        e2e.wait_until(lambda: len(e2e.read_jsonl_so_far(out)) >= 3, timeout=20,
                       what="the unterminated line once the file is deleted")
        proc.signal(signal.SIGTERM)
        proc.wait(20)
        events = e2e.read_jsonl(out)
        self.assertEqual([e["@timestamp"] for e in events],
                         ["2019-12-31T23:59:59.000000000Z", "2020-01-01T00:00:01.000000000Z",
                          "2020-01-01T00:00:02.000000000Z"])

    def test_all_sixteen_files_measured(self):
        files = sorted(os.path.basename(p) for p in
                       os.listdir(e2e.corpus_path("loghub")) if p.endswith("_2k.log"))
        self.assertEqual(files, sorted(list(REFERENCE) + LEFT_ALONE))


if __name__ == "__main__" and "--table" in sys.argv:
    sys.argv.remove("--table")
    case = TextDetection("test_all_sixteen_files_measured")
    case.setUp()
    print("| file | lines | own time | own level | wrong time | wrong level |")
    print("|---|---|---|---|---|---|")
    for name in sorted(list(REFERENCE) + LEFT_ALONE):
        n, t, lv, wt, wl = case.measure(name)
        if name in LEFT_ALONE:
            time_cell = level_cell = "0% (left alone)"
        else:
            time_cell = f"{100 * t / n:.0f}%"
            level_cell = ("no level written" if name in WITHOUT_LEVEL
                          else f"{100 * lv / n:.0f}%")
        print(f"| {name} | {n} | {time_cell} | {level_cell} | {wt} | {wl} |")
    case.tearDown()
elif __name__ == "__main__":
    e2e.main()
