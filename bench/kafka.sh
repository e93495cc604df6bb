#!/usr/bin/env bash
# The `kafka` sink with the real binary against librdkafka's mock cluster, next to stdin → file
# measured in the same run.
#
#   bench/kafka.sh [path/to/sluice]       (`make bench` runs it as ./bench/kafka.sh build/sluice)
#
# Uses the first SLUICE_BENCH_KAFKA_LINES lines of the corpus bench/e2e.sh generates (~200-byte
# JSON log lines; the corpus is generated here if missing) and measures, each with /usr/bin/time:
#   json-file    sluice, stdin → file, `parser: json` (the reference)
#   json-kafka   sluice, stdin → kafka sink, `parser: json`, lz4, acks=all (idempotent), a topic
#                with 6 partitions on a 3-broker mock cluster (tests/sluice_kafka_mock, started
#                here, running on the same cores). Targets: >= 300k events/s, peak RSS <= 128 MiB.
# Each case runs SLUICE_BENCH_RUNS times, alternating; the fastest run is reported. Every run is
# checked: the file's line count, and for Kafka the number of messages in the topic (the sum of
# the high watermarks) and the sink's `delivered` total.
#
# Environment:
#   SLUICE_BENCH_DIR          corpus cache and scratch dir (default /tmp/sluice-bench)
#   SLUICE_BENCH_GB           corpus size in GiB (default 1; see bench/e2e.sh)
#   SLUICE_BENCH_SEED         generator seed (default 1)
#   SLUICE_BENCH_KAFKA_LINES  events per run (default 2000000)
#   SLUICE_BENCH_RUNS         runs per case (default 3)
#   SLUICE_BENCH_STRICT=1     exit 1 when a target is missed (default: only on wrong output)
#
# Columns: events/s and MB/s (decimal, of input) over the wall time of the sluice command; CPU s
# = user + sys of sluice; mock CPU s = the mock cluster's CPU during the run (it shares the
# cores); RSS = time's %M (peak resident set of sluice).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sluice=${1:-build/sluice}
bench_dir=${SLUICE_BENCH_DIR:-/tmp/sluice-bench}
gb=${SLUICE_BENCH_GB:-1}
seed=${SLUICE_BENCH_SEED:-1}
lines=${SLUICE_BENCH_KAFKA_LINES:-2000000}
runs=${SLUICE_BENCH_RUNS:-3}
strict=${SLUICE_BENCH_STRICT:-0}

die() {
  echo "kafka: $*" >&2
  exit 1
}

[[ -x $sluice ]] || die "no sluice binary at '$sluice' (build it first: make build)"
sluice=$(cd "$(dirname "$sluice")" && pwd)/$(basename "$sluice")
build_dir=$(dirname "$sluice")
mock=$build_dir/tests/sluice_kafka_mock
tool=$build_dir/tests/sluice_kafka_tool
[[ -x $mock && -x $tool ]] || die "Kafka test tools missing in $build_dir/tests (build the tests)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (Debian package 'time')"
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "SLUICE_BENCH_RUNS must be a positive integer"
[[ $lines =~ ^[1-9][0-9]*$ ]] || die "SLUICE_BENCH_KAFKA_LINES must be a positive integer"
bytes=$(awk -v g="$gb" 'BEGIN { if (g + 0 <= 0) exit 1; printf "%d", g * 1073741824 }') ||
  die "SLUICE_BENCH_GB must be a positive number, not '$gb'"
mkdir -p "$bench_dir"

# shellcheck source-path=SCRIPTDIR source=corpus.sh
source "$here/corpus.sh"
ensure_corpus kafka
((lines <= in_lines)) || die "the corpus has only $in_lines lines (raise SLUICE_BENCH_GB)"
slice=$bench_dir/kafka-slice.$$.jsonl
head -n "$lines" "$corpus" >"$slice"
slice_bytes=$(stat -c %s "$slice")

out=$bench_dir/kafka-out.$$
tfile=$bench_dir/kafka-time.$$
log=$bench_dir/kafka-sluice.$$.log
data=$bench_dir/kafka-data.$$
mock_pid=
cleanup() {
  if [[ -n $mock_pid ]]; then
    echo quit >&"${MOCK[1]}" 2>/dev/null || true
    wait "$mock_pid" 2>/dev/null || true
  fi
  rm -rf "$slice" "$out" "$tfile" "$log" "$data" "$bench_dir"/kafka-*.$$.yaml
}
trap cleanup EXIT

coproc MOCK { exec "$mock" --brokers 3; }
mock_pid=$MOCK_PID
read -r -t 10 first <&"${MOCK[0]}" || die "the mock cluster did not start"
[[ $first == bootstrap=* ]] || die "unexpected first line from the mock cluster: $first"
bootstrap=${first#bootstrap=}
mock_command() {
  local answer
  echo "$1" >&"${MOCK[1]}"
  read -r -t 10 answer <&"${MOCK[0]}" || die "no answer from the mock cluster to '$1'"
  [[ $answer == ok ]] || die "mock cluster: $1: $answer"
}
mock_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$mock_pid/stat"; }

cat >"$bench_dir/kafka-file.$$.yaml" <<EOF
sources:
  in: {type: stdin, parser: json}
sinks:
  out: {type: file, inputs: [in], path: $out}
EOF
write_kafka_config() {  # topic
  cat >"$bench_dir/kafka-kafka.$$.yaml" <<EOF
data_dir: $data
sources:
  in: {type: stdin, parser: json}
sinks:
  k:
    type: kafka
    inputs: [in]
    brokers: "$bootstrap"
    topic: $1
    compression: lz4
    acks: all
EOF
}

cat "$slice" >/dev/null  # page cache
timefmt='%e %U %S %M'
topic_n=0
# run_case NAME: one run, verified; sets wall_ns user sys rss_kib mock_cpu.
run_case() {
  local start end rc=0 ticks_before ticks_after got topic
  rm -f "$out"
  ticks_before=$(mock_cpu_ticks)
  case $1 in
    json-file)
      start=$(date +%s%N)
      /usr/bin/time -f "$timefmt" -o "$tfile" "$sluice" run -c "$bench_dir/kafka-file.$$.yaml" \
        <"$slice" 2>"$log" || rc=$?
      end=$(date +%s%N)
      ;;
    json-kafka)
      topic_n=$((topic_n + 1))
      topic=bench$topic_n
      mock_command "create $topic 6"
      write_kafka_config "$topic"
      start=$(date +%s%N)
      SLUICE_SHUTDOWN_TIMEOUT_SECONDS=60 /usr/bin/time -f "$timefmt" -o "$tfile" "$sluice" run \
        -c "$bench_dir/kafka-kafka.$$.yaml" <"$slice" 2>"$log" || rc=$?
      end=$(date +%s%N)
      ;;
  esac
  ticks_after=$(mock_cpu_ticks)
  if ((rc != 0)); then
    tail -n 20 "$log" >&2
    die "case $1 failed with exit status $rc"
  fi
  case $1 in
    json-file)
      got=$(wc -l <"$out")
      ;;
    json-kafka)
      got=$("$tool" count --brokers "$bootstrap" --topic "$topic")
      grep -q "msg=\"kafka sink totals\" sink=k delivered=$lines dead_lettered=0" "$log" ||
        die "$1: the sink's totals do not say $lines delivered: $(grep 'kafka sink totals' "$log")"
      ;;
  esac
  [[ $got == "$lines" ]] || die "$1: $got events out, expected $lines"
  rm -f "$out"
  wall_ns=$((end - start))
  read -r _ user sys rss_kib < <(tail -n 1 "$tfile")
  mock_cpu=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.2f", t / hz }')
}

declare -A best_wall best_cpu best_rss best_mock
cases=(json-file json-kafka)
for ((r = 1; r <= runs; r++)); do
  for c in "${cases[@]}"; do
    run_case "$c"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    if [[ -z ${best_wall[$c]:-} ]] || ((wall_ns < best_wall[$c])); then
      best_wall[$c]=$wall_ns
      best_cpu[$c]=$cpu
      best_rss[$c]=$rss_kib
      best_mock[$c]=$mock_cpu
    fi
  done
done

echo
echo "sluice kafka: $lines events, $(awk -v b="$slice_bytes" 'BEGIN{printf "%.0f", b/1e6}') MB" \
  "($(awk -v b="$slice_bytes" -v l="$lines" 'BEGIN{printf "%.0f", b/l}') B/event), $(nproc) cores," \
  "best of $runs run(s); mock cluster: 3 brokers, 6 partitions, lz4, acks=all"
echo
missed=0
printf '%-11s %10s %8s %7s %10s %8s  %s\n' case events/s MB/s 'CPU s' 'mock CPU s' 'RSS MiB' \
  targets
for c in "${cases[@]}"; do
  read -r eps mbs rss_mib < <(awk -v b="$slice_bytes" -v l="$lines" -v w="${best_wall[$c]}" \
    -v rss="${best_rss[$c]}" 'BEGIN { s = w / 1e9; printf "%.0f %.0f %.1f\n", l / s, b / s / 1e6,
                                      rss / 1024 }')
  targets=""
  if [[ $c == json-kafka ]]; then
    for t in ">=300k/s:$eps >= 300000" "RSS<=128MiB:$rss_mib <= 128"; do
      if awk "BEGIN { exit !(${t#*:}) }"; then
        targets+="${t%%:*} PASS  "
      else
        targets+="${t%%:*} MISS  "
        missed=1
      fi
    done
  fi
  printf '%-11s %10s %8s %7s %10s %8s  %s\n' "$c" "$eps" "$mbs" "${best_cpu[$c]}" \
    "${best_mock[$c]}" "$rss_mib" "$targets"
done
echo
echo "Outputs verified: line count of the file; messages in the topic (high watermarks) and the"
echo "sink's delivered total for Kafka."
if ((missed)) && [[ $strict == 1 ]]; then
  exit 1
fi
exit 0
