// AutoSpace fitness mixing: K candidate cells' outputs o_k are mixed by p = softmax(φ),
// y = Σ_k p_k · o_k. The weight p_k is read from the probs buffer on the GPU, so a whole
// forward/backward runs without a readback.
//   softmax:              probs = softmax(logits), one workgroup, max-subtracted
//   mix_accumulate:       y = (mode == 1 ? y : 0) + probs[k] · o           (1-D, grid1d)
//   mix_backward_partial: dOut = probs[k] · dy and partials[g] = Σ_chunk o · dy  (fused)
//   dot_final:            gDots[k] = Σ partials (one workgroup, fixed order: deterministic)
//   fitness_grad:         dφ_i = p_i (g_i − Σ_k p_k g_k), one workgroup
// WGSL has no float atomics, so dot products are two passes: each workgroup folds a contiguous
// chunk of WG * ITEMS elements (chunked_fold.wgsl), then dot_final sums the partials. When o_k
// needs no gradient the partials come from reduce.wgsl's reduce_dot (same fold, same order).
// Workgroup indices fold over x and y (gpu.grid1d): g = wg.x + wg.y * nwg.x. Each entry declares
// only the buffers it binds, so the auto layout matches the host's buffer list. WG must be a power
// of two (tree reduction).

struct Params { n: u32, k: u32, mode: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;

override WG: u32 = 64u;
override ITEMS: u32 = 32u;

//#include "chunked_fold.wgsl"

// ---- probs = softmax(logits) ---------------------------------------------------------------------
@group(0) @binding(1) var<storage, read> sm_logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> sm_probs: array<f32>;

@compute @workgroup_size(WG)
fn softmax(@builtin(local_invocation_index) lid: u32) {
  var m = sm_logits[0]; // K >= 1; threads past K still hold a valid candidate
  for (var i = lid; i < p.n; i += WG) { m = max(m, sm_logits[i]); }
  let mx = wgMax(lid, m);
  var s = 0.0;
  for (var i = lid; i < p.n; i += WG) { s += exp(sm_logits[i] - mx); }
  let total = wgSum(lid, s);
  for (var i = lid; i < p.n; i += WG) { sm_probs[i] = exp(sm_logits[i] - mx) / total; }
}

// ---- y = (mode == 1 ? y : 0) + probs[k] * o --------------------------------------------------------
@group(0) @binding(1) var<storage, read_write> mx_y: array<f32>;
@group(0) @binding(2) var<storage, read> mx_o: array<f32>;
@group(0) @binding(3) var<storage, read> mx_probs: array<f32>;

@compute @workgroup_size(WG)
fn mix_accumulate(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let w = mx_probs[p.k];
  if (p.mode == 1u) { mx_y[i] = fma(w, mx_o[i], mx_y[i]); } else { mx_y[i] = w * mx_o[i]; }
}

// ---- dOut = probs[k] * dy, partials[g] = Σ_chunk o * dy ---------------------------------------------
@group(0) @binding(1) var<storage, read> bw_o: array<f32>;
@group(0) @binding(2) var<storage, read> bw_dy: array<f32>;
@group(0) @binding(3) var<storage, read> bw_probs: array<f32>;
@group(0) @binding(4) var<storage, read_write> bw_dout: array<f32>;
@group(0) @binding(5) var<storage, read_write> bw_partials: array<f32>;

const FOLD_MIX_BACKWARD: u32 = 0u;

// The one fold of this file: writes dOut on the way and accumulates o · dy.
fn foldTerm(op: u32, i: u32, acc: f32) -> f32 {
  let d = bw_dy[i];
  bw_dout[i] = bw_probs[p.k] * d;
  return fma(bw_o[i], d, acc);
}

@compute @workgroup_size(WG)
fn mix_backward_partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                        @builtin(local_invocation_index) lid: u32) {
  let g = chunkIndex(wg, nwg);
  let total = chunkedFold(FOLD_MIX_BACKWARD, g, lid, p.n);
  if (lid == 0u) { bw_partials[g] = total; }
}

// ---- gDots[k] = Σ partials[0..n) ------------------------------------------------------------------
@group(0) @binding(1) var<storage, read> df_partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> df_gdots: array<f32>;

@compute @workgroup_size(WG)
fn dot_final(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < p.n; i += WG) { acc += df_partials[i]; }
  let total = wgSum(lid, acc);
  if (lid == 0u) { df_gdots[p.k] = total; }
}

// ---- dφ_i = p_i (g_i − Σ_k p_k g_k) ------------------------------------------------------------------
@group(0) @binding(1) var<storage, read> fg_probs: array<f32>;
@group(0) @binding(2) var<storage, read> fg_gdots: array<f32>;
@group(0) @binding(3) var<storage, read_write> fg_out: array<f32>;

@compute @workgroup_size(WG)
fn fitness_grad(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < p.n; i += WG) { acc = fma(fg_probs[i], fg_gdots[i], acc); }
  let mean = wgSum(lid, acc);
  for (var i = lid; i < p.n; i += WG) { fg_out[i] = fg_probs[i] * (fg_gdots[i] - mean); }
}
