#!/usr/bin/env bash
# Packs what a GPU-machine run needs into the ignored .devrun/ (carry it with .devcarry):
#   .devrun/wgnas.mjs.xz        the CLI and its tfjs-webgpu baseline in one esbuild bundle (xz; unpacked on the device)
#   .devrun/proxyless-step.mjs.xz  bench/proxyless-step.ts bundled the same way (the suite's training-step figures)
#   .devrun/imagenet-folder.mjs.xz  bench/imagenet-folder.ts bundled the same way, sharp external (the 224 figures)
#   .devrun/node_modules/webgpu the webgpu package with only its linux-x64 binary (xz; unpacked on the device)
#   .devrun/node_modules/{sharp,@img,detect-libc,semver}  sharp's JS, its linux-x64 binary and libvips (xz, ~5 MB)
#   .devrun/data/               the shared data the device suite reads (CIFAR-10 train images xz, NB201 tables)
# Run from the repo root after `npm ci`; also runs ../shared/scripts/device-prep.sh for Node and the Vulkan loader.
set -euo pipefail
root="$(git rev-parse --show-toplevel)"; cd "$root"
ex="$(git rev-parse --git-path info/exclude)"; mkdir -p "$(dirname "$ex")"  # a worktree's .git is a file
grep -qx '/.devrun/' "$ex" 2>/dev/null || echo '/.devrun/' >> "$ex"
data="${WGNAS_DATA_DIR:-$root/../shared/data}"
[ -d "$data" ] || { echo "device-pack: shared data not found at $data (set WGNAS_DATA_DIR)" >&2; exit 2; }
[ -f .devcarry/env.sh ] || bash ../shared/scripts/device-prep.sh
rm -rf .devrun && mkdir -p .devrun/node_modules/webgpu/dist/linux-x64 .devrun/data/cifar10 .devrun/data/nb201
bash scripts/device-bundle.sh .devrun/wgnas.mjs .devrun/proxyless-step.mjs .devrun/imagenet-folder.mjs
xz -T2 -6 .devrun/wgnas.mjs .devrun/proxyless-step.mjs .devrun/imagenet-folder.mjs  # ~13 MB -> ~1.3 MB of the 64 MiB carry
w=node_modules/webgpu
cp "$w/index.js" "$w/package.json" "$w/LICENSE.md" .devrun/node_modules/webgpu/
xz -T2 -6 -c "$w/dist/linux-x64/dawn.node" > .devrun/node_modules/webgpu/dist/linux-x64/dawn.node.xz
# sharp for bench/imagenet-folder.ts: its JS and dependencies as they are, the two native files xz'd.
n=.devrun/node_modules; v=@img/sharp-libvips-linux-x64
mkdir -p $n/sharp $n/@img/sharp-linux-x64/lib $n/$v/lib
cp -r node_modules/sharp/lib node_modules/sharp/package.json node_modules/sharp/LICENSE $n/sharp/
cp -r node_modules/@img/colour $n/@img/ && cp -r node_modules/detect-libc node_modules/semver $n/
cp node_modules/@img/sharp-linux-x64/package.json node_modules/@img/sharp-linux-x64/LICENSE $n/@img/sharp-linux-x64/
xz -T2 -6 -c node_modules/@img/sharp-linux-x64/lib/sharp-linux-x64.node > $n/@img/sharp-linux-x64/lib/sharp-linux-x64.node.xz
cp node_modules/$v/package.json node_modules/$v/versions.json $n/$v/ && cp node_modules/$v/lib/index.js $n/$v/lib/
for f in node_modules/$v/lib/libvips-cpp.so.*; do xz -T2 -6 -c "$f" > "$n/$v/lib/$(basename "$f").xz"; done
xz -T2 -6 -c "$data/cifar10/train_5000.bin" > .devrun/data/cifar10/train_5000.bin.xz

cp "$data"/nb201/nb201_val_accs.csv "$data"/nb201/nb201_valid_nets.csv "$data"/nb201/LICENSE.* .devrun/data/nb201/
# Issue 22's GPU latency tables (bench/latency-predictor-targets.ts).
bash scripts/device-latency-gpu.sh pack >/dev/null
cp scripts/device-env.sh .devrun/env.sh
du -sh .devcarry .devrun
echo "ready: carry [\".devcarry\", \".devrun\"] and begin with: source .devcarry/env.sh && source .devrun/env.sh &&"
