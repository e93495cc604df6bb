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
# and, on plain text (real LogHub lines repeated, bench/corpus.sh ensure_text_corpus: `hadoop`
# log4j, `linux` BSD syslog, `mixed` all 16 LogHub files interleaved line by line), stdin → file,
# JSON encoding:
#   LAYOUT-cat       cat text corpus > out
#   LAYOUT-none      `parser: none` (the line as `message`, read time)
#   LAYOUT-auto      `parser: auto`, the default: the layout detected per line, the line's own
#                    time, level, logger, thread, pid, host; target (issue 14): >= 300 MB/s
# sluice runs with the default number of workers, once with stdin redirected from the corpus file
# (`< corpus`) and once fed through a pipe (`cat corpus | sluice`). Outputs go next to the corpus
# (same filesystem) and are deleted after each run; the number of output lines is checked against
# the input (and the raw output must be byte-identical to the input).
#
# Environment:
#   SLUICE_BENCH_DIR    corpus cache and scratch dir (default /tmp/sluice-bench)
#   SLUICE_BENCH_GB     corpus size in GiB, may be fractional (default 1); each plain-text
#                       corpus is a quarter of it
#   SLUICE_BENCH_LOGHUB the LogHub files (default ../shared/corpus/loghub beside the repository)
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
text_target_bytes=$((bytes / 4))
text_layouts=(hadoop linux mixed)
declare -A text_corpora=() text_in_bytes=() text_in_lines=()
for layout in "${text_layouts[@]}"; do
  ensure_text_corpus "$layout" e2e
  text_corpora[$layout]=$text_corpus
  text_in_bytes[$layout]=$text_bytes
  text_in_lines[$layout]=$text_lines
done

# --- configs ----------------------------------------------------------------------------------
scratch_files ""
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  rm -f "$out" "$tfile" "$log" "$bench_dir"/{raw,json,raw-disk,json-disk,text-none,text-auto}.$$.yaml
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
write_config none json "$bench_dir/text-none.$$.yaml"
write_config auto json "$bench_dir/text-auto.$$.yaml"
write_config json json "$bench_dir/json-disk.$$.yaml" "$disk_buffer"
# A disk-buffered sink may still be writing when stdin ends: give the drain time, so the output
# is complete and the figure is the whole run's.
export SLUICE_SHUTDOWN_TIMEOUT_SECONDS=300

# --- measuring --------------------------------------------------------------------------------
# Warm the page cache so every case reads the corpus from memory, like cat does.
cat "$corpus" "${text_corpora[@]}" >/dev/null

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
    *-cat) /usr/bin/time -f "$timefmt" -o "$tfile" cat "${text_corpora[${1%-cat}]}" >"$out" || rc=$? ;;
    *-none | *-auto)
      /usr/bin/time -f "$timefmt" -o "$tfile" "$sluice" run -c "$bench_dir/text-${1##*-}.$$.yaml" \
        <"${text_corpora[${1%-*}]}" 2>"$log" || rc=$? ;;
  esac
  end=$(date +%s%N)
  end_run "$1" "$rc" "$start" "$end"
  verify "$1"
}

# verify NAME: checks the output of the run just made, then deletes it.
verify() {
  local lines expected=$in_lines input=$corpus
  if [[ -n ${text_corpora[${1%-*}]:-} ]]; then
    input=${text_corpora[${1%-*}]}
    expected=${text_in_lines[${1%-*}]}
  fi
  lines=$(wc -l <"$out")
  [[ $lines == "$expected" ]] || die "$1: $lines output lines, expected $expected"
  case $1 in
    cat | raw-* | *-cat) cmp -s "$out" "$input" || die "$1: output differs from the input" ;;
    # Detection must have happened: every corpus has lines with a logger or a process name.
    *-auto) grep -q -m1 -E '"log":\{"logger"|"process":\{"name"' "$out" || die "$1: nothing detected" ;;
  esac
  rm -f "$out"
}

cases=(cat raw-file raw-pipe json-file json-pipe raw-disk json-disk)
text_cases=()
for layout in "${text_layouts[@]}"; do text_cases+=("$layout-cat" "$layout-none" "$layout-auto"); done
best_of_runs "${cases[@]}" "${text_cases[@]}"

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

# --- plain text: detection vs none vs the JSON path, each against cat of its own corpus ----------
echo
echo "plain text, stdin (< corpus) → file, JSON out; best of $runs run(s); MB/s of input:"
printf '%-12s %7s %6s %9s %7s %8s %7s %8s %8s  %s\n' case MB 'lines' MB/s 'CPU s' 'CPU s/GB' \
  'RSS MiB' 'x cat' 'x json' targets
json_mbs=$(awk -v b="$in_bytes" -v w="${best_wall[json-file]}" 'BEGIN { printf "%.3f", b / (w / 1e9) / 1e6 }')
for c in "${text_cases[@]}"; do
  layout=${c%-*}
  read -r mb mbs cpu_gb rss_mib ratio vs_json < <(awk -v b="${text_in_bytes[$layout]}" \
    -v w="${best_wall[$c]}" -v cw="${best_wall[$layout-cat]}" -v cpu="${best_cpu[$c]}" \
    -v rss="${best_rss[$c]}" -v json="$json_mbs" \
    'BEGIN { mbs = b / (w / 1e9) / 1e6; printf "%.0f %.0f %.2f %.1f %.2f %.2f\n", b / 1e6, mbs,
             cpu / (b / 1e9), rss / 1024, mbs / (b / (cw / 1e9) / 1e6), mbs / json }')
  targets=""
  case $c in
    *-auto)
      share=$(awk -v a="${best_wall[$c]}" -v n="${best_wall[$layout-none]}" 'BEGIN { printf "%.2f", n / a }')
      check_target ">=300 MB/s" "$mbs >= 300"
      targets+="(${share}x none)"
      ;;
  esac
  [[ $c == *-cat ]] && vs_json="-"
  printf '%-12s %7s %6s %9s %7s %8s %7s %8s %8s  %s\n' "$c" "$mb" "${text_in_lines[$layout]}" \
    "$mbs" "${best_cpu[$c]}" "$cpu_gb" "$rss_mib" "$ratio" "$vs_json" "$targets"
done
echo
echo "x cat = MB/s ÷ cat's MB/s on the same corpus; x json = MB/s ÷ json-file's MB/s above."
echo "none = parser none (line as message); auto = parser auto (layout detected per line)."
finish
