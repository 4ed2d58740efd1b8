// Direct convolution kernels for groups > 1 (depthwise when groups = Cin = Cout): one thread per
// output (forward) or per input element (backward input, gather form), one workgroup per weight
// element (backward weight, tree reduction over batch * OH * OW). Weight layout
// [Cout, Cin/groups, KH, KW]; output channel co belongs to group co / (Cout/groups).
// 1-D grids fold over x and y (gpu.grid1d).

//#include "conv2d_common.wgsl"

struct Params {
  Nb: u32, Cin: u32, H: u32, W: u32,
  Cout: u32, OH: u32, OW: u32, KH: u32,
  KW: u32, stride: u32, pad: u32, groups: u32,
  total: u32, _a: u32, _b: u32, _c: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

const WG: u32 = 256u;

@group(0) @binding(1) var<storage, read_write> f_y: array<f32>;
@group(0) @binding(2) var<storage, read> f_x: array<f32>;
@group(0) @binding(3) var<storage, read> f_w: array<f32>;

@compute @workgroup_size(WG)
fn fwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.total) { return; }
  let o = unflatten4(idx, p.Cout, p.OH, p.OW);
  let n = o.x;
  let co = o.y;
  let oh = o.z;
  let ow = o.w;
  let cpg = p.Cin / p.groups;
  let ci0 = (co / (p.Cout / p.groups)) * cpg;
  let ih0 = i32(oh * p.stride) - i32(p.pad);
  let iw0 = i32(ow * p.stride) - i32(p.pad);
  let kk = p.KH * p.KW;
  var acc = 0.0;
  for (var cig = 0u; cig < cpg; cig++) {
    let xBase = (n * p.Cin + ci0 + cig) * p.H * p.W;
    let wBase = (co * cpg + cig) * kk;
    for (var kh = 0u; kh < p.KH; kh++) {
      let ih = ih0 + i32(kh);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      for (var kw = 0u; kw < p.KW; kw++) {
        let iw = iw0 + i32(kw);
        if (iw < 0 || iw >= i32(p.W)) { continue; }
        acc = fma(f_x[xBase + u32(ih) * p.W + u32(iw)], f_w[wBase + kh * p.KW + kw], acc);
      }
    }
  }
  f_y[idx] = acc;
}

@group(0) @binding(1) var<storage, read_write> bi_dx: array<f32>;
@group(0) @binding(2) var<storage, read> bi_dy: array<f32>;
@group(0) @binding(3) var<storage, read> bi_w: array<f32>;

@compute @workgroup_size(WG)
fn bwd_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.total) { return; }
  let i = unflatten4(idx, p.Cin, p.H, p.W);
  let n = i.x;
  let ci = i.y;
  let ih = i.z;
  let iw = i.w;
  let cpg = p.Cin / p.groups;
  let opg = p.Cout / p.groups;
  let g = ci / cpg;
  let cig = ci - g * cpg;
  let kk = p.KH * p.KW;
  let th = i32(ih + p.pad);
  let tw = i32(iw + p.pad);
  var acc = 0.0;
  for (var co = g * opg; co < (g + 1u) * opg; co++) {
    let dyBase = (n * p.Cout + co) * p.OH * p.OW;
    let wBase = (co * cpg + cig) * kk;
    for (var kh = 0u; kh < p.KH; kh++) {
      let a = th - i32(kh);
      if (a < 0) { break; }
      let oh = u32(a) / p.stride;
      if (oh * p.stride != u32(a) || oh >= p.OH) { continue; }
      for (var kw = 0u; kw < p.KW; kw++) {
        let b = tw - i32(kw);
        if (b < 0) { break; }
        let ow = u32(b) / p.stride;
        if (ow * p.stride != u32(b) || ow >= p.OW) { continue; }
        acc = fma(bi_dy[dyBase + oh * p.OW + ow], bi_w[wBase + kh * p.KW + kw], acc);
      }
    }
  }
  bi_dx[idx] = acc;
}

@group(0) @binding(1) var<storage, read_write> bw_dw: array<f32>;
@group(0) @binding(2) var<storage, read> bw_x: array<f32>;
@group(0) @binding(3) var<storage, read> bw_dy: array<f32>;

//#include "workgroup_reduce.wgsl"

@compute @workgroup_size(WG)
fn bwd_weight(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let e = wg.x + wg.y * nwg.x;
  let inRange = e < p.total;
  var acc = 0.0;
  if (inRange) {
    let cpg = p.Cin / p.groups;
    let t = unflatten4(e, cpg, p.KH, p.KW);  // (co, cig, kh, kw)
    let co = t.x;
    let kh = t.z;
    let kw = t.w;
    let ci = (co / (p.Cout / p.groups)) * cpg + t.y;
    let ohw = p.OH * p.OW;
    let dh = i32(kh) - i32(p.pad);
    let dw = i32(kw) - i32(p.pad);
    for (var j = lid; j < p.Nb * ohw; j += WG) {
      let nr = divmod(j, ohw);  // (n, oh*OW + ow)
      let n = nr.x;
      let o = divmod(nr.y, p.OW);  // (oh, ow)
      let ih = i32(o.x * p.stride) + dh;
      let iw = i32(o.y * p.stride) + dw;
      if (ih < 0 || iw < 0 || ih >= i32(p.H) || iw >= i32(p.W)) { continue; }
      acc = fma(bw_dy[(n * p.Cout + co) * ohw + nr.y], bw_x[((n * p.Cin + ci) * p.H + u32(ih)) * p.W + u32(iw)], acc);
    }
  }
  let total = wgSum(lid, acc);
  if (lid == 0u && inRange) { bw_dw[e] = total; }
}
