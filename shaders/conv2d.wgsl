// Convolution forward, groups = 1, as an implicit GEMM (conv2d_gemm.wgsl):
//   M = Cout, N = batch * OH * OW (column c = (n, oh, ow)), K = Cin * KH * KW (k = (ci, kh, kw))
//   A[co, k] = w[co, ci, kh, kw]; B[k, c] = x[n, ci, oh*stride - pad + kh, ow*stride - pad + kw]
//   y[n, co, oh, ow] = C[co, c]

struct Params {
  M: u32, N: u32, K: u32, splits: u32,
  kChunk: u32, Cin: u32, H: u32, W: u32,
  OH: u32, OW: u32, KH: u32, KW: u32,
  stride: u32, pad: u32, _a: u32, _b: u32,
  Mpad: u32, _c: u32, _d: u32, _e: u32,  // Mpad: rows of the packed A (conv2d_bcast.wgsl)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;  // A operand source
@group(0) @binding(3) var<storage, read> X: array<f32>;  // B operand source

// Top-left input position of output (oh, ow) in image n.
struct ColCtx { xBase: u32, ih0: i32, iw0: i32 }

fn colCtx(c: u32) -> ColCtx {
  let ohw = p.OH * p.OW;
  let n = c / ohw;
  let r = c - n * ohw;
  let oh = r / p.OW;
  let ow = r - oh * p.OW;
  return ColCtx(n * p.Cin * p.H * p.W, i32(oh * p.stride) - i32(p.pad), i32(ow * p.stride) - i32(p.pad));
}

// k = (ci, kh, kw) as (channel offset ci*H*W, kh, kw).
struct KCtx { chOff: u32, kh: u32, kw: u32 }

fn kCtx(k: u32) -> KCtx {
  let kk = p.KH * p.KW;
  let ci = k / kk;
  let r = k - ci * kk;
  let kh = r / p.KW;
  return KCtx(ci * p.H * p.W, kh, r - kh * p.KW);
}

fn kNext(kc: KCtx) -> KCtx {
  var n = kc;
  n.kw += 1u;
  if (n.kw == p.KW) {
    n.kw = 0u;
    n.kh += 1u;
    if (n.kh == p.KH) { n.kh = 0u; n.chOff += p.H * p.W; }
  }
  return n;
}

fn loadB(col: ColCtx, kc: KCtx) -> f32 {
  // Negative coordinates wrap to huge u32s, so one unsigned compare checks both bounds.
  // Branch-free (clamped index, then select): cheaper than divergent branches on CPU backends.
  let ih = u32(col.ih0 + i32(kc.kh));
  let iw = u32(col.iw0 + i32(kc.kw));
  let inside = ih < p.H && iw < p.W;
  return select(0.0, X[select(0u, col.xBase + kc.chOff + ih * p.W + iw, inside)], inside);
}

struct ACtx { k: u32 }

fn aCtx(k: u32) -> ACtx { return ACtx(k); }

fn loadA(a: ACtx, r: u32) -> f32 { return Wt[r * p.K + a.k]; }

struct OutCtx { base: u32 }

fn outCtx(c: u32) -> OutCtx {
  let ohw = p.OH * p.OW;
  let n = c / ohw;
  return OutCtx(n * p.M * ohw + (c - n * ohw));
}

fn storeC(o: OutCtx, r: u32, split: u32, v: f32) { Y[o.base + r * p.OH * p.OW] = v; }

//#include "conv2d_gemm.wgsl"
//#include "conv2d_bcast.wgsl"
