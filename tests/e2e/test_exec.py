"""exec source: exit codes, streams, passthrough, signal forwarding, reaping, `run -- cmd`."""

import os
import signal
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice_e2e as e2e  # noqa: E402

# A child that says `ready`, then echoes every forwarded signal it traps; TERM ends it with 3.
TRAPPING_CHILD = (
    'trap "echo got-hup" HUP; trap "echo got-usr1" USR1; trap "echo got-usr2" USR2; '
    'trap "echo got-quit" QUIT; trap "echo got-int; exit 4" INT; '
    'trap "echo got-term; exit 3" TERM; '
    'echo ready; while true; do sleep 0.1; done')


class Exec(e2e.SluiceTestCase):

    def exec_config(self, command, out, passthrough=None):
        opts = "" if passthrough is None else f"\n                passthrough: {passthrough}"
        return self.config(f"""
            sources:
              app:
                type: exec
                command: {e2e.yaml_str(command)}{opts}
            sinks:
              out: {{type: file, inputs: [app], path: {e2e.yaml_str(out)}}}
            """)

    def sink_messages(self, out):
        if not os.path.exists(out):
            return []
        with open(out, "rb") as f:
            data = f.read()
        # Only complete lines: the file may be mid-write while the test polls it.
        data = data[:data.rfind(b"\n") + 1]
        return e2e.messages(e2e.parse_jsonl_bytes(data))

    def wait_for_message(self, out, message, timeout=10):
        e2e.wait_until(lambda: message in self.sink_messages(out), timeout=timeout,
                       what=f"message {message!r} in {out}")

    # --- exit codes ---

    def test_exit_code_is_kept(self):
        out = self.path("out.jsonl")
        r = self.run_sluice(["run", "-c", self.exec_config(["sh", "-c", "echo bye; exit 7"], out)],
                            timeout=15)
        self.assertEqual(r.rc, 7, r.describe())
        self.assertEqual(self.sink_messages(out), ["bye"])

    def test_exit_code_zero(self):
        out = self.path("out.jsonl")
        r = self.run_sluice(["run", "-c", self.exec_config(["true"], out)], timeout=15)
        self.assertEqual(r.rc, 0, r.describe())

    def test_killed_child_gives_128_plus_signal(self):
        out = self.path("out.jsonl")
        # On the command line `$$` is taken literally, so the shell sees `kill -KILL $$`.
        env = e2e.base_env({"SLUICE_SINKS": "file://" + out})
        r = self.run_sluice(["run", "--", "sh", "-c", "echo dying; kill -KILL $$"], env=env,
                            timeout=15)
        self.assertEqual(r.rc, 137, r.describe())
        self.assertEqual(self.sink_messages(out), ["dying"])

    def test_child_killed_by_sigterm_from_elsewhere(self):
        out = self.path("out.jsonl")
        env = e2e.base_env({"SLUICE_SINKS": "file://" + out})
        r = self.run_sluice(["run", "--", "sh", "-c", "kill -TERM $$"], env=env, timeout=15)
        self.assertEqual(r.rc, 128 + signal.SIGTERM, r.describe())

    # --- streams and passthrough ---

    CHILD_OUTPUT = ["sh", "-c", r"printf 'out-1\nout-2 \377 raw\n'; printf 'err-1\n' >&2; "
                                r"printf 'out-3 no newline'"]

    def test_stdout_and_stderr_are_tagged(self):
        out = self.path("out.jsonl")
        cfg = self.exec_config(self.CHILD_OUTPUT, out, passthrough="false")
        r = self.run_ok(["run", "-c", cfg], timeout=15)
        events = e2e.read_jsonl(out)
        by_stream = {}
        for ev in events:
            self.assertEventShape(ev, "app", ev.get("stream"))
            by_stream.setdefault(ev["stream"], []).append(ev["message"])
        self.assertEqual(by_stream, {"stdout": ["out-1", "out-2 \ufffd raw", "out-3 no newline"],
                                     "stderr": ["err-1"]})
        self.assertTotals(r, "app", events_out=4)

    def test_passthrough_true_copies_bytes_unchanged(self):
        out = self.path("out.jsonl")
        cfg = self.exec_config(self.CHILD_OUTPUT, out, passthrough="true")
        env = e2e.base_env({"SLUICE_LOG": "error"})  # keep sluice's own logs off stderr
        r = self.run_ok(["run", "-c", cfg], env=env, timeout=15)
        self.assertEqual(r.stdout, b"out-1\nout-2 \xff raw\nout-3 no newline")
        self.assertEqual(r.stderr, b"err-1\n")
        self.assertEqual(len(e2e.read_jsonl(out)), 4)

    def test_passthrough_is_the_default(self):
        out = self.path("out.jsonl")
        cfg = self.exec_config(["sh", "-c", "echo visible"], out)
        r = self.run_ok(["run", "-c", cfg], env=e2e.base_env({"SLUICE_LOG": "error"}), timeout=15)
        self.assertEqual(r.stdout, b"visible\n")

    def test_passthrough_false_copies_nothing(self):
        out = self.path("out.jsonl")
        cfg = self.exec_config(self.CHILD_OUTPUT, out, passthrough="false")
        r = self.run_ok(["run", "-c", cfg], env=e2e.base_env({"SLUICE_LOG": "error"}), timeout=15)
        self.assertEqual(r.stdout, b"")
        self.assertEqual(r.stderr, b"")
        self.assertEqual(len(e2e.read_jsonl(out)), 4)

    # --- signals ---

    def test_sigterm_is_forwarded_and_child_output_drained(self):
        out = self.path("out.jsonl")
        cfg = self.exec_config(["sh", "-c", TRAPPING_CHILD], out, passthrough="false")
        proc = self.start(["run", "-c", cfg])
        self.wait_for_message(out, "ready")
        proc.signal(signal.SIGTERM)
        r = proc.wait(timeout=10)
        self.assertEqual(r.rc, 3, r.describe())
        self.assertEqual(self.sink_messages(out), ["ready", "got-term"])

    def test_sigint_is_forwarded(self):
        out = self.path("out.jsonl")
        cfg = self.exec_config(["sh", "-c", TRAPPING_CHILD], out, passthrough="false")
        proc = self.start(["run", "-c", cfg])
        self.wait_for_message(out, "ready")
        proc.signal(signal.SIGINT)
        r = proc.wait(timeout=10)
        self.assertEqual(r.rc, 4, r.describe())
        self.assertEqual(self.sink_messages(out), ["ready", "got-int"])

    def test_hup_usr1_usr2_quit_are_forwarded(self):
        out = self.path("out.jsonl")
        cfg = self.exec_config(["sh", "-c", TRAPPING_CHILD], out, passthrough="false")
        proc = self.start(["run", "-c", cfg])
        self.wait_for_message(out, "ready")
        expected = ["ready"]
        for sig, word in [(signal.SIGHUP, "got-hup"), (signal.SIGUSR1, "got-usr1"),
                          (signal.SIGUSR2, "got-usr2"), (signal.SIGQUIT, "got-quit")]:
            proc.signal(sig)
            self.wait_for_message(out, word)
            self.assertIsNone(proc.proc.poll(), f"sluice exited after {sig.name}")
            expected.append(word)
        proc.signal(signal.SIGTERM)
        r = proc.wait(timeout=10)
        self.assertEqual(r.rc, 3, r.describe())
        self.assertEqual(self.sink_messages(out), expected + ["got-term"])

    def test_hup_left_out_of_forward_signals_reopens_files_and_spares_the_app(self):
        # The app has no HUP handler: a forwarded HUP would kill it (exit 129). Left out of
        # forward_signals, HUP only makes sluice reopen its files (logrotate moved `out` away).
        # sluice wraps a command and runs without --watch-config: HUP does not reload the config
        # either (the sink the edited file adds never appears).
        out = self.path("out.jsonl")
        extra = self.path("extra.jsonl")
        topology = f"""
            sources:
              app:
                type: exec
                command: [sh, -c, 'trap "echo after-rotate" USR1; trap "exit 3" TERM; echo ready; while true; do sleep 0.1; done']
                passthrough: false
                forward_signals: [TERM, INT, USR1]
            sinks:
              out: {{type: file, inputs: [app], path: {e2e.yaml_str(out)}}}
            """
        cfg = self.config(topology)
        proc = self.start(["run", "-c", cfg])
        self.wait_for_message(out, "ready")
        self.config(topology + f"""
              extra: {{type: file, inputs: [app], path: {e2e.yaml_str(extra)}}}
            """)
        os.rename(out, out + ".1")
        proc.signal(signal.SIGHUP)
        # HUP is read before USR1 (lower-numbered pending signals come first), so the line the
        # app writes for USR1 lands in the reopened file.
        proc.signal(signal.SIGUSR1)
        self.wait_for_message(out, "after-rotate")
        self.assertIsNone(proc.proc.poll(), "sluice exited after SIGHUP")
        proc.signal(signal.SIGTERM)
        r = proc.wait(timeout=10)
        self.assertEqual(r.rc, 3, r.describe())
        self.assertEqual(self.sink_messages(out + ".1"), ["ready"])
        self.assertEqual(self.sink_messages(out), ["after-rotate"])
        self.assertFalse(os.path.exists(extra), "SIGHUP reloaded the config of a wrapper")
        self.assertNotIn("reload", r.stderr_text)

    def test_unknown_signal_in_forward_signals_is_a_config_error(self):
        out = self.path("out.jsonl")
        cfg = self.config(f"""
            sources:
              app: {{type: exec, command: [true], forward_signals: [TERM, KILL]}}
            sinks:
              out: {{type: file, inputs: [app], path: {e2e.yaml_str(out)}}}
            """)
        r = e2e.run(["validate", "-c", cfg])
        self.assertEqual(r.rc, 78, r.describe())
        self.assertIn("KILL", r.stderr_text)
        self.assertIn("forward_signals", r.stderr_text)

    def test_child_ignoring_sigterm_is_killed_at_the_deadline(self):
        out = self.path("out.jsonl")
        cfg = self.exec_config(
            ["sh", "-c", 'trap "" TERM; echo ready; while true; do sleep 0.1; done'], out,
            passthrough="false")
        env = e2e.base_env({"SLUICE_SHUTDOWN_TIMEOUT_SECONDS": "2"})
        proc = self.start(["run", "-c", cfg], env=env)
        self.wait_for_message(out, "ready")
        t0 = time.monotonic()
        proc.signal(signal.SIGTERM)
        r = proc.wait(timeout=10)
        elapsed = time.monotonic() - t0
        self.assertLess(elapsed, 3.5, f"exit took {elapsed:.1f}s with a 2s deadline")
        self.assertEqual(r.rc, 128 + signal.SIGKILL, r.describe())
        self.assertEqual(self.sink_messages(out), ["ready"])

    # --- errors and reaping ---

    def test_missing_command_fails_clearly(self):
        out = self.path("out.jsonl")
        missing = "/nonexistent/sluice-e2e-no-such-program"
        r = self.run_sluice(["run", "-c", self.exec_config([missing, "arg"], out)], timeout=15)
        self.assertNotEqual(r.rc, 0, r.describe())
        self.assertNotEqual(r.rc, 78, "a missing program is not a config error\n" + r.describe())
        self.assertIn(missing, r.stderr_text)
        self.assertRegex(r.stderr_text, r"(?i)no such file|not found")
        self.assertLess(r.elapsed, 5)

    def test_missing_command_on_command_line(self):
        env = e2e.base_env({"SLUICE_SINKS": "stdout://"})
        r = self.run_sluice(["run", "--", "sluice-e2e-no-such-program-xyz"], env=env, timeout=15)
        self.assertNotEqual(r.rc, 0, r.describe())
        self.assertIn("sluice-e2e-no-such-program-xyz", r.stderr_text)
        self.assertRegex(r.stderr_text, r"(?i)no such file|not found")

    @staticmethod
    def proc_stat(pid):
        """(state, ppid) of a process, or None once it is gone (reaped)."""
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except (FileNotFoundError, ProcessLookupError):
            return None
        fields = stat[stat.rfind(")") + 2:].split()
        return fields[0], int(fields[1])

    @classmethod
    def zombie_children(cls, ppid):
        zombies = []
        for name in os.listdir("/proc"):
            if name.isdigit():
                st = cls.proc_stat(int(name))
                if st and st[1] == ppid and st[0] == "Z":
                    zombies.append(int(name))
        return zombies

    def test_orphaned_grandchildren_are_reaped(self):
        out = self.path("out.jsonl")
        release = self.path("release")
        # The inner shell starts a background sleep and exits at once: the sleep is orphaned,
        # and as a subreaper sluice adopts it. The outer shell keeps running until released.
        child = ('sh -c \'sleep 1 >/dev/null 2>&1 & echo "orphan-pid $!"\'; '
                 f'while [ ! -e {release} ]; do sleep 0.05; done; echo released')
        proc = self.start(["run", "-c", self.exec_config(["sh", "-c", child], out,
                                                         passthrough="false")])
        line = e2e.wait_until(
            lambda: next((m for m in self.sink_messages(out) if m and m.startswith("orphan-pid ")), None),
            what="the orphan's pid")
        orphan = int(line.split()[1])
        st = self.proc_stat(orphan)
        self.assertIsNotNone(st, "the orphan ended before it could be checked")
        self.assertEqual(st[1], proc.pid, "the orphan was not adopted by sluice (subreaper)")
        # Once it exits, sluice must reap it: it disappears from /proc instead of staying a zombie.
        e2e.wait_until(lambda: self.proc_stat(orphan) is None, timeout=5,
                       what=f"orphan {orphan} to be reaped (state now {self.proc_stat(orphan)})")
        self.assertEqual(self.zombie_children(proc.pid), [])
        with open(release, "w"):
            pass
        r = proc.wait(timeout=10)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertEqual(self.sink_messages(out), [line, "released"])

    def test_child_exits_while_orphan_keeps_running(self):
        # The direct child exits at once but leaves a grandchild writing to the same pipe;
        # sluice ends with the child's exit code and does not wait for the grandchild forever.
        out = self.path("out.jsonl")
        child = "(sleep 30) & echo parent-done; exit 5"
        r = self.run_sluice(["run", "-c", self.exec_config(["sh", "-c", child], out,
                                                           passthrough="false")], timeout=15)
        self.assertEqual(r.rc, 5, r.describe())
        self.assertLess(r.elapsed, 10)
        self.assertEqual(self.sink_messages(out), ["parent-done"])

    # --- `sluice run -c cfg -- cmd args` ---

    def test_command_line_form_takes_arguments_literally(self):
        out = self.path("out.jsonl")
        cfg = self.config(f"""
            sources:
              app: {{type: exec, passthrough: false}}
            sinks:
              out: {{type: file, inputs: [app], path: {e2e.yaml_str(out)}}}
            """)
        env = e2e.base_env({"HOME": "/home/should-not-appear", "SLUICE_LOG": "error"})
        r = self.run_ok(["run", "-c", cfg, "--", "echo", "$HOME", "${HOME}", "$$", "a b"],
                        env=env, timeout=15)
        self.assertEqual(r.stdout, b"")  # passthrough: false from the config applies
        events = e2e.read_jsonl(out)
        self.assertEqual(e2e.messages(events), ["$HOME ${HOME} $$ a b"])
        self.assertEventShape(events[0], "app", "stdout")

    def test_command_line_form_without_declaring_app(self):
        out = self.path("out.jsonl")
        cfg = self.config(f"""
            sinks:
              out: {{type: file, inputs: [app], path: {e2e.yaml_str(out)}}}
            """)
        r = self.run_sluice(["run", "-c", cfg, "--", "sh", "-c", "echo one; echo two >&2; exit 2"],
                            timeout=15)
        self.assertEqual(r.rc, 2, r.describe())
        events = e2e.read_jsonl(out)
        self.assertEqual(sorted((e["stream"], e["message"]) for e in events),
                         [("stderr", "two"), ("stdout", "one")])


    def test_lines_reach_the_sink_while_the_app_keeps_running(self):
        # Batches are handed on when the app pauses (or after 20 ms at most), not only when
        # they fill up: a quiet app's line must not wait for more output.
        out = self.path("out.jsonl")
        cfg = self.config(f"""
            sources:
              app:
                type: exec
                passthrough: false
                command: [sh, -c, "echo first; sleep 5; echo second"]
            sinks:
              out: {{type: file, inputs: [app], path: {e2e.yaml_str(out)}}}
            """)
        running = self.start(["run", "-c", cfg])
        e2e.wait_until(lambda: os.path.exists(out) and b"first" in open(out, "rb").read(),
                       timeout=1.0, what="the first line in the file while the app sleeps")
        self.assertIsNone(running.proc.poll())
        r = running.wait(timeout=20)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertEqual(e2e.messages(e2e.read_jsonl(out)), ["first", "second"])

if __name__ == "__main__":
    e2e.main()
