# Sourced on the GPU machine after .devcarry/env.sh: unpacks what device-pack.sh put in .devrun (the
# bundles, the webgpu and sharp binaries, the CIFAR-10 images) into .devrun-x beside it, not into it:
# .devrun stays as packed (~19 MB), so a local run (SUITE_SIZE=tiny) leaves nothing to push the next
# device call over its 64 MiB. The NB201 tables come from the package's own data/ (paths.ts' last root).
d="$(pwd)/.devrun" u="$(pwd)/.devrun-x"
if [ ! -f "$u/.unpacked" ] || [ "$u/.unpacked" -ot "$d/env.sh" ]; then
  rm -rf "$u" && cp -r "$d" "$u"
  find "$u" -name '*.xz' ! -name 'train_*.xz' -exec xz -d {} +
  # train_5000.bin: its first 1000 images are the tracked test fixture; only the rest travel.
  c="$u/data/cifar10"
  if [ -f "$c/train_5000.tail.xz" ]; then
    { cat test/fixtures/cifar10-mini/cifar10/train_5000.bin && xz -dc "$c/train_5000.tail.xz"; } > "$c/train_5000.bin" && rm "$c/train_5000.tail.xz"
  fi
  [ -f "$c/train_5000.bin.xz" ] && xz -d "$c/train_5000.bin.xz"
  # The test split wgnas train evaluates on: the tracked fixture's 200 images (they travel anyway).
  cp test/fixtures/cifar10-mini/cifar10/test_2000.bin "$c/"
  touch "$u/.unpacked"
fi
export WGNAS_DATA_DIR="$u/data" WGNAS_SHADER_DIR="$(pwd)/shaders" WGNAS_CACHE_DIR=/tmp/wgnas-cache WGNAS_DEVRUN="$u"
export WGNAS_CLI="node $u/wgnas.mjs" WGNAS_PROXYLESS_STEP="node $u/proxyless-step.mjs" \
  WGNAS_IMAGENET_BENCH="node $u/imagenet-folder.mjs"
