#!/usr/bin/env bash
# Fails when a torch-free layer includes LibTorch. The torch-free layers (docs/architecture.md)
# build without LibTorch in the sanitizer and fuzz builds and link into the torch-free tests; a
# <torch/...> include there would compile only by accident of include paths.
set -euo pipefail
cd "$(dirname "$0")/.."
torch_free=(base store runner reports datasets metrics
            tests/base tests/store tests/runner tests/reports tests/datasets tests/metrics tests/fuzz)
allowed='^metrics/inception/'   # the FID network (repro_features) is LibTorch
found=$(grep -rnE '^\s*#\s*include\s*[<"](torch|ATen|c10)/' --include='*.h' --include='*.cpp' \
          "${torch_free[@]}" 2>/dev/null | grep -vE "$allowed" || true)
if [ -n "$found" ]; then
  echo "check_layers: LibTorch included by a torch-free layer:" >&2
  echo "$found" >&2
  exit 1
fi
echo "check_layers: ${torch_free[*]} are torch-free"
