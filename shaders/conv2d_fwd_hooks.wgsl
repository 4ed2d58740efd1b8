// The forward convolution's implicit-GEMM hooks (see conv2d_gemm.wgsl), included by conv2d.wgsl
// (f32) and conv2d_f16.wgsl (f16 operands): operands are read through ldX(i) and ldW(i), which
// the includer defines for its binding types.

// Top-left input position of output (oh, ow) in image n.
struct ColCtx { xBase: u32, ih0: i32, iw0: i32 }

fn colCtx(c: u32) -> ColCtx {
  let o = unflatten3(c, p.OH, p.OW);  // (n, oh, ow)
  return ColCtx(o.x * p.Cb * p.H * p.W + grp * p.grpB, i32(o.y * p.stride) - i32(p.pad), i32(o.z * p.stride) - i32(p.pad));
}

// k = (ci, kh, kw) walked as (off = channel offset ci*H*W, y = kh, x = kw).
alias KCtx = Walk;

fn kCtx(k: u32) -> KCtx { return walkAt(k, p.KH, p.KW, p.H * p.W); }

fn kNext(kc: KCtx) -> KCtx { return walkNext(kc, p.KH, p.KW, p.H * p.W); }

fn loadB(col: ColCtx, kc: KCtx) -> f32 {
  // Negative coordinates wrap to huge u32s, so one unsigned compare checks both bounds.
  // Branch-free (clamped index, then select): cheaper than divergent branches on CPU backends.
  let ih = u32(col.ih0 + i32(kc.y));
  let iw = u32(col.iw0 + i32(kc.x));
  let inside = ih < p.H && iw < p.W;
  return select(0.0, ldX(select(0u, col.xBase + kc.off + ih * p.W + iw, inside)), inside);
}

struct ACtx { k: u32 }

fn aCtx(k: u32) -> ACtx { return ACtx(k); }

fn loadA(a: ACtx, r: u32) -> f32 { return ldW(grp * p.grpA + r * p.K + a.k); }

struct OutCtx { base: u32 }

fn outCtx(c: u32) -> OutCtx { return OutCtx(rowZeroOffset(c, p.Mtot, p.OH * p.OW) + grp * p.grpC); }

fn storeC(o: OutCtx, r: u32, split: u32, v: f32) { Y[o.base + r * p.OH * p.OW] = v; }
