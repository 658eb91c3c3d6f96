#!/usr/bin/env bash
# Debian 12 libraries for a GPU node of another distribution (measured on Ubuntu 24.04 with a
# Python wheel of CUDA LibTorch; docs/gpu.md): download them on a Debian 12 machine, carry the
# folder over, unpack them there as root.
#   scripts/gpu_node_libs.sh download DIR   (Debian 12: apt-get download into DIR, about 63 MB)
#   scripts/gpu_node_libs.sh install DIR    (the GPU node, as root: dpkg -x each into /)
# pkg-config's own packages are unpacked only where none exists.
set -euo pipefail
packages=(
  libsqlitecpp-dev libsqlite3-dev libyaml-cpp-dev libyaml-cpp0.7 libcli11-dev
  libzip-dev libzip4 libssl-dev libstb-dev libstb0 nlohmann-json3-dev
  libjpeg62-turbo-dev libjpeg62-turbo libwebp-dev libwebp7 libwebpdemux2 libwebpmux3 libgif-dev libgif7
  libeigen3-dev libarchive-dev libarchive13 liblmdb-dev liblmdb0 zlib1g-dev
  libopencv-imgproc-dev libopencv-core-dev libopencv-core406 libopencv-imgproc406 libtbb12 libglx0 libglvnd0
  libopenblas0-pthread pkgconf pkgconf-bin libpkgconf3 pkg-config
  dataset-fashion-mnist
)
usage() { echo "usage: $0 download|install DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
dir=$2
case $1 in
  download)
    mkdir -p "$dir"
    (cd "$dir" && apt-get download "${packages[@]}")
    du -sh "$dir" ;;
  install)
    [ "$(id -u)" -eq 0 ] || { echo "gpu_node_libs: install unpacks into / and needs root" >&2; exit 2; }
    ls "$dir"/*.deb >/dev/null 2>&1 || { echo "gpu_node_libs: no .deb files in $dir" >&2; exit 2; }
    for f in "$dir"/*.deb; do
      case $(basename "$f") in pkg*|libpkgconf*) command -v pkg-config >/dev/null && continue ;; esac
      dpkg -x "$f" /
    done
    lib=/usr/lib/x86_64-linux-gnu
    # Debian registers OpenBLAS through alternatives, which dpkg -x does not run.
    echo "$lib/openblas-pthread" >/etc/ld.so.conf.d/repro-openblas.conf
    ln -sf openblas-pthread/libopenblas.so.0 "$lib/libopenblas.so"
    # Only the shared libraries are carried: pkg-config must not look for static-only needs.
    sed -i '/^Requires.private/d' "$lib/pkgconfig/libarchive.pc" "$lib/pkgconfig/libzip.pc"
    ldconfig
    echo "gpu_node_libs: installed" ;;
  *) usage ;;
esac
