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
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
bench_init elasticsearch "${1:-build/sluice}"
lines=${SLUICE_BENCH_ES_LINES:-2000000}
emulator=$build_dir/tests/sluice_es_emulator
[[ -x $emulator ]] || die "sluice_es_emulator missing in $build_dir/tests (build the tests)"
positive_int SLUICE_BENCH_ES_LINES "$lines"

ensure_corpus elasticsearch
make_slice es-

scratch_files es-
data=$bench_dir/es-data.$$
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  stop_helper
  rm -rf "$slice" "$out" "$tfile" "$log" "$data" "$bench_dir"/es-*.$$.yaml
}
trap cleanup EXIT

start_helper "the emulator" address "$emulator" --null
address=$helper_value
# emu_stat FIELD: one counter of the emulator (`stats` over its stdin).
emu_stat() {
  ask_helper stats
  [[ $helper_answer == ok\ * ]] || die "emulator: stats: $helper_answer"
  sed -E "s/.*\"$1\":([0-9]+).*/\1/" <<<"$helper_answer"
}

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
# run_case NAME: one run, verified (for best_of_runs); sets emu_cpu and body too.
run_case() {
  local start end rc=0 ticks_before ticks_after got cfg body_before requests_before
  rm -f "$out"
  body_before=$(emu_stat body_bytes)
  requests_before=$(emu_stat requests)
  ticks_before=$(cpu_ticks "$helper_pid")
  case $1 in
    json-file) cfg=$bench_dir/es-file.$$.yaml ;;
    es) cfg=$bench_dir/es-none.$$.yaml ;;
    es-gzip) cfg=$bench_dir/es-gzip.$$.yaml ;;
  esac
  start=$(date +%s%N)
  SLUICE_SHUTDOWN_TIMEOUT_SECONDS=60 /usr/bin/time -f "$timefmt" -o "$tfile" "$sluice" run \
    -c "$cfg" <"$slice" 2>"$log" || rc=$?
  end=$(date +%s%N)
  ticks_after=$(cpu_ticks "$helper_pid")
  end_run "$1" "$rc" "$start" "$end"
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
  emu_cpu=$(ticks_to_s $((ticks_after - ticks_before)))
}

cases=(json-file es es-gzip)
declare -A best_emu best_body
keep_best() {
  best_emu[$1]=$emu_cpu
  best_body[$1]=$body
}
best_of_runs "${cases[@]}"

print_slice_header elasticsearch "endpoint: sluice_es_emulator --null on loopback"
printf '%-10s %10s %8s %10s %7s %9s %8s  %s\n' case events/s 'in MB/s' 'body MB/s' 'CPU s' \
  'ep CPU s' 'RSS MiB' targets
for c in "${cases[@]}"; do
  slice_rates "$c"
  body_mbs=$(awk -v w="${best_wall[$c]}" -v body="${best_body[$c]}" \
    'BEGIN { s = w / 1e9; printf "%.0f", body / s / 1e6 }')
  targets=""
  if [[ $c == json-file ]]; then
    body_mbs=-
    best_emu[$c]=-
  elif [[ $c == es ]]; then
    check_target ">=300MB/s" "$body_mbs >= 300"
    check_target "RSS<=128MiB" "$rss_mib <= 128"
  fi
  printf '%-10s %10s %8s %10s %7s %9s %8s  %s\n' "$c" "$eps" "$mbs" "$body_mbs" \
    "${best_cpu[$c]}" "${best_emu[$c]}" "$rss_mib" "$targets"
done
echo
echo "Outputs verified: line count of the file; the sink's stored total and the endpoint's"
echo "request and body byte counts for Elasticsearch."
finish
