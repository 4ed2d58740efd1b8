#!/usr/bin/env bash
# Packs what a GPU-machine run needs into the ignored .devrun/ (carry it with .devcarry):
#   .devrun/wgnas.mjs.xz        the CLI and its tfjs-webgpu baseline in one esbuild bundle (xz; unpacked on the device)
#   .devrun/proxyless-step.mjs.xz  bench/proxyless-step.ts bundled the same way (the suite's training-step figures)
#   .devrun/node_modules/webgpu the webgpu package with only its linux-x64 binary (xz; unpacked on the device)
#   .devrun/data/               the shared data the device suite reads (CIFAR-10 train images xz, NB201 tables)
# Run from the repo root after `npm ci`; also runs ../shared/scripts/device-prep.sh for Node and the Vulkan loader.
set -euo pipefail
root="$(git rev-parse --show-toplevel)"; cd "$root"
grep -qx '/.devrun/' .git/info/exclude 2>/dev/null || echo '/.devrun/' >> .git/info/exclude
data="${WGNAS_DATA_DIR:-$root/../shared/data}"
[ -d "$data" ] || { echo "device-pack: shared data not found at $data (set WGNAS_DATA_DIR)" >&2; exit 2; }
[ -f .devcarry/env.sh ] || bash ../shared/scripts/device-prep.sh
rm -rf .devrun && mkdir -p .devrun/node_modules/webgpu/dist/linux-x64 .devrun/data/cifar10 .devrun/data/nb201
bash scripts/device-bundle.sh .devrun/wgnas.mjs .devrun/proxyless-step.mjs
xz -T2 -6 .devrun/wgnas.mjs .devrun/proxyless-step.mjs  # ~13 MB -> ~1.3 MB of the 64 MiB carry
w=node_modules/webgpu
cp "$w/index.js" "$w/package.json" "$w/LICENSE.md" .devrun/node_modules/webgpu/
xz -T2 -6 -c "$w/dist/linux-x64/dawn.node" > .devrun/node_modules/webgpu/dist/linux-x64/dawn.node.xz
xz -T2 -6 -c "$data/cifar10/train_5000.bin" > .devrun/data/cifar10/train_5000.bin.xz

cp "$data"/nb201/nb201_val_accs.csv "$data"/nb201/nb201_valid_nets.csv "$data"/nb201/LICENSE.* .devrun/data/nb201/
# Issue 22's GPU latency tables (bench/latency-predictor-targets.ts).
bash scripts/device-latency-gpu.sh pack >/dev/null
cp scripts/device-env.sh .devrun/env.sh
du -sh .devcarry .devrun
echo "ready: carry [\".devcarry\", \".devrun\"] and begin with: source .devcarry/env.sh && source .devrun/env.sh &&"
