// Convolution backward w.r.t. the weight, groups = 1, as a split-K implicit GEMM (conv2d_gemm.wgsl):
//   M = Cout, N = Cin * KH * KW (column c = (ci, kh, kw)), K = batch * OH * OW (k = (n, oh, ow))
//   A[co, k] = dy[n, co, oh, ow]; B[k, c] = x[n, ci, oh*stride - pad + kh, ow*stride - pad + kw]
//   partial[split, co, c] = C restricted to the split's k range; the host sums the splits
//   (reduce.wgsl:sum_slices) unless there is only one, in which case this is dw itself.

struct Params {
  M: u32, N: u32, K: u32, splits: u32,
  kChunk: u32, Cin: u32, H: u32, W: u32,
  OH: u32, OW: u32, KH: u32, KW: u32,
  stride: u32, pad: u32, _a: u32, _b: u32,
  Mpad: u32, _c: u32, _d: u32, _e: u32,  // Mpad: rows of the packed A (conv2d_bcast.wgsl)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> PART: array<f32>;
@group(0) @binding(2) var<storage, read> DY: array<f32>;  // A operand source
@group(0) @binding(3) var<storage, read> X: array<f32>;  // B operand source

// Column (ci, kh, kw): channel offset and the kernel tap relative to the padded origin.
struct ColCtx { chBase: u32, dh: i32, dw: i32 }

fn colCtx(c: u32) -> ColCtx {
  let kk = p.KH * p.KW;
  let ci = c / kk;
  let r = c - ci * kk;
  let kh = r / p.KW;
  return ColCtx(ci * p.H * p.W, i32(kh) - i32(p.pad), i32(r - kh * p.KW) - i32(p.pad));
}

// k = (n, oh, ow) as (image offset n*Cin*H*W, oh, ow).
struct KCtx { xOff: u32, oh: u32, ow: u32 }

fn kCtx(k: u32) -> KCtx {
  let ohw = p.OH * p.OW;
  let n = k / ohw;
  let r = k - n * ohw;
  let oh = r / p.OW;
  return KCtx(n * p.Cin * p.H * p.W, oh, r - oh * p.OW);
}

fn kNext(kc: KCtx) -> KCtx {
  var n = kc;
  n.ow += 1u;
  if (n.ow == p.OW) {
    n.ow = 0u;
    n.oh += 1u;
    if (n.oh == p.OH) { n.oh = 0u; n.xOff += p.Cin * p.H * p.W; }
  }
  return n;
}

fn loadB(col: ColCtx, kc: KCtx) -> f32 {
  let ih = u32(i32(kc.oh * p.stride) + col.dh);
  let iw = u32(i32(kc.ow * p.stride) + col.dw);
  // Branch-free: negative coordinates wrap to huge u32s; clamped index, then select.
  let inside = ih < p.H && iw < p.W;
  return select(0.0, X[select(0u, kc.xOff + col.chBase + ih * p.W + iw, inside)], inside);
}

// Column k = (n, oh, ow) of A: dy[n, co, oh, ow] = DY[base + co * OH * OW].
struct ACtx { base: u32 }

fn aCtx(k: u32) -> ACtx {
  let ohw = p.OH * p.OW;
  let n = k / ohw;
  return ACtx(n * p.M * ohw + (k - n * ohw));
}

fn loadA(a: ACtx, r: u32) -> f32 { return DY[a.base + r * p.OH * p.OW]; }

struct OutCtx { c: u32 }

fn outCtx(c: u32) -> OutCtx { return OutCtx(c); }

fn storeC(o: OutCtx, r: u32, split: u32, v: f32) { PART[(split * p.M + r) * p.N + o.c] = v; }

//#include "conv2d_gemm.wgsl"
//#include "conv2d_bcast.wgsl"
