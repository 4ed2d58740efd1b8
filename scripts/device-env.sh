# Sourced on the GPU machine after .devcarry/env.sh: unpacks the webgpu and sharp binaries, the bundles and the
# data packed by device-pack.sh.
d="$(pwd)/.devrun"
[ -f "$d/node_modules/webgpu/dist/linux-x64/dawn.node" ] || xz -dk "$d/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
[ -f "$d/data/cifar10/train_5000.bin" ] || xz -dk "$d/data/cifar10/train_5000.bin.xz"
for f in "$d"/node_modules/@img/sharp-linux-x64/lib/*.node.xz "$d"/node_modules/@img/sharp-libvips-linux-x64/lib/*.so.*.xz; do
  [ -f "$f" ] && { [ -f "${f%.xz}" ] || xz -dk "$f"; }
done
for b in wgnas proxyless-step imagenet-folder; do [ -f "$d/$b.mjs" ] || xz -dk "$d/$b.mjs.xz"; done
export WGNAS_DATA_DIR="$d/data" WGNAS_SHADER_DIR="$(pwd)/shaders" WGNAS_CACHE_DIR=/tmp/wgnas-cache
export WGNAS_CLI="node $d/wgnas.mjs" WGNAS_PROXYLESS_STEP="node $d/proxyless-step.mjs" \
  WGNAS_IMAGENET_BENCH="node $d/imagenet-folder.mjs"
