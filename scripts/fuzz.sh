#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/, clang, ASan+UBSan) and runs each for SECONDS.
#   scripts/fuzz.sh [SECONDS] [TARGET...]      default: 180 seconds, every target of tests/fuzz/targets.txt
# Environment: BUILD_DIR (default build-fuzz), JOBS (build, default 2), CC/CXX (default clang/clang++),
# FUZZ_SUMMARY (default BUILD_DIR/fuzz-summary.txt), FUZZ_RSS_MB (default 2048), FUZZ_TIMEOUT (per input, default 10 s), FUZZ_ARGS (extra libFuzzer flags),
# FUZZ_KEEP_GOING=1 (fork mode: go on after a crash, OOM or timeout, so one run finds several bugs).
#
# Each target runs on a working corpus BUILD_DIR/corpus/<target>, seeded from tests/fuzz/corpus/<target>
# (and its regressions) and kept between runs, with -max_len from targets.txt. A crash, leak, OOM or
# timeout artifact is copied to tests/fuzz/regressions/<target>/ (the unit tier replays those files).
# Prints per target: executions, exec/s, coverage (cov: edges, ft: features, from libFuzzer's last
# stats line), corpus size and findings; writes the same, one line a target, to BUILD_DIR/fuzz-summary.txt.
# Exit status: 0 when no target found anything, 1 otherwise (2: setup failed).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

SECONDS_PER_TARGET=${1:-180}
shift $(( $# > 0 ? 1 : 0 ))
BUILD_DIR=${BUILD_DIR:-build-fuzz}
JOBS=${JOBS:-2}
RSS_MB=${FUZZ_RSS_MB:-2048}
TIMEOUT=${FUZZ_TIMEOUT:-10}
TARGETS_FILE=tests/fuzz/targets.txt

declare -A MAX_LEN
ALL=()
while read -r name len _; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  ALL+=("$name")
  MAX_LEN[$name]=$len
done < "$TARGETS_FILE"
if [[ $# -gt 0 ]]; then
  SELECTED=("$@")
  for t in "${SELECTED[@]}"; do
    [[ -n "${MAX_LEN[$t]:-}" ]] || { echo "fuzz.sh: unknown target '$t' (see $TARGETS_FILE)" >&2; exit 2; }
  done
else
  SELECTED=("${ALL[@]}")
fi

# ---- build ----
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S . -B "$BUILD_DIR" -G Ninja -DREPRO_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo || exit 2
fi
build_targets=()
for t in "${SELECTED[@]}"; do build_targets+=("fuzz_$t"); done
cmake --build "$BUILD_DIR" --target "${build_targets[@]}" -j"$JOBS" || exit 2

# ---- run ----
LOGS="$BUILD_DIR/logs"
mkdir -p "$LOGS"
SUMMARY=${FUZZ_SUMMARY:-$BUILD_DIR/fuzz-summary.txt}  # FUZZ_SUMMARY: two runs side by side
: > "$SUMMARY"
# The symbolizer makes the reports readable; keep going after a leak only to report it once.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
command -v llvm-symbolizer > /dev/null || [[ -x /usr/lib/llvm-14/bin/llvm-symbolizer ]] &&
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer || echo /usr/lib/llvm-14/bin/llvm-symbolizer)}
if [[ -f tests/fuzz/lsan.supp ]]; then
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/fuzz/lsan.supp:print_suppressions=0}
fi

printf '%-16s %12s %9s %8s %8s %7s %s\n' target executions exec/s cov ft corpus findings
status=0
for t in "${SELECTED[@]}"; do
  bin="$BUILD_DIR/fuzz/fuzz_$t"
  work="$BUILD_DIR/corpus/$t"
  artifacts="$BUILD_DIR/artifacts/$t"
  mkdir -p "$work" "$artifacts"
  seeds=()
  [[ -d tests/fuzz/corpus/$t ]] && seeds+=("tests/fuzz/corpus/$t")
  [[ -d tests/fuzz/regressions/$t ]] && seeds+=("tests/fuzz/regressions/$t")
  log="$LOGS/$t.log"
  before=$(ls "$artifacts" | wc -l)
  # By default one process, stopped at the first finding; FUZZ_KEEP_GOING=1: fork mode, which
  # survives findings (every one is an artifact) but prints no final stats.
  mode=()
  [[ "${FUZZ_KEEP_GOING:-0}" == 1 ]] && mode=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
  # shellcheck disable=SC2086
  "$bin" "$work" "${seeds[@]}" -max_total_time="$SECONDS_PER_TARGET" -max_len="${MAX_LEN[$t]}" \
    -rss_limit_mb="$RSS_MB" -timeout="$TIMEOUT" -print_final_stats=1 -artifact_prefix="$artifacts/" \
    -close_fd_mask=1 "${mode[@]}" ${FUZZ_ARGS:-} > "$log" 2>&1 &
  pid=$!
  wait $pid
  rc=$?
  rm -rf "/dev/shm/repro-fuzz-$pid" "${TMPDIR:-/tmp}/repro-fuzz-$pid"  # left behind by a crash
  # The last status line: "#123456 DONE cov: 789 ft: 1011 corp: 54/3210b lim: ... exec/s: 2057 rss: ..."
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
  execs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
  eps=$(grep -oE '^stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
  [[ -n "$eps" ]] || eps=$(sed -nE 's/.*exec\/s:? ([0-9]+).*/\1/p' <<< "$last")
  [[ -n "$execs" ]] || execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<< "$last")
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<< "$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<< "$last")
  corp=$(sed -nE 's/.* corp: ([0-9]+).*/\1/p' <<< "$last")
  findings=()
  shopt -s nullglob
  for a in "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/oom-* "$artifacts"/timeout-* "$artifacts"/slow-unit-*; do
    [[ "$(basename "$a")" == slow-unit-* ]] && continue
    dest="tests/fuzz/regressions/$t/$(basename "$a")"
    if [[ ! -f "$dest" ]]; then
      mkdir -p "tests/fuzz/regressions/$t"
      cp "$a" "$dest"
      findings+=("$dest")
    fi
  done
  shopt -u nullglob
  after=$(ls "$artifacts" | wc -l)
  if [[ $rc -ne 0 ]]; then
    status=1
    kind=$(grep -m1 -oE 'ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|libFuzzer): [^ ]+( [^ ]+)?|runtime error: .*|SUMMARY: [A-Za-z]+: [^ ]+' "$log" | head -n 1)
    [[ -n "$kind" ]] || kind="exit $rc"
    finding="FOUND ($kind): ${findings[*]:-artifact already in tests/fuzz/regressions/$t} (log $log)"
  elif (( after > before )); then
    finding="artifacts: ${findings[*]:-none new}"
  else
    finding="none"
  fi
  line=$(printf '%-16s %12s %9s %8s %8s %7s %s' "$t" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$finding")
  echo "$line"
  echo "$line" >> "$SUMMARY"
done
echo "summary: $SUMMARY; logs: $LOGS/"
exit $status
