#!/usr/bin/env bash
# Packs what a GPU-machine run needs into the ignored .devrun/ (carry it with .devcarry):
#   .devrun/wgnas.mjs.xz        the CLI and its tfjs-webgpu baseline in one esbuild bundle (xz; unpacked on the device)
#   .devrun/proxyless-step.mjs.xz  bench/proxyless-step.ts bundled the same way (the suite's training-step figures)
#   .devrun/imagenet-folder.mjs.xz  bench/imagenet-folder.ts bundled the same way, sharp external (the 224 figures)
#   .devrun/node_modules/webgpu the webgpu package with only its linux-x64 binary (stripped, xz)
#   .devrun/node_modules/{sharp,@img,detect-libc,semver}  sharp's JS, its linux-x64 binary and libvips (xz, ~5 MB)
#   .devrun/data/cifar10/       the CIFAR-10 images past the tracked fixture's first 1000 (xz with a delta filter)
# Run from the repo root after `npm ci`; also runs ../shared/scripts/device-prep.sh for Node and the Vulkan loader.
# A device call carries the tracked tree, untracked files git does not ignore and the carried folders:
# 64 MiB in all, or the call is refused. The binaries are stripped and packed with xz's x86 filter, and
# the end checks the total (scripts/device-env.sh unpacks into .devrun-x, so .devrun stays this size).
set -euo pipefail
root="$(git rev-parse --show-toplevel)"; cd "$root"
ex="$(git rev-parse --git-path info/exclude)"; mkdir -p "$(dirname "$ex")"  # a worktree's .git is a file
for p in /.devrun/ /.devrun-x/; do grep -qx "$p" "$ex" 2>/dev/null || echo "$p" >> "$ex"; done
data="${WGNAS_DATA_DIR:-$root/../shared/data}"
[ -d "$data" ] || { echo "device-pack: shared data not found at $data (set WGNAS_DATA_DIR)" >&2; exit 2; }
# device-prep.sh appends to .git/info/exclude, which only a main checkout has (a worktree's .git is a
# file): in a worktree it runs with the exclude file git names instead.
prep=../shared/scripts/device-prep.sh
if [ ! -f .devcarry/env.sh ]; then
  if [ -d .git ]; then bash "$prep"; else sed "s|\.git/info/exclude|$ex|g" "$prep" | bash; fi
fi
# Its env.sh ends on a test that fails where the NVIDIA ICD file is missing (here, say), which would
# stop a `source .devcarry/env.sh && ...` line silently: end it on success.
[ "$(tail -n 1 .devcarry/env.sh)" = ':' ] || echo ':' >> .devcarry/env.sh
# Node as device-prep.sh packs it (xz -6, debug symbols in) is ~24 MB of the 64 MiB: stripped and
# with xz's x86 filter ~21 MB (.devcarry/env.sh's `xz -dc` unpacks either).
xzx() { xz -T2 --x86 --lzma2=preset=6 -c "$1"; }  # executables and shared objects
if [ ! -f .devcarry/node.xz.stripped ]; then
  strip -o .devcarry/node.tmp "$(command -v node)" && xzx .devcarry/node.tmp > .devcarry/node.xz && touch .devcarry/node.xz.stripped
  rm -f .devcarry/node.tmp
fi
rm -rf .devrun .devrun-x && mkdir -p .devrun/node_modules/webgpu/dist/linux-x64 .devrun/data/cifar10
bash scripts/device-bundle.sh .devrun/wgnas.mjs .devrun/proxyless-step.mjs .devrun/imagenet-folder.mjs
xz -T2 -6 .devrun/wgnas.mjs .devrun/proxyless-step.mjs .devrun/imagenet-folder.mjs  # ~13 MB -> ~1.3 MB of the 64 MiB carry
w=node_modules/webgpu
cp "$w/index.js" "$w/package.json" "$w/LICENSE.md" .devrun/node_modules/webgpu/
strip --strip-unneeded -o .devrun/dawn.tmp "$w/dist/linux-x64/dawn.node" 2>/dev/null || cp "$w/dist/linux-x64/dawn.node" .devrun/dawn.tmp
xzx .devrun/dawn.tmp > .devrun/node_modules/webgpu/dist/linux-x64/dawn.node.xz && rm .devrun/dawn.tmp
# sharp for bench/imagenet-folder.ts: its JS and dependencies as they are, the two native files xz'd.
n=.devrun/node_modules; v=@img/sharp-libvips-linux-x64
mkdir -p $n/sharp $n/@img/sharp-linux-x64/lib $n/$v/lib
cp -r node_modules/sharp/lib node_modules/sharp/package.json node_modules/sharp/LICENSE $n/sharp/
cp -r node_modules/@img/colour $n/@img/ && cp -r node_modules/detect-libc node_modules/semver $n/
cp node_modules/@img/sharp-linux-x64/package.json node_modules/@img/sharp-linux-x64/LICENSE $n/@img/sharp-linux-x64/
xzx node_modules/@img/sharp-linux-x64/lib/sharp-linux-x64.node > $n/@img/sharp-linux-x64/lib/sharp-linux-x64.node.xz
cp node_modules/$v/package.json node_modules/$v/versions.json $n/$v/ && cp node_modules/$v/lib/index.js $n/$v/lib/
for f in node_modules/$v/lib/libvips-cpp.so.*; do xzx "$f" > "$n/$v/lib/$(basename "$f").xz"; done
# CIFAR-10: the tracked fixture holds the first 1000 training images (3 MB that travel anyway), so only
# the rest is carried; xz's delta filter at one image row (32 bytes) packs pixels ~35% smaller.
fix=test/fixtures/cifar10-mini/cifar10/train_5000.bin
dz() { xz -T2 --delta=dist=32 --lzma2=preset=6 -c; }
if cmp -s -n "$(stat -c %s "$fix")" "$fix" "$data/cifar10/train_5000.bin"; then
  tail -c +"$(($(stat -c %s "$fix") + 1))" "$data/cifar10/train_5000.bin" | dz > .devrun/data/cifar10/train_5000.tail.xz
else
  dz < "$data/cifar10/train_5000.bin" > .devrun/data/cifar10/train_5000.bin.xz
fi
# Issue 22's GPU latency tables (bench/latency-predictor-targets.ts).
bash scripts/device-latency-gpu.sh pack >/dev/null
cp scripts/device-env.sh .devrun/env.sh
du -sh .devcarry .devrun
tree=$( (git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null || true) | awk '{s += $1} END {print s + 0}')
carry=$(du -sb .devcarry .devrun | awk '{s += $1} END {print s}')
mib=$(((tree + carry) / 1048576))
echo "a device call carries $mib MiB of 64: tracked and untracked files $((tree / 1048576)) MiB, .devcarry + .devrun $((carry / 1048576)) MiB"
[ $((tree + carry)) -le $((64 * 1048576)) ] || { echo "device-pack: $mib MiB is over the 64 MiB a device call carries" >&2; exit 1; }
echo "ready: carry [\".devcarry\", \".devrun\"] and begin with: source .devcarry/env.sh && source .devrun/env.sh &&"
