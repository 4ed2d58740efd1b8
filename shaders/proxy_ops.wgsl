// Small element-wise kernels used by the zero-cost proxies.
//   accumulate_abs: K += weight * |C|    (WRCor: sums |correlation| matrices over ReLUs)
//   sign_codes:     S = x > 0 ? 1 : -1   (NASWOT: binary activation codes as +-1, so S S^T = D - 2*Hamming)
//   sign_codes_inplace: the same over a buffer the caller owns (the batched NASWOT arena)
//   accumulate_abs_batched: K[slot] += sum over the layers l of that slot of w_l * |C_l| (and, with
//     two outputs per slot, K[slot, 1] += sum |C_l| unweighted; with three, K[slot, 2] += sum
//     w2_l * |C_l| too), for an [L, N, N] stack of matrices whose layers are sorted by slot. One
//     dispatch replaces one accumulate per layer and matrix.

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

@compute @workgroup_size(WG)
fn sign_codes_inplace(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  dst[i] = select(-1.0, 1.0, dst[i] > 0.0);
}

// flags: bit 0 = take |C| (else C as is), bit 1 = count the diagonal as exactly 1 (correlations:
// the Gram product of unit rows, without a separate set_diag pass), bit 2 = skip a layer with a
// diagonal entry below 1/2 (the Gram product of unit rows has ~1 there, of a constant row's zero
// row 0: a correlation matrix with an undefined row adds nothing).
// [slot_begin, slot_end): the slots that have layers (accumulate_abs_batched's threads cover only
// their elements; the per-thread kernel covers every slot).
struct BatchedParams { n: u32, slots: u32, outs: u32, flags: u32, slot_begin: u32, slot_end: u32, _a: u32, _b: u32 }

@group(0) @binding(0) var<uniform> bp: BatchedParams;
// Per slot s: [first layer, end layer) at 2s, 2s+1 (f32, exact below 2^24; an empty slot has
// first = end = the layers of the slots before it, so the ranges ascend); then weight w_l at
// 2*slots + l (outs 3: w_l at 2*slots + 2l and w2_l after it).
@group(0) @binding(3) var<storage, read> layer_meta: array<f32>;

// Adds layer l's entry e to one thread's sums (the same additions, in layer order, in both kernels).
fn add_layer(l: u32, e: u32, diag: bool, stride: u32, sums: ptr<function, vec3<f32>>) {
  var v = src[l * bp.n * bp.n + e];
  if ((bp.flags & 1u) != 0u) { v = abs(v); }
  if (diag) { v = 1.0; }
  let w = 2u * bp.slots + stride * l;
  (*sums).x += layer_meta[w] * v;
  (*sums).y += v;
  if (bp.outs > 2u) { (*sums).z += layer_meta[w + 1u] * v; }
}

fn store_sums(s: u32, e: u32, sums: vec3<f32>) {
  let nn = bp.n * bp.n;
  let o = s * bp.outs * nn + e;
  dst[o] += sums.x;
  if (bp.outs > 1u) { dst[o + nn] += sums.y; }
  if (bp.outs > 2u) { dst[o + 2u * nn] += sums.z; }
}

// Skip flags of one window of layers: filled by the whole workgroup (n diagonal reads per layer
// spread over its threads), read by each thread for the layers of its slot. One entry per thread:
// zero-initialising workgroup memory (WebGPU's rule) costs each workgroup one store per thread.
const MAXL: u32 = WG;
var<workgroup> layer_skip: array<atomic<u32>, MAXL>;

// One thread per element of the N x N sums of the slots [slot_begin, slot_end); a workgroup's WG
// elements touch the slots [s_lo, s_hi] (several where n * n is no multiple of WG), whose layers
// [lo, hi) it walks in windows of MAXL: flags first, then each thread's own layers of the window,
// in layer order.
@compute @workgroup_size(WG)
fn accumulate_abs_batched(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32) {
  let nn = bp.n * bp.n;
  let total = bp.slot_end * nn;
  let i0 = bp.slot_begin * nn + (wg.x + wg.y * nwg.x) * WG;  // uniform: the barriers below need every thread
  if (i0 >= total) { return; }
  let i = i0 + lid;
  let inside = i < total;
  let s = min(i, total - 1u) / nn;
  let e = i % nn;
  let first = u32(layer_meta[2u * s]);
  let end = u32(layer_meta[2u * s + 1u]);
  let diag = (bp.flags & 2u) != 0u && e % (bp.n + 1u) == 0u;
  let stride = select(1u, 2u, bp.outs > 2u);
  var sums = vec3<f32>();
  if ((bp.flags & 4u) == 0u) {
    if (inside) {
      for (var l = first; l < end; l++) { add_layer(l, e, diag, stride, &sums); }
    }
  } else {
    let lo = u32(layer_meta[2u * (i0 / nn)]);
    let hi = u32(layer_meta[2u * ((min(i0 + WG, total) - 1u) / nn) + 1u]);
    for (var w = lo; w < hi; w += MAXL) {
      let wl = min(MAXL, hi - w);
      for (var j = lid; j < wl; j += WG) { atomicStore(&layer_skip[j], 0u); }
      workgroupBarrier();
      for (var q = lid; q < wl * bp.n; q += WG) {
        if (src[(w + q / bp.n) * nn + (q % bp.n) * (bp.n + 1u)] < 0.5) { atomicStore(&layer_skip[q / bp.n], 1u); }
      }
      workgroupBarrier();
      if (inside) {
        for (var l = max(first, w); l < min(end, w + wl); l++) {
          if (atomicLoad(&layer_skip[l - w]) == 0u) { add_layer(l, e, diag, stride, &sums); }
        }
      }
      workgroupBarrier();
    }
  }
  if (inside && first < end) { store_sums(s, e, sums); }
}

// The kernel before the workgroup's flags, unchanged (kept for A/B runs and the bit-identity
// test): every thread reads the n diagonal entries of every layer of its slot itself.
fn has_zero_diag(base: u32) -> bool {
  for (var k = 0u; k < bp.n; k++) {
    if (src[base + k * (bp.n + 1u)] < 0.5) { return true; }
  }
  return false;
}

@compute @workgroup_size(WG)
fn accumulate_abs_batched_per_thread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  let nn = bp.n * bp.n;
  if (i >= bp.slots * nn) { return; }
  let s = i / nn;
  let e = i % nn;
  let first = u32(layer_meta[2u * s]);
  let end = u32(layer_meta[2u * s + 1u]);
  if (first >= end) { return; }
  let diag = (bp.flags & 2u) != 0u && e % (bp.n + 1u) == 0u;
  var ws = 0.0;
  var us = 0.0;
  let skip_constant = (bp.flags & 4u) != 0u;
  let stride = select(1u, 2u, bp.outs > 2u);
  var ws2 = 0.0;
  for (var l = first; l < end; l++) {
    if (skip_constant && has_zero_diag(l * nn)) { continue; }
    var v = src[l * nn + e];
    if ((bp.flags & 1u) != 0u) { v = abs(v); }
    if (diag) { v = 1.0; }
    let w = 2u * bp.slots + stride * l;
    ws += layer_meta[w] * v;
    us += v;
    if (bp.outs > 2u) { ws2 += layer_meta[w + 1u] * v; }
  }
  let o = s * bp.outs * nn + e;
  dst[o] += ws;
  if (bp.outs > 1u) { dst[o + nn] += us; }
  if (bp.outs > 2u) { dst[o + 2u * nn] += ws2; }
}

// unstack_groups: src [rows, groups, features] (a channel-stacked network's tensor [N, G*C, H, W])
// -> for each group g whose offset is not SKIP, its rows as one contiguous [rows, features] block
// at dst[offsets[g]] (one network's slice of a stacked ReLU, written straight into a batched
// correlation arena). One thread per element of src.
struct UnstackParams { rows: u32, groups: u32, features: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> up: UnstackParams;
@group(0) @binding(3) var<storage, read> group_offsets: array<u32>;

const SKIP: u32 = 0xffffffffu;

@compute @workgroup_size(WG)
fn unstack_groups(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  let gf = up.groups * up.features;
  if (i >= up.rows * gf) { return; }
  let r = i / gf;
  let g = (i % gf) / up.features;
  let o = group_offsets[g];
  if (o == SKIP) { return; }
  dst[o + r * up.features + i % up.features] = src[i];
}
