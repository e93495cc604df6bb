#!/usr/bin/env bash
# What Kubernetes metadata costs: the `container` source on a busy node's log files, with pod
# metadata from the API server and without, in the same run.
#
#   bench/kubernetes.sh [path/to/sluice]    (`make bench`: ./bench/kubernetes.sh build/sluice)
#
# The node (bench/kube_node.py): SLUICE_BENCH_KUBE_PODS pods (default 110, the kubelet's default
# maximum per node) of Deployments, StatefulSets, DaemonSets, Jobs and CronJobs in seven
# namespaces, each with about ten labels (app, app.kubernetes.io/*, team, version,
# pod-template-hash...), a 200 KiB `kubectl.kubernetes.io/last-applied-configuration`
# (SLUICE_BENCH_KUBE_ANNOTATION_KIB) and four other annotations, served by the API-server
# emulator (tests/e2e/kube_emulator.py, standalone, over http:// on loopback; the pod list is
# ~23 MB of JSON). One CRI log file per pod under a /var/log/containers-like directory, with
# SLUICE_BENCH_KUBE_LINES lines each at start (JSON request logs, nginx access lines, log4j-style
# lines: 3.5 MB for 110 pods at the default 200).
#
# Each case runs sluice's `container` source (read_from: beginning, the default parser) → a
# `file` sink, following the files:
#   metadata-off  `kubernetes: {enabled: false}`: the path's metadata only
#   metadata-on   `kubernetes: {enabled: true, api_url: http://..., annotations: [prometheus.io/*]}`
# Three phases, each waited for until the sink has written every line:
#   start   the files that exist at start are read (with metadata: after the pod list is in);
#   steady  SLUICE_BENCH_KUBE_ROUNDS rounds (default 10) of SLUICE_BENCH_KUBE_ROUND_LINES lines
#           (default 20) appended to every file, each round once the previous one is written: a
#           node whose pods log steadily, the pipeline never backed up;
#   burst   SLUICE_BENCH_KUBE_APPEND_LINES lines (default 1000) appended to every file at once,
#           timed: events/s and CPU per event with the pipeline saturated.
# RSS is VmHWM from /proc/<pid>/status (the peak so far) after each phase; the cache size is
# sluice's own `sluice_kubernetes_cache_bytes` (/metrics). Targets (issue 17: metadata adds at
# most 16 MiB of RSS), the worst run of each case against the worst of the other: the peak
# through the steady phase (the list, the cache, the files read with their metadata), and the
# peak through the burst. The burst's peak is the queues and the spare batches kept for reuse,
# each bounded in bytes (it was 70-100 MiB while the spare batches were bounded in count only),
# and what malloc keeps of freed blocks (metadata added 14-18 MiB to the burst until sluice
# fixed malloc's mmap threshold: README, Performance); metadata makes each output line ~1.9x
# longer. The cases alternate SLUICE_BENCH_RUNS times; events/s and CPU are each case's fastest
# run. Every run is checked: every line out once, every event of the metadata-on
# case with its pod's labels (and none in metadata-off), every pod in the cache.
#
# Environment:
#   SLUICE_BENCH_DIR                 scratch dir (default /tmp/sluice-bench); its files go at exit
#   SLUICE_BENCH_RUNS                runs per case (default 3)
#   SLUICE_BENCH_SEED                seed of the log lines (default 1)
#   SLUICE_BENCH_KUBE_PODS           pods on the node (default 110)
#   SLUICE_BENCH_KUBE_ANNOTATION_KIB size of each last-applied annotation in KiB (default 200)
#   SLUICE_BENCH_KUBE_LINES          lines per pod's file at start (default 200)
#   SLUICE_BENCH_KUBE_ROUNDS         rounds of the steady phase (default 10)
#   SLUICE_BENCH_KUBE_ROUND_LINES    lines appended per pod's file in each round (default 20)
#   SLUICE_BENCH_KUBE_APPEND_LINES   lines appended per pod's file at once, timed (default 1000)
#   SLUICE_BENCH_STRICT=1            exit 1 when the target is missed (default: on wrong output)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
bench_init kubernetes "${1:-build/sluice}"
pods=${SLUICE_BENCH_KUBE_PODS:-110}
annotation_kib=${SLUICE_BENCH_KUBE_ANNOTATION_KIB:-200}
start_lines=${SLUICE_BENCH_KUBE_LINES:-200}
append_lines=${SLUICE_BENCH_KUBE_APPEND_LINES:-1000}
rounds=${SLUICE_BENCH_KUBE_ROUNDS:-10}
round_lines=${SLUICE_BENCH_KUBE_ROUND_LINES:-20}
positive_int SLUICE_BENCH_KUBE_PODS "$pods"
positive_int SLUICE_BENCH_KUBE_ANNOTATION_KIB "$annotation_kib"
positive_int SLUICE_BENCH_KUBE_LINES "$start_lines"
positive_int SLUICE_BENCH_KUBE_APPEND_LINES "$append_lines"
positive_int SLUICE_BENCH_KUBE_ROUNDS "$rounds"
positive_int SLUICE_BENCH_KUBE_ROUND_LINES "$round_lines"
emulator_py=$here/../tests/e2e/kube_emulator.py
[[ -f $emulator_py ]] || die "missing $emulator_py"
command -v curl >/dev/null || die "curl is missing (it reads sluice's /metrics)"
rss_target_mib=16  # issue 17: what metadata may add for 110 pods with 200 KiB annotations

# --- scratch: everything this script makes lives in $scratch and goes at exit -----------------
scratch=$bench_dir/kubernetes.$$
sluice_pid=""
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  if [[ -n $sluice_pid ]] && kill -0 "$sluice_pid" 2>/dev/null; then
    kill -KILL "$sluice_pid" 2>/dev/null || true
    wait "$sluice_pid" 2>/dev/null || true
  fi
  stop_helper
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$scratch"
mkdir -p "$scratch/initial"
out=$scratch/out.jsonl
log=$scratch/sluice.log

# --- the node: the emulator with its pods, the log files --------------------------------------
start_helper "the API-server emulator" url python3 "$emulator_py"
api_url=${helper_value%% *}
# A make-pod answer is the whole stored pod (~200 KiB on one line): bash's `read` takes a pipe
# byte by byte, `head` in blocks. Only one answer is ever pending, so nothing after its newline
# can be lost. (The coprocess's descriptors are not inherited by $(...): a duplicate is.)
exec {emulator_out}<&"${HELPER[0]}"
add_pod() {
  local answer
  echo "$1" >&"${HELPER[1]}"
  answer=$(timeout 30 head -n 1 <&"$emulator_out" | cut -c 1-200) || true
  [[ $answer == ok\ * ]] || die "the emulator answered '${answer:-nothing}' to: ${1:0:120}"
}
note "making $pods pods with ${annotation_kib} KiB annotations and their log files..."
python3 "$here/kube_node.py" pods "$scratch/initial" "$pods" "$start_lines" "$annotation_kib" \
  "$seed" >"$scratch/pods.cmd"
while IFS= read -r command; do add_pod "$command"; done <"$scratch/pods.cmd"
[[ $(find "$scratch/initial" -name '*.log' | wc -l) == "$pods" ]] ||
  die "did not make $pods log files"
python3 "$here/kube_node.py" append "$scratch/initial" "$pods" "$append_lines" "$seed" \
  "$scratch/append.tsv"
python3 "$here/kube_node.py" append "$scratch/initial" "$pods" $((rounds * round_lines)) \
  $((seed + 1000)) "$scratch/steady.tsv"
start_bytes=$(cat "$scratch/initial"/*.log | wc -c)
list_bytes=$(curl -s --max-time 30 "$api_url/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1" |
  wc -c)
n_start=$((pods * start_lines))
n_append=$((pods * append_lines))
n_steady=$((pods * rounds * round_lines))
append_bytes=$(($(wc -c <"$scratch/append.tsv") - $(cut -f 1 "$scratch/append.tsv" | wc -c)))

# --- runs -------------------------------------------------------------------------------------
write_config() {  # CASE ENABLED DIR DATA_DIR
  cat >"$scratch/$1.yaml" <<EOF
data_dir: $4
sources:
  pods:
    type: container
    include: ["$3/*.log"]
    read_from: beginning
    max_open_files: 512
    kubernetes:
      enabled: $2
      api_url: $api_url
      token_file: ""
      node_name: node-1
      annotations: ["prometheus.io/*"]
sinks:
  out:
    type: file
    inputs: [pods]
    path: $out
EOF
}

vmhwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
# metric NAME: its value for the source (0 when absent).
metric() {
  curl -s --max-time 5 "http://$metrics_addr/metrics" |
    awk -v name="$1" '!found && $1 ~ "^" name "\\{" && /component="pods"/ { print $2; found = 1 }
                      END { if (!found) print 0 }'
}
# wait_lines N TIMEOUT_S WHAT: polls (20 ms) until the output has N lines.
wait_lines() {
  local deadline=$(($(date +%s%N) + $2 * 1000000000)) n
  while :; do
    n=$( (wc -l <"$out") 2>/dev/null || echo 0)
    ((n >= $1)) && break
    kill -0 "$sluice_pid" 2>/dev/null || { tail -n 20 "$log" >&2; die "$3: sluice exited early"; }
    (($(date +%s%N) <= deadline)) || { tail -n 20 "$log" >&2; die "$3: $n of $1 lines after $2 s"; }
    sleep 0.02
  done
  ((n == $1)) || die "$3: $n output lines, expected $1"
}

# append_lines TSV DIR FROM TO: appends the lines FROM+1..TO of each file in TSV (file<TAB>line,
# grouped by file) to that file in DIR, one write per file.
append_lines() {
  awk -v dir="$2" -v from="$3" -v to="$4" -F '\t' '
    { f = dir "/" $1; n = (f == prev) ? n + 1 : 1
      if (f != prev) { if (prev != "") close(prev); prev = f }
      if (n > from && n <= to) { sub(/^[^\t]*\t/, ""); print >> f } }' "$1"
}

run_n=0
declare -A worst_start_rss worst_steady_rss worst_peak_rss
# worst CASE VAR KIB: keeps the largest KIB of CASE in the array VAR.
worst() {
  local -n worst_of=$2
  if [[ -z ${worst_of[$1]:-} ]] || (($3 > worst_of[$1])); then worst_of[$1]=$3; fi
}
# run_case CASE: one run, verified (for best_of_runs): wall_ns and cpu_s of the burst, rss_kib
# (VmHWM at the end), cache_bytes and pods_cached; the worst VmHWM of each phase in worst_*.
run_case() {
  local enabled=false dir t0 t1 c0 c1 rc=0 labelled
  [[ $1 == metadata-on ]] && enabled=true
  run_n=$((run_n + 1))
  dir=$scratch/containers.$run_n
  rm -rf "$dir" "$out"
  cp -r "$scratch/initial" "$dir"
  write_config "$1" "$enabled" "$dir" "$scratch/data.$run_n"
  note "$1, run $run_n..."
  SLUICE_METRICS_ADDR=127.0.0.1:0 "$sluice" run -c "$scratch/$1.yaml" </dev/null 2>"$log" &
  sluice_pid=$!
  metrics_addr=""
  for _ in $(seq 300); do
    metrics_addr=$(sed -n 's/.*msg="http server listening".* address=\([^ ]*\).*/\1/p' "$log" |
      head -n 1)
    [[ -n $metrics_addr ]] && break
    kill -0 "$sluice_pid" 2>/dev/null || {
      tail -n 20 "$log" >&2
      die "$1: sluice exited at start"
    }
    sleep 0.02
  done
  [[ -n $metrics_addr ]] || die "$1: sluice did not report its metrics address"
  wait_lines "$n_start" 120 "$1 (files at start)"
  worst "$1" worst_start_rss "$(vmhwm_kib "$sluice_pid")"
  local r expected=$n_start
  for ((r = 0; r < rounds; r++)); do
    append_lines "$scratch/steady.tsv" "$dir" $((r * round_lines)) $(((r + 1) * round_lines))
    expected=$((expected + pods * round_lines))
    wait_lines "$expected" 60 "$1 (steady, round $((r + 1)))"
  done
  worst "$1" worst_steady_rss "$(vmhwm_kib "$sluice_pid")"
  # The burst: every file grows at once, one write per file.
  c0=$(cpu_ticks "$sluice_pid")
  t0=$(date +%s%N)
  append_lines "$scratch/append.tsv" "$dir" 0 "$append_lines"
  expected=$((expected + n_append))
  wait_lines "$expected" 120 "$1 (burst)"
  t1=$(date +%s%N)
  c1=$(cpu_ticks "$sluice_pid")
  rss_kib=$(vmhwm_kib "$sluice_pid")
  worst "$1" worst_peak_rss "$rss_kib"
  cache_bytes=$(metric sluice_kubernetes_cache_bytes)
  pods_cached=$(metric sluice_kubernetes_pods_cached)
  kill -TERM "$sluice_pid"
  wait "$sluice_pid" || rc=$?
  sluice_pid=""
  ((rc == 0)) || { tail -n 20 "$log" >&2; die "$1: sluice exited with status $rc after SIGTERM"; }
  wall_ns=$((t1 - t0))
  cpu_s=$(ticks_to_s $((c1 - c0)))
  labelled=$(grep -c '"labels":{"app":' "$out" || true)
  if [[ $1 == metadata-on ]]; then
    ((labelled == expected)) || die "$1: $labelled of $expected events carry their pod's labels"
    ((pods_cached == pods)) || die "$1: $pods_cached of $pods pods in the cache"
  else
    ((labelled == 0)) || die "$1: $labelled events carry labels with metadata off"
  fi
  rm -rf "$dir" "$out" "$scratch/data.$run_n"
}

cases=(metadata-off metadata-on)
declare -A best_cache best_pods
keep_best() {
  best_cache[$1]=$cache_bytes
  best_pods[$1]=$pods_cached
}
best_of_runs "${cases[@]}"

# --- report -----------------------------------------------------------------------------------
echo
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
echo "sluice kubernetes: $pods pods, ${annotation_kib} KiB last-applied annotation each (pod list" \
  "$(mb "$list_bytes") MB); lines: $n_start ($(mb "$start_bytes") MB) at start, $n_steady in" \
  "$rounds rounds, $n_append ($(mb "$append_bytes") MB) at once; $(nproc) cores, $runs run(s)"
echo "sluice: $("$sluice" version 2>/dev/null | head -n 1 || echo '?')"
echo
printf '%-13s %9s %6s %9s %10s %11s %10s %5s %11s\n' case events/s MB/s 'CPU us/ev' \
  'RSS start' 'RSS steady' 'RSS burst' pods 'cache bytes'
declare -A eps_of
for c in "${cases[@]}"; do
  read -r eps mbs us < <(awk -v w="${best_wall[$c]}" -v n="$n_append" -v b="$append_bytes" \
    -v cpu="${best_cpu[$c]}" 'BEGIN { s = w / 1e9
      printf "%.0f %.0f %.2f\n", n / s, b / s / 1e6, cpu * 1e6 / n }')
  eps_of[$c]=$eps
  printf '%-13s %9s %6s %9s %10s %11s %10s %5s %11s\n' "$c" "$eps" "$mbs" "$us" \
    "$(mib "${worst_start_rss[$c]}")" "$(mib "${worst_steady_rss[$c]}")" \
    "$(mib "${worst_peak_rss[$c]}")" "${best_pods[$c]}" "${best_cache[$c]}"
done
echo
echo "events/s, MB/s (of the burst's lines) and CPU per event: the burst, from the append until"
echo "the sink has written every line (polled every 20 ms), fastest run. RSS (MiB): VmHWM, the"
echo "peak so far, after each phase (start: files at start read, the pod list in; steady: after"
echo "the rounds; burst: the whole run), the worst of the runs."
echo
# delta_mib ARRAY: metadata-on minus metadata-off of that array, in MiB.
delta_mib() {
  local -n of=$1
  awk -v on="${of[metadata-on]}" -v off="${of[metadata-off]}" \
    'BEGIN { printf "%.1f", (on - off) / 1024 }'
}
# rss_target LABEL ARRAY: the target line for metadata-on minus metadata-off of ARRAY.
rss_target() {
  local label=$1 delta verdict=PASS
  local -n peaks=$2
  delta=$(delta_mib "$2")
  target_met "$delta <= $rss_target_mib" || verdict=MISS
  printf 'target: %-52s %s (%s MiB: %s with, %s without)\n' \
    "metadata adds <= $rss_target_mib MiB of RSS ($label)" "$verdict" "$delta" \
    "$(mib "${peaks[metadata-on]}")" "$(mib "${peaks[metadata-off]}")"
}
rss_target "through steady" worst_steady_rss
rss_target "through the burst" worst_peak_rss
printf 'info:   %-52s %s MiB\n' "metadata's RSS once the files at start are read" \
  "$(delta_mib worst_start_rss)"
printf 'info:   %-52s %sx\n' "burst events/s with metadata / without" \
  "$(awk -v a="${eps_of[metadata-on]}" -v b="${eps_of[metadata-off]}" \
    'BEGIN { printf "%.2f", a / b }')"
finish
