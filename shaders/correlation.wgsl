// Batched per-sample Pearson correlation. Input X is B x N x D (N samples of D features per batch
// entry); the correlation matrix is Z Z^T with Z the centred, unit-norm rows. row_stats gives each
// row's mean and scale to the symmetric Gram program, which normalises rows as it loads them;
// normalize_rows turns X into Z in place for the Gram product on the matmul (N > 64, or the A/B
// path). set_diag fixes the diagonal to exactly 1. A constant row has no defined correlation: its
// Z row is 0, so it correlates 0 with every other row.

struct Params { rows: u32, D: u32, N: u32, B: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;

override WG: u32 = 256u;
//#include "workgroup_reduce.wgsl"

// The mean of row `base` (D elements) and the scale of its deviations: 1 / their norm, 0 for a
// constant row. Every thread of the row's workgroup calls it (wgSum's barriers) and gets both.
fn row_mean_scale(base: u32, tid: u32) -> vec2<f32> {
  var s = 0.0;
  for (var i = tid; i < p.D; i += WG) { s += Y[base + i]; }
  let mean = wgSum(tid, s) / f32(p.D);
  var ss = 0.0;
  var raw = 0.0;
  for (var i = tid; i < p.D; i += WG) {
    let x = Y[base + i];
    let d = x - mean;
    ss += d * d;
    raw += x * x;
  }
  let css = wgSum(tid, ss);
  let rss = wgSum(tid, raw);
  // Relative threshold: a constant row leaves only rounding noise in css.
  var scale = 0.0;
  if (css > 1e-10 * rss && css > 0.0) { scale = inverseSqrt(css); }
  return vec2<f32>(mean, scale);
}

@compute @workgroup_size(WG)
fn normalize_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wg.x + wg.y * nwg.x;
  if (row >= p.rows) { return; }  // uniform per workgroup, so barriers stay uniform
  let tid = lid.x;
  let base = row * p.D;
  let ms = row_mean_scale(base, tid);
  // Each element is read and written by the same thread, so the overwrite needs no barrier.
  for (var i = tid; i < p.D; i += WG) { Y[base + i] = (Y[base + i] - ms.x) * ms.y; }
}

// row_stats: each row's (mean, scale) as normalize_rows computes them, for a kernel that
// normalises the rows as it reads them (the symmetric Gram program): Y is left as it is.
@group(0) @binding(2) var<storage, read_write> stats: array<vec2<f32>>;

@compute @workgroup_size(WG)
fn row_stats(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wg.x + wg.y * nwg.x;
  if (row >= p.rows) { return; }
  let ms = row_mean_scale(row * p.D, lid.x);
  if (lid.x == 0u) { stats[row] = ms; }
}

@group(0) @binding(1) var<storage, read_write> Cm: array<f32>;

@compute @workgroup_size(64)
fn set_diag(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.B * p.N) { return; }
  let b = i / p.N;
  let n = i % p.N;
  Cm[b * p.N * p.N + n * p.N + n] = 1.0;
}
