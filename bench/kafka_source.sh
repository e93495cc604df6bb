#!/usr/bin/env bash
# The `kafka` source (aggregator tier) with the real binary against librdkafka's mock cluster,
# next to stdin → file measured in the same run.
#
#   bench/kafka_source.sh [path/to/sluice]
#
# Uses the first SLUICE_BENCH_KAFKA_SOURCE_LINES lines of the corpus bench/e2e.sh generates
# (~200-byte JSON log lines; generated here if missing), produced once (sluice_kafka_tool, no
# key, `--spread`: runs of 500 to each partition in turn) to a topic with
# SLUICE_BENCH_KAFKA_SOURCE_PARTITIONS partitions on a 3-broker mock cluster
# (tests/sluice_kafka_mock, started here, sharing the cores). Then, each with /usr/bin/time:
#   json-file     sluice, stdin → file, `parser: json` (the reference)
#   kafka-file    sluice, kafka source (a new consumer group per run, from the earliest offset)
#                 → file, `parser: json`. Target: >= 200k events/s.
# Each case runs SLUICE_BENCH_RUNS times, alternating; the fastest run is reported. Every run is
# checked: the output file has exactly one line per event.
#
# kafka-file's wall time runs from the moment the group has assigned the partitions (the mock
# coordinator holds the first join for 3 s, which says nothing about sluice) until the file sink
# has written every event (sluice's /metrics, polled every 20 ms); json-file's is the whole
# command. CPU s and RSS are of the whole sluice process (time's %M = peak resident set).
#
# The mock keeps at most 5 MiB per partition and drops older messages: the default 128
# partitions hold 1M events; the topic's message count is checked before measuring.
#
# Environment:
#   SLUICE_BENCH_DIR                    corpus cache and scratch dir (default /tmp/sluice-bench)
#   SLUICE_BENCH_GB, SLUICE_BENCH_SEED  corpus size (GiB) and seed (see bench/e2e.sh)
#   SLUICE_BENCH_KAFKA_SOURCE_LINES     events (default 1000000)
#   SLUICE_BENCH_KAFKA_SOURCE_PARTITIONS  partitions (default 128)
#   SLUICE_BENCH_RUNS                   runs per case (default 3)
#   SLUICE_BENCH_STRICT=1               exit 1 when the target is missed
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
bench_init kafka_source "${1:-build/sluice}"
lines=${SLUICE_BENCH_KAFKA_SOURCE_LINES:-1000000}
partitions=${SLUICE_BENCH_KAFKA_SOURCE_PARTITIONS:-128}
mock=$build_dir/tests/sluice_kafka_mock
tool=$build_dir/tests/sluice_kafka_tool
[[ -x $mock && -x $tool ]] || die "Kafka test tools missing in $build_dir/tests (build the tests)"
command -v curl >/dev/null || die "curl is missing (it reads sluice's /metrics)"
positive_int SLUICE_BENCH_KAFKA_SOURCE_LINES "$lines"
positive_int SLUICE_BENCH_KAFKA_SOURCE_PARTITIONS "$partitions"

ensure_corpus kafka_source
make_slice ksrc-

scratch_files ksrc-
sluice_pid=
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  if [[ -n $sluice_pid ]]; then pkill -KILL -P "$sluice_pid" 2>/dev/null || true; fi
  stop_helper
  rm -f "$slice" "$out" "$tfile" "$log" "$bench_dir"/ksrc-*.$$.yaml
}
trap cleanup EXIT

start_helper "the mock cluster" bootstrap "$mock" --brokers 3 --topic "bench:$partitions"
bootstrap=$helper_value

note "producing $lines events to $partitions partitions..."
"$tool" produce --brokers "$bootstrap" --topic bench --spread <"$slice" 2>/dev/null ||
  die "producing the events failed"
in_topic=$("$tool" count --brokers "$bootstrap" --topic bench --held)
[[ $in_topic == "$lines" ]] ||
  die "the topic holds $in_topic of $lines events (the mock keeps 5 MiB per partition: add partitions)"

cat >"$bench_dir/ksrc-file.$$.yaml" <<EOF
sources:
  in: {type: stdin, parser: json}
sinks:
  out: {type: file, inputs: [in], path: $out}
EOF
write_kafka_config() {  # group
  cat >"$bench_dir/ksrc-kafka.$$.yaml" <<EOF
sources:
  k:
    type: kafka
    brokers: "$bootstrap"
    group_id: $1
    topics: [bench]
    auto_offset_reset: earliest
    parser: json
sinks:
  out: {type: file, inputs: [k], path: $out}
EOF
}

# The file sink's sent events, from sluice's /metrics at $1.
sent_events() {
  curl -s --max-time 1 "http://$1/metrics" |
    awk '/^sluice_component_sent_events_total\{component="out"/ { print $2; found = 1 }
         END { if (!found) print 0 }'
}
# Waits until `grep -q $2` matches the log (with a timeout of $1 seconds).
wait_for_log() {
  local until=$(($(date +%s) + $1))
  until grep -q "$2" "$log"; do
    (($(date +%s) < until)) || {
      tail -n 20 "$log" >&2
      die "timed out waiting for '$2' in sluice's log"
    }
    sleep 0.005
  done
}

cat "$slice" >/dev/null  # page cache
run_n=0
# run_case NAME: one run, verified (for best_of_runs); sets mock_cpu too.
run_case() {
  local start end rc=0 ticks_before ticks_after got addr
  rm -f "$out"
  case $1 in
    json-file)
      ticks_before=$(cpu_ticks "$helper_pid")
      start=$(date +%s%N)
      /usr/bin/time -f "$timefmt" -o "$tfile" "$sluice" run -c "$bench_dir/ksrc-file.$$.yaml" \
        <"$slice" 2>"$log" || rc=$?
      end=$(date +%s%N)
      ticks_after=$(cpu_ticks "$helper_pid")
      ;;
    kafka-file)
      run_n=$((run_n + 1))
      write_kafka_config "bench-$$-$run_n"
      SLUICE_METRICS_ADDR=127.0.0.1:0 SLUICE_SHUTDOWN_TIMEOUT_SECONDS=30 \
        /usr/bin/time -f "$timefmt" -o "$tfile" "$sluice" run \
        -c "$bench_dir/ksrc-kafka.$$.yaml" </dev/null 2>"$log" &
      sluice_pid=$!
      wait_for_log 30 'msg="http server listening"'
      addr=$(grep -m1 'msg="http server listening"' "$log" | sed -E 's/.*address=([^ ]+).*/\1/')
      wait_for_log 60 'msg="kafka partitions assigned"'
      ticks_before=$(cpu_ticks "$helper_pid")
      start=$(date +%s%N)
      local until=$(($(date +%s) + 300))
      while (($(sent_events "$addr") < lines)); do
        if (($(date +%s) >= until)); then
          tail -n 20 "$log" >&2
          die "kafka-file: $(sent_events "$addr") of $lines events arrived within 300 s"
        fi
        sleep 0.02
      done
      end=$(date +%s%N)
      ticks_after=$(cpu_ticks "$helper_pid")
      # $sluice_pid is /usr/bin/time, which would die of SIGTERM itself: signal sluice, its child.
      pkill -TERM -P "$sluice_pid"
      wait "$sluice_pid" || rc=$?
      sluice_pid=
      ;;
  esac
  end_run "$1" "$rc" "$start" "$end"
  got=$(wc -l <"$out")
  [[ $got == "$lines" ]] || die "$1: $got events out, expected $lines"
  rm -f "$out"
  mock_cpu=$(ticks_to_s $((ticks_after - ticks_before)))
}

cases=(json-file kafka-file)
declare -A best_mock
keep_best() { best_mock[$1]=$mock_cpu; }
best_of_runs "${cases[@]}"

print_slice_header "kafka source" "mock cluster: 3 brokers, $partitions partitions"
printf '%-11s %10s %8s %7s %10s %8s  %s\n' case events/s MB/s 'CPU s' 'mock CPU s' 'RSS MiB' \
  target
for c in "${cases[@]}"; do
  slice_rates "$c"
  target=""
  if [[ $c == kafka-file ]]; then
    target=">=200k/s PASS"
    target_met "$eps >= 200000" || target=">=200k/s MISS"
  fi
  printf '%-11s %10s %8s %7s %10s %8s  %s\n' "$c" "$eps" "$mbs" "${best_cpu[$c]}" \
    "${best_mock[$c]}" "$rss_mib" "$target"
done
echo
echo "Outputs verified: one line per event in the file, for every run."
finish
