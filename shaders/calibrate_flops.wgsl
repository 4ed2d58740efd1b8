// Peak-compute calibration: each thread runs CHAINS independent vec4 FMA recurrences
// acc = acc * m + k for p.iters steps (ILP hides FMA latency; m, k come from the uniform so the
// compiler cannot fold the loop), then writes the sum of its lanes. FLOPs = n * iters * CHAINS * 4 * 2.
// With 0 < m < 1 the recurrence contracts towards k / (1 - m), so f32 rounding stays bounded and a
// CPU reference can check every thread really did the work.

struct Params { n: u32, iters: u32, m: f32, k: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let x = X[i];
  let m = vec4<f32>(p.m);
  let k = vec4<f32>(p.k);
  // Lane/chain offsets make the 16 recurrences distinct.
  var a0 = vec4<f32>(x, x + 0.25, x + 0.5, x + 0.75);
  var a1 = a0 + vec4<f32>(1.0);
  var a2 = a0 + vec4<f32>(2.0);
  var a3 = a0 + vec4<f32>(3.0);
  for (var t = 0u; t < p.iters; t++) {
    a0 = fma(a0, m, k);
    a1 = fma(a1, m, k);
    a2 = fma(a2, m, k);
    a3 = fma(a3, m, k);
  }
  Y[i] = dot(a0 + a1 + a2 + a3, vec4<f32>(1.0));
}
