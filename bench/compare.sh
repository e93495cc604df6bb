#!/usr/bin/env bash
# Two sluice binaries on the same corpus, alternated: is a change neutral for throughput?
#
#   bench/compare.sh OLD_SLUICE NEW_SLUICE
#
# Uses bench/e2e.sh's corpus (generated once, cached in SLUICE_BENCH_DIR) and its stdin → file
# cases: json-file (parse + timestamp + JSON encode) and raw-file (parser none, encoding raw).
# Each round runs old and new once per case, old and new in turn, so that a slow spell of this
# shared machine falls on both; SLUICE_BENCH_RUNS rounds (default 5). Reports each binary's
# median wall time and CPU (user + sys) per case and new ÷ old of the medians. Every output is
# checked (line count; the raw output byte for byte).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
[[ $# == 2 ]] || { echo "usage: bench/compare.sh OLD_SLUICE NEW_SLUICE" >&2; exit 2; }
SLUICE_BENCH_RUNS=${SLUICE_BENCH_RUNS:-5}
bench_init compare "$2"
new=$sluice
[[ -x $1 ]] || die "no sluice binary at '$1'"
old=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ensure_corpus compare

scratch_files compare-
# shellcheck disable=SC2317  # invoked by the trap
cleanup() { rm -f "$out" "$tfile" "$log" "$bench_dir"/compare-{raw,json}.$$.yaml; rm -rf "$bench_dir/compare-data.$$"; }
trap cleanup EXIT
write_config() {  # parser encoding file
  printf 'data_dir: %s\nsources:\n  in:\n    type: stdin\n    parser: %s\nsinks:\n  out:\n    type: file\n    inputs: [in]\n    path: %s\n    encoding: %s\n' \
    "$bench_dir/compare-data.$$" "$1" "$out" "$2" >"$3"
}
write_config json json "$bench_dir/compare-json.$$.yaml"
write_config none raw "$bench_dir/compare-raw.$$.yaml"
cat "$corpus" >/dev/null

declare -A walls=() cpus=()
run_one() {  # binary-label binary case
  rm -f "$out"
  local start end rc=0
  start=$(date +%s%N)
  /usr/bin/time -f "$timefmt" -o "$tfile" "$2" run -c "$bench_dir/compare-$3.$$.yaml" <"$corpus" 2>"$log" || rc=$?
  end=$(date +%s%N)
  end_run "$1 $3" "$rc" "$start" "$end"
  local lines
  lines=$(wc -l <"$out")
  [[ $lines == "$in_lines" ]] || die "$1 $3: $lines output lines, expected $in_lines"
  if [[ $3 == raw ]]; then cmp -s "$out" "$corpus" || die "$1 $3: output differs from the input"; fi
  rm -f "$out"
  walls[$1-$3]+="$wall_ns "
  cpus[$1-$3]+="$cpu_s "
}
for ((r = 1; r <= runs; r++)); do
  for c in json raw; do
    if ((r % 2)); then run_one old "$old" $c; run_one new "$new" $c
    else run_one new "$new" $c; run_one old "$old" $c; fi
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
print_corpus_header compare "$runs rounds, old and new alternated"
echo "old: $old"
echo "new: $new"
printf '%-6s %12s %12s %8s %10s %10s %8s\n' case 'old wall s' 'new wall s' 'new/old' 'old CPU s' 'new CPU s' 'new/old'
for c in json raw; do
  ow=$(median <<<"${walls[old-$c]}"); nw=$(median <<<"${walls[new-$c]}")
  oc=$(median <<<"${cpus[old-$c]}"); nc=$(median <<<"${cpus[new-$c]}")
  awk -v c="$c" -v ow="$ow" -v nw="$nw" -v oc="$oc" -v nc="$nc" 'BEGIN {
    printf "%-6s %12.3f %12.3f %8.3f %10.2f %10.2f %8.3f\n", c, ow / 1e9, nw / 1e9, nw / ow, oc, nc, nc / oc }'
done
echo
echo "medians of $runs runs each; json = parser json + JSON encoding, raw = parser none + encoding raw, stdin = the corpus file"
