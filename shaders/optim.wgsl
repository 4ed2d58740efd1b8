// Element-wise optimizer updates (PyTorch semantics, L2 weight decay added to the gradient).
//   sgd:  d = g + wd*w; buf = momentum*buf + (1 - dampening)*d; d = nesterov ? d + momentum*buf : buf;
//         w -= lr*d
//   adam: d = g + wd*w; m = b1*m + (1-b1)*d; v = b2*v + (1-b2)*d^2;
//         w -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)      (bc_k = 1 - b_k^t, folded on the host)
// One uniform struct serves both entries; c0..c3 mean different things per entry (see the TS side).

struct Params { n: u32, flag: u32, lr: f32, wd: f32, c0: f32, c1: f32, c2: f32, c3: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> s1: array<f32>;
@group(0) @binding(4) var<storage, read_write> s2: array<f32>;

override WG: u32 = 256u;
//#include "optim_common.wgsl"

// sgd: c0 = momentum, c1 = dampening, flag = nesterov
@compute @workgroup_size(WG)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let r = sgdElem(w[i], g[i], s1[i], p.lr, p.wd, p.c0, p.c1, p.flag != 0u);
  s1[i] = r.y;
  w[i] = r.x;
}

// adam: lr = lr / bc1, c0 = beta1, c1 = beta2, c2 = eps, c3 = sqrt(bc2)
@compute @workgroup_size(WG)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let d = g[i] + p.wd * w[i];
  let m = p.c0 * s1[i] + (1.0 - p.c0) * d;
  let v = p.c1 * s2[i] + (1.0 - p.c1) * d * d;
  s1[i] = m;
  s2[i] = v;
  w[i] = w[i] - p.lr * m / (sqrt(v) / p.c3 + p.c2);
}
