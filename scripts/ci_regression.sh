#!/usr/bin/env bash
# The CI regression experiment (experiments/ci_regression.yaml): prepare Fashion-MNIST (train, and
# 2000 test images as the reference batch), run the experiment, and write the Markdown and HTML
# reports. Usage: scripts/ci_regression.sh [REPRO_BINARY] [PROJECT_DIR] [repro run options...]
# (defaults build/repro and out/ci_regression; e.g. --set ... for the CPU size, docs/reports.md).
# The data always goes to out/ci_regression/data, where the experiment file looks for it.
# REPRO_FASHION_MNIST: the folder of Fashion-MNIST's four .gz files (default Debian's; on a machine
# without it, the copy in scripts/gpu_node_libs.sh's folder, gpu-libs/fashion-mnist).
set -euo pipefail
cd "$(dirname "$0")/.."
repro=${1:-build/repro}
project=${2:-out/ci_regression}
shift $(( $# > 2 ? 2 : $# ))
data=out/ci_regression/data
src=()
[ -z "${REPRO_FASHION_MNIST:-}" ] || src=(--source "$REPRO_FASHION_MNIST")
"$repro" data prepare fashion_mnist "${src[@]}" --out "$data/fashion_mnist_train"
"$repro" data prepare fashion_mnist "${src[@]}" --split test --out "$data/fashion_mnist_test"
[ -f "$data/fashion_mnist_ref.npz" ] ||
  "$repro" data export "$data/fashion_mnist_test" --npz "$data/fashion_mnist_ref.npz" --limit 2000
"$repro" run experiments/ci_regression.yaml --project "$project" "$@"
"$repro" report ci_regression --project "$project" --format markdown --out "$project/report.md"
"$repro" report ci_regression --project "$project" --format html --out "$project/report.html"
