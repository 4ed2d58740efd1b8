// f32 -> f16 (round to nearest even), two values per u32 in little-endian order: element 2i in the
// low half, 2i + 1 in the high half, which is how an array<f16> (shader-f16) reads the same bytes.
// pack2x16float is core WGSL, so the cast itself needs no f16 feature; n odd pads the last half
// with 0.

struct Params { n: u32, _a: u32, _b: u32, _c: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> Y: array<u32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (2u * i >= p.n) { return; }
  let hi = select(0.0, X[min(2u * i + 1u, p.n - 1u)], 2u * i + 1u < p.n);
  Y[i] = pack2x16float(vec2<f32>(X[2u * i], hi));
}
