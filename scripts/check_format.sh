#!/usr/bin/env bash
# Fails when a tracked C++ file differs from what clang-format-14 makes of it with the checked-in
# .clang-format (the whole tree was reformatted once: .git-blame-ignore-revs). Fix with
#   clang-format-14 -i FILE...   or, for a change only:  git clang-format --binary clang-format-14
set -euo pipefail
cd "$(dirname "$0")/.."
fmt=${CLANG_FORMAT:-clang-format-14}
command -v "$fmt" >/dev/null || { echo "check_format: $fmt not found (Debian: clang-format-14)" >&2; exit 2; }
mapfile -t files < <(git ls-files -- '*.cpp' '*.h' ':!:third_party/*')
[ ${#files[@]} -gt 0 ] || { echo "check_format: no tracked C++ files (not a git checkout?)" >&2; exit 2; }
drift=()
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  "$fmt" --style=file "$f" | cmp -s - "$f" || drift+=("$f")
done
if [ ${#drift[@]} -gt 0 ]; then
  printf 'check_format: %d file(s) differ from clang-format:\n' "${#drift[@]}" >&2
  printf '  %s\n' "${drift[@]}" >&2
  echo "fix: $fmt -i <files>" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted"
