"""A test tool run in the background and driven over its stdin (the Kafka mock cluster, the
Elasticsearch emulator): it prints one line saying where it listens, then answers each command
line with `ok [text]` or `error <message>`; `quit` (or the end of its stdin) stops it."""

import os
import selectors
import subprocess
import time


class StdinDrivenTool:
    """Subclasses set `name` and call start(args, first_prefix) from their own start()."""

    name = "tool"

    def __init__(self, start_timeout=30.0):
        self.start_timeout = start_timeout
        self.proc = None
        self._buf = b""
        self._sel = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start_process(self, args, first_prefix, keep_stderr=True):
        """Starts the tool; returns what its first line says after `first_prefix`. Without
        `keep_stderr` its stderr is discarded (a chatty tool would fill an unread pipe)."""
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE if keep_stderr else subprocess.DEVNULL)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)
        line = self._read_line(self.start_timeout)
        if not line.startswith(first_prefix):
            self.stop()
            raise AssertionError(f"{self.name}: unexpected first line {line!r}")
        return line[len(first_prefix):]

    def _read_line(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not self._sel.select(left):
                raise AssertionError(f"{self.name} did not answer within {timeout}s")
            chunk = self.proc.stdout.read(1 << 20)
            if not chunk:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise AssertionError(f"{self.name} exited (rc={self.proc.poll()}): {err}")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode()

    def command(self, line, timeout=10.0):
        """Sends one command; returns the text after `ok`, raises AssertionError otherwise."""
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        answer = self._read_line(timeout)
        if answer != "ok" and not answer.startswith("ok "):
            raise AssertionError(f"{self.name} `{line}`: {answer}")
        return answer[3:]

    def stop(self):
        if self.proc is None:
            return
        try:
            if self.proc.poll() is None:
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.flush()
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (BrokenPipeError, subprocess.TimeoutExpired, OSError):
            self.proc.kill()
            self.proc.wait(timeout=10)
        finally:
            if self._sel:
                self._sel.close()
            self.proc.stdout.close()
            if self.proc.stderr:
                self.proc.stderr.close()
            self.proc = None


def started(test, tool):
    """Starts `tool` for the unittest `test`, which stops it at cleanup; returns it."""
    tool.start()
    test.addCleanup(tool.stop)
    return tool
