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
sluice=${1:-build/sluice}
bench_dir=${SLUICE_BENCH_DIR:-/tmp/sluice-bench}
gb=${SLUICE_BENCH_GB:-1}
seed=${SLUICE_BENCH_SEED:-1}
runs=${SLUICE_BENCH_RUNS:-3}
strict=${SLUICE_BENCH_STRICT:-0}

die() {
  echo "e2e: $*" >&2
  exit 1
}

[[ -x $sluice ]] || die "no sluice binary at '$sluice' (build it first: make build)"
sluice=$(cd "$(dirname "$sluice")" && pwd)/$(basename "$sluice")
build_dir=$(dirname "$sluice")
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (Debian package 'time')"
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "SLUICE_BENCH_RUNS must be a positive integer"
bytes=$(awk -v g="$gb" 'BEGIN { if (g + 0 <= 0) exit 1; printf "%d", g * 1073741824 }') ||
  die "SLUICE_BENCH_GB must be a positive number, not '$gb'"
mkdir -p "$bench_dir"

# --- corpus (generated once; the name changes with the generator's source, size and seed) -----
# shellcheck source-path=SCRIPTDIR source=corpus.sh
source "$here/corpus.sh"
ensure_corpus e2e

# --- configs ----------------------------------------------------------------------------------
out=$bench_dir/out.$$
tfile=$bench_dir/time.$$
log=$bench_dir/sluice.$$.log
cleanup() { rm -f "$out" "$tfile" "$log" "$bench_dir"/raw.$$.yaml "$bench_dir"/json.$$.yaml; }
trap cleanup EXIT

write_config() {  # parser encoding file
  cat >"$3" <<EOF
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
EOF
}
write_config none raw "$bench_dir/raw.$$.yaml"
write_config json json "$bench_dir/json.$$.yaml"

# --- measuring --------------------------------------------------------------------------------
# Warm the page cache so every case reads the corpus from memory, like cat does.
cat "$corpus" >/dev/null

timefmt='%e %U %S %M'
# run_case NAME: runs the case once, sets wall_ns user sys rss_kib.
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
  esac
  end=$(date +%s%N)
  if ((rc != 0)); then
    [[ -f $log ]] && tail -n 20 "$log" >&2
    die "case $1 failed with exit status $rc"
  fi
  wall_ns=$((end - start))
  # time's -o file may start with "Command exited..." lines; the figures are on the last line.
  read -r _ user sys rss_kib < <(tail -n 1 "$tfile")
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

declare -A best_wall best_cpu best_rss
cases=(cat raw-file raw-pipe json-file json-pipe)
for ((r = 1; r <= runs; r++)); do
  for c in "${cases[@]}"; do
    run_case "$c"
    verify "$c"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    if [[ -z ${best_wall[$c]:-} ]] || ((wall_ns < best_wall[$c])); then
      best_wall[$c]=$wall_ns
      best_cpu[$c]=$cpu
      best_rss[$c]=$rss_kib
    fi
  done
done

# --- report -----------------------------------------------------------------------------------
cores=$(nproc)
echo
echo "sluice e2e: $(awk -v b="$in_bytes" 'BEGIN{printf "%.2f", b/1e9}') GB, $in_lines lines" \
  "($(awk -v b="$in_bytes" -v l="$in_lines" 'BEGIN{printf "%.0f", b/l}') B/line), $cores cores," \
  "best of $runs run(s); corpus $corpus"
echo "sluice: $("$sluice" version 2>/dev/null | head -n 1 || echo '?')"
echo
missed=0
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
  check() {  # label condition(awk) → appends "label PASS|MISS"
    if awk "BEGIN { exit !($2) }"; then
      targets+="$1 PASS  "
    else
      targets+="$1 MISS  "
      missed=1
    fi
  }
  case $c in
    raw-*) check ">=0.5x cat" "$ratio >= 0.5" ;;
    json-*) check ">=400 MB/s" "$mbs >= 400" ;;
  esac
  [[ $c == cat ]] || check "RSS<=64MiB" "$rss_mib <= 64"
  printf '%-10s %9s %11s %7s %8s %7s %8s %7s  %s\n' "$c" "$mbs" "$lps" "${best_cpu[$c]}" \
    "$cpu_gb" "$rss_mib" "$ratio" "$wall" "$targets"
done
echo
echo "raw = parser none + encoding raw; json = parser json + JSON encoding; -file = stdin is the"
echo "corpus file (< corpus), -pipe = cat corpus | sluice. Outputs verified: line counts, and raw"
echo "outputs byte-identical to the input."
if ((missed)) && [[ $strict == 1 ]]; then
  exit 1
fi
exit 0
