#!/usr/bin/env bash
# The first GPU hour in one call (docs/gpu.md): on a fresh machine with an NVIDIA GPU, a CUDA torch
# wheel and none of our libraries or network, build repro against the wheel's LibTorch and the
# carried libraries, run the gpu test tier, bench_train and bench_unet on CUDA in fp32/fp16/bf16,
# the quickstart on GPU 0 and experiments/ci_regression.yaml, and write every figure and the
# candidate baseline under one folder. Each step has a time limit inside an overall budget; a
# failed step is recorded and the steps that do not need it still run; summary.md is always written.
#   scripts/gpu_check.sh [--dry] [--out DIR] [--libs DIR] [--torch PREFIX] [--budget SECONDS]
#                        [--only STEP,...]
# --out     the folder for everything that comes back (default out/gpu_check; out/gpu_check_dry)
# --libs    scripts/gpu_node_libs.sh's folder, carried with the checkout (default gpu-libs)
# --torch   a LibTorch prefix (share/cmake/Torch inside); default the torch package of python3
# --budget  seconds for the whole call (default 540: a lent machine allows 600 per command; dry
#           1800, as builds there wait for the shared lock)
# --only    the steps after the build to run (default all): tests,bench_train,bench_unet,
#           quickstart,ci_regression
# --dry     a rehearsal on a CPU machine (Debian 12 with scripts/setup.sh's packages): every step
#           with the CPU and the smallest sizes, in the configured build/ (one target at a time
#           under /tmp/repro-build.lock); the carried libraries are unpacked and linked in a
#           separate build-gpu-dry/ to show they suffice. Exit 0 only when every step passed.
# Work files (build-gpu/, projects, checkpoints) stay outside --out: out/gpu_check_work/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

args=()  # the options, passed on to the instances that run one step's body
dry=0 out="" libs=gpu-libs torch_prefix="" budget="" only="" run=()
while [ $# -gt 0 ]; do
  case $1 in
    --run) shift; run=("$@"); break ;;  # internal: run a body (function or command) and exit
    --dry) dry=1 args+=("$1"); shift; continue ;;
    --out | --libs | --torch | --budget | --only) [ $# -ge 2 ] || { echo "gpu_check: $1 needs a value" >&2; exit 2; } ;;
    *) sed -n '8,21p' "$0" >&2; exit 2 ;;
  esac
  case $1 in
    --out) out=$2 ;;
    --libs) libs=$2 ;;
    --torch) torch_prefix=$2 ;;
    --budget) budget=$2 ;;
    --only) only=$2 ;;
  esac
  args+=("$1" "$2")
  shift 2
done
if [ $dry -eq 1 ]; then
  out=${out:-out/gpu_check_dry} work=out/gpu_check_dry_work build=build deps=build-gpu-dry/deps
  device=cpu gpus=() jobs=2 budget=${budget:-1800}
else
  out=${out:-out/gpu_check} work=out/gpu_check_work build=build-gpu deps=build-gpu/deps
  device=cuda gpus=(--gpus 0) jobs=$(nproc) budget=${budget:-540}
fi
mkdir -p "$out" "$work"
out=$(realpath "$out") work=$(realpath "$work") libs=$(realpath -m "$libs")
repro=$root/$build/cli/repro
summary=$out/summary.md timings=$out/timings.tsv
[ -n "$torch_prefix" ] || [ $dry -eq 1 ] ||
  torch_prefix=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null || true)
# The data both experiments train on: Fashion-MNIST from the carried folder (the GPU machine has
# no network and no Debian package), prepared once where ci_regression.yaml looks for it.
export REPRO_FASHION_MNIST=$libs/fashion-mnist
data=$root/out/ci_regression/data
# Dry: the smallest sizes that still train, sample, evaluate and report on a CPU.
sizes=()
[ $dry -eq 0 ] || sizes=(--set train.batch_size=4 --set train.iterations=4 --set train.save_interval=4
  --set train.log_interval=2 --set eval.at_iterations=4 --set eval.sampling_steps=5 --set eval.num_samples=8 --set eval.batch_size=8)

# --- the steps' bodies ---------------------------------------------------------------------------
machine() {
  uname -a
  grep PRETTY_NAME /etc/os-release || true
  echo "cores: $(nproc)"
  free -g | head -2 || true
  c++ --version | head -1
  cmake --version | head -1
  echo "ninja $(ninja --version)"
  if [ $dry -eq 0 ]; then
    nvidia-smi
    nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
  else
    echo "dry run: no GPU expected"
  fi
  python3 -c 'import torch; print("python torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' || true
  echo "LibTorch prefix: ${torch_prefix:-Debian libtorch-dev}"
}

# The carried folder unpacked (once per content) and checked to be closed.
libs() {
  scripts/gpu_node_libs.sh unpack "$libs" "$deps"
  echo "libraries in $deps ($(du -sh "$deps" | cut -f1)), from $libs ($(du -sh "$libs" | cut -f1))"
}

# configure_with_deps DIR [TORCH_PREFIX]: a build folder that finds every library but LibTorch in
# the carried tree, and whose programs load them from there (RPATH, also for their dependencies:
# --disable-new-dtags, since DT_RUNPATH would not reach libopencv_core's libGLX or libtbb).
configure_with_deps() {
  local dir=$1 torch=${2:-} d=$root/$deps/usr prefix_path
  prefix_path=$d
  [ -z "$torch" ] || prefix_path="$torch/share/cmake;$d"
  local cfg=(-S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$prefix_path"
    "-DPKG_CONFIG_EXECUTABLE=$d/bin/pkg-config" "-DCMAKE_BUILD_RPATH=$d/lib/x86_64-linux-gnu"
    -DCMAKE_EXE_LINKER_FLAGS=-Wl,--disable-new-dtags -DCMAKE_POLICY_VERSION_MINIMUM=3.5 -DREPRO_TESTS=ON)
  echo "cmake ${cfg[*]}"
  if ! cmake "${cfg[@]}"; then
    # GoogleTest is carried; should it still not be found, build the programs without tests.
    echo "configure failed; again without the tests (-DREPRO_TESTS=OFF)"
    cmake "${cfg[@]}" -DREPRO_TESTS=OFF
  fi
}
# Dry: the machine's builds share 2 cores, one at a time (a body of this script is run by a new
# instance, as flock cannot call a function).
locked() { if [ $dry -eq 1 ]; then flock /tmp/repro-build.lock "$0" "${args[@]}" --run "$@"; else "$@"; fi; }

configure() {
  if [ $dry -eq 0 ]; then
    [ -d "$torch_prefix/share/cmake/Torch" ] || { echo "no LibTorch at '$torch_prefix' (share/cmake/Torch)" >&2; return 1; }
    configure_with_deps "$build" "$torch_prefix"
    return
  fi
  # The rehearsal: Debian's LibTorch, everything else from the carried tree; one torch-free program
  # that links OpenCV (the libGLX failure of 2026-11-26), libarchive, libzip, OpenSSL and
  # GoogleTest, checked to load the carried copies, and its tests that use them.
  locked configure_with_deps build-gpu-dry
  locked cmake --build build-gpu-dry --target repro_datasets_tests
  scripts/gpu_node_libs.sh check "$deps" build-gpu-dry/tests/repro_datasets_tests
  build-gpu-dry/tests/repro_datasets_tests --gtest_filter='Cifar*:FashionMnist*:Celeba.*'
}

build() {
  local targets=(repro bench_unet bench_train) t
  if grep -q '^REPRO_TESTS:BOOL=ON' "$build/CMakeCache.txt"; then
    targets+=(repro_core_tests repro_features_tests)
  else
    echo "REPRO_TESTS is OFF: the gpu tier is not built"
  fi
  if [ $dry -eq 1 ]; then
    for t in "${targets[@]}"; do locked cmake --build "$build" --target "$t"; done
  else
    cmake --build "$build" -j "$jobs" --target "${targets[@]}"
    scripts/gpu_node_libs.sh check "$deps" "$build/cli/repro"
  fi
}

version() {
  "$repro" --version
  [ $dry -eq 1 ] || "$repro" --version | grep -q "CUDA: available" || { echo "repro sees no GPU" >&2; return 1; }
}

tests() {
  [ -f "$build/tests/CTestTestfile.cmake" ] || { echo "no tests in $build (REPRO_TESTS=OFF)" >&2; return 1; }
  ctest --test-dir "$build" -L gpu --output-on-failure -j 4 --timeout 240 --output-junit "$out/tests-junit.xml"
}

bench_train() {
  if [ $dry -eq 1 ]; then
    "$build/bench/bench_train" --device cpu --quick --steps 1
  else
    "$build/bench/bench_train" --device cuda --steps 10
  fi
}

bench_unet() {
  local p
  if [ $dry -eq 1 ]; then
    "$build/bench/bench_unet" --device cpu --precision fp32 --quick --iters 1 | tee "$out/bench_unet-fp32.txt"
  else
    for p in fp32 fp16 bf16; do
      "$build/bench/bench_unet" --device cuda --precision "$p" --iters 5 | tee "$out/bench_unet-$p.txt"
    done
  fi
}

quickstart() {
  local p=$work/quickstart
  "$repro" data prepare fashion_mnist --source "$REPRO_FASHION_MNIST" --out "$data/fashion_mnist_train"
  "$repro" data prepare fashion_mnist --source "$REPRO_FASHION_MNIST" --split test --out "$data/fashion_mnist_test"
  [ -f "$data/fashion_mnist_ref64.npz" ] ||
    "$repro" data export "$data/fashion_mnist_test" --npz "$data/fashion_mnist_ref64.npz" --limit 64
  # quickstart.yaml's data paths point at out/quickstart: repointed at the prepared data.
  "$repro" run experiments/quickstart.yaml --project "$p" "${gpus[@]}" --max-parallel 1 \
    --set data.path="$data/fashion_mnist_train" --set eval.reference="$data/fashion_mnist_ref64.npz" "${sizes[@]}"
  mkdir -p "$out/quickstart"
  "$repro" status quickstart --project "$p" | tee "$out/quickstart/status.txt"
  "$repro" results quickstart --project "$p" | tee "$out/quickstart/results.txt"
  "$repro" report quickstart --project "$p" --format markdown --out "$out/quickstart/report.md"
  "$repro" report quickstart --project "$p" --format html --out "$out/quickstart/report.html"
}

# The CI regression experiment at its GPU size (dry: the smallest, against the 64-image reference),
# and the candidate baseline: compare exits 2 against the committed placeholder and 8 on a
# regression, and writes the candidate either way.
ci_regression() {
  local p=$work/ci_regression rc=0 small=()
  [ $dry -eq 0 ] || small=("${sizes[@]}" --set eval.reference="$data/fashion_mnist_ref64.npz")
  scripts/ci_regression.sh "$repro" "$p" "${gpus[@]}" --max-parallel 1 "${small[@]}"
  mkdir -p "$out/ci_regression"
  cp "$p/report.md" "$p/report.html" "$out/ci_regression/"
  "$repro" results ci_regression --project "$p" | tee "$out/ci_regression/results.txt"
  "$repro" compare ci_regression --project "$p" --baseline experiments/baselines/ci_regression.json \
    --tolerance fid=rel:0.10 --tolerance sfid=rel:0.10 --junit "$out/ci_regression/junit.xml" \
    --write-baseline "$out/candidate-baseline.json" >"$out/ci_regression/compare.txt" 2>&1 || rc=$?
  cat "$out/ci_regression/compare.txt"
  echo "compare exit $rc"
  [ -s "$out/candidate-baseline.json" ] || { echo "no candidate baseline written" >&2; return 1; }
  case $rc in 0 | 2 | 8) ;; *) return 1 ;; esac
}

if [ ${#run[@]} -gt 0 ]; then
  "${run[@]}"
  exit
fi

# --- the driver ------------------------------------------------------------------------------------
declare -A status=()
order=()
printf 'step\tstatus\tseconds\tlimit\n' >"$timings"

# step NAME LIMIT: runs the body NAME with its output in $out/NAME.txt, within LIMIT seconds and
# what is left of the budget; records ok / failed (exit code) / timed out / skipped.
step() {
  local name=$1 limit=$2 left rc=0 t0
  order+=("$name")
  left=$((budget - SECONDS))
  [ "$left" -lt "$limit" ] && limit=$left
  if [ "$limit" -lt 15 ]; then
    status[$name]="skipped (budget spent)"
    printf '%s\t%s\t0\t0\n' "$name" "${status[$name]}" >>"$timings"
    echo "== $name: skipped, budget spent"
    return 0
  fi
  echo "== [$SECONDS s] $name (limit $limit s)"
  t0=$SECONDS
  # The body runs in a new instance of this script (a shell function cannot be given to timeout);
  # timeout signals the whole process group, and repro run forwards the stop to its tasks.
  timeout --kill-after=15 "$limit" "$0" "${args[@]}" --run "$name" >"$out/$name.txt" 2>&1 || rc=$?
  case $rc in
    0) status[$name]=ok ;;
    124 | 137) status[$name]="timed out after $limit s" ;;
    *) status[$name]="failed (exit $rc)" ;;
  esac
  printf '%s\t%s\t%d\t%d\n' "$name" "${status[$name]}" $((SECONDS - t0)) "$limit" >>"$timings"
  echo "   ${status[$name]} in $((SECONDS - t0)) s (log $out/$name.txt)"
  [ $rc -eq 0 ] || tail -n 15 "$out/$name.txt" | sed 's/^/   | /'
}
skip() {
  order+=("$1")
  status[$1]="skipped ($2)"
  printf '%s\t%s\t0\t0\n' "$1" "${status[$1]}" >>"$timings"
  echo "== $1: skipped ($2)"
}
ok() { [ "${status[$1]:-}" = ok ]; }
wanted() { [ -z "$only" ] || [[ ,$only, == *",$1,"* ]]; }

write_summary() {
  {
    echo "# gpu_check$([ $dry -eq 1 ] && echo ' --dry') $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $SECONDS s of a $budget s budget, device $device"
    echo
    echo "| step | status | seconds | limit |"
    echo "|---|---|---|---|"
    awk -F'\t' 'NR > 1 { printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$timings"
    local f
    for f in bench_train bench_unet-fp32 bench_unet-fp16 bench_unet-bf16; do
      if [ -f "$out/$f.txt" ] && grep -q '^|' "$out/$f.txt"; then
        printf '\n## %s\n\n' "$f"
        grep '^|' "$out/$f.txt"
      fi
    done
    if [ -f "$out/tests.txt" ]; then
      printf '\n## gpu tier\n\n```\n'
      grep -E "tests passed|Skipped|Failed|\*\*\*" "$out/tests.txt" | head -40 || true
      printf '```\n'
    fi
    if [ -f "$out/ci_regression/compare.txt" ]; then
      printf '\n## ci_regression compare\n\n```\n'
      cat "$out/ci_regression/compare.txt"
      printf '```\n'
    fi
  } >"$summary"
}
trap write_summary EXIT

step machine 60
step libs 120
if ok libs; then step configure "$([ $dry -eq 1 ] && echo 900 || echo 180)"; else skip configure "needs libs"; fi
if [ $dry -eq 0 ] && ! ok configure; then skip build "needs configure"; else step build 420; fi
if ok build; then step version 60; else skip version "needs build"; fi
for s in tests bench_train bench_unet quickstart ci_regression; do
  if ! wanted $s; then
    skip $s "not in --only"
  elif ! ok build; then
    skip $s "needs build"
  else
    case $s in
      tests) step tests 240 ;;
      bench_train | bench_unet) step $s 240 ;;
      quickstart) step quickstart 240 ;;
      ci_regression) step ci_regression 420 ;;
    esac
  fi
done

write_summary
trap - EXIT
echo "== [$SECONDS s] done: $summary"
for s in "${order[@]}"; do
  case ${status[$s]} in ok | "skipped (not in --only)") ;; *) echo "gpu_check: not every step passed ($summary)" >&2; exit 1 ;; esac
done
