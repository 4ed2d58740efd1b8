#!/usr/bin/env bash
# Bundles the CLI (with its tfjs-webgpu baseline) into one ESM file, and optionally the ProxylessNAS
# step benchmark (bench/proxyless-step.ts) into a second:  scripts/device-bundle.sh OUTFILE [STEPFILE]
# webgpu stays external (its native binary is carried beside the bundle); gpu.js and tfjs-wasm are
# left out (their baselines report "not available").
set -euo pipefail
out="${1:?usage: device-bundle.sh OUTFILE [STEPFILE]}"
steps="${2:-}"
cd "$(dirname "$0")/.."
bundle() {
  npx esbuild "$1" --bundle --platform=node --format=esm --target=node20 \
    --outfile="$2" --external:webgpu --external:gpu.js --external:@tensorflow/tfjs-backend-wasm \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" \
    --log-level=warning
}
bundle src/cli/main.ts "$out"
[ -z "$steps" ] || bundle bench/proxyless-step.ts "$steps"
