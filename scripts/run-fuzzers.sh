#!/usr/bin/env bash
# Runs every libFuzzer target briefly; `make fuzz` calls it after building them.
#
#   scripts/run-fuzzers.sh BUILD_DIR SECONDS [TARGET...]
#
# For each target (default: every tests/fuzz/fuzz_*.cpp built in BUILD_DIR):
#   1. replays the committed regression inputs tests/fuzz/regressions/<target>-*;
#   2. fuzzes for SECONDS on a copy of the committed seeds tests/fuzz/corpus/<target>/ (the copy
#      lives in BUILD_DIR/fuzz-corpus/<target>, so new inputs never touch the committed seeds),
#      with the dictionary tests/fuzz/dicts/<target>.dict when there is one.
# Crash, leak, timeout and OOM inputs are kept under tests/fuzz/artifacts/ (git-ignored). Exits 1
# when any target failed, after printing each reproducer and the command that replays it.
set -uo pipefail

if [[ $# -lt 2 || ! $2 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
  exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "$1" && pwd) || exit 2
seconds=$2
shift 2

fuzz_dir=$root/tests/fuzz
artifacts=$fuzz_dir/artifacts
mkdir -p "$artifacts"

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for src in "$fuzz_dir"/fuzz_*.cpp; do targets+=("$(basename "$src" .cpp)"); done
fi

# Every UBSan report aborts (the build also says -fno-sanitize-recover); leaks are failures.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

failed=()
summary=()
for target in "${targets[@]}"; do
  bin=$build/$target
  if [[ ! -x $bin ]]; then
    echo "run-fuzzers: $bin is missing (build with -DSLUICE_FUZZ=ON)" >&2
    failed+=("$target (not built)")
    continue
  fi
  log=$build/$target.fuzz.log

  # 1. Regressions: inputs that once crashed must keep passing.
  regressions=("$fuzz_dir"/regressions/"$target"-*)
  if [[ -e ${regressions[0]} ]]; then
    if ! "$bin" "${regressions[@]}" >"$log" 2>&1; then
      echo "run-fuzzers: $target FAILED on a committed regression input:" >&2
      grep -E "Running: |ERROR|invariant failed|runtime error" "$log" | head -n 20 >&2
      failed+=("$target (regression)")
      summary+=("$(printf '%-18s %s' "$target" "FAILED on regressions (log: $log)")")
      continue
    fi
  fi

  # 2. Fuzz on a fresh copy of the committed seeds.
  work=$build/fuzz-corpus/$target
  rm -rf "$work"
  mkdir -p "$work"
  if [[ -d $fuzz_dir/corpus/$target ]]; then cp -R "$fuzz_dir/corpus/$target/." "$work/"; fi
  dict=()
  if [[ -f $fuzz_dir/dicts/$target.dict ]]; then dict=(-dict="$fuzz_dir/dicts/$target.dict"); fi
  echo "run-fuzzers: $target for ${seconds}s ..." >&2
  "$bin" "$work" "${dict[@]}" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/$target-" \
    >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -n 1)
  if ((rc != 0)); then
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    echo "run-fuzzers: $target FAILED (exit $rc)" >&2
    grep -E "ERROR: |invariant failed|runtime error|SUMMARY|invalid JSON|round trip" "$log" |
      head -n 20 >&2
    if [[ -n $artifact ]]; then
      echo "run-fuzzers: reproducer: $artifact" >&2
      echo "run-fuzzers: replay with: $bin $artifact" >&2
    fi
    echo "run-fuzzers: full log: $log" >&2
    failed+=("$target")
    summary+=("$(printf '%-18s FAILED  reproducer: %s' "$target" "${artifact:-see $log}")")
  else
    summary+=("$(printf '%-18s ok      %10s execs  %7s exec/s  %s' "$target" "${execs:-?}" \
      "${rate:-?}" "$cov")")
  fi
done

echo
echo "fuzzing summary (${seconds}s per target):"
printf '  %s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "run-fuzzers: FAILED: ${failed[*]}" >&2
  exit 1
fi
exit 0
