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
  let r = adamElem(w[i], g[i], s1[i], s2[i], p.lr, p.wd, p.c0, p.c1, p.c2, p.c3);
  s1[i] = r.y;
  s2[i] = r.z;
  w[i] = r.x;
}

// adam_rows: Adam on the rows of flat tensors (AlphaAdam's α blocks), each with its own bias
// corrections: rows[r] = (start, end, lr / bc1 bits, sqrt(bc2) bits); flag = row count; elements
// in no row are left alone. c0 = beta1, c1 = beta2, c2 = eps.
@group(0) @binding(5) var<storage, read> rows: array<vec4<u32>>;

@compute @workgroup_size(WG)
fn adam_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  for (var k = 0u; k < p.flag; k++) {
    let row = rows[k];
    if (i >= row.x && i < row.y) {
      let r = adamElem(w[i], g[i], s1[i], s2[i], bitcast<f32>(row.z), p.wd, p.c0, p.c1, p.c2, bitcast<f32>(row.w));
      s1[i] = r.y;
      s2[i] = r.z;
      w[i] = r.x;
      return;
    }
  }
}
