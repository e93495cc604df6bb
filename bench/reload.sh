#!/usr/bin/env bash
# Live config reload under load, with the real binary:
#
#   bench/reload.sh [path/to/sluice]       (`make bench` runs it as ./bench/reload.sh build/sluice)
#
# A writer appends JSON lines to a file at a steady rate (SLUICE_BENCH_RELOAD_RATE lines/s,
# default 50000); `sluice run --watch-config` tails it (`file` source → `remap` transform → file
# sink `all`). Every second the config file is rewritten (a rename, as config tools do),
# alternating two configs that add/remove a second file sink and change the transform, for
# SLUICE_BENCH_RELOADS reloads (default 10). Measured per reload:
#   reload ms   from the rename to /health showing the new config's sinks (polled every 2 ms):
#               inotify, parsing and building the config, the new topology running;
#   sluice ms   the same as sluice measures it (/health last_reload.seconds: from the trigger);
#   pause ms    the longest stretch without a new line in `all` in the second around the reload,
#               next to the same figure for the steady state (the second before each reload).
# Prints the median and the worst of each. At the end every written line must be in `all`
# exactly once (exit 1 otherwise).
#
# Environment: SLUICE_BENCH_DIR (scratch, default /tmp/sluice-bench), SLUICE_BENCH_RELOADS,
# SLUICE_BENCH_RELOAD_RATE.
set -euo pipefail

sluice=$(readlink -f "${1:-build/sluice}")
[[ -x $sluice ]] || { echo "reload: no sluice binary at ${1:-build/sluice}" >&2; exit 1; }
dir=${SLUICE_BENCH_DIR:-/tmp/sluice-bench}/reload.$$
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT

SLUICE="$sluice" DIR="$dir" RELOADS="${SLUICE_BENCH_RELOADS:-10}" \
  RATE="${SLUICE_BENCH_RELOAD_RATE:-50000}" python3 - <<'PY'
import http.client, json, os, re, signal, statistics, subprocess, sys, threading, time

sluice, d = os.environ["SLUICE"], os.environ["DIR"]
reloads, rate = int(os.environ["RELOADS"]), int(os.environ["RATE"])
log, out, cfg = f"{d}/app.log", f"{d}/all.jsonl", f"{d}/sluice.yaml"

def config(n):
    extra = f"\n  extra: {{type: file, inputs: [t], path: {d}/extra.jsonl}}" if n % 2 else ""
    return (f"data_dir: {d}/data\nsources:\n  logs: {{type: file, include: [{log}], "
            f"read_from: beginning}}\ntransforms:\n  t: {{type: remap, inputs: [logs], "
            f"add: {{config: c{n % 2}}}}}\nsinks:\n  all: {{type: file, inputs: [t], "
            f"path: {out}}}{extra}\n")

def write_config(n):
    with open(cfg + ".tmp", "w") as f:
        f.write(config(n))
    os.replace(cfg + ".tmp", cfg)

write_config(0)
stop = threading.Event()
written = [0]
def writer():
    f = open(log, "ab", buffering=0)
    start = time.monotonic()
    while not stop.is_set():
        due = int((time.monotonic() - start) * rate)
        if due > written[0]:
            f.write(b"".join(b'{"seq":%d}\n' % i for i in range(written[0], due)))
            written[0] = due
        time.sleep(0.002)
threading.Thread(target=writer, daemon=True).start()

env = dict(os.environ, SLUICE_METRICS_ADDR="127.0.0.1:0", SLUICE_LOG="info")
err = open(f"{d}/sluice.log", "w+")
proc = subprocess.Popen([sluice, "run", "--watch-config", "-c", cfg], stderr=err,
                        stdout=subprocess.DEVNULL, env=env)
port = None
while port is None:
    time.sleep(0.01)
    m = re.search(r"http server listening\"? address=\S+:(\d+)", open(f"{d}/sluice.log").read())
    port = m and int(m.group(1))

def health():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/health")
    body = json.loads(c.getresponse().read())
    c.close()
    return body

# Output growth, sampled every 1 ms: (monotonic time, bytes in `all`).
samples = []
def sampler():
    while not stop.is_set():
        samples.append((time.monotonic(), os.path.getsize(out) if os.path.exists(out) else 0))
        time.sleep(0.001)
threading.Thread(target=sampler, daemon=True).start()

def longest_stall(t0, t1):
    window = [s for s in samples if t0 <= s[0] <= t1]
    longest, last_change = 0.0, window[0][0] if window else t0
    for (ta, a), (tb, b) in zip(window, window[1:]):
        if b != a:
            longest = max(longest, tb - last_change)
            last_change = tb
    return longest * 1000

time.sleep(1.5)
reload_ms, sluice_ms, pause_ms, steady_ms = [], [], [], []
for n in range(1, reloads + 1):
    before = time.monotonic()
    write_config(n)
    t0 = time.monotonic()
    want = {"all", "extra"} if n % 2 else {"all"}
    while True:
        h = health()
        if set(h["sinks"]) == want and h.get("last_reload", {}).get("result") == "success":
            break
        time.sleep(0.002)
    t1 = time.monotonic()
    reload_ms.append((t1 - t0) * 1000)
    sluice_ms.append(h["last_reload"]["seconds"] * 1000)
    time.sleep(1.0)
    steady_ms.append(longest_stall(before - 1.0, before))
    pause_ms.append(longest_stall(before, before + 1.0))

stop.set()
time.sleep(0.05)
total = written[0]
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    with open(out, "rb") as f:
        if f.read().count(b"\n") >= total:
            break
    time.sleep(0.05)
proc.send_signal(signal.SIGTERM)
rc = proc.wait(timeout=60)
seqs = [json.loads(line)["seq"] for line in open(out, "rb")]
ok = rc == 0 and len(seqs) == total and len(set(seqs)) == total

def row(name, values):
    print(f"{name:<12} {statistics.median(values):>10.1f} {max(values):>10.1f}")
print(f"reload: {reloads} reloads at {rate} lines/s (add/remove a sink, change a transform)")
print(f"{'ms':<12} {'median':>10} {'worst':>10}")
row("reload", reload_ms)
row("sluice", sluice_ms)
row("pause", pause_ms)
row("steady", steady_ms)
print(f"lines: {total} written, {len(seqs)} in `all`, {len(set(seqs))} distinct; exit {rc}")
sys.exit(0 if ok else 1)
PY
