// Parameter initialisation on the GPU: y[i] = the i-th value of src/util/rng.ts's Rng.uniforms
// (mulberry32 from generator state `state`), bit for bit, so a network's weights are drawn where
// they live instead of in a JS loop plus an upload.
//
// Rng.uniforms computes ((u / 2^32) * 2 - 1) * scale in f64 (scale an f64) and stores it as f32:
// two roundings, which f32 arithmetic cannot reproduce. Here the same value is formed exactly in
// integers: (u / 2^32) * 2 - 1 = +-h / 2^31 with h = |u - 2^31| (exact), and scale = M 2^E with
// M its 53-bit significand (sent as two u32s), so the f64 product is h M 2^(E - 31) rounded to 53
// significant bits (ties to even), then to 24 bits for f32. The host sends only scales whose
// results are normal f32s (src/kernels/random.ts), so the exponent is built directly.

struct Params {
  n: u32,
  state: u32,
  mLo: u32,  // scale's significand, low 32 bits
  mHi: u32,  // its high 21 bits, implicit 1 included
  exp: i32,  // scale = M 2^exp
  _a: u32,
  _b: u32,
  _c: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

const WG: u32 = 256u;

//#include "random_common.wgsl"

@compute @workgroup_size(WG)
fn uniform_fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  y[i] = uniformValue(p.state, i, p.mLo, p.mHi, p.exp);
}
