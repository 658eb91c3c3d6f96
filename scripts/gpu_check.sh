#!/usr/bin/env bash
# GPU smoke check for a machine with an NVIDIA GPU and a CUDA build of LibTorch: builds repro
# against it (build-gpu/), prints what repro sees, runs the training benchmark on the GPU (fp32,
# fp16 with loss scaling, bf16) and the quickstart experiment with its tasks on GPU 0.
#   scripts/gpu_check.sh [LIBTORCH_PREFIX] [LOG_DIR]
# LIBTORCH_PREFIX: a LibTorch's folder (share/cmake/Torch inside), or a Python torch package's
# folder; default: the torch package of `python3`. LOG_DIR (default out/gpu_check) receives
# cmake.txt, build.txt, bench_train.txt and the quickstart's report.md.
# Needs scripts/setup.sh's libraries (GoogleTest and Gloo may be missing: the tests are not built,
# and without Gloo headers training is single-process).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')}
logs=${2:-out/gpu_check}
mkdir -p "$logs"
[ -d "$prefix/share/cmake/Torch" ] || { echo "gpu_check: no LibTorch at $prefix (share/cmake/Torch missing)" >&2; exit 2; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader ||
  { echo "gpu_check: nvidia-smi failed: no NVIDIA GPU or driver here" >&2; exit 2; }

step() { echo "== [$SECONDS s] $*"; }
step "configure against $prefix"
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix/share/cmake" \
  -DREPRO_TESTS=OFF ${CMAKE_EXTRA:-} >"$logs/cmake.txt" 2>&1 || { tail -40 "$logs/cmake.txt"; exit 1; }
step "build repro and bench_train"
if ! ninja -C build-gpu -k 0 repro bench_train >"$logs/build.txt" 2>&1; then
  grep -E -A3 "error|Error" "$logs/build.txt" | head -80
  exit 1
fi
step "what repro sees"
build-gpu/repro version
build-gpu/repro version | grep -q "CUDA: available" || { echo "gpu_check: repro sees no GPU" >&2; exit 1; }
step "bench_train on the GPU"
build-gpu/bench/bench_train --device cuda --steps ${BENCH_STEPS:-20} | tee "$logs/bench_train.txt"
step "quickstart with its tasks on GPU 0"
out=out/gpu_quickstart
build-gpu/repro data prepare fashion_mnist --out "$out/data/fashion_mnist_train"
build-gpu/repro data prepare fashion_mnist --split test --out "$out/data/fashion_mnist_test"
[ -f "$out/data/fashion_mnist_ref.npz" ] ||
  build-gpu/repro data export "$out/data/fashion_mnist_test" --npz "$out/data/fashion_mnist_ref.npz" --limit 64
# quickstart.yaml's data paths point at out/quickstart: repoint them at this project.
build-gpu/repro run experiments/quickstart.yaml --project "$out" --gpus 0 --max-parallel 1 \
  --set data.path=../out/gpu_quickstart/data/fashion_mnist_train \
  --set eval.reference=../out/gpu_quickstart/data/fashion_mnist_ref.npz
build-gpu/repro status quickstart --project "$out"
build-gpu/repro report quickstart --project "$out" --format markdown | tee "$logs/report.md"
step "done"
