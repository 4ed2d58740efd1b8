// The input gradient's implicit-GEMM hooks (see conv2d_gemm.wgsl), included by
// conv2d_bwd_input.wgsl and conv2d_bwd_input_relu.wgsl: dy is read as DY, dx written through
// stDX(i, v), which the includer defines.

// th/tw = ih + pad, iw + pad: output row oh contributes through kh when oh*stride = th - kh.
struct ColCtx { dyBase: u32, th: i32, tw: i32 }

fn colCtx(c: u32) -> ColCtx {
  let i = unflatten3(c, p.H, p.W);  // (n, ih, iw)
  return ColCtx(i.x * p.Cb * p.OH * p.OW + grp * p.grpB, i32(i.y + p.pad), i32(i.z + p.pad));
}

// k = (co, kh, kw) walked as (off = dy channel offset co*OH*OW, y = kh, x = kw).
alias KCtx = Walk;

fn kCtx(k: u32) -> KCtx { return walkAt(k, p.KH, p.KW, p.OH * p.OW); }

fn kNext(kc: KCtx) -> KCtx { return walkNext(kc, p.KH, p.KW, p.OH * p.OW); }

fn loadB(col: ColCtx, kc: KCtx) -> f32 {
  // Negative th/tw wrap to huge u32s and fail the oh < OH test. Branch-free (clamped index, then
  // select), and shifts instead of division for power-of-two strides: both are much cheaper than
  // divergent branches and integer division on CPU backends.
  let th = u32(col.th - i32(kc.y));
  let tw = u32(col.tw - i32(kc.x));
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
  return select(0.0, DY[select(0u, col.dyBase + kc.off + oh * p.OW + ow, inside)], inside);
}

// Column k = (co, kh, kw) of A: w[co, ci, kh, kw] = Wt[base + ci * KH * KW].
struct ACtx { base: u32 }

fn aCtx(k: u32) -> ACtx { return ACtx(rowZeroOffset(k, p.M, p.KH * p.KW) + grp * p.grpA); }

fn loadA(a: ACtx, r: u32) -> f32 { return Wt[a.base + r * p.KH * p.KW]; }

struct OutCtx { base: u32 }

fn outCtx(c: u32) -> OutCtx { return OutCtx(rowZeroOffset(c, p.Mtot, p.H * p.W) + grp * p.grpC); }

fn storeC(o: OutCtx, r: u32, split: u32, v: f32) { stDX(o.base + r * p.H * p.W, v); }
