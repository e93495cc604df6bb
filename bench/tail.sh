#!/usr/bin/env bash
# File tailing (the `file` source) with the real binary, next to stdin → file measured in the
# same run.
#
#   bench/tail.sh [path/to/sluice]         (`make bench` runs it as ./bench/tail.sh build/sluice)
#
# Uses the corpus bench/e2e.sh generates (the same cache and name; generated here if missing) and
# measures:
#   json-stdin       sluice, stdin → file, `parser: json`, `< corpus` (as bench/e2e.sh's json-file)
#   json-files20     the corpus split into 20 files of whole lines; a `file` source
#                    (`read_from: beginning`, `stop_at_eof: true`, `checkpoints: false`,
#                    `parser: json`) → file sink (`encoding: json`). Target: its throughput at
#                    least 0.90x json-stdin's.
#   idle-files20     20 files that do not grow, followed (`read_from: end`, `stop_at_eof: false`);
#   idle-files1000   1000 such files. CPU = utime + stime of sluice (/proc/<pid>/stat) over the
#                    10 s after every file is being tailed. Target: < 1% of a core.
#   files1000-read   1000 files of 200 lines each, followed from the beginning
#                    (`max_open_files: 2048`): the time until the output holds every line;
#   files1000-append then 10 lines appended to each file: the time until they are all out.
#                    Peak RSS = VmHWM from /proc/<pid>/status, before SIGTERM. Target: <= 64 MiB.
#   files10000-read  10,000 one-line files through `max_open_files: 64` (files read to their end
#                    give their descriptor to waiting ones): the time until every line is out.
#                    Target: < 30 s.
#   idle-files10000  then those 10,000 files, closed and watched, not growing: CPU over the
#                    idle measurement (the rescan stats every file each glob_interval).
# Cases 1 (json-*) run SLUICE_BENCH_RUNS times, alternating, and the fastest run of each is
# reported; the others run once. Every output's line count is checked against the input (for the
# follow cases, also after the shutdown: nothing read twice).
#
# Environment:
#   SLUICE_BENCH_DIR    corpus cache and scratch dir (default /tmp/sluice-bench)
#   SLUICE_BENCH_GB     corpus size in GiB, may be fractional (default 1)
#   SLUICE_BENCH_SEED   generator seed (default 1)
#   SLUICE_BENCH_RUNS   runs of the json-* cases; the fastest is reported (default 3)
#   SLUICE_BENCH_IDLE_SECONDS  length of the idle measurement (default 10)
#   SLUICE_BENCH_STRICT=1  exit 1 when a target is missed (default: only on wrong output)
#
# Columns: MB/s is decimal (10^6 bytes) of input; wall time has nanosecond resolution (for the
# follow cases it is found by polling the output, every 20 ms); CPU s = user + sys of sluice
# (/usr/bin/time for json-*, /proc/<pid>/stat deltas otherwise, 1/CLK_TCK resolution); CPU % is
# CPU s / wall s (100 = one core busy); RSS is time's %M for json-*, VmHWM otherwise.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
bench_init tail "${1:-build/sluice}"
idle_s=${SLUICE_BENCH_IDLE_SECONDS:-10}
positive_int SLUICE_BENCH_IDLE_SECONDS "$idle_s"

# 1000 followed files (plus the sink, inotify, eventfds...) need well over 1024 descriptors.
nofile=$(ulimit -Sn)
if [[ $nofile != unlimited ]] && ((nofile < 4096)); then
  hard=$(ulimit -Hn)
  want=4096
  [[ $hard != unlimited ]] && ((hard < want)) && want=$hard
  ulimit -Sn "$want" || die "cannot raise the open-files limit (ulimit -n $nofile, hard $hard)"
  ((want >= 1100)) || die "open-files limit too low for 1000 files: ulimit -Hn is $hard"
fi

ensure_corpus tail

# --- scratch: everything this script makes lives in $scratch and goes at exit -----------------
scratch=$bench_dir/tail.$$
sluice_pid=""
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  if [[ -n $sluice_pid ]] && kill -0 "$sluice_pid" 2>/dev/null; then
    kill -KILL "$sluice_pid" 2>/dev/null || true
    wait "$sluice_pid" 2>/dev/null || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$scratch"
mkdir -p "$scratch"
out=$scratch/out.jsonl
tfile=$scratch/time
log=$scratch/sluice.log
export SLUICE_METRICS_ADDR=off          # no HTTP listener (several runs, other users of the port)
export SLUICE_DATA_DIR=$scratch/data    # for configs without `data_dir` (stdin)

# --- configs ----------------------------------------------------------------------------------
# As bench/e2e.sh's json config.
cat >"$scratch/stdin.yaml" <<EOF
sources:
  in:
    type: stdin
    parser: json
sinks:
  out:
    type: file
    inputs: [in]
    path: $out
    encoding: json
EOF
# file_config NAME DIR READ_FROM STOP_AT_EOF CHECKPOINTS
file_config() {
  cat >"$scratch/$1.yaml" <<EOF
data_dir: $scratch/data-$1
sources:
  in:
    type: file
    include: [$2/*.log]
    read_from: $3
    stop_at_eof: $4
    checkpoints: $5
    max_open_files: 2048
    parser: json
sinks:
  out:
    type: file
    inputs: [in]
    path: $out
    encoding: json
EOF
}

# --- inputs -----------------------------------------------------------------------------------
# Case 1: the corpus in 20 files of whole lines.
note "splitting the corpus into 20 files..."
mkdir -p "$scratch/files20"
split -n l/20 -d -a 2 --additional-suffix=.log "$corpus" "$scratch/files20/part"
[[ $(find "$scratch/files20" -name '*.log' | wc -l) == 20 ]] || die "split did not make 20 files"
split_bytes=$(cat "$scratch/files20"/*.log | wc -c)
[[ $split_bytes == "$in_bytes" ]] || die "split files hold $split_bytes bytes, not $in_bytes"

# Cases 2-3: 1000 files of 200 lines and, to append later, 10 more lines each (corpus lines,
# cycled when the corpus is smaller than that).
small_files=1000
small_lines=200
append_lines=10
# corpus_lines N: the first N lines of the corpus, the corpus repeated if needed.
corpus_lines() {
  awk -v n="$1" -v f="$corpus" 'BEGIN { while (c < n) { while (c < n && (getline l < f) > 0) { print l; c++ }
                                                         close(f) } }'
}
mkdir -p "$scratch/files1000" "$scratch/idle20"
corpus_lines $((small_files * (small_lines + append_lines))) >"$scratch/lines"
head -n $((small_files * small_lines)) "$scratch/lines" |
  split -l "$small_lines" -d -a 4 --additional-suffix=.log - "$scratch/files1000/f"
tail -n $((small_files * append_lines)) "$scratch/lines" >"$scratch/append"
rm -f "$scratch/lines"
[[ $(find "$scratch/files1000" -name '*.log' | wc -l) == "$small_files" ]] ||
  die "did not make $small_files small files"
small_bytes=$(cat "$scratch/files1000"/*.log | wc -c)
cp "$scratch/files1000"/f00[01]?.log "$scratch/idle20/"
[[ $(find "$scratch/idle20" -name '*.log' | wc -l) == 20 ]] || die "did not make 20 idle files"

file_config files20 "$scratch/files20" beginning true false
file_config idle20 "$scratch/idle20" end false true
file_config idle1000 "$scratch/files1000" end false true
file_config follow1000 "$scratch/files1000" beginning false true

# Case 4: 10,000 one-line files, 64 descriptors.
many_files=10000
mkdir -p "$scratch/files10000"
awk -v dir="$scratch/files10000" -v n="$many_files" 'BEGIN {
  for (i = 0; i < n; i++) { f = sprintf("%s/f%05d.log", dir, i)
                            printf "{\"level\":\"info\",\"msg\":\"file %d\"}\n", i > f; close(f) } }'
many_bytes=$(cat "$scratch/files10000"/*.log | wc -c)
file_config files10000 "$scratch/files10000" beginning false true
sed -i 's/max_open_files: 2048/max_open_files: 64/' "$scratch/files10000.yaml"

# --- helpers ----------------------------------------------------------------------------------
vmhwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# Counting output lines while it grows: only the bytes added since the last look are read.
counted_bytes=0
counted_lines=0
count_reset() {
  counted_bytes=0
  counted_lines=0
}
count_update() {
  local size
  size=$(stat -c %s "$out" 2>/dev/null || echo 0)
  if ((size > counted_bytes)); then
    counted_lines=$((counted_lines + $(dd if="$out" bs=1M iflag=skip_bytes,count_bytes \
      skip="$counted_bytes" count=$((size - counted_bytes)) status=none | wc -l)))
    counted_bytes=$size
  fi
}
# wait_lines N TIMEOUT_S WHAT: polls until the output has N lines.
wait_lines() {
  local deadline=$(($(date +%s%N) + $2 * 1000000000))
  while :; do
    count_update
    ((counted_lines >= $1)) && break
    kill -0 "$sluice_pid" 2>/dev/null || { tail -n 20 "$log" >&2; die "$3: sluice exited early"; }
    if (($(date +%s%N) > deadline)); then
      tail -n 20 "$log" >&2
      die "$3: $counted_lines output lines after $2 s, expected $1"
    fi
    sleep 0.02
  done
  ((counted_lines == $1)) || die "$3: $counted_lines output lines, expected $1"
}
# start_follow NAME: starts sluice in the background on NAME's config.
start_follow() {
  rm -f "$out"
  count_reset
  "$sluice" run -c "$scratch/$1.yaml" 2>"$log" &
  sluice_pid=$!
}
# wait_tailing N TIMEOUT_S: until sluice has logged N "tailing file" lines.
wait_tailing() {
  local deadline=$(($(date +%s%N) + $2 * 1000000000)) n
  while :; do
    n=$(grep -c 'msg="tailing file"' "$log" || true)
    ((n >= $1)) && break
    kill -0 "$sluice_pid" 2>/dev/null || { tail -n 20 "$log" >&2; die "sluice exited early"; }
    (($(date +%s%N) <= deadline)) || { tail -n 20 "$log" >&2; die "only $n of $1 files tailed after $2 s"; }
    sleep 0.05
  done
}
# stop_follow NAME: SIGTERM, and the exit status must be 0.
stop_follow() {
  local rc=0
  kill -TERM "$sluice_pid"
  wait "$sluice_pid" || rc=$?
  sluice_pid=""
  if ((rc != 0)); then
    tail -n 20 "$log" >&2
    die "$1: sluice exited with status $rc after SIGTERM"
  fi
}

declare -A wall cpu rss files lines mbytes

# --- case 1: 20 files vs stdin, JSON -----------------------------------------------------------
cat "$corpus" "$scratch/files20"/*.log >/dev/null  # page cache: everything is read from memory
run_case() {  # NAME
  rm -f "$out"
  local start end rc=0
  start=$(date +%s%N)
  case $1 in
    json-stdin) /usr/bin/time -f "$timefmt" -o "$tfile" "$sluice" run -c "$scratch/stdin.yaml" \
      <"$corpus" 2>"$log" || rc=$? ;;
    json-files20) /usr/bin/time -f "$timefmt" -o "$tfile" "$sluice" run -c "$scratch/files20.yaml" \
      </dev/null 2>"$log" || rc=$? ;;
  esac
  end=$(date +%s%N)
  end_run "$1" "$rc" "$start" "$end"
  local n
  n=$(wc -l <"$out")
  [[ $n == "$in_lines" ]] || die "$1: $n output lines, expected $in_lines"
  rm -f "$out"
  if [[ -z ${wall[$1]:-} ]] || ((wall_ns < wall[$1])); then
    wall[$1]=$wall_ns
    cpu[$1]=$cpu_s
    rss[$1]=$rss_kib
  fi
}
for ((r = 1; r <= runs; r++)); do
  note "json-stdin / json-files20, run $r of $runs..."
  run_case json-stdin
  run_case json-files20
done
for c in json-stdin json-files20; do
  lines[$c]=$in_lines
  mbytes[$c]=$in_bytes
done
files[json-stdin]=1
files[json-files20]=20

# --- case 2: idle CPU --------------------------------------------------------------------------
idle_case() {  # NAME CONFIG NFILES
  note "$1: $3 idle files, ${idle_s} s..."
  start_follow "$2"
  wait_tailing "$3" 60
  local t0 t1 c0 c1
  t0=$(date +%s%N)
  c0=$(cpu_ticks "$sluice_pid")
  sleep "$idle_s"
  c1=$(cpu_ticks "$sluice_pid")
  t1=$(date +%s%N)
  rss[$1]=$(vmhwm_kib "$sluice_pid")
  stop_follow "$1"
  count_update
  ((counted_lines == 0)) || die "$1: $counted_lines output lines from files that did not grow"
  wall[$1]=$((t1 - t0))
  cpu[$1]=$(ticks_to_s $((c1 - c0)))
  files[$1]=$3
  lines[$1]=0
  mbytes[$1]=0
}
idle_case idle-files20 idle20 20
idle_case idle-files1000 idle1000 "$small_files"

# --- case 3: 1000 files, read and follow -------------------------------------------------------
note "files1000: $small_files files of $small_lines lines, followed from the beginning..."
n_read=$((small_files * small_lines))
n_append=$((small_files * append_lines))
t0=$(date +%s%N)
start_follow follow1000
wait_lines "$n_read" 120 files1000-read
t1=$(date +%s%N)
c1=$(cpu_ticks "$sluice_pid")
rss[files1000-read]=$(vmhwm_kib "$sluice_pid")
# Append 10 lines to each file, one write per file.
awk -v dir="$scratch/files1000" -v per="$append_lines" '
  { f = sprintf("%s/f%04d.log", dir, int((NR - 1) / per))
    if (f != prev) { if (prev != "") close(prev); prev = f }
    print >> f }' "$scratch/append"
wait_lines $((n_read + n_append)) 120 files1000-append
t2=$(date +%s%N)
c2=$(cpu_ticks "$sluice_pid")
rss[files1000-append]=$(vmhwm_kib "$sluice_pid")
stop_follow files1000
count_reset
count_update
((counted_lines == n_read + n_append)) ||
  die "files1000: $counted_lines output lines after the shutdown, expected $((n_read + n_append))"
wall[files1000-read]=$((t1 - t0))
wall[files1000-append]=$((t2 - t1))
cpu[files1000-read]=$(ticks_to_s "$c1")
cpu[files1000-append]=$(ticks_to_s $((c2 - c1)))
files[files1000-read]=$small_files
files[files1000-append]=$small_files
lines[files1000-read]=$n_read
lines[files1000-append]=$n_append
mbytes[files1000-read]=$small_bytes
mbytes[files1000-append]=$(stat -c %s "$scratch/append")

# --- case 4: 10,000 files through 64 descriptors ----------------------------------------------
note "files10000: $many_files one-line files, max_open_files: 64..."
t0=$(date +%s%N)
start_follow files10000
wait_lines "$many_files" 60 files10000-read
t1=$(date +%s%N)
c1=$(cpu_ticks "$sluice_pid")
rss[files10000-read]=$(vmhwm_kib "$sluice_pid")
sleep "$idle_s"
c2=$(cpu_ticks "$sluice_pid")
t2=$(date +%s%N)
rss[idle-files10000]=$(vmhwm_kib "$sluice_pid")
stop_follow files10000
count_reset
count_update
((counted_lines == many_files)) ||
  die "files10000: $counted_lines output lines after the shutdown, expected $many_files"
wall[files10000-read]=$((t1 - t0))
wall[idle-files10000]=$((t2 - t1))
cpu[files10000-read]=$(ticks_to_s "$c1")
cpu[idle-files10000]=$(ticks_to_s $((c2 - c1)))
files[files10000-read]=$many_files
files[idle-files10000]=$many_files
lines[files10000-read]=$many_files
lines[idle-files10000]=0
mbytes[files10000-read]=$many_bytes
mbytes[idle-files10000]=0

# --- report -----------------------------------------------------------------------------------
print_corpus_header tail "json-* best of $runs run(s)"
cases=(json-stdin json-files20 idle-files20 idle-files1000 files1000-read files1000-append
  files10000-read idle-files10000)
printf '%-17s %5s %9s %8s %8s %7s %7s %8s\n' case files lines 'wall s' MB/s 'CPU s' 'CPU %' 'RSS MiB'
for c in "${cases[@]}"; do
  read -r w mbs pct rss_mib < <(awk -v w="${wall[$c]}" -v b="${mbytes[$c]}" -v cpu="${cpu[$c]}" \
    -v rss="${rss[$c]}" 'BEGIN { s = w / 1e9;
      printf "%.2f %s %.2f %.1f\n", s, (b > 0 ? sprintf("%.0f", b / s / 1e6) : "-"),
             100 * cpu / s, rss / 1024 }')
  printf '%-17s %5s %9s %8s %8s %7s %7s %8s\n' "$c" "${files[$c]}" "${lines[$c]}" "$w" "$mbs" \
    "${cpu[$c]}" "$pct" "$rss_mib"
done
echo
echo "json-stdin = stdin source (< corpus); json-files20 = the corpus in 20 files, file source,"
echo "stop_at_eof; idle-* = followed files that do not grow (CPU over ${idle_s} s after startup);"
echo "files1000-read = from start until all ${n_read} lines are out; files1000-append = ${append_lines}"
echo "lines appended to each file until they are out (RSS: VmHWM, the peak of the whole run);"
echo "files10000-read = ${many_files} one-line files through max_open_files: 64 until all are out;"
echo "idle-files10000 = the same files, not growing, over the next ${idle_s} s."
echo

# target LABEL CONDITION(awk) FIGURE
target() {
  local verdict=PASS
  target_met "$2" || verdict=MISS
  printf 'target: %-52s %s (%s)\n' "$1" "$verdict" "$3"
}
ratio=$(awk -v a="${wall[json-stdin]}" -v b="${wall[json-files20]}" 'BEGIN { printf "%.3f", a / b }')
target "json-files20 throughput >= 0.90x json-stdin" "$ratio >= 0.90" "${ratio}x"
cpu_ratio=$(awk -v a="${cpu[json-stdin]}" -v b="${cpu[json-files20]}" 'BEGIN { printf "%.3f", b / a }')
printf 'info:   %-52s %s\n' "json-files20 CPU s / json-stdin CPU s (less noisy)" "${cpu_ratio}x"
for c in idle-files20 idle-files1000; do
  pct=$(awk -v w="${wall[$c]}" -v cpu="${cpu[$c]}" 'BEGIN { printf "%.2f", 100 * cpu / (w / 1e9) }')
  target "$c CPU < 1% of a core" "$pct < 1" "${pct}%"
done
rss_mib=$(awk -v r="${rss[files1000-append]}" 'BEGIN { printf "%.1f", r / 1024 }')
target "files1000 peak RSS <= 64 MiB" "$rss_mib <= 64" "$rss_mib MiB"
many_s=$(awk -v w="${wall[files10000-read]}" 'BEGIN { printf "%.2f", w / 1e9 }')
target "files10000 through 64 descriptors < 30 s" "$many_s < 30" "$many_s s"

finish
