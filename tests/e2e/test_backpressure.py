"""Backpressure from a sink that cannot write reaches the wrapped app only as far as the sink's
`when_full` allows. The stuck sink is a file sink on /dev/full (every write fails with ENOSPC,
which sluice retries rather than losing data)."""
import os
import signal
import time

import sluice_e2e as e2e

# ~24 MB of text lines: far more than the pipe, worker queue and sink buffers together hold.
WRITER = ("head -c 18000000 /dev/zero | tr '\\0' 'x' | fold -w 100; "
          "touch {done}")


class Backpressure(e2e.SluiceTestCase):
    def config_for(self, when_full, out):
        done = self.path("done")
        return done, self.config(f"""
            sources:
              app:
                type: exec
                passthrough: false
                command: [sh, -c, {e2e.yaml_str(WRITER.format(done=done))}]
            sinks:
              stuck:
                type: file
                inputs: [app]
                path: /dev/full
                buffer: {{max_bytes: 64KiB, when_full: {when_full}}}
              healthy:
                type: file
                inputs: [app]
                path: {e2e.yaml_str(out)}
                encoding: raw
            """)

    def env(self):
        return e2e.base_env({"SLUICE_SHUTDOWN_TIMEOUT_SECONDS": "2"})

    def test_drop_newest_keeps_the_app_running_and_counts_drops(self):
        out = self.path("out.txt")
        done, cfg = self.config_for("drop_newest", out)
        running = self.start(["run", "-c", cfg], env=self.env())
        # The app writes everything although one sink never accepts a byte.
        e2e.wait_until(lambda: os.path.exists(done), timeout=30, what="the app to finish")
        r = running.wait(timeout=30)
        # The stuck sink still holds data at the deadline: sluice says so and exits non-zero.
        self.assertNotEqual(r.rc, 0, r.describe())
        self.assertIn("shutdown deadline passed", r.stderr.decode())
        self.assertIn("file write failed, retrying", r.stderr.decode())
        stuck = r.totals["stuck"]
        self.assertGreater(stuck["dropped"], 0, r.describe())
        # The healthy sink got every line: a stuck sink does not hold the others back.
        with open(out, "rb") as f:
            lines = f.read().split(b"\n")[:-1]
        self.assertEqual(len(lines), 180000)
        self.assertTrue(all(line == b"x" * 100 for line in lines))
        self.assertEqual(r.totals["app"]["events_out"], 180000)
        # Whatever the stuck sink neither took nor dropped was still queued at the deadline, and
        # is reported as not delivered.
        queued = 180000 - stuck["dropped"] - stuck["events_in"]
        self.assertGreaterEqual(queued, 0, r.describe())
        undelivered = [rec for rec in e2e.log_records(r.stderr.decode())
                       if rec.get("msg") == "events not confirmed delivered to every sink"]
        self.assertEqual(len(undelivered), 1, r.describe())
        self.assertEqual(int(undelivered[0]["events"]), queued + stuck["events_in"], r.describe())

    def test_block_holds_the_app_back(self):
        out = self.path("out.txt")
        done, cfg = self.config_for("block", out)
        running = self.start(["run", "-c", cfg], env=self.env())
        e2e.wait_until(lambda: os.path.exists(out) and os.path.getsize(out) > 0, timeout=10,
                       what="some output")
        # With `block` the full buffers stall the workers, then the source, then the app.
        time.sleep(3)
        self.assertFalse(os.path.exists(done), "the app finished although the sink blocks")
        self.assertLess(os.path.getsize(out), 18_000_000 + 180000)
        running.signal(signal.SIGTERM)
        r = running.wait(timeout=30)
        self.assertFalse(os.path.exists(done))
        self.assertEqual(r.totals["stuck"]["dropped"], 0, r.describe())


if __name__ == "__main__":
    e2e.main()
