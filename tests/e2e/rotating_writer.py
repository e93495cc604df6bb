#!/usr/bin/env python3
"""A rate-limited log writer that rotates its file by renaming it: the input of the soak test
(tests/e2e/test_soak.py, imported) and of the soak benchmark (bench/soak.sh, run as a script).

    rotating_writer.py --path DIR/app.log --mbps 50 --seconds 600 --rotate-seconds 30 \\
        [--checkpoint DATA/checkpoints/SOURCE.json] [--status FILE] [--chunk-lines 4096]

Lines look like what services write (about 200 bytes; mostly JSON, some logfmt and plain text,
as bench/corpus_lines.hpp makes them) and each carries a unique 12-digit sequence number,
`"seq":"CCCCCCCCIIII"` (JSON), `seq=CCCCCCCCIIII` (logfmt, plain): CCCCCCCC is the number of the
chunk, IIII the line's index in it. A chunk is `--chunk-lines` lines generated once; writing a
chunk only replaces its 8-digit chunk number (one bytes.replace over the chunk), which is what
lets Python keep up with 50 MB/s and more. So the lines written are exactly the numbers
chunk * 10000 + i for chunk < chunks and i < chunk_lines (see `expected_seqs`).

Rate: whole chunks, written with os.write in one go each, paced against the monotonic clock
(sleeping when ahead); `behind_s` in the summary says how far behind the schedule it ended (a
writer that cannot keep up shows it there and in `mbps`).

Rotation: every --rotate-seconds the file is renamed to PATH.N (N = 1, 2, ...) and a new PATH is
created (logrotate's `create`), always between two chunks, so no line is split across files.

--checkpoint: a rotated file is deleted once the `file` source's checkpoint (its JSON file in
data_dir) shows it read and acknowledged to its end (an entry with the file's inode, an offset
>= its size, updated after the file was created), so a long run does not fill the disk. The
file currently written is never deleted.

At the end it prints one JSON line (also written to --status, atomically, every second while
running): lines, bytes, chunks, chunk_lines, rotations, deleted, seconds, mbps, behind_s.
"""

import argparse
import json
import os
import random
import sys
import time

PLACEHOLDER = b"CCCCCCCC"  # the 8 chunk digits of every seq in a chunk template
MAX_CHUNK_LINES = 10000

_LEVELS = ["info"] * 70 + ["debug"] * 15 + ["warn"] * 10 + ["error"] * 5
_LOGGERS = ["checkout.api", "auth.session", "billing.worker", "search.query", "cart.service",
            "gateway.http", "inventory.sync"]
_MESSAGES = ["order placed", "request completed", "cache miss", "payment authorised",
             "retrying upstream call", "session refreshed", "slow query", "user logged in",
             "connection reset by peer", 'quoted "value" in message', "données reçues",
             "batch flushed"]


def _json_line(rng, seq):
    ts = (f"2024-03-{rng.randrange(1, 29):02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:"
          f"{rng.randrange(60):02d}.{rng.randrange(1000):03d}Z")
    fields = {"time": ts, "level": rng.choice(_LEVELS), "logger": rng.choice(_LOGGERS),
              "msg": rng.choice(_MESSAGES)}
    line = json.dumps(fields, ensure_ascii=False)[:-1]
    line += f', "seq":"{seq}", "order_id":{rng.randrange(10**6)}'
    line += f', "user":"u-{rng.randrange(10**5):05d}"'
    line += f', "amount":{rng.randrange(10**5) / 100}, "latency_ms":{rng.randrange(2000)}'
    if rng.random() < 0.2:
        line += f', "http":{{"method":"GET","status":{rng.choice([200, 201, 404, 500])}}}'
    if rng.random() < 0.1:
        line += ', "trace_id":null'
    pad = max(0, 200 - len(line.encode()) - 2)
    line += f', "pad":"{"x" * pad}"' if pad > 10 else ""
    return line + "}"


def _logfmt_line(rng, seq):
    return (f"time=2024-03-14T09:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z "
            f"level={rng.choice(_LEVELS)} logger={rng.choice(_LOGGERS)} seq={seq} "
            f'msg="{rng.choice(_MESSAGES).replace(chr(34), "")}" duration_ms={rng.randrange(900)}'
            f" user=u-{rng.randrange(10**5):05d} path=/api/v1/items/{rng.randrange(10**6)}")


def _plain_line(rng, seq):
    return (f"2024-03-14 09:{rng.randrange(60):02d}:{rng.randrange(60):02d},"
            f"{rng.randrange(1000):03d} INFO [worker-{rng.randrange(16)}] "
            f"{rng.choice(_MESSAGES)} seq={seq} took {rng.randrange(900)} ms")


def chunk_template(chunk_lines, seed=1):
    """The bytes of one chunk, with PLACEHOLDER where each seq's chunk number goes."""
    if not 0 < chunk_lines <= MAX_CHUNK_LINES:
        raise ValueError(f"chunk_lines must be in 1..{MAX_CHUNK_LINES}")
    rng = random.Random(seed)
    out = []
    for i in range(chunk_lines):
        seq = PLACEHOLDER.decode() + f"{i:04d}"
        r = rng.random()
        make = _json_line if r < 0.85 else _logfmt_line if r < 0.95 else _plain_line
        out.append(make(rng, seq))
    data = ("\n".join(out) + "\n").encode()
    assert data.count(PLACEHOLDER) == chunk_lines
    return data


def chunk_bytes(template, n):
    return template.replace(PLACEHOLDER, b"%08d" % n)


def expected_seqs(chunks, chunk_lines):
    """Every seq written by a run of `chunks` chunks, as ints."""
    return [c * MAX_CHUNK_LINES + i for c in range(chunks) for i in range(chunk_lines)]


def seq_index(seq, chunk_lines):
    """A dense index 0..chunks*chunk_lines-1 for a seq (for a bitmap of what was seen)."""
    c, i = divmod(seq, MAX_CHUNK_LINES)
    return c * chunk_lines + i if i < chunk_lines else -1


class Deleter:
    """Deletes rotated files once the checkpoint shows them read to their end."""

    def __init__(self, checkpoint):
        self.checkpoint = checkpoint
        self.pending = []  # (path, dev, ino, size, created_unix)
        self.deleted = 0
        self._mtime = None
        self._entries = {}

    def add(self, path, created_unix):
        st = os.stat(path)
        self.pending.append((path, st.st_dev, st.st_ino, st.st_size, created_unix))

    def _load(self):
        try:
            mtime = os.stat(self.checkpoint).st_mtime_ns
            if mtime == self._mtime:
                return
            with open(self.checkpoint, "rb") as f:
                data = json.loads(f.read())
            self._entries = {(e["dev"], e["ino"]): e for e in data["files"]}
            self._mtime = mtime
        except (OSError, ValueError, KeyError, TypeError):
            pass  # not written yet, or replaced while read: next time

    def poll(self):
        if not self.pending:
            return
        self._load()
        keep = []
        for item in self.pending:
            path, dev, ino, size, created = item
            e = self._entries.get((dev, ino))
            # updated_unix after the file was created: not a stale entry of a reused inode.
            if e and e.get("offset", -1) >= size and e.get("updated_unix", 0) >= created:
                try:
                    os.unlink(path)
                    self.deleted += 1
                except FileNotFoundError:
                    pass
            else:
                keep.append(item)
        self.pending = keep


class RotatingWriter:
    """Writes `mbps` MB/s (10^6 bytes) of lines to `path` for `seconds`, renaming the file every
    `rotate_seconds`. run() returns the summary dict; stop() ends it early (between chunks)."""

    def __init__(self, path, mbps, seconds, rotate_seconds, chunk_lines=4096, seed=1,
                 checkpoint=None, status=None):
        self.path, self.mbps, self.seconds = path, float(mbps), float(seconds)
        self.rotate_seconds = float(rotate_seconds)
        self.chunk_lines = chunk_lines
        self.template = chunk_template(chunk_lines, seed)
        self.deleter = Deleter(checkpoint) if checkpoint else None
        self.status = status
        self.chunks = 0
        self.bytes = 0
        self.rotations = 0
        self.behind = 0.0
        self.elapsed = 0.0
        self._stop = False

    def stop(self):
        self._stop = True

    def summary(self):
        return {"lines": self.chunks * self.chunk_lines, "bytes": self.bytes,
                "chunks": self.chunks, "chunk_lines": self.chunk_lines,
                "rotations": self.rotations,
                "deleted": self.deleter.deleted if self.deleter else 0,
                "seconds": round(self.elapsed, 3),
                "mbps": round(self.bytes / 1e6 / self.elapsed, 2) if self.elapsed else 0.0,
                "behind_s": round(self.behind, 3)}

    def _write_status(self):
        if not self.status:
            return
        tmp = self.status + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.summary(), f)
        os.replace(tmp, self.status)

    def run(self):
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        created = int(time.time())
        start = time.monotonic()
        next_rotation = start + self.rotate_seconds
        next_status = start + 1.0
        rate = self.mbps * 1e6
        try:
            while not self._stop:
                now = time.monotonic()
                if now - start >= self.seconds:
                    break
                if now >= next_rotation:
                    os.close(fd)
                    self.rotations += 1
                    rotated = f"{self.path}.{self.rotations}"
                    os.rename(self.path, rotated)
                    fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                    if self.deleter:
                        self.deleter.add(rotated, created)
                    created = int(time.time())
                    next_rotation += self.rotate_seconds
                if now >= next_status:
                    if self.deleter:
                        self.deleter.poll()
                    self._write_status()
                    next_status = now + 1.0
                data = chunk_bytes(self.template, self.chunks)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                self.chunks += 1
                self.bytes += len(data)
                # Pace: the next chunk is due once the bytes so far fit the rate.
                due = start + self.bytes / rate
                now = time.monotonic()
                if due > now:
                    time.sleep(due - now)
                else:
                    self.behind = now - due
        finally:
            os.close(fd)
            self.elapsed = time.monotonic() - start
        self._write_status()
        return self.summary()

    def finish_deleting(self, timeout):
        """After run(): waits up to `timeout` s for the rotated files to be deletable."""
        deadline = time.monotonic() + timeout
        while self.deleter and self.deleter.pending and time.monotonic() < deadline:
            self.deleter.poll()
            time.sleep(0.2)
        self._write_status()
        return self.summary()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--path", required=True)
    ap.add_argument("--mbps", type=float, default=50)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--rotate-seconds", type=float, default=30)
    ap.add_argument("--chunk-lines", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--checkpoint")
    ap.add_argument("--status")
    ap.add_argument("--drain-seconds", type=float, default=0,
                    help="after writing, keep deleting rotated files for up to this long")
    args = ap.parse_args()
    w = RotatingWriter(args.path, args.mbps, args.seconds, args.rotate_seconds,
                       args.chunk_lines, args.seed, args.checkpoint, args.status)
    import signal
    signal.signal(signal.SIGTERM, lambda *_: w.stop())
    w.run()
    summary = w.finish_deleting(args.drain_seconds)
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
