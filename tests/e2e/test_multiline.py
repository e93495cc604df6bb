"""Multiline records: stack traces joined into one event (`multiline:` on a source).

Traces come from ../shared/corpus/multiline (see its README: fluent/fluent-bit,
GoogleCloudPlatform/ops-agent and openstack/os-loganalyze samples, all Apache-2.0), and from
real interpreters run by the tests (CPython always, a JVM when one is installed).
"""

import gzip
import os
import shutil
import subprocess
import sys
import textwrap
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402


def corpus(name):
    with open(e2e.corpus_path("multiline", name), "rb") as f:
        return f.read()


def line_counts(messages):
    return [m.count("\n") + 1 for m in messages]


class Multiline(e2e.SluiceTestCase):

    def run_stdin(self, data, multiline, extra=""):
        out = self.path("out.jsonl")
        cfg = self.stdin_file_config(out, f", parser: none, multiline: {multiline}{extra}")
        r = self.run_ok(["run", "-c", cfg], input=data)
        return r, e2e.messages(e2e.read_jsonl(out))

    def test_java_corpus_traces(self):
        data = (corpus("ops-agent_tomcat-system_java.log")
                + corpus("ops-agent_cassandra-system_java.log")
                + corpus("ops-agent_kafka_java.log"))
        r, messages = self.run_stdin(data, "{mode: java}")
        # 39 + 28 + 31 lines; the traces (12, 9, 10, 12 and 9 lines) become single events.
        self.assertEqual(len(messages), 28 + 11 + 12, messages)
        counts = line_counts(messages)
        self.assertEqual(sorted(c for c in counts if c > 1), [9, 9, 10, 12, 12])
        tomcat = messages[23]
        self.assertIn("threw exception\njava.lang.NullPointerException: Cannot invoke", tomcat)
        self.assertTrue(tomcat.endswith("\tat javax.servlet.http.HttpServlet.service"
                                        "(HttpServlet.java:626)"), tomcat)
        kafka_trace = [m for m in messages if "Connection reset by peer" in m]
        self.assertEqual(len(kafka_trace), 1)
        self.assertTrue(kafka_trace[0].endswith(
            "\t\t... 6 more\n (kafka.server.ReplicaFetcherThread)"))
        # Nothing lost: the events hold every input line, in order.
        self.assertEqual("\n".join(messages) + "\n", data.decode())
        self.assertTotals(r, "in", events_out=len(messages), dropped=0)

    def test_go_panic_from_corpus(self):
        data = corpus("fluent-bit_doc-filter-multiline_java-go.log")
        _, messages = self.run_stdin(data, "go")  # the short form of {mode: go}
        self.assertEqual(len(messages), 10)
        self.assertTrue(messages[8].startswith("panic: my panic\n\ngoroutine 4 [running]:\n"))
        self.assertEqual(line_counts(messages)[8], 51)
        self.assertEqual(messages[9], "one more line, no multiline")
        self.assertEqual("\n".join(messages) + "\n", data.decode())

    def test_python_traceback_from_a_real_interpreter(self):
        program = textwrap.dedent("""
            import sys
            def parse(d):
                return d["port"]
            def load():
                try:
                    parse({})
                except KeyError as e:
                    raise ValueError("bad config") from e
            print("starting", flush=True)
            try:
                load()
            except ValueError:
                import traceback
                traceback.print_exc(file=sys.stdout)
            print("still running", flush=True)
            """)
        produced = subprocess.run([sys.executable, "-c", program], capture_output=True,
                                  timeout=30, check=True).stdout
        _, messages = self.run_stdin(produced, "{mode: python}")
        self.assertEqual(len(messages), 3, messages)
        self.assertEqual(messages[0], "starting")
        trace = messages[1]
        self.assertTrue(trace.startswith("Traceback (most recent call last):\n"))
        self.assertIn("KeyError: 'port'\n\nThe above exception was the direct cause", trace)
        self.assertTrue(trace.endswith("ValueError: bad config"), trace)
        self.assertEqual(messages[2], "still running")

    def test_custom_patterns_on_openstack_trace_lines(self):
        # oslo logs prefix every traceback line with `date time pid TRACE module`.
        data = gzip.decompress(corpus("os-loganalyze_screen-q-svc_python.txt.gz"))
        r, messages = self.run_stdin(
            data, yaml_flow({"continue_pattern": r"^\S+ \S+ \d+ TRACE "}))
        self.assertEqual(len(messages), 47298)
        counts = line_counts(messages)
        self.assertEqual(sum(1 for c in counts if c > 1), 41)
        self.assertEqual(max(counts), 18)
        self.assertEqual(sum(counts), 47887)

    def test_trace_written_slowly_stays_one_event_and_last_record_is_flushed(self):
        out = self.path("out.jsonl")
        cfg = self.stdin_file_config(
            out, ", parser: none, multiline: {mode: java, flush_after: 800ms}")
        proc = self.start(["run", "-c", cfg], stdin=subprocess.PIPE)
        # A single ERROR line, a 9-line trace, and a WARN line (cassandra lines 8-18).
        lines = corpus("ops-agent_cassandra-system_java.log").splitlines(keepends=True)[7:18]
        # Each line in its own read and batch: the trace spans nine batches.
        for line in lines:
            proc.proc.stdin.write(line)
            proc.proc.stdin.flush()
            t_last = time.monotonic()
            time.sleep(0.15)

        def events():  # complete lines only: the sink may be mid-write
            return e2e.read_jsonl_so_far(out)
        # The trace ended when the WARN line (the last line written) arrived; that line may
        # still start a trace, so it is kept until flush_after passed, with the pipe open.
        e2e.wait_until(lambda: len(events()) >= 2, timeout=10, what="the trace event")
        got = e2e.wait_until(lambda: len(events()) >= 3 and events(), timeout=10,
                             what="the last record, flushed after flush_after")
        waited = time.monotonic() - t_last
        self.assertGreaterEqual(waited, 0.7)
        self.assertIsNone(proc.proc.poll(), "sluice must still be running (pipe open)")
        messages = e2e.messages(got)
        self.assertEqual(len(messages), 3, messages)
        self.assertEqual(messages[0], lines[0].decode().rstrip("\n"))
        self.assertEqual(line_counts(messages), [1, 9, 1])
        self.assertTrue(messages[1].startswith("ERROR [CompactionExecutor:2]"))
        self.assertTrue(messages[2].startswith("WARN  [GossipStage:1]"))
        r = proc.wait()
        self.assertEqual(r.rc, 0, r.describe())
        self.assertEqual(len(e2e.read_jsonl(out)), 3)

    def test_end_of_input_hands_on_the_kept_record_at_once(self):
        out = self.path("out.jsonl")
        cfg = self.stdin_file_config(
            out, ", parser: none, multiline: {mode: java, flush_after: 1h}")
        t0 = time.monotonic()
        self.run_ok(["run", "-c", cfg], input=b"ERROR x\n\tat a\n\tat b\n")
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(e2e.messages(e2e.read_jsonl(out)), ["ERROR x\n\tat a\n\tat b"])

    def test_max_lines_cuts_records(self):
        data = b"ERROR x\n" + b"".join(b"\tat f%d\n" % i for i in range(9))
        r, messages = self.run_stdin(data, "{mode: java, max_lines: 4}")
        self.assertEqual(line_counts(messages), [4, 4, 2])
        self.assertIn("max_lines", r.stderr_text)

    def test_config_errors(self):
        out = self.path("out.jsonl")
        cfg = self.stdin_file_config(
            out, ", multiline: {mode: custom, start_pattern: '(unclosed'}")
        r = self.run_sluice(["validate", "-c", cfg])
        self.assertEqual(r.rc, 78, r.describe())
        self.assertRegex(r.stderr_text, r"sluice\.yaml:\d+:\d+: .*start_pattern")
        cfg = self.stdin_file_config(out, ", multiline: {mode: java, flush_afer: 1s}")
        r = self.run_sluice(["validate", "-c", cfg])
        self.assertEqual(r.rc, 78, r.describe())
        self.assertIn("flush_after", r.stderr_text)

    @unittest.skipUnless(shutil.which("java"), "no JVM installed")
    def test_exec_java_trace_per_stream(self):
        src = self.write_file("Trace.java", textwrap.dedent("""
            public class Trace {
              static void inner() { throw new IllegalStateException("inner failure"); }
              static void middle() {
                try { inner(); } catch (IllegalStateException e) {
                  throw new RuntimeException("middle wrapped", e);
                }
              }
              public static void main(String[] args) {
                System.out.println("starting");
                System.out.flush();
                try { middle(); } catch (RuntimeException e) { e.printStackTrace(); }
                middle();
              }
            }
            """))
        out = self.path("out.jsonl")
        cfg = self.config(f"""
            sources:
              app:
                type: exec
                command: [java, {e2e.yaml_str(src)}]
                passthrough: false
                parser: none
                multiline: {{mode: java}}
            sinks:
              out: {{type: file, inputs: [app], path: {e2e.yaml_str(out)}}}
            """)
        r = self.run_sluice(["run", "-c", cfg], timeout=60)
        self.assertEqual(r.rc, 1, r.describe())  # the JVM's exit code on an uncaught exception
        events = e2e.read_jsonl(out)
        stdout = [e["message"] for e in events if e["stream"] == "stdout"]
        stderr = [e["message"] for e in events if e["stream"] == "stderr"]
        self.assertEqual(stdout, ["starting"])
        # Printed, then uncaught: two traces on stderr, each one event.
        self.assertEqual(len(stderr), 2, stderr)
        printed, uncaught = stderr
        self.assertTrue(printed.startswith("java.lang.RuntimeException: middle wrapped\n"
                                           "\tat Trace.middle"), printed)
        self.assertIn("\nCaused by: java.lang.IllegalStateException: inner failure\n", printed)
        self.assertRegex(printed, r"\n\t\.\.\. \d+ more$")
        self.assertTrue(uncaught.startswith('Exception in thread "main" '
                                            'java.lang.RuntimeException: middle wrapped\n'
                                            '\tat Trace.middle'), uncaught)
        self.assertIn("\nCaused by: java.lang.IllegalStateException: inner failure\n", uncaught)


def yaml_flow(mapping):
    """A YAML flow mapping with single-quoted values (no escapes: regex backslashes stay)."""
    items = ", ".join(f"{k}: '{v}'" for k, v in mapping.items())
    return "{" + items + "}"


if __name__ == "__main__":
    e2e.main()
