// Gate gradients of ProxylessNAS binarized paths: dL/dg_j = sum(o_j * dL/dy), a plain dot product.
// Two passes (WGSL has no float atomics):
//   dot_partial: workgroup w reduces a grid-strided slice of a*b into partials[w]
//   dot_final:   one workgroup sums a[0..parts) (the partials) into b[p.index] * scale; many gates
//                share one output buffer, so a whole step's gate gradients come back in one read.
// Both entries bind the same variables (auto layouts), hence `b` is read_write in both.

struct Params { n: u32, parts: u32, index: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;

override WG: u32 = 256u;
//#include "workgroup_reduce.wgsl"

@compute @workgroup_size(WG)
fn dot_partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  var s = 0.0;
  let stride = p.parts * WG;
  for (var i = wg.x * WG + lid.x; i < p.n; i += stride) { s = fma(a[i], b[i], s); }
  let total = wgSum(lid.x, s);
  if (lid.x == 0u) { partials[wg.x] = total; }
}

@compute @workgroup_size(WG)
fn dot_final(@builtin(local_invocation_id) lid: vec3<u32>) {
  var s = 0.0;
  for (var i = lid.x; i < p.parts; i += WG) { s += a[i]; }
  let total = wgSum(lid.x, s);
  if (lid.x == 0u) { b[p.index] = p.scale * total; }
}
