// Training-mode batch norm over (N, H, W) per channel of an NCHW tensor, biased variance.
// Statistics are numerically careful in f32: each workgroup takes one chunk of one channel and
// does two passes over it (chunk mean, then sum of squared deviations), and the chunks are merged
// with Chan's parallel formula. The backward reduces sum(dy) and sum(dy * xhat) the same way.
//   forward:  stats_partial (grid S x C) -> stats_merge (per channel) -> apply (per plane)
//   backward: bwd_partial (grid S x C)   -> bwd_merge (per channel)   -> bwd_apply (per plane)
// No integer division per element (CPU backends scalarise it): chunk walkers step their (n, hw)
// position incrementally, and apply/bwd_apply give each workgroup one (n, c) plane, so the
// per-channel values are uniform loads. Plane grids fold over x and y (gpu.grid1d).

struct Params {
  C: u32, HW: u32, S: u32, count: u32,   // count = N * HW
  chunk: u32, eps: f32, affine: u32, total: u32,  // affine: bit 0 gamma, bit 1 beta; total = N*C*HW
}

@group(0) @binding(0) var<uniform> p: Params;

const WG: u32 = 64u;
//#include "workgroup_reduce.wgsl"

// Walks the j-th, (j + WG)-th, ... elements (over N and HW) of channel c without division:
// idx is the flat NCHW index, hw the position within the image.
struct Walker { idx: u32, hw: u32, dIdx: u32, dHw: u32 }

fn walker(c: u32, j: u32) -> Walker {
  let n = j / p.HW;
  let hw = j - n * p.HW;
  let dn = WG / p.HW;
  let dHw = WG - dn * p.HW;
  return Walker((n * p.C + c) * p.HW + hw, hw, dn * p.C * p.HW + dHw, dHw);
}

fn step(w: Walker) -> Walker {
  var r = w;
  r.idx += w.dIdx;
  r.hw += w.dHw;
  if (r.hw >= p.HW) {
    r.hw -= p.HW;
    r.idx += (p.C - 1u) * p.HW;  // into the next image's plane of this channel
  }
  return r;
}

// ---- forward ---------------------------------------------------------------------------------
@group(0) @binding(1) var<storage, read_write> sp_part: array<f32>;  // [C][S][mean, M2]
@group(0) @binding(2) var<storage, read> sp_x: array<f32>;

@compute @workgroup_size(WG)
fn stats_partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let s = wg.x;
  let c = wg.y;
  let j0 = min(s * p.chunk, p.count);
  let j1 = min(j0 + p.chunk, p.count);
  let start = walker(c, j0 + lid);
  var acc = 0.0;
  var w = start;
  for (var j = j0 + lid; j < j1; j += WG) {
    acc += sp_x[w.idx];
    w = step(w);
  }
  let cnt = f32(j1 - j0);
  let mean = wgSum(lid, acc) / max(cnt, 1.0);
  var sq = 0.0;
  w = start;
  for (var j = j0 + lid; j < j1; j += WG) {
    let d = sp_x[w.idx] - mean;
    sq = fma(d, d, sq);
    w = step(w);
  }
  let m2 = wgSum(lid, sq);
  if (lid == 0u) {
    sp_part[(c * p.S + s) * 2u] = mean;
    sp_part[(c * p.S + s) * 2u + 1u] = m2;
  }
}

@group(0) @binding(1) var<storage, read_write> sm_mean: array<f32>;
@group(0) @binding(2) var<storage, read_write> sm_invstd: array<f32>;
@group(0) @binding(3) var<storage, read> sm_part: array<f32>;

@compute @workgroup_size(64)
fn stats_merge(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.C) { return; }
  var n = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
  for (var s = 0u; s < p.S; s++) {
    let j0 = min(s * p.chunk, p.count);
    let nb = f32(min(j0 + p.chunk, p.count) - j0);
    if (nb == 0.0) { continue; }
    let mb = sm_part[(c * p.S + s) * 2u];
    let m2b = sm_part[(c * p.S + s) * 2u + 1u];
    let tot = n + nb;
    let delta = mb - mean;
    mean += delta * (nb / tot);
    m2 += m2b + delta * delta * (n * nb / tot);
    n = tot;
  }
  sm_mean[c] = mean;
  sm_invstd[c] = inverseSqrt(m2 / max(n, 1.0) + p.eps);
}

@group(0) @binding(1) var<storage, read_write> ap_y: array<f32>;
@group(0) @binding(2) var<storage, read> ap_x: array<f32>;
@group(0) @binding(3) var<storage, read> ap_mean: array<f32>;
@group(0) @binding(4) var<storage, read> ap_invstd: array<f32>;
@group(0) @binding(5) var<storage, read> ap_gamma: array<f32>;
@group(0) @binding(6) var<storage, read> ap_beta: array<f32>;

@compute @workgroup_size(64)
fn apply(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let plane = wg.x + wg.y * nwg.x;
  if (plane >= p.total / p.HW) { return; }
  let c = plane % p.C;
  let mean = ap_mean[c];
  var k = ap_invstd[c];
  var b = 0.0;
  if ((p.affine & 1u) != 0u) { k *= ap_gamma[c]; }
  if ((p.affine & 2u) != 0u) { b = ap_beta[c]; }
  let base = plane * p.HW;
  // (x - mean) first: folding mean into the offset would cancel badly for large means.
  for (var i = lid; i < p.HW; i += 64u) { ap_y[base + i] = fma(ap_x[base + i] - mean, k, b); }
}

// ---- backward --------------------------------------------------------------------------------
@group(0) @binding(1) var<storage, read_write> bp_part: array<f32>;  // [C][S][sum dy, sum dy*xhat]
@group(0) @binding(2) var<storage, read> bp_dy: array<f32>;
@group(0) @binding(3) var<storage, read> bp_x: array<f32>;
@group(0) @binding(4) var<storage, read> bp_mean: array<f32>;
@group(0) @binding(5) var<storage, read> bp_invstd: array<f32>;

@compute @workgroup_size(WG)
fn bwd_partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let s = wg.x;
  let c = wg.y;
  let j0 = min(s * p.chunk, p.count);
  let j1 = min(j0 + p.chunk, p.count);
  let mean = bp_mean[c];
  let inv = bp_invstd[c];
  var sdy = 0.0;
  var sdyx = 0.0;
  var w = walker(c, j0 + lid);
  for (var j = j0 + lid; j < j1; j += WG) {
    let g = bp_dy[w.idx];
    sdy += g;
    sdyx = fma(g, (bp_x[w.idx] - mean) * inv, sdyx);
    w = step(w);
  }
  let a = wgSum(lid, sdy);
  let b = wgSum(lid, sdyx);
  if (lid == 0u) {
    bp_part[(c * p.S + s) * 2u] = a;
    bp_part[(c * p.S + s) * 2u + 1u] = b;
  }
}

@group(0) @binding(1) var<storage, read_write> bm_dgamma: array<f32>;
@group(0) @binding(2) var<storage, read_write> bm_dbeta: array<f32>;
@group(0) @binding(3) var<storage, read_write> bm_coef: array<f32>;  // [C][a, dbeta/M, invStd*dgamma/M, mean]
@group(0) @binding(4) var<storage, read> bm_part: array<f32>;
@group(0) @binding(5) var<storage, read> bm_mean: array<f32>;
@group(0) @binding(6) var<storage, read> bm_invstd: array<f32>;
@group(0) @binding(7) var<storage, read> bm_gamma: array<f32>;

@compute @workgroup_size(64)
fn bwd_merge(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.C) { return; }
  var sdy = 0.0;
  var sdyx = 0.0;
  for (var s = 0u; s < p.S; s++) {
    sdy += bm_part[(c * p.S + s) * 2u];
    sdyx += bm_part[(c * p.S + s) * 2u + 1u];
  }
  bm_dbeta[c] = sdy;
  bm_dgamma[c] = sdyx;
  let inv = bm_invstd[c];
  let g = select(1.0, bm_gamma[c], (p.affine & 1u) != 0u);
  let m = f32(p.count);
  bm_coef[c * 4u] = g * inv;
  bm_coef[c * 4u + 1u] = sdy / m;
  bm_coef[c * 4u + 2u] = inv * sdyx / m;
  bm_coef[c * 4u + 3u] = bm_mean[c];
}

@group(0) @binding(1) var<storage, read_write> ba_dx: array<f32>;
@group(0) @binding(2) var<storage, read> ba_dy: array<f32>;
@group(0) @binding(3) var<storage, read> ba_x: array<f32>;
@group(0) @binding(4) var<storage, read> ba_coef: array<f32>;

// dx = gamma * invStd * (dy - mean(dy) - xhat * mean(dy * xhat)), one workgroup per plane.
@compute @workgroup_size(64)
fn bwd_apply(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let plane = wg.x + wg.y * nwg.x;
  if (plane >= p.total / p.HW) { return; }
  let c = plane % p.C;
  let k = ba_coef[c * 4u];
  let mdy = ba_coef[c * 4u + 1u];
  let q = ba_coef[c * 4u + 2u];
  let mean = ba_coef[c * 4u + 3u];
  let base = plane * p.HW;
  for (var i = lid; i < p.HW; i += 64u) {
    ba_dx[base + i] = k * (ba_dy[base + i] - mdy - (ba_x[base + i] - mean) * q);
  }
}
