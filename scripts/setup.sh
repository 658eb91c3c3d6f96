#!/usr/bin/env bash
# Installs every Debian package repro needs, then configures and builds a Release build.
# Idempotent: packages already present are skipped by apt, the build is incremental.
#   scripts/setup.sh            install + build (build/ by default, BUILD_DIR to change)
#   scripts/setup.sh --no-build install only
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$here/build}

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0-pthread libopenblas-dev libgloo-dev libgoogle-perftools-dev
  libsqlitecpp-dev libsqlite3-dev libyaml-cpp-dev libcli11-dev
  libgtest-dev
  libzip-dev libssl-dev libstb-dev nlohmann-json3-dev
  libjpeg62-turbo-dev libwebp-dev libgif-dev
  libeigen3-dev
  libarchive-dev liblmdb-dev zlib1g-dev libopencv-imgproc-dev
  python3-torch python3-numpy python3-scipy python3-pil python3-lmdb python3-opencv python3-yaml
  dataset-fashion-mnist
  slurm-wlm slurmctld slurmd slurm-client munge
  texlive-latex-base texlive-latex-recommended   # the LaTeX report's compile test (booktabs)
  clang libclang-rt-14-dev   # fuzzing (libFuzzer) and the ASan/UBSan sanitizer build
  clang-format-14 clang-tidy-14   # the format check (unit tier) and scripts/tidy.sh
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ "${1:-}" = "--no-build" ] && exit 0

# REPRO_WERROR=ON (set by .ci/run) builds with warnings as errors.
cmake -S "$here" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DREPRO_WERROR="${REPRO_WERROR:-OFF}"
cmake --build "$build_dir" -j "${JOBS:-2}"
