// The weight gradient's implicit-GEMM hooks (see conv2d_gemm.wgsl), included by
// conv2d_bwd_weight.wgsl and conv2d_bwd_weight_relu.wgsl: dy is read as DY, x through ldX(i),
// which the includer defines.

// Column (ci, kh, kw): channel offset and the kernel tap relative to the padded origin.
struct ColCtx { chBase: u32, dh: i32, dw: i32 }

fn colCtx(c: u32) -> ColCtx {
  let t = unflatten3(c, p.KH, p.KW);  // (ci, kh, kw)
  return ColCtx(t.x * p.H * p.W + grp * p.grpB, i32(t.y) - i32(p.pad), i32(t.z) - i32(p.pad));
}

// k = (n, oh, ow) walked as (off = image offset n*Cin*H*W, y = oh, x = ow).
alias KCtx = Walk;

fn kCtx(k: u32) -> KCtx { return walkAt(k, p.OH, p.OW, p.Cb * p.H * p.W); }

fn kNext(kc: KCtx) -> KCtx { return walkNext(kc, p.OH, p.OW, p.Cb * p.H * p.W); }

fn loadB(col: ColCtx, kc: KCtx) -> f32 {
  let ih = u32(i32(kc.y * p.stride) + col.dh);
  let iw = u32(i32(kc.x * p.stride) + col.dw);
  // Branch-free: negative coordinates wrap to huge u32s; clamped index, then select.
  let inside = ih < p.H && iw < p.W;
  return select(0.0, ldX(select(0u, kc.off + col.chBase + ih * p.W + iw, inside)), inside);
}

// Column k = (n, oh, ow) of A: dy[n, co, oh, ow] = DY[base + co * OH * OW].
struct ACtx { base: u32 }

fn aCtx(k: u32) -> ACtx { return ACtx(rowZeroOffset(k, p.Mtot, p.OH * p.OW) + grp * p.grpA); }

fn loadA(a: ACtx, r: u32) -> f32 { return DY[a.base + r * p.OH * p.OW]; }

struct OutCtx { c: u32 }

fn outCtx(c: u32) -> OutCtx { return OutCtx(c); }

fn storeC(o: OutCtx, r: u32, split: u32, v: f32) { PART[(split * p.Mtot + r) * p.N + grp * p.grpC + o.c] = v; }
