#!/usr/bin/env bash
# The torch-free libraries and their unit tests under AddressSanitizer + UndefinedBehaviorSanitizer
# (CMake -DREPRO_SANITIZE=address,undefined; nothing that needs LibTorch is built), then
#   ctest -L unit
# with leak detection on and the first UB report fatal. Run by .ci/run after the normal tests.
#   scripts/sanitize_tests.sh [CTEST_ARGS...]     e.g. -R 'Npy|Zip' to run a subset
# Environment: BUILD_DIR (default build-asan), JOBS (default 2), CXX (default g++; ccache is used when
# installed), SANITIZE (default address,undefined).
# About 10 minutes on 2 cores from a clean tree without ccache (tests/fuzz/README.md has the figure).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-build-asan}
JOBS=${JOBS:-2}

# The torch-free unit test executables (tests/CMakeLists.txt); reports' are the slowest to build and
# exercise no reader of untrusted files beyond those of runner and store.
TEST_TARGETS=(repro_base_tests repro_datasets_tests repro_metrics_tests repro_store_tests
              repro_runner_tests repro_reports_tests repro_fuzz_replay_tests)

if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  CXX=${CXX:-g++} cmake -S . -B "$BUILD_DIR" -G Ninja -DREPRO_SANITIZE="${SANITIZE:-address,undefined}" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$BUILD_DIR" --target "${TEST_TARGETS[@]}" -j"$JOBS"

# Leaks in Debian's libraries (OpenBLAS's thread buffers, ...) are suppressed in tests/fuzz/lsan.supp;
# ours are not. Allocations over 4 GiB are reported, not attempted: no unit test needs one, and
# a reader that allocates what a hostile header claims must fail here, not swap.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:max_allocation_size_mb=4096}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/fuzz/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$BUILD_DIR" -L unit --output-on-failure -j"$JOBS" "$@"
