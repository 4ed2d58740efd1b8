#!/usr/bin/env bash
# Bundles the CLI (with its tfjs-webgpu baseline) into one ESM file, and optionally the ProxylessNAS
# step benchmark (bench/proxyless-step.ts) and the ImageNet-folder benchmark (bench/imagenet-folder.ts)
# into more:  scripts/device-bundle.sh OUTFILE [STEPFILE [IMAGENETFILE]]
# webgpu stays external (its native binary is carried beside the bundles), and sharp in the ImageNet one
# (carried pruned in .devrun/node_modules); gpu.js and tfjs-wasm are left out (their baselines report
# "not available").
set -euo pipefail
out="${1:?usage: device-bundle.sh OUTFILE [STEPFILE [IMAGENETFILE]]}"
steps="${2:-}"
imagenet="${3:-}"
cd "$(dirname "$0")/.."
bundle() {  # bundle ENTRY OUTFILE [more esbuild flags]
  npx esbuild "$1" "${@:3}" --bundle --platform=node --format=esm --target=node20 \
    --outfile="$2" --external:webgpu --external:gpu.js --external:@tensorflow/tfjs-backend-wasm \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" \
    --log-level=warning
}
bundle src/cli/main.ts "$out"
[ -z "$steps" ] || bundle bench/proxyless-step.ts "$steps"
[ -z "$imagenet" ] || bundle bench/imagenet-folder.ts "$imagenet" --external:sharp
