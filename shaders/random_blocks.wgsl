// uniformFillBlocks: y as equal blocks, block b holding Rng.uniforms(block / stride, scale) from its
// own generator state at every stride-th element from offset (zeros between), or zeros: G stacked
// networks' weights drawn straight into one tensor, each network's block with the values its own
// network draws (src/nn/nb201-stacked.ts; a 1x1 kernel sits in a 3x3 one's centre: stride 9, offset 4).
struct Params { n: u32, block: u32, _a: u32, _b: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
// Per block, 8 words: state, 1 to draw (0: zeros), stride, offset, mLo, mHi, exp (i32 bits), unused.
@group(0) @binding(2) var<storage, read> blocks: array<u32>;

//#include "random_common.wgsl"

const WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let b = i / p.block;
  let m = 8u * b;
  let j = i - b * p.block;
  let stride = blocks[m + 2u];
  if (blocks[m + 1u] == 0u || j % stride != blocks[m + 3u]) {
    y[i] = 0.0;
    return;
  }
  y[i] = uniformValue(blocks[m], j / stride, blocks[m + 4u], blocks[m + 5u], bitcast<i32>(blocks[m + 6u]));
}
