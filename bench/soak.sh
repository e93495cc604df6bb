#!/usr/bin/env bash
# Soak: sluice tails a file written at a steady rate and rotated by rename, for a long time, and
# what matters is what does not change: memory, CPU per MB, and events in = events out.
#
#   bench/soak.sh [path/to/sluice]          (`make bench` runs it as ./bench/soak.sh build/sluice)
#
# The writer is tests/e2e/rotating_writer.py (shared with tests/e2e/test_soak.py, the short form
# in `make test`): ~200-byte lines like a service writes (mostly JSON, some logfmt and plain
# text, each with a unique number), SOAK_MBPS MB/s in whole chunks paced against the clock,
# renamed to app.log.N every SOAK_ROTATE_SECONDS. sluice: a `file` source (default parser
# `auto`, checkpoints every 1 s) → a `file` sink (JSON), which rotates its output at 1 GiB.
# So that 10 min × 50 MB/s (30 GB in, more out) does not fill the disk, the writer deletes each
# rotated input file once sluice's checkpoint shows it acknowledged to its end, and this script
# counts the lines of each rotated output file and deletes it.
#
# Every SOAK_SAMPLE_SECONDS: sluice's RSS (VmRSS), its CPU (utime + stime from /proc/PID/stat)
# over the interval, and how much was written and delivered. At the end: RSS growth after the
# warm-up (SOAK_WARMUP_SECONDS), CPU seconds per MB of input, and events in = events out, from
# the writer's count, /metrics (source sent, sink sent) before the shutdown, the `component
# totals` sluice logs at exit, and the lines counted in the output.
#
# Environment:
#   SOAK_SECONDS          duration of the writing (default 600)
#   SOAK_MBPS             input rate, MB/s (10^6 bytes; default 50)
#   SOAK_ROTATE_SECONDS   input rotation interval (default 30)
#   SOAK_SAMPLE_SECONDS   sampling interval (default 10)
#   SOAK_WARMUP_SECONDS   samples before this are the warm-up (default 60)
#   SLUICE_BENCH_DIR      scratch dir (default /tmp/sluice-bench); its files go at exit
#   SLUICE_BENCH_STRICT=1 exit 1 when a target is missed (RSS growth ≤ 16 MiB, the writer kept
#                         the rate); wrong counts always fail
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
bench_init soak "${1:-build/sluice}"
seconds=${SOAK_SECONDS:-600}
mbps=${SOAK_MBPS:-50}
rotate_s=${SOAK_ROTATE_SECONDS:-30}
sample_s=${SOAK_SAMPLE_SECONDS:-10}
warmup_s=${SOAK_WARMUP_SECONDS:-60}
positive_int SOAK_SECONDS "$seconds"
positive_int SOAK_ROTATE_SECONDS "$rotate_s"
positive_int SOAK_SAMPLE_SECONDS "$sample_s"
[[ $warmup_s =~ ^[0-9]+$ ]] || die "SOAK_WARMUP_SECONDS must be a whole number"
awk -v r="$mbps" 'BEGIN { exit !(r + 0 > 0) }' || die "SOAK_MBPS must be a positive number"
writer_py=$here/../tests/e2e/rotating_writer.py
[[ -f $writer_py ]] || die "missing $writer_py"
growth_target_mib=16

scratch=$bench_dir/soak.$$
sluice_pid=""
writer_pid=""
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  for pid in $writer_pid $sluice_pid; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$scratch"
mkdir -p "$scratch/in" "$scratch/out"
log=$scratch/sluice.log
status=$scratch/writer.json
checkpoint=$scratch/data/checkpoints/logs.json

cat >"$scratch/soak.yaml" <<EOF
data_dir: $scratch/data
sources:
  logs:
    type: file
    include: ["$scratch/in/app.log", "$scratch/in/app.log.*"]
    read_from: beginning
sinks:
  out:
    type: file
    inputs: [logs]
    path: $scratch/out/events.jsonl
    rotate: {max_bytes: 1GiB}
EOF

# /metrics value of a component's counter (0 when absent).
metric() {
  python3 - "$port" "$1" "$2" <<'EOF'
import re, sys, urllib.request
port, name, component = sys.argv[1:]
text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
for line in text.splitlines():
    if line.startswith(name + "{") and f'component="{component}"' in line:
        print(int(float(line.rsplit(" ", 1)[1])))
        break
else:
    print(0)
EOF
}

status_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$status" "$1" 2>/dev/null || echo 0; }

out_lines=0
count_rotated_output() {
  local f n
  for f in "$scratch"/out/events.*.jsonl; do
    [[ -e $f ]] || continue
    n=$(wc -l <"$f")
    out_lines=$((out_lines + n))
    rm -f "$f"
  done
}

: >"$scratch/in/app.log"
SLUICE_METRICS_ADDR=127.0.0.1:0 SLUICE_SHUTDOWN_TIMEOUT_SECONDS=60 \
  "$sluice" run -c "$scratch/soak.yaml" 2>"$log" &
sluice_pid=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*http server listening.* address=[^ ]*:\([0-9]*\).*/\1/p' "$log" | head -n 1)
  [[ -n $port ]] && break
  kill -0 "$sluice_pid" 2>/dev/null || { cat "$log" >&2; die "sluice exited at start"; }
  sleep 0.1
done
[[ -n $port ]] || die "sluice did not report its metrics address"

note "writing $mbps MB/s for $seconds s, rotating every $rotate_s s (sluice pid $sluice_pid)"
python3 "$writer_py" --path "$scratch/in/app.log" --mbps "$mbps" --seconds "$seconds" \
  --rotate-seconds "$rotate_s" --checkpoint "$checkpoint" --status "$status" \
  --drain-seconds 300 >"$scratch/writer.out" &
writer_pid=$!

start_ns=$(date +%s%N)
ticks0=$(cpu_ticks "$sluice_pid")
prev_ticks=$ticks0
prev_t=0
declare -a rows=() rss_after=()
printf '\n%8s %9s %8s %9s %10s %10s %8s\n' "t (s)" "RSS MiB" "CPU %" "in MB" "in MB/s" \
  "out events" "deleted" >&2
next=$sample_s
while kill -0 "$writer_pid" 2>/dev/null; do
  now_s=$((($(date +%s%N) - start_ns) / 1000000000))
  if ((now_s < next)); then
    sleep 0.5
    continue
  fi
  kill -0 "$sluice_pid" 2>/dev/null || { tail -n 20 "$log" >&2; die "sluice died"; }
  count_rotated_output
  rss_kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$sluice_pid/status")
  ticks=$(cpu_ticks "$sluice_pid")
  in_bytes_now=$(status_field bytes)
  sent=$(metric sluice_component_sent_events_total out)
  row=$(awk -v t="$now_s" -v r="$rss_kib" -v dt="$((now_s - prev_t))" -v dk="$((ticks - prev_ticks))" \
    -v hz="$clk_tck" -v b="$in_bytes_now" -v s="$sent" -v d="$(status_field deleted)" \
    'BEGIN { printf "%8d %9.1f %8.1f %9.0f %10.1f %10d %8d", t, r / 1024, 100 * dk / hz / dt,
             b / 1e6, b / 1e6 / t, s, d }')
  echo "$row" >&2
  rows+=("$row")
  ((now_s >= warmup_s)) && rss_after+=("$rss_kib")
  prev_ticks=$ticks
  prev_t=$now_s
  next=$((next + sample_s))
done
wait "$writer_pid" || die "the writer failed"
writer_pid=""
lines=$(status_field lines)
in_bytes_total=$(status_field bytes)

# Caught up: the sink has sent every line (the writer has already waited for the checkpoint to
# cover every rotated file, up to its --drain-seconds).
for _ in $(seq 600); do
  sent=$(metric sluice_component_sent_events_total out)
  ((sent >= lines)) && break
  sleep 0.5
done
src_sent=$(metric sluice_component_sent_events_total logs)
sink_sent=$(metric sluice_component_sent_events_total out)
ticks=$(cpu_ticks "$sluice_pid")
hwm_kib=$(awk '/^VmHWM:/ { print $2 }' "/proc/$sluice_pid/status")
kill -TERM "$sluice_pid"
rc=0
wait "$sluice_pid" || rc=$?
sluice_pid=""
((rc == 0)) || { tail -n 20 "$log" >&2; die "sluice exited with status $rc"; }
count_rotated_output
[[ -e $scratch/out/events.jsonl ]] && out_lines=$((out_lines + $(wc -l <"$scratch/out/events.jsonl")))
totals() { sed -n "s/.*msg=\"component totals\" component=$1 .*events_out=\([0-9]*\).*/\1/p" "$log"; }
tot_src=$(totals logs)
tot_sink=$(totals out)

echo
echo "sluice soak: $(status_field seconds) s at $(status_field mbps) MB/s (target $mbps) of" \
  "~200 B lines, input rotated every $rotate_s s ($(status_field rotations) rotations," \
  "$(status_field deleted) rotated files deleted once read), $(nproc) cores"
echo "sluice: $("$sluice" version 2>/dev/null | head -n 1 || echo '?')"
echo
echo "RSS every $sample_s s:"
printf '%8s %9s %8s %9s %10s %10s %8s\n' "t (s)" "RSS MiB" "CPU %" "in MB" "in MB/s" \
  "out events" "deleted"
printf '%s\n' "${rows[@]}"
echo
if ((${#rss_after[@]} >= 2)); then
  read -r first_mib min_mib max_mib last_mib growth_mib < <(printf '%s\n' "${rss_after[@]}" | awk '
    NR == 1 { f = $1; mn = $1; mx = $1 } { if ($1 < mn) mn = $1; if ($1 > mx) mx = $1; l = $1 }
    END { printf "%.1f %.1f %.1f %.1f %.1f\n", f / 1024, mn / 1024, mx / 1024, l / 1024, (mx - f) / 1024 }')
  echo "RSS after the ${warmup_s} s warm-up: first $first_mib MiB, min $min_mib, max $max_mib," \
    "last $last_mib; growth (max - first) $growth_mib MiB (target <= $growth_target_mib); peak (VmHWM) $(awk -v k="$hwm_kib" 'BEGIN { printf "%.1f", k / 1024 }') MiB"
  target_met "$growth_mib <= $growth_target_mib" || note "RSS grew by $growth_mib MiB after the warm-up"
else
  echo "RSS after the warm-up: too few samples (SOAK_SECONDS <= SOAK_WARMUP_SECONDS)"
fi
cpu_s=$(ticks_to_s $((ticks - ticks0)))
echo "CPU: $cpu_s s for $(awk -v b="$in_bytes_total" 'BEGIN { printf "%.0f", b / 1e6 }') MB =" \
  "$(awk -v c="$cpu_s" -v b="$in_bytes_total" 'BEGIN { printf "%.2f", c / (b / 1e6) * 1000 }') ms per MB" \
  "($(awk -v c="$cpu_s" -v t="$(status_field seconds)" 'BEGIN { printf "%.0f", 100 * c / t }')% of a core)"
echo "events: written $lines; /metrics source sent $src_sent, sink sent $sink_sent;" \
  "totals at exit source $tot_src, sink $tot_sink; output lines $out_lines"
behind=$(status_field behind_s)
target_met "$behind < 5" || note "the writer fell $behind s behind its schedule"
if [[ $lines == "$src_sent" && $lines == "$sink_sent" && $lines == "$tot_src" &&
  $lines == "$tot_sink" && $lines == "$out_lines" ]]; then
  echo "events in = events out: PASS"
else
  die "events in != events out (see above)"
fi
finish
