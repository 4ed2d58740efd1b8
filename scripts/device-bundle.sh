#!/usr/bin/env bash
# Bundles the CLI (with its tfjs-webgpu baseline) into one ESM file: scripts/device-bundle.sh OUTFILE
# webgpu stays external (its native binary is carried beside the bundle); gpu.js and tfjs-wasm are
# left out (their baselines report "not available").
set -euo pipefail
out="${1:?usage: device-bundle.sh OUTFILE}"
cd "$(dirname "$0")/.."
npx esbuild src/cli/main.ts --bundle --platform=node --format=esm --target=node20 \
  --outfile="$out" --external:webgpu --external:gpu.js --external:@tensorflow/tfjs-backend-wasm \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" \
  --log-level=warning
