#!/usr/bin/env bash
# End-to-end throughput of the real binary, next to `cat` measured in the same run.
#
#   bench/e2e.sh [path/to/sluice]          (`make bench` runs it as ./bench/e2e.sh build/sluice)
#
# Generates once (cached) a corpus of ~200-byte JSON log lines with an RFC 3339 `time` field, then
# measures, each with /usr/bin/time:
#   cat              cat corpus > out                                   (the physical limit)
#   raw              sluice, stdin → file, `parser: none`, `encoding: raw`
#   json             sluice, stdin → file, `parser: json` (parse + timestamp + JSON encode)
#   raw-disk, json-disk  the same through a disk buffer in front of the file sink
#                    (`buffer: {type: disk, fsync: interval}`, data_dir next to the corpus);
#                    target: at least half the memory-buffer figure of the same run
# sluice runs with the default number of workers, once with stdin redirected from the corpus file
# (`< corpus`) and once fed through a pipe (`cat corpus | sluice`). Outputs go next to the corpus
# (same filesystem) and are deleted after each run; the number of output lines is checked against
# the input (and the raw output must be byte-identical to the input).
#
# Environment:
#   SLUICE_BENCH_DIR    corpus cache and scratch dir (default /tmp/sluice-bench)
#   SLUICE_BENCH_GB     corpus size in GiB, may be fractional (default 1)
#   SLUICE_BENCH_SEED   generator seed (default 1)
#   SLUICE_BENCH_RUNS   runs per case; the fastest is reported (default 3)
#   SLUICE_BENCH_STRICT=1  exit 1 when a target is missed (default: only on wrong output)
#
# Columns: MB/s and GB are decimal (10^6, 10^9 bytes) of input; wall time is measured around the
# command with nanosecond resolution (time's %e has only 10 ms); CPU s = user + sys of sluice (or
# cat) from /usr/bin/time (in the pipe case, of sluice alone: the feeding cat is not counted);
# peak RSS is time's %M.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
bench_init e2e "${1:-build/sluice}"

# --- corpus (generated once; the name changes with the generator's source, size and seed) -----
ensure_corpus e2e

# --- configs ----------------------------------------------------------------------------------
scratch_files ""
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  rm -f "$out" "$tfile" "$log" "$bench_dir"/{raw,json,raw-disk,json-disk}.$$.yaml
  rm -rf "$bench_dir/data.$$"
}
trap cleanup EXIT

write_config() {  # parser encoding file [buffer]
  cat >"$3" <<EOF
data_dir: $bench_dir/data.$$
sources:
  in:
    type: stdin
    parser: $1
sinks:
  out:
    type: file
    inputs: [in]
    path: $out
    encoding: $2
    ${4:-}
EOF
}
write_config none raw "$bench_dir/raw.$$.yaml"
write_config json json "$bench_dir/json.$$.yaml"
disk_buffer="buffer: {type: disk, max_bytes: 1GiB, fsync: interval}"
write_config none raw "$bench_dir/raw-disk.$$.yaml" "$disk_buffer"
write_config json json "$bench_dir/json-disk.$$.yaml" "$disk_buffer"
# A disk-buffered sink may still be writing when stdin ends: give the drain time, so the output
# is complete and the figure is the whole run's.
export SLUICE_SHUTDOWN_TIMEOUT_SECONDS=300

# --- measuring --------------------------------------------------------------------------------
# Warm the page cache so every case reads the corpus from memory, like cat does.
cat "$corpus" >/dev/null

# run_case NAME: runs the case once and verifies its output (for best_of_runs).
# shellcheck disable=SC2002  # `cat corpus | sluice`: the pipe is what the -pipe cases measure
run_case() {
  rm -f "$out"
  local start end rc=0
  start=$(date +%s%N)
  case $1 in
    cat) /usr/bin/time -f "$timefmt" -o "$tfile" cat "$corpus" >"$out" || rc=$? ;;
    raw-file) /usr/bin/time -f "$timefmt" -o "$tfile" "$sluice" run -c "$bench_dir/raw.$$.yaml" <"$corpus" 2>"$log" || rc=$? ;;
    raw-pipe) cat "$corpus" | /usr/bin/time -f "$timefmt" -o "$tfile" "$sluice" run -c "$bench_dir/raw.$$.yaml" 2>"$log" || rc=$? ;;
    json-file) /usr/bin/time -f "$timefmt" -o "$tfile" "$sluice" run -c "$bench_dir/json.$$.yaml" <"$corpus" 2>"$log" || rc=$? ;;
    json-pipe) cat "$corpus" | /usr/bin/time -f "$timefmt" -o "$tfile" "$sluice" run -c "$bench_dir/json.$$.yaml" 2>"$log" || rc=$? ;;
    raw-disk | json-disk)
      rm -rf "$bench_dir/data.$$"
      /usr/bin/time -f "$timefmt" -o "$tfile" "$sluice" run -c "$bench_dir/$1.$$.yaml" <"$corpus" 2>"$log" || rc=$? ;;
  esac
  end=$(date +%s%N)
  end_run "$1" "$rc" "$start" "$end"
  verify "$1"
}

# verify NAME: checks the output of the run just made, then deletes it.
verify() {
  local lines
  lines=$(wc -l <"$out")
  [[ $lines == "$in_lines" ]] || die "$1: $lines output lines, expected $in_lines"
  case $1 in
    cat | raw-*) cmp -s "$out" "$corpus" || die "$1: output differs from the input" ;;
  esac
  rm -f "$out"
}

cases=(cat raw-file raw-pipe json-file json-pipe raw-disk json-disk)
best_of_runs "${cases[@]}"

# --- report -----------------------------------------------------------------------------------
print_corpus_header e2e "best of $runs run(s)"
cat_mbs=$(awk -v b="$in_bytes" -v w="${best_wall[cat]}" 'BEGIN { printf "%.3f", b / (w / 1e9) / 1e6 }')
printf '%-10s %9s %11s %7s %8s %7s %8s %7s  %s\n' case MB/s lines/s 'CPU s' 'CPU s/GB' \
  'RSS MiB' 'x cat' 'wall s' targets
for c in "${cases[@]}"; do
  read -r mbs lps cpu_gb rss_mib ratio wall < <(awk -v b="$in_bytes" -v l="$in_lines" \
    -v w="${best_wall[$c]}" -v cpu="${best_cpu[$c]}" -v rss="${best_rss[$c]}" -v cat="$cat_mbs" \
    'BEGIN { s = w / 1e9; mbs = b / s / 1e6;
             printf "%.0f %.0f %.2f %.1f %.2f %.2f\n", mbs, l / s, cpu / (b / 1e9), rss / 1024,
                    mbs / cat, s }')
  targets=""
  case $c in
    raw-disk | json-disk)
      memory=${c%-disk}-file
      share=$(awk -v d="${best_wall[$c]}" -v m="${best_wall[$memory]}" 'BEGIN { printf "%.2f", m / d }')
      check_target ">=0.5x $memory ($share)" "$share >= 0.5"
      ;;
    raw-*) check_target ">=0.5x cat" "$ratio >= 0.5" ;;
    json-*) check_target ">=400 MB/s" "$mbs >= 400" ;;
  esac
  [[ $c == cat ]] || check_target "RSS<=64MiB" "$rss_mib <= 64"
  printf '%-10s %9s %11s %7s %8s %7s %8s %7s  %s\n' "$c" "$mbs" "$lps" "${best_cpu[$c]}" \
    "$cpu_gb" "$rss_mib" "$ratio" "$wall" "$targets"
done
echo
echo "raw = parser none + encoding raw; json = parser json + JSON encoding; -file = stdin is the"
echo "corpus file (< corpus), -pipe = cat corpus | sluice, -disk = < corpus through a disk buffer"
echo "(fsync interval). Outputs verified: line counts, and raw outputs byte-identical to the input."
finish
