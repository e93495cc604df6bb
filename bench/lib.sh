# shellcheck shell=bash disable=SC2154,SC2034  # inputs and outputs are the caller's variables
# What the benchmark scripts (bench/e2e.sh, tail.sh, kafka.sh, kafka_source.sh, elasticsearch.sh,
# kubernetes.sh) have in common (sourced, not run; it sources bench/corpus.sh too). Each script
# keeps its own cases (run_case, configs, verification, table); what is here is the frame around
# them, kept in one place so that every script reads the same environment, times sluice the same
# way, keeps the fastest run the same way and judges its targets the same way. Expects from the
# caller `here` (the bench directory, to find corpus.sh).
#
# Setup
#   bench_init NAME SLUICE  Reads and checks what every script takes: the sluice binary SLUICE
#                           (set to its absolute path in `sluice`; `build_dir` is its directory),
#                           /usr/bin/time, SLUICE_BENCH_DIR → bench_dir (created), SLUICE_BENCH_GB
#                           → gb and bytes, SLUICE_BENCH_SEED → seed, SLUICE_BENCH_RUNS → runs,
#                           SLUICE_BENCH_STRICT → strict. NAME prefixes the messages of die and
#                           note (and is the script's name: e2e, tail, ...).
#   die MESSAGE, note MESSAGE  To stderr as "NAME: MESSAGE"; die exits 1.
#   positive_int VAR VALUE  Dies ("VAR must be a positive integer") unless VALUE is one.
#   make_slice PREFIX       For the scripts that send the first $lines lines of the corpus (after
#                           ensure_corpus): writes them to $bench_dir/PREFIXslice.$$.jsonl
#                           (`slice`, `slice_bytes`); dies if the corpus is shorter.
#   scratch_files PREFIX    Names the per-run files in bench_dir: out (sluice's output,
#                           PREFIXout.$$), tfile (/usr/bin/time's, PREFIXtime.$$) and log (sluice's
#                           stderr, PREFIXsluice.$$.log). The caller removes them at exit.
#
# Measuring
#   timefmt                 The /usr/bin/time -f format every timed run uses (-o "$tfile"):
#                           end_run reads its fields.
#   end_run CASE RC START_NS END_NS
#                           After one timed run: on RC != 0 shows the end of $log and dies;
#                           otherwise sets wall_ns = END_NS - START_NS (the caller reads
#                           `date +%s%N` around the command: time's %e has only 10 ms), and from
#                           $tfile user, sys, cpu_s (user + sys, 2 decimals) and rss_kib (peak RSS).
#   best_of_runs CASE...    Runs the caller's `run_case CASE` (one run, verified, ending in
#                           end_run) for each case in turn, $runs rounds: the cases alternate so
#                           that a slow spell of the machine does not fall on one case only. Keeps
#                           the figures of each case's fastest run: best_wall[CASE] (ns),
#                           best_cpu (s), best_rss (KiB), then calls keep_best CASE.
#   keep_best CASE          Does nothing; a script that keeps more figures of the fastest run
#                           (a mock's CPU...) defines its own after sourcing this file.
#   cpu_ticks PID           utime + stime of a process, in clock ticks (/proc/PID/stat);
#   ticks_to_s TICKS        a number of ticks in seconds, 2 decimals: the CPU of a process that
#                           /usr/bin/time does not measure (a mock, an emulator, a follow run).
#
# A test helper driven over stdin/stdout (the Kafka mock cluster, the Elasticsearch emulator)
#   start_helper WHAT KEY CMD...  Starts CMD as a coprocess and reads its first line, KEY=VALUE:
#                           sets helper_pid and helper_value (VALUE: where sluice finds it). WHAT
#                           ("the mock cluster") names it in messages.
#   ask_helper LINE         Sends a command line, sets helper_answer to the reply (10 s at most).
#   stop_helper             For the EXIT trap: sends `quit` and waits for the helper, if started.
#
# Report
#   print_corpus_header TITLE RUNS_TEXT  The lines above the table of the scripts that measure the
#                           whole corpus (size, lines, cores, RUNS_TEXT, corpus path, version).
#   print_slice_header TITLE TEXT  The same for those that send a slice: events, MB, B/event,
#                           cores, runs, then TEXT (what sluice talks to).
#   slice_rates CASE        eps (events/s), mbs (MB/s of input) and rss_mib of CASE's fastest run
#                           over the slice.
#   target_met CONDITION    Whether the awk expression CONDITION holds; when not, sets missed=1.
#                           (A condition: call it in `if` or before `||`, as set -e would exit.)
#   check_target LABEL CONDITION  target_met, appending "LABEL PASS  " or "LABEL MISS  " to
#                           `targets` (a table's last column).
#   finish                  Exits: 1 when a target was missed and SLUICE_BENCH_STRICT=1, else 0
#                           (wrong output has already died).

# shellcheck source-path=SCRIPTDIR source=corpus.sh
source "$here/corpus.sh"

# --- setup -------------------------------------------------------------------------------------
die() {
  echo "$bench_name: $*" >&2
  exit 1
}
note() { echo "$bench_name: $*" >&2; }

positive_int() {
  [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive integer"
}

bench_init() {
  bench_name=$1
  sluice=$2
  bench_dir=${SLUICE_BENCH_DIR:-/tmp/sluice-bench}
  gb=${SLUICE_BENCH_GB:-1}
  seed=${SLUICE_BENCH_SEED:-1}
  runs=${SLUICE_BENCH_RUNS:-3}
  strict=${SLUICE_BENCH_STRICT:-0}
  missed=0
  [[ -x $sluice ]] || die "no sluice binary at '$sluice' (build it first: make build)"
  sluice=$(cd "$(dirname "$sluice")" && pwd)/$(basename "$sluice")
  build_dir=$(dirname "$sluice")
  [[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (Debian package 'time')"
  positive_int SLUICE_BENCH_RUNS "$runs"
  bytes=$(awk -v g="$gb" 'BEGIN { if (g + 0 <= 0) exit 1; printf "%d", g * 1073741824 }') ||
    die "SLUICE_BENCH_GB must be a positive number, not '$gb'"
  clk_tck=$(getconf CLK_TCK)
  mkdir -p "$bench_dir"
}

make_slice() {
  ((lines <= in_lines)) || die "the corpus has only $in_lines lines (raise SLUICE_BENCH_GB)"
  slice=$bench_dir/${1}slice.$$.jsonl
  head -n "$lines" "$corpus" >"$slice"
  slice_bytes=$(stat -c %s "$slice")
}

scratch_files() {
  out=$bench_dir/${1}out.$$
  tfile=$bench_dir/${1}time.$$
  log=$bench_dir/${1}sluice.$$.log
}

# --- measuring ---------------------------------------------------------------------------------
timefmt='%e %U %S %M'

end_run() {
  if (($2 != 0)); then
    if [[ -f $log ]]; then tail -n 20 "$log" >&2; fi
    die "case $1 failed with exit status $2"
  fi
  wall_ns=$(($4 - $3))
  # time's -o file may start with "Command exited..." lines; the figures are on the last line.
  read -r _ user sys rss_kib < <(tail -n 1 "$tfile")
  cpu_s=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
}

keep_best() { :; }
best_of_runs() {
  local r c
  declare -gA best_wall=() best_cpu=() best_rss=()
  for ((r = 1; r <= runs; r++)); do
    for c in "$@"; do
      run_case "$c"
      if [[ -z ${best_wall[$c]:-} ]] || ((wall_ns < best_wall[$c])); then
        best_wall[$c]=$wall_ns
        best_cpu[$c]=$cpu_s
        best_rss[$c]=$rss_kib
        keep_best "$c"
      fi
    done
  done
}

cpu_ticks() {
  local f
  read -r -a f < <(sed 's/^.*) //' "/proc/$1/stat")  # past the command name, which may hold blanks
  echo $((f[11] + f[12]))  # fields 14 and 15 of proc(5); f[0] is field 3
}
ticks_to_s() { awk -v t="$1" -v hz="$clk_tck" 'BEGIN { printf "%.2f", t / hz }'; }

# --- a test helper over stdin/stdout -----------------------------------------------------------
start_helper() {
  helper_what=$1
  local key=$2 first
  shift 2
  coproc HELPER { exec "$@"; }
  # shellcheck disable=SC2153  # HELPER_PID is set by coproc
  helper_pid=$HELPER_PID
  read -r -t 10 first <&"${HELPER[0]}" || die "$helper_what did not start"
  [[ $first == "$key"=* ]] || die "unexpected first line from $helper_what: $first"
  helper_value=${first#"$key"=}
}

ask_helper() {
  echo "$1" >&"${HELPER[1]}"
  read -r -t 10 helper_answer <&"${HELPER[0]}" || die "no answer from $helper_what to '$1'"
}

stop_helper() {
  [[ -n ${helper_pid:-} ]] || return 0
  # Braces: when the helper is gone, bash has closed HELPER and the redirection itself fails.
  { echo quit >&"${HELPER[1]}"; } 2>/dev/null || true
  wait "$helper_pid" 2>/dev/null || true
}

# --- report ------------------------------------------------------------------------------------
print_corpus_header() {
  echo
  echo "sluice $1: $(awk -v b="$in_bytes" 'BEGIN{printf "%.2f", b/1e9}') GB, $in_lines lines" \
    "($(awk -v b="$in_bytes" -v l="$in_lines" 'BEGIN{printf "%.0f", b/l}') B/line), $(nproc)" \
    "cores, $2; corpus $corpus"
  echo "sluice: $("$sluice" version 2>/dev/null | head -n 1 || echo '?')"
  echo
}

print_slice_header() {
  echo
  echo "sluice $1: $lines events, $(awk -v b="$slice_bytes" 'BEGIN{printf "%.0f", b/1e6}') MB" \
    "($(awk -v b="$slice_bytes" -v l="$lines" 'BEGIN{printf "%.0f", b/l}') B/event), $(nproc)" \
    "cores, best of $runs run(s); $2"
  echo
}

slice_rates() {
  read -r eps mbs rss_mib < <(awk -v b="$slice_bytes" -v l="$lines" -v w="${best_wall[$1]}" \
    -v rss="${best_rss[$1]}" 'BEGIN { s = w / 1e9; printf "%.0f %.0f %.1f\n", l / s, b / s / 1e6,
                                      rss / 1024 }')
}

target_met() {
  awk "BEGIN { exit !($1) }" && return 0
  missed=1
  return 1
}

check_target() {
  if target_met "$2"; then
    targets+="$1 PASS  "
  else
    targets+="$1 MISS  "
  fi
}

finish() {
  if ((missed)) && [[ $strict == 1 ]]; then
    exit 1
  fi
  exit 0
}
