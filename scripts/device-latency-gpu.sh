#!/usr/bin/env bash
# Issue 22's GPU check on the device machine: a GPU latency table of the ProxylessNAS space and 20
# random networks measured whole (bench/latency-predictor-targets.ts --targets gpu), at 32 and 224.
#   scripts/device-latency-gpu.sh pack   here, after `npm ci` and scripts/device-pack.sh (its .devcarry):
#                                        bundles the bench into .devrun/lpt.mjs.xz (+ the webgpu binary)
#   scripts/device-latency-gpu.sh run    on the device (carry .devcarry and .devrun): results in $OUT
# About 1-3 minutes on an H200 (lavapipe: 20 s per network at 32x32).
set -euo pipefail
cd "$(dirname "$0")/.."
d="$(pwd)/.devrun"
case "${1:-}" in
  pack)
    mkdir -p "$d/node_modules/webgpu/dist/linux-x64"
    w=node_modules/webgpu
    cp "$w/index.js" "$w/package.json" "$d/node_modules/webgpu/"
    [ -f "$d/node_modules/webgpu/dist/linux-x64/dawn.node.xz" ] || xz -T2 -6 -c "$w/dist/linux-x64/dawn.node" > "$d/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
    npx esbuild bench/latency-predictor-targets.ts --bundle --platform=node --format=esm --target=node20 \
      --outfile="$d/lpt.mjs" --external:webgpu --log-level=warning \
      --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
    rm -f "$d/lpt.mjs.xz" && xz -T2 -6 "$d/lpt.mjs"
    du -sh "$d" ;;
  run)
    : "${OUT:?run on the device machine (OUT is where results go)}"
    source .devcarry/env.sh
    source .devrun/env.sh  # unpacks into .devrun-x (WGNAS_DEVRUN), lpt.mjs and the webgpu binary too
    # Run as a suite step, OUT is the suite's folder: its nvidia-smi.csv (clocks, memory) is kept.
    [ -f "$OUT/nvidia-smi.csv" ] || nvidia-smi --query-gpu=name,driver_version --format=csv > "$OUT/nvidia-smi.csv" 2>&1 || true
    for r in 32 224; do
      rc=0; timeout "${LPT_TIMEOUT_S:-150}" node "$WGNAS_DEVRUN/lpt.mjs" --targets gpu --archs 20 --resolution "$r" --json "$OUT/gpu-$r.json" > "$OUT/gpu-$r.md" 2> "$OUT/gpu-$r.log" || rc=$?
      echo "resolution $r: rc=$rc"; tail -1 "$OUT/gpu-$r.md"
    done ;;
  *) echo "usage: scripts/device-latency-gpu.sh pack|run" >&2; exit 2 ;;
esac
