// uniformFillBlocks: y as equal blocks, block b holding Rng.uniforms(block, scale) from its own
// generator state (or zeros): G stacked networks' weights drawn straight into one tensor, each
// network's block with the values its own network draws (src/nn/nb201-stacked.ts).
struct Params { n: u32, block: u32, mLo: u32, mHi: u32, exp: i32, _a: u32, _b: u32, _c: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
// Per block: its state at 2b, 1 to draw (0: zeros) at 2b + 1.
@group(0) @binding(2) var<storage, read> blocks: array<u32>;

//#include "random_common.wgsl"

const WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let b = i / p.block;
  if (blocks[2u * b + 1u] == 0u) {
    y[i] = 0.0;
    return;
  }
  y[i] = uniformValue(blocks[2u * b], i - b * p.block, p.mLo, p.mHi, p.exp);
}
