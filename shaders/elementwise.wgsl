// Element-wise kernels on flat f32 arrays (shapes are checked on the host). 1-D grids fold over
// x and y (gpu.grid1d): idx = gid.x + gid.y * nwg.x * WG. Each entry declares only the buffers it
// binds, so the auto layout matches the host's buffer list.

struct Params { n: u32, cols: u32, s: f32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;

const WG: u32 = 256u;

fn flatIndex(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// ---- out = f(a, b) ---------------------------------------------------------------------------
@group(0) @binding(1) var<storage, read_write> bin_out: array<f32>;
@group(0) @binding(2) var<storage, read> bin_a: array<f32>;
@group(0) @binding(3) var<storage, read> bin_b: array<f32>;

@compute @workgroup_size(WG)
fn add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flatIndex(gid, nwg);
  if (i >= p.n) { return; }
  bin_out[i] = bin_a[i] + bin_b[i];
}

@compute @workgroup_size(WG)
fn mul(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flatIndex(gid, nwg);
  if (i >= p.n) { return; }
  bin_out[i] = bin_a[i] * bin_b[i];
}

// ---- out = f(a) ------------------------------------------------------------------------------
@group(0) @binding(1) var<storage, read_write> un_out: array<f32>;
@group(0) @binding(2) var<storage, read> un_a: array<f32>;

@compute @workgroup_size(WG)
fn scale(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flatIndex(gid, nwg);
  if (i >= p.n) { return; }
  un_out[i] = p.s * un_a[i];
}

@compute @workgroup_size(WG)
fn abs_value(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flatIndex(gid, nwg);
  if (i >= p.n) { return; }
  un_out[i] = abs(un_a[i]);
}

// ---- in place: y += s * x; y[r, c] += b[c] ------------------------------------------------------
@group(0) @binding(1) var<storage, read_write> ip_y: array<f32>;
@group(0) @binding(2) var<storage, read> ip_x: array<f32>;

@compute @workgroup_size(WG)
fn axpy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flatIndex(gid, nwg);
  if (i >= p.n) { return; }
  ip_y[i] = fma(p.s, ip_x[i], ip_y[i]);
}

// Row-broadcast bias: y is [n / cols, cols], b is [cols].
@compute @workgroup_size(WG)
fn add_bias(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flatIndex(gid, nwg);
  if (i >= p.n) { return; }
  ip_y[i] += ip_x[i % p.cols];
}

// ---- in place on one buffer --------------------------------------------------------------------
@group(0) @binding(1) var<storage, read_write> self_t: array<f32>;

// y *= s: axpy(y, y, alpha) cannot bind one buffer as both read_write and read.
@compute @workgroup_size(WG)
fn scale_self(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flatIndex(gid, nwg);
  if (i >= p.n) { return; }
  self_t[i] = p.s * self_t[i];
}

@compute @workgroup_size(WG)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flatIndex(gid, nwg);
  if (i >= p.n) { return; }
  self_t[i] = p.s;
}

// ---- channel-masked sum: out = (acc or 0) + mask[c] * x, x [N, C, inner] -------------------------
struct MaskedParams { n: u32, channels: u32, inner: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> mp: MaskedParams;
@group(0) @binding(1) var<storage, read_write> mk_out: array<f32>;
@group(0) @binding(2) var<storage, read> mk_x: array<f32>;
@group(0) @binding(3) var<storage, read> mk_mask: array<f32>;
@group(0) @binding(4) var<storage, read> mk_acc: array<f32>;

@compute @workgroup_size(WG)
fn masked_add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flatIndex(gid, nwg);
  if (i >= mp.n) { return; }
  mk_out[i] = fma(mk_mask[(i / mp.inner) % mp.channels], mk_x[i], mk_acc[i]);
}

@compute @workgroup_size(WG)
fn masked_scale(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flatIndex(gid, nwg);
  if (i >= mp.n) { return; }
  mk_out[i] = mk_mask[(i / mp.inner) % mp.channels] * mk_x[i];
}
