#!/usr/bin/env bash
# The libraries repro needs beyond LibTorch, and Fashion-MNIST, as one folder (default gpu-libs/,
# git-ignored) that travels with the checkout to a machine that lacks them and has no network
# (docs/gpu.md: Ubuntu 24.04 with a CUDA torch wheel). Debian 12's packages, trimmed to headers,
# shared libraries and the few static ones used, in one tar.xz (uncompressed they would not fit the
# 64 MiB a lent machine's carry allows: OpenBLAS alone is 37 MB).
#   scripts/gpu_node_libs.sh pack [DIR]           Debian 12 (here): apt-get download, trim, check, pack
#   scripts/gpu_node_libs.sh unpack DIR DEST      anywhere, no root: DEST/usr is a prefix for CMake
#   scripts/gpu_node_libs.sh check DEST [BIN...]  DEST's libraries need only each other and glibc/
#                                                 libstdc++; each BIN loads DEST's copies of them
# DIR holds deps.tar.xz, fashion-mnist/ (Debian's four IDX .gz files), MANIFEST.txt (packages and
# versions) and SHA256SUMS. The tree in DEST/usr: include/, lib/x86_64-linux-gnu/ (with cmake/ and
# pkgconfig/), share/{cmake,eigen3,pkgconfig}, bin/pkg-config (Debian's pkgconf, reading only this
# tree's .pc files). Binaries built against it need an RPATH to DEST/usr/lib/x86_64-linux-gnu
# (scripts/gpu_check.sh sets one; nothing is installed system-wide).
# Link choices: OpenCV's core library itself (not a GUI module) needs libGLX.so.0 (Debian builds it
# with OpenGL interop), so libGLX and its X11 closure are carried; libarchive is linked statically
# (its shared library needs libxml2 and with it 36 MB of ICU; the tar and gzip readers need neither).
set -euo pipefail
arch=x86_64-linux-gnu
# Headers and shared libraries; the runtime packages of every library in their closure.
packages=(
  libsqlitecpp-dev libsqlite3-dev libsqlite3-0 libyaml-cpp-dev libyaml-cpp0.7 libcli11-dev nlohmann-json3-dev
  libzip-dev libzip4 libssl-dev libssl3 libstb-dev libeigen3-dev libgtest-dev
  libjpeg62-turbo-dev libjpeg62-turbo libwebp-dev libwebp7 libwebpdemux2 libwebpmux3 libgif-dev libgif7
  libarchive-dev liblmdb-dev liblmdb0 zlib1g-dev zlib1g libbz2-1.0 liblz4-1 libzstd1 liblzma5
  libopencv-core-dev libopencv-imgproc-dev libopencv-core406 libopencv-imgproc406 libtbb12
  libglx0 libglvnd0 libx11-6 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0
  libopenblas-pthread-dev libopenblas0-pthread libgfortran5 libquadmath0
  pkgconf-bin libpkgconf3
)
# Present on any glibc system with a C++ compiler: never carried.
base_libs=" libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 ld-linux-x86-64.so.2 libstdc++.so.6 libgcc_s.so.1 "

die() { echo "gpu_node_libs: $*" >&2; exit 1; }
usage() { sed -n '2,19p' "$0" >&2; exit 2; }

# DEST's libraries whose NEEDED entries are neither in DEST nor base_libs.
check_closure() {
  local lib=$1/usr/lib/$arch bad=0 f n
  [ -d "$lib" ] || die "no $lib: unpack first"
  for f in "$lib"/*.so* "$lib"/openblas-pthread/*.so* "$1/usr/bin/pkgconf"; do
    [ -L "$f" ] && continue
    for n in $(objdump -p "$f" | awk '/NEEDED/ {print $2}'); do
      [[ $base_libs == *" $n "* ]] && continue
      [ -e "$lib/$n" ] || { echo "gpu_node_libs: $(basename "$f") needs $n, which is not carried" >&2; bad=1; }
    done
  done
  [ $bad -eq 0 ] || die "the carried libraries are not closed (add the packages above)"
}

# Each BIN must find every library DEST carries in DEST (not a system copy), and all others at all.
check_binaries() {
  local dest=$1 bin out bad=0
  shift
  for bin in "$@"; do
    out=$(ldd "$bin") || die "ldd $bin failed"
    if grep -q "not found" <<<"$out"; then
      echo "gpu_node_libs: $bin: $(grep "not found" <<<"$out" | tr -s ' \t\n' ' ')" >&2; bad=1
    fi
    while read -r name _ path _; do
      if [ -e "$dest/usr/lib/$arch/$name" ] && [[ $path != "$dest"/* ]]; then
        echo "gpu_node_libs: $bin loads $name from $path, not from $dest" >&2; bad=1
      fi
    done < <(grep "=> /" <<<"$out")
  done
  [ $bad -eq 0 ] || die "binaries do not load the carried libraries (RPATH: see scripts/gpu_check.sh)"
}

pack() {
  local dir=$1
  grep -q '^VERSION_CODENAME=bookworm' /etc/os-release || die "pack runs on Debian 12 (bookworm)"
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || die "pack needs apt-get and dpkg-deb"
  tmp=$(mktemp -d)  # global: the EXIT trap runs after pack returns
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/debs" "$tmp/root" "$dir"
  (cd "$tmp/debs" && apt-get download "${packages[@]}" dataset-fashion-mnist >/dev/null 2>&1) ||
    die "apt-get download failed (Debian 12 sources reachable?)"
  local deb
  for deb in "$tmp"/debs/*.deb; do
    case $(basename "$deb") in dataset-fashion-mnist_*) dpkg-deb -x "$deb" "$tmp/fmnist" ;; *) dpkg-deb -x "$deb" "$tmp/root" ;; esac
  done
  local r=$tmp/root lib=$tmp/root/usr/lib/$arch
  # Merged /usr: a few bookworm packages still ship in /lib.
  if [ -d "$r/lib/$arch" ]; then cp -a "$r/lib/$arch/." "$lib/" && rm -rf "$r/lib"; fi
  # Keep headers, libraries, CMake packages, .pc files and pkgconf; drop docs, sources, man pages.
  find "$r/usr/share" -mindepth 1 -maxdepth 1 ! -name cmake ! -name eigen3 ! -name pkgconfig -exec rm -rf {} +
  rm -rf "$r/usr/src" "$r/etc" "$lib"/openblas-pthread/*.a
  find "$r/usr/bin" -mindepth 1 ! -name pkgconf -delete
  # Static libraries only where they are the only form or the chosen one (libarchive, see above).
  find "$lib" -maxdepth 1 -name '*.a' ! -name libSQLiteCpp.a ! -name 'libgtest*.a' ! -name libarchive.a -delete
  rm -f "$lib"/libarchive.so* "$lib"/pkgconfig/stb.pc
  # Development links that Debian makes with alternatives, in -dev packages not carried, or as
  # absolute paths.
  ln -sf libz.so.1 "$lib/libz.so"
  ln -sf libbz2.so.1.0 "$lib/libbz2.so"
  ln -sf liblz4.so.1 "$lib/liblz4.so"
  ln -sf libzstd.so.1 "$lib/libzstd.so"
  ln -sf liblzma.so.5 "$lib/liblzma.so"
  local n
  for n in libopenblas.so libopenblas.so.0 libblas.so.3 liblapack.so.3; do ln -sf "openblas-pthread/$n" "$lib/$n"; done
  # Only shared libraries are linked: no private dependencies, except libarchive.a's decompressors.
  sed -i '/^Requires.private/d; /^Libs.private/d' "$lib"/pkgconfig/*.pc
  sed -i 's/^Libs: .*/Libs: -L${libdir} -larchive -lzstd -llz4 -lbz2 -llzma -lz/' "$lib/pkgconfig/libarchive.pc"
  cat >"$r/usr/bin/pkg-config" <<'EOF'
#!/bin/sh
# pkg-config over this tree's .pc files only, their /usr paths moved under the tree
# (scripts/gpu_node_libs.sh).
root=$(cd "$(dirname "$0")/../.." && pwd)
PKG_CONFIG_LIBDIR=$root/usr/lib/x86_64-linux-gnu/pkgconfig:$root/usr/share/pkgconfig PKG_CONFIG_PATH= \
  PKG_CONFIG_SYSROOT_DIR=$root LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu exec "$root/usr/bin/pkgconf" "$@"
EOF
  chmod +x "$r/usr/bin/pkg-config"
  check_closure "$r"
  rm -rf "$dir/fashion-mnist" && mkdir -p "$dir/fashion-mnist"
  cp "$tmp"/fmnist/usr/share/datasets/fashion-mnist/*.gz "$dir/fashion-mnist/"
  XZ_OPT='-6 -T0' tar -C "$r" --owner=0 --group=0 --numeric-owner -cJf "$dir/deps.tar.xz" usr
  for deb in "$tmp"/debs/*.deb; do dpkg-deb -f "$deb" Package Version | paste -sd' '; done |
    sed 's/^Package: //; s/ Version: / /' >"$dir/MANIFEST.txt"
  (cd "$dir" && sha256sum deps.tar.xz fashion-mnist/*.gz >SHA256SUMS)
  echo "gpu_node_libs: packed $dir (uncompressed tree $(du -sh "$r" | cut -f1)); carry it whole:"
  du -sh "$dir"
}

unpack() {
  local dir=$1 dest=$2 sum
  [ -f "$dir/deps.tar.xz" ] && [ -f "$dir/SHA256SUMS" ] || die "no $dir/deps.tar.xz: run 'pack' on Debian 12 and carry $dir"
  (cd "$dir" && sha256sum --quiet -c SHA256SUMS) || die "$dir does not match its SHA256SUMS"
  sum=$(sha256sum "$dir/deps.tar.xz" | cut -d' ' -f1)
  if [ "$(cat "$dest/.deps-sha256" 2>/dev/null)" != "$sum" ]; then
    rm -rf "$dest" && mkdir -p "$dest"
    tar -C "$dest" -xJf "$dir/deps.tar.xz"
    echo "$sum" >"$dest/.deps-sha256"
  fi
  check_closure "$dest"
}

[ $# -ge 1 ] || usage
case $1 in
  pack) [ $# -le 2 ] || usage; pack "${2:-gpu-libs}" ;;
  unpack) [ $# -eq 3 ] || usage; unpack "$2" "$(realpath -m "$3")" ;;
  check)
    [ $# -ge 2 ] || usage
    dest=$(realpath "$2"); shift 2
    check_closure "$dest"
    [ $# -eq 0 ] || check_binaries "$dest" "$@"
    echo "gpu_node_libs: $dest is closed${1:+; the binaries load its libraries}" ;;
  *) usage ;;
esac
