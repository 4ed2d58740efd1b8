// Small element-wise kernels used by the zero-cost proxies.
//   accumulate_abs: K += weight * |C|    (WRCor: sums |correlation| matrices over ReLUs)
//   sign_codes:     S = x > 0 ? 1 : -1   (NASWOT: binary activation codes as +-1, so S S^T = D - 2*Hamming)

struct Params { n: u32, weight: f32, _a: u32, _b: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;

const WG: u32 = 256u;

@compute @workgroup_size(WG)
fn accumulate_abs(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  dst[i] += p.weight * abs(src[i]);
}

@compute @workgroup_size(WG)
fn sign_codes(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  dst[i] = select(-1.0, 1.0, src[i] > 0.0);
}
