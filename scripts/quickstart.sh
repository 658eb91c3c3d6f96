#!/usr/bin/env bash
# The main job: prepare Fashion-MNIST (train, and 64 test images as the reference batch), run
# experiments/quickstart.yaml (ADM vs ADM-IP: train, sample with 50 and 100 steps, evaluate), and
# print the results (the report's tables, one row per run and setting) and write an HTML report.
# Idempotent: a second run finds everything done. Extra arguments go to `repro run` (e.g.
# --set train.iterations=20 for a faster look).
# With the FID network's weights at $REPRO_INCEPTION_WEIGHTS (or ~/.cache/repro/inception-2015-12-05.pt,
# or ~/.cache/repro/pt_inception-2015-12-05-6726825d.pth), the evaluation uses them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=out/quickstart
build/repro data prepare fashion_mnist --out "$out/data/fashion_mnist_train"
build/repro data prepare fashion_mnist --split test --out "$out/data/fashion_mnist_test"
[ -f "$out/data/fashion_mnist_ref.npz" ] ||
  build/repro data export "$out/data/fashion_mnist_test" --npz "$out/data/fashion_mnist_ref.npz" --limit 64
features=()
cache=${XDG_CACHE_HOME:-$HOME/.cache}/repro
for weights in "${REPRO_INCEPTION_WEIGHTS:-}" "$cache/inception-2015-12-05.pt" "$cache/pt_inception-2015-12-05-6726825d.pth"; do
  if [ -n "$weights" ] && [ -f "$weights" ]; then features=(--set eval.features=inception); break; fi
done
build/repro run experiments/quickstart.yaml --project "$out" --max-parallel 2 "${features[@]}" "$@"
build/repro status quickstart --project "$out"
build/repro report quickstart --project "$out" --format markdown
build/repro results quickstart --project "$out"
# One self-contained file: the tables, sample grids of ADM and ADM-IP side by side, loss curves.
build/repro report quickstart --project "$out" --format html --out "$out/report.html"
echo "HTML report: $out/report.html (repro show RUN shows one run: config, provenance, tasks, files)"
