// Training-mode batch norm over (N, H, W) per channel of an NCHW tensor, biased variance.
// Statistics are numerically careful in f32: each workgroup takes one chunk of one channel and
// does two passes over it (chunk mean, then sum of squared deviations), and the chunks are merged
// with Chan's parallel formula. The backward reduces sum(dy) and sum(dy * xhat) the same way.
//   forward:  stats_partial (grid S x C) -> merge_apply (per plane)
//             or, when one workgroup holds a channel's work (S = 1), channel_forward (grid 1 x C)
//   backward: bwd_partial (grid S x C)   -> bwd_merge_apply (per plane)
//             or, for S = 1, channel_backward (grid 1 x C)
//   eval:     apply (per plane) with given statistics
//   relu6(batch norm) (the MBConv pair, affine bit 3): the forward entries clamp what they store;
//   the backward masks dy where the clamp was active, the mask rebuilt from x with the forward's
//   own f32 operations (so bit for bit relu6Backward then the plain backward): bwd_partial_relu6 or
//   channel_backward_relu6 (which read beta), and bwd_merge_apply.
// Dispatches, not arithmetic, bound small layers on a big GPU, so there is no separate merge pass:
// every per-plane workgroup merges its channel's S partials itself (S <= 256, a uniform loop), and
// the plane of image 0 stores what later ops read (saved mean/invStd; dgamma/dbeta). The merge and the
// per-element math are shared functions, so the f32 operations and their order are the same on
// every path (S = 1 or not): results are bit-identical to a separate merge kernel.
// No integer division per element (CPU backends scalarise it): chunk walkers step their (n, hw)
// position incrementally, and per-plane workgroups take one (n, c) plane, so the per-channel
// values are uniform. Plane grids fold over x and y (gpu.grid1d).
// WG, the workgroup width, is an override the host sets per entry (src/kernels/batchnorm.ts): 64 on
// software adapters, wider on GPUs, whose few per-channel workgroups otherwise leave it idle. It sets
// the statistics' summation order (strided per-thread sums, then the tree), so the bits depend on it;
// the per-plane entries' results do not (each element on its own, the merge per thread).
// Wider than 64 (GPUs), each thread's statistics loops also keep 4 loads in flight: 4 independent
// accumulators (elements j, j + WG, j + 2 WG, j + 3 WG of each round), summed (a + b) + (c + d), the
// rest after them. A sum's loop-carried add otherwise waits for each load in turn (an L2 round trip,
// ~0.15 us), which bound these kernels on an H100 (docs/results.md). Width 64 keeps the one
// accumulator: software adapters' bits and timings as before. The per-element passes (apply, dx)
// carry nothing from one element to the next, so a compiler overlaps their loads unaided.

struct Params {
  C: u32, HW: u32, S: u32, count: u32,   // count = N * HW
  chunk: u32, eps: f32, affine: u32, total: u32,  // affine: bit 0 gamma, bit 1 beta, bit 2 residual, bit 3 relu6; total = N*C*HW
}

@group(0) @binding(0) var<uniform> p: Params;

override WG: u32 = 64u;
//#include "workgroup_reduce.wgsl"
//#include "relu_nan.wgsl"

// The batch norm's value of one element, (x - mean) k + b: what the forward stores (before the
// residual or the clamp) and what the relu6 backward rebuilds its mask from.
fn bnValue(x: f32, mean: f32, kb: vec2<f32>) -> f32 {
  return fma(x - mean, kb.x, kb.y);
}

// relu6Backward's gate on the batch norm's value v (activation.wgsl relu6_bwd).
fn relu6Gate(dy: f32, v: f32) -> f32 {
  return select(0.0, dy, v > 0.0 && v < 6.0);
}

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

// Elements [j0, j1) of chunk s of a channel (empty past the end): the partial kernels' work.
fn chunkBounds(s: u32) -> vec2<u32> {
  let j0 = min(s * p.chunk, p.count);
  return vec2(j0, min(j0 + p.chunk, p.count));
}

// Where chunk s of channel c keeps its pair of partials in part ([C][S][2]).
fn partAt(c: u32, s: u32) -> u32 {
  return (c * p.S + s) * 2u;
}

// The plane index of a per-plane workgroup (grid folded over x and y).
fn planeOf(wg: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wg.x + wg.y * nwg.x;
}

// ---- forward ---------------------------------------------------------------------------------
// Bindings shared across the forward entries (an entry binds only what it uses):
//   1 y | part (stats_partial), 2 x, 3 mean, 4 invStd, 5 gamma, 6 beta, 7 residual (x when there
//   is none: read-only, never read), 8 part (merge_apply).
@group(0) @binding(1) var<storage, read_write> fw_y: array<f32>;
@group(0) @binding(2) var<storage, read> fw_x: array<f32>;
@group(0) @binding(5) var<storage, read> fw_gamma: array<f32>;
@group(0) @binding(6) var<storage, read> fw_beta: array<f32>;
@group(0) @binding(7) var<storage, read> fw_res: array<f32>;

// y[i] = (x[i] - mean) k + b, plus residual[i] when affine bit 2 is set: a node sum's add folded
// into the batch norm that feeds it (the same two roundings as the add after it); relu6 of it when
// bit 3 is (activation.wgsl's relu6: NaN passes through).
fn storeY(i: u32, mean: f32, kb: vec2<f32>) {
  let v = bnValue(fw_x[i], mean, kb);
  if ((p.affine & 4u) != 0u) {
    fw_y[i] = v + fw_res[i];
  } else if ((p.affine & 8u) != 0u) {
    fw_y[i] = select(clamp(v, 0.0, 6.0), v, isNan(v));
  } else {
    fw_y[i] = v;
  }
}

// Mean and M2 (sum of squared deviations) of elements [j0, j1) of channel c; every thread of
// the workgroup calls it and gets the result.
fn chunkMoments(c: u32, j0: u32, j1: u32, lid: u32) -> vec2<f32> {
  let start = walker(c, j0 + lid);
  var acc = 0.0;
  var w = start;
  var j = j0 + lid;
  if (WG > 64u) {
    var a4 = vec4(0.0);
    for (; j + 3u * WG < j1; j += 4u * WG) {
      let w1 = step(w);
      let w2 = step(w1);
      let w3 = step(w2);
      a4 += vec4(fw_x[w.idx], fw_x[w1.idx], fw_x[w2.idx], fw_x[w3.idx]);
      w = step(w3);
    }
    acc = (a4.x + a4.y) + (a4.z + a4.w);
  }
  for (; j < j1; j += WG) {
    acc += fw_x[w.idx];
    w = step(w);
  }
  let cnt = f32(j1 - j0);
  let mean = wgSum(lid, acc) / max(cnt, 1.0);
  var sq = 0.0;
  w = start;
  j = j0 + lid;
  if (WG > 64u) {
    var s4 = vec4(0.0);
    for (; j + 3u * WG < j1; j += 4u * WG) {
      let w1 = step(w);
      let w2 = step(w1);
      let w3 = step(w2);
      let d = vec4(fw_x[w.idx], fw_x[w1.idx], fw_x[w2.idx], fw_x[w3.idx]) - mean;
      s4 = fma(d, d, s4);
      w = step(w3);
    }
    sq = (s4.x + s4.y) + (s4.z + s4.w);
  }
  for (; j < j1; j += WG) {
    let d = fw_x[w.idx] - mean;
    sq = fma(d, d, sq);
    w = step(w);
  }
  return vec2(mean, wgSum(lid, sq));
}

// Chan's merge of running (n, mean, M2) with a chunk of nb elements, mean mb and M2 m2b.
struct Moments { n: f32, mean: f32, m2: f32 }

fn chanMerge(a: Moments, mb: f32, m2b: f32, nb: f32) -> Moments {
  // The first chunk is taken as is, with no division: IEEE gives the same (mb * (nb / nb) = mb), but
  // a driver may fold the one-kernel plan's literal zero and not the per-plane merge's runtime one,
  // and Vulkan allows division 2.5 ulp: the S = 1 plans' bits must not depend on that.
  if (a.n == 0.0) {
    return Moments(nb, mb, m2b);
  }
  let tot = a.n + nb;
  let delta = mb - a.mean;
  var r = a;
  r.mean += delta * (nb / tot);
  r.m2 += m2b + delta * delta * (a.n * nb / tot);
  r.n = tot;
  return r;
}

// (mean, invStd) of merged moments.
fn meanInvStd(a: Moments) -> vec2<f32> {
  return vec2(a.mean, inverseSqrt(a.m2 / max(a.n, 1.0) + p.eps));
}

// (scale, offset) of channel c: y = (x - mean) * scale + offset.
fn affineOf(c: u32, invStd: f32) -> vec2<f32> {
  var k = invStd;
  var b = 0.0;
  if ((p.affine & 1u) != 0u) { k *= fw_gamma[c]; }
  if ((p.affine & 2u) != 0u) { b = fw_beta[c]; }
  return vec2(k, b);
}

// Normalises one (n, c) plane; called with uniform per-channel values.
fn applyPlane(plane: u32, mean: f32, kb: vec2<f32>, lid: u32) {
  let base = plane * p.HW;
  // (x - mean) first: folding mean into the offset would cancel badly for large means.
  for (var i = lid; i < p.HW; i += WG) { storeY(base + i, mean, kb); }
}

@group(0) @binding(1) var<storage, read_write> sp_part: array<f32>;  // [C][S][mean, M2]

@compute @workgroup_size(WG)
fn stats_partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let s = wg.x;
  let c = wg.y;
  let j = chunkBounds(s);
  let mv = chunkMoments(c, j.x, j.y, lid);
  if (lid == 0u) {
    sp_part[partAt(c, s)] = mv.x;
    sp_part[partAt(c, s) + 1u] = mv.y;
  }
}

@group(0) @binding(3) var<storage, read_write> st_mean: array<f32>;
@group(0) @binding(4) var<storage, read_write> st_invstd: array<f32>;
@group(0) @binding(8) var<storage, read> ma_part: array<f32>;

// stats_partial's partials of channel c merged in chunk order (empty chunks skipped).
fn mergedStats(c: u32) -> vec2<f32> {
  var a = Moments(0.0, 0.0, 0.0);
  for (var s = 0u; s < p.S; s++) {
    let j = chunkBounds(s);
    let nb = f32(j.y - j.x);
    if (nb == 0.0) { continue; }
    a = chanMerge(a, ma_part[partAt(c, s)], ma_part[partAt(c, s) + 1u], nb);
  }
  return meanInvStd(a);
}

// One workgroup per plane. Every thread merges the channel's partials itself (the same loads and
// arithmetic in every lane: no workgroup memory, no barrier); image 0's plane saves the result.
@compute @workgroup_size(WG)
fn merge_apply(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let plane = planeOf(wg, nwg);
  if (plane >= p.total / p.HW) { return; }
  let c = plane % p.C;
  let st = mergedStats(c);
  if (plane < p.C && lid == 0u) {
    st_mean[c] = st.x;
    st_invstd[c] = st.y;
  }
  applyPlane(plane, st.x, affineOf(c, st.y), lid);
}

// S = 1: one workgroup per channel computes its moments, the (one-chunk) merge and the output.
@compute @workgroup_size(WG)
fn channel_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wg.y;
  let mv = chunkMoments(c, 0u, p.count, lid);
  let st = meanInvStd(chanMerge(Moments(0.0, 0.0, 0.0), mv.x, mv.y, f32(p.count)));
  if (lid == 0u) {
    st_mean[c] = st.x;
    st_invstd[c] = st.y;
  }
  let kb = affineOf(c, st.y);
  var w = walker(c, lid);
  for (var j = lid; j < p.count; j += WG) {
    storeY(w.idx, st.x, kb);
    w = step(w);
  }
}

@group(0) @binding(3) var<storage, read> ap_mean: array<f32>;
@group(0) @binding(4) var<storage, read> ap_invstd: array<f32>;

// Eval mode: the given statistics (running averages), one workgroup per plane.
@compute @workgroup_size(WG)
fn apply(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let plane = planeOf(wg, nwg);
  if (plane >= p.total / p.HW) { return; }
  let c = plane % p.C;
  applyPlane(plane, ap_mean[c], affineOf(c, ap_invstd[c]), lid);
}

// ---- backward --------------------------------------------------------------------------------
// Bindings shared across the backward entries: 1 part | dx, 2 dy, 3 x, then per entry.
@group(0) @binding(1) var<storage, read_write> bw_dx: array<f32>;
@group(0) @binding(2) var<storage, read> bw_dy: array<f32>;
@group(0) @binding(3) var<storage, read> bw_x: array<f32>;
@group(0) @binding(4) var<storage, read> bw_mean: array<f32>;    // bwd_partial, channel_backward
@group(0) @binding(5) var<storage, read> bw_invstd: array<f32>;  // bwd_partial, channel_backward
@group(0) @binding(6) var<storage, read> bw_gamma: array<f32>;   // bwd_partial, channel_backward

// dy[i], gated by relu6 of the batch norm's value when affine bit 3 is set (kb: the forward's
// scale and offset, see affineOf).
fn gradAt(i: u32, mean: f32, kb: vec2<f32>) -> f32 {
  let g = bw_dy[i];
  if ((p.affine & 8u) == 0u) { return g; }
  return relu6Gate(g, bnValue(bw_x[i], mean, kb));
}

// sum(dy) and sum(dy * xhat) over elements [j0, j1) of channel c, for every thread.
fn chunkSums(c: u32, j0: u32, j1: u32, lid: u32, kb: vec2<f32>) -> vec2<f32> {
  let mean = bw_mean[c];
  let inv = bw_invstd[c];
  var sdy = 0.0;
  var sdyx = 0.0;
  var w = walker(c, j0 + lid);
  var j = j0 + lid;
  if (WG > 64u) {
    var a4 = vec4(0.0);
    var b4 = vec4(0.0);
    for (; j + 3u * WG < j1; j += 4u * WG) {
      let w1 = step(w);
      let w2 = step(w1);
      let w3 = step(w2);
      let g = vec4(gradAt(w.idx, mean, kb), gradAt(w1.idx, mean, kb), gradAt(w2.idx, mean, kb), gradAt(w3.idx, mean, kb));
      let xh = (vec4(bw_x[w.idx], bw_x[w1.idx], bw_x[w2.idx], bw_x[w3.idx]) - mean) * inv;
      a4 += g;
      b4 = fma(g, xh, b4);
      w = step(w3);
    }
    sdy = (a4.x + a4.y) + (a4.z + a4.w);
    sdyx = (b4.x + b4.y) + (b4.z + b4.w);
  }
  for (; j < j1; j += WG) {
    let g = gradAt(w.idx, mean, kb);
    sdy += g;
    sdyx = fma(g, (bw_x[w.idx] - mean) * inv, sdyx);
    w = step(w);
  }
  let a = wgSum(lid, sdy);
  let b = wgSum(lid, sdyx);
  return vec2(a, b);
}

fn gammaOf(c: u32) -> f32 {
  return select(1.0, bw_gamma[c], (p.affine & 1u) != 0u);
}

// The forward's (scale, offset) of channel c (affineOf's f32 operations: inv * gamma, or inv; beta or 0).
fn fwdAffine(inv: f32, g: f32, b: f32) -> vec2<f32> {
  var k = inv;
  if ((p.affine & 1u) != 0u) { k *= g; }
  return vec2(k, select(0.0, b, (p.affine & 2u) != 0u));
}

// dx = k (dy - mdy - (x - mean) q) per channel: (k, mdy, q, mean) from the merged sums.
fn bwdCoef(sdy: f32, sdyx: f32, mean: f32, inv: f32, g: f32) -> vec4<f32> {
  let m = f32(p.count);
  return vec4(g * inv, sdy / m, inv * sdyx / m, mean);
}

fn bwdElem(i: u32, coef: vec4<f32>, kb: vec2<f32>) {
  bw_dx[i] = coef.x * (gradAt(i, coef.w, kb) - coef.y - (bw_x[i] - coef.w) * coef.z);
}

// part: [C][S][sum dy, sum dy*xhat], then [C][mean, invStd, gamma or 1, beta or 0] for
// bwd_merge_apply, which has no binding left for them (8 storage buffers at most).
@group(0) @binding(1) var<storage, read_write> bp_part: array<f32>;

fn bwdPartial(s: u32, c: u32, lid: u32, beta: f32) {
  let j = chunkBounds(s);
  let kb = fwdAffine(bw_invstd[c], gammaOf(c), beta);
  let ab = chunkSums(c, j.x, j.y, lid, kb);
  if (lid == 0u) {
    bp_part[partAt(c, s)] = ab.x;
    bp_part[partAt(c, s) + 1u] = ab.y;
    if (s == 0u) {
      let h = 2u * p.C * p.S + 4u * c;
      bp_part[h] = bw_mean[c];
      bp_part[h + 1u] = bw_invstd[c];
      bp_part[h + 2u] = gammaOf(c);
      bp_part[h + 3u] = beta;
    }
  }
}

@compute @workgroup_size(WG)
fn bwd_partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  bwdPartial(wg.x, wg.y, lid, 0.0);
}

@group(0) @binding(7) var<storage, read> bp_beta: array<f32>;

// relu6(batch norm)'s backward: beta for the mask (binding 7; x when affine has no beta, never read).
@compute @workgroup_size(WG)
fn bwd_partial_relu6(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wg.y;
  bwdPartial(wg.x, c, lid, select(0.0, bp_beta[c], (p.affine & 2u) != 0u));
}

@group(0) @binding(4) var<storage, read> ba_part: array<f32>;
@group(0) @binding(5) var<storage, read_write> ba_dgamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> ba_dbeta: array<f32>;

// One workgroup per plane; every thread sums the channel's partials itself (as merge_apply
// does); image 0's plane saves dgamma/dbeta.
@compute @workgroup_size(WG)
fn bwd_merge_apply(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let plane = planeOf(wg, nwg);
  if (plane >= p.total / p.HW) { return; }
  let c = plane % p.C;
  var sdy = 0.0;
  var sdyx = 0.0;
  for (var s = 0u; s < p.S; s++) {
    sdy += ba_part[partAt(c, s)];
    sdyx += ba_part[partAt(c, s) + 1u];
  }
  if (plane < p.C && lid == 0u) {
    ba_dbeta[c] = sdy;
    ba_dgamma[c] = sdyx;
  }
  let h = 2u * p.C * p.S + 4u * c;
  let coef = bwdCoef(sdy, sdyx, ba_part[h], ba_part[h + 1u], ba_part[h + 2u]);
  let kb = fwdAffine(ba_part[h + 1u], ba_part[h + 2u], ba_part[h + 3u]);
  let base = plane * p.HW;
  for (var i = lid; i < p.HW; i += WG) { bwdElem(base + i, coef, kb); }
}

@group(0) @binding(7) var<storage, read_write> cb_dgamma: array<f32>;
@group(0) @binding(8) var<storage, read_write> cb_dbeta: array<f32>;

// S = 1: one workgroup per channel sums dy and dy * xhat, then writes dx, dgamma and dbeta.
fn channelBackward(c: u32, lid: u32, beta: f32) {
  let kb = fwdAffine(bw_invstd[c], gammaOf(c), beta);
  let ab = chunkSums(c, 0u, p.count, lid, kb);
  // The one-chunk merge, as bwd_merge_apply sums it.
  var sdy = 0.0;
  var sdyx = 0.0;
  sdy += ab.x;
  sdyx += ab.y;
  if (lid == 0u) {
    cb_dbeta[c] = sdy;
    cb_dgamma[c] = sdyx;
  }
  let coef = bwdCoef(sdy, sdyx, bw_mean[c], bw_invstd[c], gammaOf(c));
  var w = walker(c, lid);
  for (var j = lid; j < p.count; j += WG) {
    bwdElem(w.idx, coef, kb);
    w = step(w);
  }
}

@compute @workgroup_size(WG)
fn channel_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  channelBackward(wg.y, lid, 0.0);
}

// relu6(batch norm)'s backward in one kernel: 9 storage buffers (beta at 9; x when there is none,
// never read), where the device allows them.
@group(0) @binding(9) var<storage, read> cb_beta: array<f32>;

@compute @workgroup_size(WG)
fn channel_backward_relu6(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wg.y;
  channelBackward(c, lid, select(0.0, cb_beta[c], (p.affine & 2u) != 0u));
}
