// ReLU and ReLU6 with their backward passes (gradient gated on the forward input x).
// 1-D grids fold over x and y (gpu.grid1d): idx = gid.x + gid.y * nwg.x * WG.

struct Params { n: u32, _a: u32, _b: u32, _c: u32 }

@group(0) @binding(0) var<uniform> p: Params;

const WG: u32 = 256u;

//#include "relu_nan.wgsl"

@group(0) @binding(1) var<storage, read_write> f_out: array<f32>;
@group(0) @binding(2) var<storage, read> f_x: array<f32>;

@compute @workgroup_size(WG)
fn relu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  f_out[i] = reluNaN(f_x[i]);
}

@compute @workgroup_size(WG)
fn relu6(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let x = f_x[i];
  f_out[i] = select(clamp(x, 0.0, 6.0), x, isNan(x));
}

@group(0) @binding(1) var<storage, read_write> b_dx: array<f32>;
@group(0) @binding(2) var<storage, read> b_dy: array<f32>;
@group(0) @binding(3) var<storage, read> b_x: array<f32>;

// dx = dy * (x > 0), matching PyTorch (zero gradient at x == 0).
@compute @workgroup_size(WG)
fn relu_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  b_dx[i] = select(0.0, b_dy[i], b_x[i] > 0.0);
}

// dx = dy * (0 < x < 6), matching PyTorch's hardtanh backward.
@compute @workgroup_size(WG)
fn relu6_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let x = b_x[i];
  b_dx[i] = select(0.0, b_dy[i], x > 0.0 && x < 6.0);
}
