// Depthwise convolution (groups = Cin = Cout, square kernel, stride 1 or 2): forward, backward
// input and backward weight. Kernel size KS, stride ST and padding PD are override constants,
// so every inner loop has a constant trip count and unrolls, and register windows are indexed
// by constants. A workgroup works on one channel of a block of p.imgs images (forward, backward
// input; grid x = image block, y = channel) or one channel and one batch split (backward weight;
// grid x = split, y = channel): the channel is uniform across the workgroup, so weight loads are
// uniform (scalar on CPU backends). Each thread produces R consecutive outputs of a row from one
// register window of inputs, reusing each loaded input up to KS times. The channel's KS x KS
// filter is loaded into registers once per workgroup (fwd, bwd_input), not once per task. Small
// planes get several images per workgroup so that lanes stay busy. Host checks: R % ST == 0 and
// windows fit WIN.

//#include "conv2d_common.wgsl"

struct Params {
  N: u32, C: u32, H: u32, W: u32,
  OH: u32, OW: u32, planes: u32, splits: u32,  // planes = N * C; splits: batch splits (bwd_weight)
  imgs: u32, _b: u32, _c: u32, _d: u32,        // imgs: images per workgroup (fwd, bwd_input)

}

@group(0) @binding(0) var<uniform> p: Params;

override KS: u32 = 3u;
override ST: u32 = 1u;
override PD: u32 = 1u;
const R: u32 = 4u;
const WIN: u32 = 32u;
const WG: u32 = 64u;
const KK_MAX: u32 = 49u;  // taps of the largest kernel (7 x 7)

// Task t of channel c over images n0, n0 + 1, ..., each split into rows x chunks runs of R
// outputs: (plane, row, first column of the run).
fn rowTask(t: u32, n0: u32, c: u32, rows: u32, chunks: u32) -> vec3<u32> {
  let task = unflatten3(t, rows, chunks);  // (img, row, chunk)
  return vec3<u32>((n0 + task.x) * p.C + c, task.y, task.z * R);
}

// ---- forward: y[plane, oh, ow] = sum_{kh,kw} x[plane, oh*ST - PD + kh, ow*ST - PD + kw] w[c, kh, kw]
@group(0) @binding(1) var<storage, read_write> f_y: array<f32>;
@group(0) @binding(2) var<storage, read> f_x: array<f32>;
@group(0) @binding(3) var<storage, read> f_w: array<f32>;

@compute @workgroup_size(WG)
fn fwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wg.y;
  let n0 = wg.x * p.imgs;
  let imgs = min(p.imgs, p.N - n0);
  let wBase = c * KS * KS;
  let chunks = (p.OW + R - 1u) / R;
  let perImg = p.OH * chunks;
  let tasks = imgs * perImg;
  let span = (R - 1u) * ST + KS;
  var wr: array<f32, KK_MAX>;
  for (var i = 0u; i < KS * KS; i++) { wr[i] = f_w[wBase + i]; }
  for (var t0 = 0u; t0 < tasks; t0 += WG) {
    let t = min(t0 + lid, tasks - 1u);  // lanes past the end redo the last task, store nothing
    let task = rowTask(t, n0, c, p.OH, chunks);
    let plane = task.x;
    let oh = task.y;
    let ow0 = task.z;
    let xBase = plane * p.H * p.W;
    let iw0 = i32(ow0 * ST) - i32(PD);
    var acc: array<f32, R>;
    for (var r = 0u; r < R; r++) { acc[r] = 0.0; }
    for (var kh = 0u; kh < KS; kh++) {
      let ih = u32(i32(oh * ST) - i32(PD) + i32(kh));  // negative wraps: fails ih < H
      let rowBase = xBase + ih * p.W;
      var xw: array<f32, WIN>;
      for (var j = 0u; j < span; j++) {
        let iw = u32(iw0 + i32(j));
        let ok = ih < p.H && iw < p.W;
        xw[j] = select(0.0, f_x[select(0u, rowBase + iw, ok)], ok);
      }
      for (var kw = 0u; kw < KS; kw++) {
        let wv = wr[kh * KS + kw];
        for (var r = 0u; r < R; r++) { acc[r] = fma(xw[r * ST + kw], wv, acc[r]); }
      }
    }
    if (t0 + lid < tasks) {
      let base = plane * p.OH * p.OW + oh * p.OW;
      for (var r = 0u; r < R; r++) {
        if (ow0 + r < p.OW) { f_y[base + ow0 + r] = acc[r]; }
      }
    }
  }
}

// ---- backward input: dx[plane, ih, iw] = sum over (kh, kw) with oh*ST = ih + PD - kh (same for w)
@group(0) @binding(1) var<storage, read_write> bi_dx: array<f32>;
@group(0) @binding(2) var<storage, read> bi_dy: array<f32>;
@group(0) @binding(3) var<storage, read> bi_w: array<f32>;

// floor(a / b) for b > 0.
fn floorDiv(a: i32, b: i32) -> i32 {
  return (a - (((a % b) + b) % b)) / b;
}

@compute @workgroup_size(WG)
fn bwd_input(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wg.y;
  let n0 = wg.x * p.imgs;
  let imgs = min(p.imgs, p.N - n0);
  let wBase = c * KS * KS;
  let chunks = (p.W + R - 1u) / R;
  let perImg = p.H * chunks;
  let tasks = imgs * perImg;
  let st = i32(ST);
  // Input iw0 + r meets output column (iw0 + r + PD - kw) / ST; with d = r + PD - kw that is
  // iw0 / ST + d / ST (iw0 is a multiple of R, hence of ST), so the window of dy columns is
  // iw0 / ST + [dLo, dHi].
  let dLo = floorDiv(i32(PD) - i32(KS) + 1, st);
  let dHi = floorDiv(i32(R + PD) - 1, st);
  let span = u32(dHi - dLo + 1);
  var wr: array<f32, KK_MAX>;
  for (var i = 0u; i < KS * KS; i++) { wr[i] = bi_w[wBase + i]; }
  for (var t0 = 0u; t0 < tasks; t0 += WG) {
    let t = min(t0 + lid, tasks - 1u);
    let task = rowTask(t, n0, c, p.H, chunks);
    let plane = task.x;
    let ih = task.y;
    let iw0 = task.z;
    let dyBase = plane * p.OH * p.OW;
    let owLo = i32(iw0 / ST) + dLo;
    var acc: array<f32, R>;
    for (var r = 0u; r < R; r++) { acc[r] = 0.0; }
    for (var kh = 0u; kh < KS; kh++) {
      let th = i32(ih + PD) - i32(kh);
      let oh = u32(th / st);
      let rowOk = th >= 0 && th % st == 0 && oh < p.OH;
      var dw: array<f32, WIN>;
      for (var j = 0u; j < span; j++) {
        let ow = u32(owLo + i32(j));
        let ok = rowOk && ow < p.OW;
        dw[j] = select(0.0, bi_dy[select(0u, dyBase + oh * p.OW + ow, ok)], ok);
      }
      for (var kw = 0u; kw < KS; kw++) {
        let wv = wr[kh * KS + kw];
        for (var r = 0u; r < R; r++) {
          let d = i32(r + PD) - i32(kw);
          if (((d % st) + st) % st == 0) { acc[r] = fma(dw[u32(d / st - dLo)], wv, acc[r]); }
        }
      }
    }
    if (t0 + lid < tasks) {
      let base = plane * p.H * p.W + ih * p.W;
      for (var r = 0u; r < R; r++) {
        if (iw0 + r < p.W) { bi_dx[base + iw0 + r] = acc[r]; }
      }
    }
  }
}

// ---- backward weight: part[split, c, kh, kw] = sum over the split's images and all outputs of
// dy[n, c, oh, ow] * x[n, c, oh*ST - PD + kh, ow*ST - PD + kw]. Grid: x = split, y = channel.
@group(0) @binding(1) var<storage, read_write> bw_part: array<f32>;
@group(0) @binding(2) var<storage, read> bw_x: array<f32>;
@group(0) @binding(3) var<storage, read> bw_dy: array<f32>;

var<workgroup> taps: array<f32, KK_MAX * WG>;

@compute @workgroup_size(WG)
fn bwd_weight(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let split = wg.x;
  let c = wg.y;
  let n0 = split * p.N / p.splits;
  let n1 = (split + 1u) * p.N / p.splits;
  let chunks = (p.OW + R - 1u) / R;
  let tasks = p.OH * chunks;
  let span = (R - 1u) * ST + KS;
  var acc: array<f32, KK_MAX>;
  for (var i = 0u; i < KS * KS; i++) { acc[i] = 0.0; }
  let perImg = tasks;
  let allTasks = (n1 - n0) * perImg;
  for (var t0 = 0u; t0 < allTasks; t0 += WG) {
    let t = t0 + lid;
    let tc = min(t, allTasks - 1u);
    let task = rowTask(tc, n0, c, p.OH, chunks);
    let plane = task.x;
    let oh = task.y;
    let ow0 = task.z;
    let xBase = plane * p.H * p.W;
    let dyBase = plane * p.OH * p.OW;
    var g: array<f32, R>;  // dy of this thread's outputs; 0 past the row end or the task list
    for (var r = 0u; r < R; r++) {
      let ok = t < allTasks && ow0 + r < p.OW;
      g[r] = select(0.0, bw_dy[select(0u, dyBase + oh * p.OW + ow0 + r, ok)], ok);
    }
    let iw0 = i32(ow0 * ST) - i32(PD);
    for (var kh = 0u; kh < KS; kh++) {
      let ih = u32(i32(oh * ST) - i32(PD) + i32(kh));
      let rowBase = xBase + ih * p.W;
      var xw: array<f32, WIN>;
      for (var j = 0u; j < span; j++) {
        let iw = u32(iw0 + i32(j));
        let ok = ih < p.H && iw < p.W;
        xw[j] = select(0.0, bw_x[select(0u, rowBase + iw, ok)], ok);
      }
      for (var kw = 0u; kw < KS; kw++) {
        var s = 0.0;
        for (var r = 0u; r < R; r++) { s = fma(g[r], xw[r * ST + kw], s); }
        acc[kh * KS + kw] += s;
      }
    }
  }
  // Reduce each tap over the workgroup: one barrier, then one thread per tap sums WG values.
  for (var i = 0u; i < KS * KS; i++) { taps[i * WG + lid] = acc[i]; }
  workgroupBarrier();
  if (lid < KS * KS) {
    var s = 0.0;
    for (var j = 0u; j < WG; j++) { s += taps[lid * WG + j]; }
    bw_part[(split * p.C + c) * KS * KS + lid] = s;
  }
}
