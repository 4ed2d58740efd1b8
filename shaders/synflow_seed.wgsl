// SynFlow's backward seed on the device (src/proxies/synflow.ts, src/kernels/synflow-seed.ts), so
// that the pass needs no read between its forward and its backward. From the linearised network's
// logits and last feature map at input 2^-a, status[0] gets either
//   b = floor(log2 R'), R' the sum of the logits as the host sums them (in f64), with every seed
//       element 2^-b: only where b is certain (below), else
//   REDO_AT_MAX (1000): a logit or feature is Inf or NaN: the host redoes the forward at a = max_shift;
//   REDO_AT_ZERO (1001): the feature map is all zero: the host redoes the forward at a = 0;
//   HOST (1002): the host reads the forward and decides (a negative value, R' below 2^-max_shift or
//       past 2^max_shift, or R' too close to a power of two for the f32 sum to tell its binade);
// and the seed 0 then (the backward is thrown away). The checks look at bits, so a flush of
// subnormals changes none of them; only the sum is arithmetic, and its error is bounded: R' is
// within (n + 1) 2^-20 of the f32 sum s (n - 1 roundings of 2^-24 each, with room for an inexact
// adder, subnormals flushed, and the host's own f64 rounding), so b = floor(log2 s) whenever s and
// s (1 +- 2 (n + 1) 2^-20) share a binade.

struct Params { n: u32, m: u32, max_shift: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
// Read as bits: a NaN or a subnormal is seen as stored.
@group(0) @binding(1) var<storage, read> logits: array<u32>;
@group(0) @binding(2) var<storage, read> features: array<u32>;
@group(0) @binding(3) var<storage, read_write> seed: array<f32>;
@group(0) @binding(4) var<storage, read_write> status: array<f32>;

override WG: u32 = 256u;

const EXP_MASK = 0x7f800000u;
const SIGN = 0x80000000u;
const NONFINITE = 1u;
const NONZERO = 2u;
const NEGATIVE = 4u;
const REDO_AT_MAX = 1000.0;
const REDO_AT_ZERO = 1001.0;
const HOST = 1002.0;

var<workgroup> feature_flags: atomic<u32>;
var<workgroup> logit_flags: atomic<u32>;
var<workgroup> code: f32;

fn flags_of(bits: u32) -> u32 {
  var f = 0u;
  if ((bits & EXP_MASK) == EXP_MASK) { f |= NONFINITE; }
  // -0 is a zero (it adds nothing to a sum).
  if ((bits & ~SIGN) != 0u) {
    f |= NONZERO;
    if ((bits & SIGN) != 0u) { f |= NEGATIVE; }
  }
  return f;
}

fn binade(x: f32) -> i32 {
  return i32((bitcast<u32>(x) >> 23u) & 0xffu) - 127;
}

// b from the logits (all finite and >= 0), or HOST.
fn shift_of_sum() -> f32 {
  var s = 0.0;
  for (var i = 0u; i < p.n; i++) { s += bitcast<f32>(logits[i]); }
  // Below 2^-max_shift the host clamps b; past 2^max_shift it redoes the forward.
  if (!(s >= ldexp(1.0, -i32(p.max_shift))) || (bitcast<u32>(s) & EXP_MASK) == EXP_MASK) { return HOST; }
  let k = binade(s);
  let d = f32(p.n + 1u) * 0x1p-19f;
  if (d >= 0.5 || binade(s - s * d) != k || binade(s + s * d) != k || k > i32(p.max_shift)) { return HOST; }
  return f32(k);
}

@compute @workgroup_size(WG)
fn synflow_seed(@builtin(local_invocation_id) lid: vec3<u32>) {
  var ff = 0u;
  for (var i = lid.x; i < p.m; i += WG) { ff |= flags_of(features[i]); }
  var lf = 0u;
  for (var i = lid.x; i < p.n; i += WG) { lf |= flags_of(logits[i]); }
  atomicOr(&feature_flags, ff);
  atomicOr(&logit_flags, lf);
  workgroupBarrier();
  if (lid.x == 0u) {
    let f = atomicLoad(&feature_flags);
    let l = atomicLoad(&logit_flags);
    // In the host's order: out of range, then a feature map that sums to 0, then R'.
    var c = HOST;
    if (((f | l) & NONFINITE) != 0u) {
      c = REDO_AT_MAX;
    } else if ((f & NEGATIVE) == 0u && (f & NONZERO) == 0u) {
      c = REDO_AT_ZERO;
    } else if ((f & NEGATIVE) == 0u && (l & NEGATIVE) == 0u) {
      c = shift_of_sum();
    }
    code = c;
    status[0] = c;
  }
  let c = workgroupUniformLoad(&code);
  var v = 0.0;
  if (c < REDO_AT_MAX) { v = bitcast<f32>(u32(127 - i32(c)) << 23u); }
  for (var i = lid.x; i < p.n; i += WG) { seed[i] = v; }
}
