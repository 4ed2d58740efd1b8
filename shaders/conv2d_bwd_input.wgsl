// Convolution backward w.r.t. the input, groups = 1, as an implicit GEMM (conv2d_gemm.wgsl):
//   M = Cin, N = batch * H * W (column c = (n, ih, iw)), K = Cout * KH * KW (k = (co, kh, kw))
//   A[ci, k] = w[co, ci, kh, kw]
//   B[k, c] = dy[n, co, oh, ow] where ih = oh*stride - pad + kh (and likewise for w), else 0
//   dx[n, ci, ih, iw] = C[ci, c]

struct Params {
  M: u32, N: u32, K: u32, splits: u32,
  kChunk: u32, Cout: u32, H: u32, W: u32,
  OH: u32, OW: u32, KH: u32, KW: u32,
  stride: u32, pad: u32, strideShift: u32, stridePow2: u32,  // stride = 1 << strideShift if stridePow2
  Mpad: u32, _c: u32, _d: u32, _e: u32,  // Mpad: rows of the packed A (conv2d_bcast.wgsl)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> DX: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;  // A operand source
@group(0) @binding(3) var<storage, read> DY: array<f32>;  // B operand source

// th/tw = ih + pad, iw + pad: output row oh contributes through kh when oh*stride = th - kh.
struct ColCtx { dyBase: u32, th: i32, tw: i32 }

fn colCtx(c: u32) -> ColCtx {
  let hw = p.H * p.W;
  let n = c / hw;
  let r = c - n * hw;
  let ih = r / p.W;
  let iw = r - ih * p.W;
  return ColCtx(n * p.Cout * p.OH * p.OW, i32(ih + p.pad), i32(iw + p.pad));
}

// k = (co, kh, kw) as (dy channel offset co*OH*OW, kh, kw).
struct KCtx { dyOff: u32, kh: u32, kw: u32 }

fn kCtx(k: u32) -> KCtx {
  let kk = p.KH * p.KW;
  let co = k / kk;
  let r = k - co * kk;
  let kh = r / p.KW;
  return KCtx(co * p.OH * p.OW, kh, r - kh * p.KW);
}

fn kNext(kc: KCtx) -> KCtx {
  var n = kc;
  n.kw += 1u;
  if (n.kw == p.KW) {
    n.kw = 0u;
    n.kh += 1u;
    if (n.kh == p.KH) { n.kh = 0u; n.dyOff += p.OH * p.OW; }
  }
  return n;
}

fn loadB(col: ColCtx, kc: KCtx) -> f32 {
  // Negative th/tw wrap to huge u32s and fail the oh < OH test. Branch-free (clamped index, then
  // select), and shifts instead of division for power-of-two strides: both are much cheaper than
  // divergent branches and integer division on CPU backends.
  let th = u32(col.th - i32(kc.kh));
  let tw = u32(col.tw - i32(kc.kw));
  var oh: u32;
  var ow: u32;
  var aligned: bool;
  if (p.stridePow2 != 0u) {
    oh = th >> p.strideShift;
    ow = tw >> p.strideShift;
    aligned = ((th | tw) & (p.stride - 1u)) == 0u;
  } else {
    oh = th / p.stride;
    ow = tw / p.stride;
    aligned = oh * p.stride == th && ow * p.stride == tw;
  }
  let inside = aligned && oh < p.OH && ow < p.OW;
  return select(0.0, DY[select(0u, col.dyBase + kc.dyOff + oh * p.OW + ow, inside)], inside);
}

// Column k = (co, kh, kw) of A: w[co, ci, kh, kw] = Wt[base + ci * KH * KW].
struct ACtx { base: u32 }

fn aCtx(k: u32) -> ACtx {
  let kk = p.KH * p.KW;
  let co = k / kk;
  return ACtx(co * p.M * kk + (k - co * kk));
}

fn loadA(a: ACtx, r: u32) -> f32 { return Wt[a.base + r * p.KH * p.KW]; }

struct OutCtx { base: u32 }

fn outCtx(c: u32) -> OutCtx {
  let hw = p.H * p.W;
  let n = c / hw;
  return OutCtx(n * p.M * hw + (c - n * hw));
}

fn storeC(o: OutCtx, r: u32, split: u32, v: f32) { DX[o.base + r * p.H * p.W] = v; }

//#include "conv2d_gemm.wgsl"
//#include "conv2d_bcast.wgsl"
