#!/usr/bin/env bash
# clang-tidy-14 (.clang-tidy: function size, bugprone, performance) on the C++ sources changed
# since BASE (default HEAD~1: the commit under test), or on FILES given after `--`.
#   scripts/tidy.sh [BASE]        changed .cpp files that are in build/compile_commands.json
#   scripts/tidy.sh -- FILE...    those files
# TIDY_TORCH=1 includes LibTorch sources (about 30 s each without the precompiled header);
# by default only the torch-free layers are checked, which keeps the CI step near a minute.
# Exits 1 when a check listed in WarningsAsErrors fires; other findings are printed only.
set -euo pipefail
cd "$(dirname "$0")/.."
tidy=${CLANG_TIDY:-clang-tidy-14}
build=${BUILD_DIR:-build}
command -v "$tidy" >/dev/null || { echo "tidy: $tidy not found (Debian: clang-tidy-14)" >&2; exit 2; }
[ -f "$build/compile_commands.json" ] || { echo "tidy: no $build/compile_commands.json (run scripts/setup.sh)" >&2; exit 2; }
if [ "${1:-}" = "--" ]; then
  shift
  files=("$@")
else
  base=${1:-HEAD~1}
  git rev-parse -q --verify "$base^{commit}" >/dev/null || { echo "tidy: no commit $base; nothing to check"; exit 0; }
  mapfile -t files < <(git diff --name-only --diff-filter=d "$base" -- '*.cpp')
fi
checked=()
for f in "${files[@]}"; do
  grep -q "\"file\": \"$PWD/$f\"" "$build/compile_commands.json" || continue
  if [ "${TIDY_TORCH:-0}" != 1 ] && [ -n "$(python3 - "$build/compile_commands.json" "$PWD/$f" <<'PY'
import json, sys
for c in json.load(open(sys.argv[1])):
    if c["file"] == sys.argv[2] and "torch" in c["command"]:
        print("torch")
        break
PY
)" ]; then continue; fi
  checked+=("$f")
done
[ ${#checked[@]} -gt 0 ] || { echo "tidy: no changed sources to check"; exit 0; }
echo "tidy: ${#checked[@]} file(s)"
"$tidy" -p "$build" --quiet "${checked[@]}"
