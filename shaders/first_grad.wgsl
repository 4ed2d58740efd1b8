// Per-sample gradient w.r.t. the first element of a parameter tensor (VKDNW's Fisher rows):
//   out[row * n + s] = sum over (oy, ox) of dy[s, 0, oy, ox] * x[s, 0, oy * stride - pad, ox * stride - pad]
// (x outside its plane is the conv's zero padding; has_x = 0: x is taken as 1, the gradient of a bias
// / BN shift). One workgroup per sample s; the sum is the batch-reduction summand of the weight
// gradient of element [0, 0, 0, 0] before the batch reduction. Many tensors share one `out`, so a
// backward pass's rows come back in one read.

struct Params { n: u32, xs: u32, h: u32, w: u32, ys: u32, oh: u32, ow: u32, stride: u32, pad: u32, row: u32, has_x: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 64u;
//#include "workgroup_reduce.wgsl"

@compute @workgroup_size(WG)
fn first_grad(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let s = wg.x;
  let m = p.oh * p.ow;
  var acc = 0.0;
  for (var i = lid.x; i < m; i += WG) {
    let g = dy[s * p.ys + i];
    if (p.has_x == 0u) {
      acc += g;
    } else {
      let iy = i32((i / p.ow) * p.stride) - i32(p.pad);
      let ix = i32((i % p.ow) * p.stride) - i32(p.pad);
      if (iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w)) {
        acc = fma(g, x[s * p.xs + u32(iy) * p.w + u32(ix)], acc);
      }
    }
  }
  let total = wgSum(lid.x, acc);
  if (lid.x == 0u) { out[p.row * p.n + s] = total; }
}
