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
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
bench_init kafka "${1:-build/sluice}"
lines=${SLUICE_BENCH_KAFKA_LINES:-2000000}
mock=$build_dir/tests/sluice_kafka_mock
tool=$build_dir/tests/sluice_kafka_tool
[[ -x $mock && -x $tool ]] || die "Kafka test tools missing in $build_dir/tests (build the tests)"
positive_int SLUICE_BENCH_KAFKA_LINES "$lines"

ensure_corpus kafka
make_slice kafka-

scratch_files kafka-
data=$bench_dir/kafka-data.$$
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  stop_helper
  rm -rf "$slice" "$out" "$tfile" "$log" "$data" "$bench_dir"/kafka-*.$$.yaml
}
trap cleanup EXIT

start_helper "the mock cluster" bootstrap "$mock" --brokers 3
bootstrap=$helper_value
mock_command() {
  ask_helper "$1"
  [[ $helper_answer == ok ]] || die "mock cluster: $1: $helper_answer"
}

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
topic_n=0
# run_case NAME: one run, verified (for best_of_runs); sets mock_cpu too.
run_case() {
  local start end rc=0 ticks_before ticks_after got topic
  rm -f "$out"
  ticks_before=$(cpu_ticks "$helper_pid")
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
  ticks_after=$(cpu_ticks "$helper_pid")
  end_run "$1" "$rc" "$start" "$end"
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
  mock_cpu=$(ticks_to_s $((ticks_after - ticks_before)))
}

cases=(json-file json-kafka)
declare -A best_mock
keep_best() { best_mock[$1]=$mock_cpu; }
best_of_runs "${cases[@]}"

print_slice_header kafka "mock cluster: 3 brokers, 6 partitions, lz4, acks=all"
printf '%-11s %10s %8s %7s %10s %8s  %s\n' case events/s MB/s 'CPU s' 'mock CPU s' 'RSS MiB' \
  targets
for c in "${cases[@]}"; do
  slice_rates "$c"
  targets=""
  if [[ $c == json-kafka ]]; then
    check_target ">=300k/s" "$eps >= 300000"
    check_target "RSS<=128MiB" "$rss_mib <= 128"
  fi
  printf '%-11s %10s %8s %7s %10s %8s  %s\n' "$c" "$eps" "$mbs" "${best_cpu[$c]}" \
    "${best_mock[$c]}" "$rss_mib" "$targets"
done
echo
echo "Outputs verified: line count of the file; messages in the topic (high watermarks) and the"
echo "sink's delivered total for Kafka."
finish
