# shellcheck shell=bash disable=SC2154,SC2034  # inputs and outputs are the caller's variables
# The benchmark corpus, shared by the bench/*.sh scripts (sourced by bench/lib.sh, not run).
#
# ensure_corpus PREFIX
#   Generates the corpus once (cached in $bench_dir; the name changes with the generator's
#   source, size and seed) and sets `corpus` (its path), `in_bytes` and `in_lines`. Progress
#   messages go to stderr prefixed with "PREFIX: ". Expects from the caller: `here` (the bench
#   directory), `build_dir` (the directory of the sluice binary), `bench_dir`, `gb`, `bytes`,
#   `seed`, and a `die` function.
ensure_corpus() {
  local prefix=$1 gen_hash gen start
  gen_hash=$(cat "$here/gen_corpus.cpp" "$here/corpus_lines.hpp" | sha1sum | cut -c1-10)
  corpus=$bench_dir/corpus-$gen_hash-$bytes-s$seed.jsonl
  if [[ ! -s $corpus || ! -s $corpus.lines ]]; then
    gen=$build_dir/sluice_gen_corpus
    if [[ ! -x $gen || $gen -ot $here/gen_corpus.cpp || $gen -ot $here/corpus_lines.hpp ]]; then
      if ! cmake --build "$build_dir" --target sluice_gen_corpus >/dev/null 2>&1; then
        # Not a CMake build dir with the bench targets: the generator is one standalone file.
        gen=$bench_dir/sluice_gen_corpus
        "${CXX:-c++}" -std=c++20 -O2 -o "$gen" "$here/gen_corpus.cpp" || die "cannot build the generator"
      fi
    fi
    # Corpora of older generator versions are stale: remove them (only files these scripts made).
    find "$bench_dir" -maxdepth 1 -name 'corpus-*.jsonl*' ! -name "corpus-$gen_hash-*" -delete
    echo "$prefix: generating $corpus ($gb GiB, seed $seed)..." >&2
    start=$(date +%s%N)
    "$gen" "$corpus" "$bytes" "$seed" >"$corpus.lines.tmp"
    mv "$corpus.lines.tmp" "$corpus.lines"
    echo "$prefix: generated in $(awk -v ns=$(($(date +%s%N) - start)) 'BEGIN{printf "%.1f", ns/1e9}') s" >&2
  fi
  in_bytes=$(stat -c %s "$corpus")
  in_lines=$(cat "$corpus.lines")
  [[ $(tail -c1 "$corpus" | od -An -c | tr -d ' ') == '\n' ]] || die "corpus does not end in a newline"
}

# ensure_text_corpus LAYOUT PREFIX
#   A plain-text corpus of real LogHub lines (../shared/corpus/loghub beside the repository, or
#   $SLUICE_BENCH_LOGHUB), CRs stripped, repeated to at least $text_target_bytes (cached in
#   $bench_dir): `hadoop` (Hadoop_2k.log: log4j `2015-10-18 18:01:47,978 INFO [main] logger:`),
#   `linux` (Linux_2k.log: BSD syslog without a year), `mixed` (the 16 LogHub files interleaved
#   line by line, formats detected or not: the worst case for a detector that expects the
#   previous line's layout). Sets `text_corpus`, `text_bytes`, `text_lines`.
ensure_text_corpus() {
  local layout=$1 prefix=$2 loghub base copies i
  loghub=${SLUICE_BENCH_LOGHUB:-$here/../../shared/corpus/loghub}
  [[ -f $loghub/Hadoop_2k.log ]] || die "no LogHub corpus at $loghub (set SLUICE_BENCH_LOGHUB)"
  text_corpus=$bench_dir/text-$layout-$text_target_bytes.log
  if [[ ! -s $text_corpus || ! -s $text_corpus.lines ]]; then
    echo "$prefix: generating $text_corpus..." >&2
    base=$bench_dir/text-$layout.$$.base
    case $layout in
      hadoop) awk '{ sub(/\r$/, ""); print }' "$loghub/Hadoop_2k.log" >"$base" ;;
      linux) awk '{ sub(/\r$/, ""); print }' "$loghub/Linux_2k.log" >"$base" ;;
      mixed)
        local f parts=()
        for f in "$loghub"/*_2k.log; do
          awk '{ sub(/\r$/, ""); print }' "$f" >"$base.$(basename "$f")"
          parts+=("$base.$(basename "$f")")
        done
        paste -d '\n' "${parts[@]}" >"$base"
        rm -f "${parts[@]}"
        ;;
      *) die "unknown text layout '$layout'" ;;
    esac
    copies=$(((text_target_bytes + $(stat -c %s "$base") - 1) / $(stat -c %s "$base")))
    for ((i = 0; i < copies; i++)); do cat "$base"; done >"$text_corpus.tmp"
    wc -l <"$text_corpus.tmp" | tr -d ' ' >"$text_corpus.lines"
    mv "$text_corpus.tmp" "$text_corpus"
    rm -f "$base"
  fi
  text_bytes=$(stat -c %s "$text_corpus")
  text_lines=$(cat "$text_corpus.lines")
}
