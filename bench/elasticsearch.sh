#!/usr/bin/env bash
# The `elasticsearch` sink with the real binary against a minimal loopback `_bulk` endpoint
# (tests/sluice_es_emulator --null: reads each request body and answers success without parsing
# it, so the figure measures sluice, not the emulator), next to stdin → file measured in the
# same run.
#
#   bench/elasticsearch.sh [path/to/sluice]
#
# Uses the first SLUICE_BENCH_ES_LINES lines of the corpus bench/e2e.sh generates (~200-byte JSON
# log lines; the corpus is generated here if missing) and measures, each with /usr/bin/time:
#   json-file   sluice, stdin → file, `parser: json` (the reference)
#   es          sluice, stdin → elasticsearch sink, `parser: json`, `id: auto`, gzip off
#   es-gzip     the same with `compression: gzip`
# Targets (es): >= 300 MB/s of request body, peak RSS <= 128 MiB. Each case runs
# SLUICE_BENCH_RUNS times, alternating; the fastest run is reported. Every run is checked: the
# file's line count; for Elasticsearch the sink's `stored` total and the endpoint's request count.
#
# Environment:
#   SLUICE_BENCH_DIR         corpus cache and scratch dir (default /tmp/sluice-bench)
#   SLUICE_BENCH_GB          corpus size in GiB (default 1; see bench/e2e.sh)
#   SLUICE_BENCH_SEED        generator seed (default 1)
#   SLUICE_BENCH_ES_LINES    events per run (default 2000000)
#   SLUICE_BENCH_RUNS        runs per case (default 3)
#   SLUICE_BENCH_STRICT=1    exit 1 when a target is missed (default: only on wrong output)
#
# Columns: events/s and in MB/s (decimal, of the input lines) over the wall time of the sluice
# command; body MB/s = bytes of request bodies the endpoint received (compressed ones for gzip)
# over the same wall time; CPU s = user + sys of sluice; ep CPU s = the endpoint's CPU during the
# run (it shares the cores); RSS = time's %M (peak resident set of sluice).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sluice=${1:-build/sluice}
bench_dir=${SLUICE_BENCH_DIR:-/tmp/sluice-bench}
gb=${SLUICE_BENCH_GB:-1}
seed=${SLUICE_BENCH_SEED:-1}
lines=${SLUICE_BENCH_ES_LINES:-2000000}
runs=${SLUICE_BENCH_RUNS:-3}
strict=${SLUICE_BENCH_STRICT:-0}

die() {
  echo "elasticsearch: $*" >&2
  exit 1
}

[[ -x $sluice ]] || die "no sluice binary at '$sluice' (build it first: make build)"
sluice=$(cd "$(dirname "$sluice")" && pwd)/$(basename "$sluice")
build_dir=$(dirname "$sluice")
emulator=$build_dir/tests/sluice_es_emulator
[[ -x $emulator ]] || die "sluice_es_emulator missing in $build_dir/tests (build the tests)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (Debian package 'time')"
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "SLUICE_BENCH_RUNS must be a positive integer"
[[ $lines =~ ^[1-9][0-9]*$ ]] || die "SLUICE_BENCH_ES_LINES must be a positive integer"
bytes=$(awk -v g="$gb" 'BEGIN { if (g + 0 <= 0) exit 1; printf "%d", g * 1073741824 }') ||
  die "SLUICE_BENCH_GB must be a positive number, not '$gb'"
mkdir -p "$bench_dir"

# shellcheck source-path=SCRIPTDIR source=corpus.sh
source "$here/corpus.sh"
ensure_corpus elasticsearch
((lines <= in_lines)) || die "the corpus has only $in_lines lines (raise SLUICE_BENCH_GB)"
slice=$bench_dir/es-slice.$$.jsonl
head -n "$lines" "$corpus" >"$slice"
slice_bytes=$(stat -c %s "$slice")

out=$bench_dir/es-out.$$
tfile=$bench_dir/es-time.$$
log=$bench_dir/es-sluice.$$.log
data=$bench_dir/es-data.$$
emu_pid=
cleanup() {
  if [[ -n $emu_pid ]]; then
    { echo quit >&"${EMU[1]}"; } 2>/dev/null || true
    wait "$emu_pid" 2>/dev/null || true
  fi
  rm -rf "$slice" "$out" "$tfile" "$log" "$data" "$bench_dir"/es-*.$$.yaml
}
trap cleanup EXIT

coproc EMU { exec "$emulator" --null; }
# shellcheck disable=SC2153  # EMU_PID is set by coproc
emu_pid=$EMU_PID
read -r -t 10 first <&"${EMU[0]}" || die "the emulator did not start"
[[ $first == address=* ]] || die "unexpected first line from the emulator: $first"
address=${first#address=}
# emu_stat FIELD: one counter of the emulator (`stats` over its stdin).
emu_stat() {
  local answer
  echo stats >&"${EMU[1]}"
  read -r -t 10 answer <&"${EMU[0]}" || die "no answer from the emulator to 'stats'"
  [[ $answer == ok\ * ]] || die "emulator: stats: $answer"
  sed -E "s/.*\"$1\":([0-9]+).*/\1/" <<<"$answer"
}
emu_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$emu_pid/stat"; }

cat >"$bench_dir/es-file.$$.yaml" <<EOF
sources:
  in: {type: stdin, parser: json}
sinks:
  out: {type: file, inputs: [in], path: $out}
EOF
for compression in none gzip; do
  cat >"$bench_dir/es-$compression.$$.yaml" <<EOF
data_dir: $data
sources:
  in: {type: stdin, parser: json}
sinks:
  es:
    type: elasticsearch
    inputs: [in]
    endpoints: ["http://$address"]
    index: "bench-%Y.%m.%d"
    id: auto
    compression: $compression
EOF
done

cat "$slice" >/dev/null  # page cache
timefmt='%e %U %S %M'
# run_case NAME: one run, verified; sets wall_ns user sys rss_kib emu_cpu body.
run_case() {
  local start end rc=0 ticks_before ticks_after got cfg body_before requests_before
  rm -f "$out"
  body_before=$(emu_stat body_bytes)
  requests_before=$(emu_stat requests)
  ticks_before=$(emu_cpu_ticks)
  case $1 in
    json-file) cfg=$bench_dir/es-file.$$.yaml ;;
    es) cfg=$bench_dir/es-none.$$.yaml ;;
    es-gzip) cfg=$bench_dir/es-gzip.$$.yaml ;;
  esac
  start=$(date +%s%N)
  SLUICE_SHUTDOWN_TIMEOUT_SECONDS=60 /usr/bin/time -f "$timefmt" -o "$tfile" "$sluice" run \
    -c "$cfg" <"$slice" 2>"$log" || rc=$?
  end=$(date +%s%N)
  ticks_after=$(emu_cpu_ticks)
  if ((rc != 0)); then
    tail -n 20 "$log" >&2
    die "case $1 failed with exit status $rc"
  fi
  body=$(($(emu_stat body_bytes) - body_before))
  case $1 in
    json-file)
      got=$(wc -l <"$out")
      ;;
    es | es-gzip)
      got=$(sed -nE 's/.*msg="elasticsearch sink totals".* stored=([0-9]+).*/\1/p' "$log")
      (($(emu_stat requests) > requests_before)) || die "$1: the endpoint received no request"
      ((body > 0)) || die "$1: the endpoint received no body bytes"
      ;;
  esac
  [[ $got == "$lines" ]] || die "$1: ${got:-no} events out, expected $lines"
  rm -f "$out"
  wall_ns=$((end - start))
  read -r _ user sys rss_kib < <(tail -n 1 "$tfile")
  emu_cpu=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.2f", t / hz }')
}

declare -A best_wall best_cpu best_rss best_emu best_body
cases=(json-file es es-gzip)
for ((r = 1; r <= runs; r++)); do
  for c in "${cases[@]}"; do
    run_case "$c"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    if [[ -z ${best_wall[$c]:-} ]] || ((wall_ns < best_wall[$c])); then
      best_wall[$c]=$wall_ns
      best_cpu[$c]=$cpu
      best_rss[$c]=$rss_kib
      best_emu[$c]=$emu_cpu
      best_body[$c]=$body
    fi
  done
done

echo
echo "sluice elasticsearch: $lines events, $(awk -v b="$slice_bytes" 'BEGIN{printf "%.0f", b/1e6}')" \
  "MB ($(awk -v b="$slice_bytes" -v l="$lines" 'BEGIN{printf "%.0f", b/l}') B/event), $(nproc)" \
  "cores, best of $runs run(s); endpoint: sluice_es_emulator --null on loopback"
echo
missed=0
printf '%-10s %10s %8s %10s %7s %9s %8s  %s\n' case events/s 'in MB/s' 'body MB/s' 'CPU s' \
  'ep CPU s' 'RSS MiB' targets
for c in "${cases[@]}"; do
  read -r eps mbs body_mbs rss_mib < <(awk -v b="$slice_bytes" -v l="$lines" \
    -v w="${best_wall[$c]}" -v body="${best_body[$c]}" -v rss="${best_rss[$c]}" \
    'BEGIN { s = w / 1e9; printf "%.0f %.0f %.0f %.1f\n", l / s, b / s / 1e6, body / s / 1e6,
                                    rss / 1024 }')
  targets=""
  if [[ $c == json-file ]]; then
    body_mbs=-
    best_emu[$c]=-
  elif [[ $c == es ]]; then
    for t in ">=300MB/s:$body_mbs >= 300" "RSS<=128MiB:$rss_mib <= 128"; do
      if awk "BEGIN { exit !(${t#*:}) }"; then
        targets+="${t%%:*} PASS  "
      else
        targets+="${t%%:*} MISS  "
        missed=1
      fi
    done
  fi
  printf '%-10s %10s %8s %10s %7s %9s %8s  %s\n' "$c" "$eps" "$mbs" "$body_mbs" \
    "${best_cpu[$c]}" "${best_emu[$c]}" "$rss_mib" "$targets"
done
echo
echo "Outputs verified: line count of the file; the sink's stored total and the endpoint's"
echo "request and body byte counts for Elasticsearch."
if ((missed)) && [[ $strict == 1 ]]; then
  exit 1
fi
exit 0
