#!/usr/bin/env bash
# Builds the standalone latency profiler (wgnas-profiler, native/target/) for a target CPU and bundles
# it with the shared libraries it needs, so it runs on a bare Debian/Ubuntu of that architecture:
#   scripts/build-target.sh x86_64|aarch64     ->  build/target/<arch>/bundle/
# The bundle: wgnas-profiler (libstdc++/libgcc static, DT_RPATH $ORIGIN/lib), lib/ (oneDNN, XNNPACK,
# pthreadpool, cpuinfo, libgomp, libstdc++, libgcc_s: everything but the C library, which the target
# must provide: glibc >= 2.34), MANIFEST (sha256 of each file) and BUNDLE_ID (hash of the manifest:
# `wgnas profile --target` copies a bundle to a target once per id).
# aarch64 is cross-compiled with g++-aarch64-linux-gnu against Debian's arm64 libdnnl / libxnnpack
# packages, downloaded with `apt-get download` and unpacked into build/target/sysroot-aarch64 (the
# arm64 XNNPACK package cannot be installed next to the amd64 one). Needs, once, as root:
#   dpkg --add-architecture arm64 && apt-get update && apt-get install g++-aarch64-linux-gnu
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
arch="${1:-}"
case "$arch" in
  native) arch="$(uname -m)" ;;
  x86_64 | aarch64) ;;
  *) echo "usage: scripts/build-target.sh x86_64|aarch64|native" >&2; exit 2 ;;
esac
out="$root/build/target/$arch"
cmake_args=(-DWGNAS_BUILD_ADDON=OFF -DWGNAS_BUILD_PROFILER=ON -DCMAKE_BUILD_TYPE=Release)
host="$(uname -m)"

if [ "$arch" = aarch64 ] && [ "$host" != aarch64 ]; then
  command -v aarch64-linux-gnu-g++ >/dev/null || { echo "build-target: aarch64-linux-gnu-g++ not found: apt-get install g++-aarch64-linux-gnu" >&2; exit 1; }
  sysroot="$root/build/target/sysroot-aarch64"
  pkgs=(libdnnl2 libdnnl-dev libxnnpack0 libxnnpack-dev libpthreadpool0 libcpuinfo0)
  if [ ! -f "$sysroot/.complete" ]; then
    dpkg --print-foreign-architectures | grep -qx arm64 || {
      echo "build-target: apt knows no arm64 packages: run (as root) dpkg --add-architecture arm64 && apt-get update" >&2; exit 1; }
    debs="$root/build/target/debs-aarch64"
    rm -rf "$debs" "$sysroot.tmp" && mkdir -p "$debs" "$sysroot.tmp"
    # apt's download sandbox user must be able to write here.
    chmod 777 "$debs"
    (cd "$debs" && apt-get download -q "${pkgs[@]/%/:arm64}")
    for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$sysroot.tmp"; done
    touch "$sysroot.tmp/.complete"
    rm -rf "$sysroot" && mv "$sysroot.tmp" "$sysroot"
  fi
  xnn_version="$(dpkg-deb -f "$(ls "$root"/build/target/debs-aarch64/libxnnpack-dev_*.deb 2>/dev/null | head -1)" Version 2>/dev/null || echo system)"
  cmake_args+=(-DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" -DWGNAS_SYSROOT="$sysroot" -DXNNPACK_PKG_VERSION="$xnn_version")
  libdirs=("$sysroot/usr/lib/aarch64-linux-gnu" /usr/aarch64-linux-gnu/lib)
elif [ "$arch" = "$host" ]; then
  libdirs=("/usr/lib/$arch-linux-gnu" "/lib/$arch-linux-gnu" /usr/lib /lib)
else
  echo "build-target: cannot build for $arch on a $host machine (supported: the native architecture, aarch64)" >&2; exit 1
fi

gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S "$root" -B "$out/cmake" "${gen[@]}" "${cmake_args[@]}" >/dev/null
cmake --build "$out/cmake" --target wgnas-profiler -j "$(nproc)"

# The bundle: the program and every shared library it needs, transitively, except the C library's own.
bundle="$out/bundle"
rm -rf "$bundle.tmp" && mkdir -p "$bundle.tmp/lib"
cp "$out/cmake/wgnas-profiler" "$bundle.tmp/"
is_libc() { case "$1" in libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | libresolv.so.* | ld-linux*) return 0 ;; esac; return 1; }
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
find_lib() { for d in "${libdirs[@]}"; do [ -e "$d/$1" ] && { echo "$d/$1"; return 0; }; done; return 1; }
queue=("$bundle.tmp/wgnas-profiler")
while [ "${#queue[@]}" -gt 0 ]; do
  f="${queue[0]}"; queue=("${queue[@]:1}")
  for n in $(needed "$f"); do
    is_libc "$n" && continue
    [ -e "$bundle.tmp/lib/$n" ] && continue
    src="$(find_lib "$n")" || { echo "build-target: $n (needed by $(basename "$f")) not found in ${libdirs[*]}" >&2; exit 1; }
    cp -L "$src" "$bundle.tmp/lib/$n"
    queue+=("$bundle.tmp/lib/$n")
  done
done
(cd "$bundle.tmp" && find . -type f ! -name MANIFEST ! -name BUNDLE_ID | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum > MANIFEST)
echo "$arch-$(sha256sum "$bundle.tmp/MANIFEST" | cut -c1-16)" > "$bundle.tmp/BUNDLE_ID"
rm -rf "$bundle" && mv "$bundle.tmp" "$bundle"
echo "build-target: $bundle ($(cat "$bundle/BUNDLE_ID"); $(ls "$bundle/lib" | tr '\n' ' '))"
