// 2-D average pooling over NCHW planes (N*C planes of H x W), forward and backward, and the
// backward of global average pooling (its forward is reduce.wgsl:row_sum). Output size
// floor((H + 2 pad - K) / stride) + 1. The divisor follows PyTorch: with count_include_pad the
// window is clipped to the padded input, without it to the real input.
// avg_fwd / avg_bwd: one workgroup of PW threads per plane (plane grid folds over x and y via
// gpu.grid1d); threads step their (row, col) position without integer division, which CPU
// backends scalarise. gap_bwd: flat 1-D grid, idx = gid.x + gid.y * nwg.x * WG.

struct Params {
  planes: u32, H: u32, W: u32, OH: u32,
  OW: u32, K: u32, stride: u32, pad: u32,
  includePad: u32, total: u32, s: f32, _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;

const WG: u32 = 256u;

// Window of output (oh, ow) clipped to the input: (h0, h1, w0, w1) half-open, plus 1/divisor.
struct Window { h0: i32, h1: i32, w0: i32, w1: i32, inv: f32 }

fn window(oh: u32, ow: u32) -> Window {
  let hs = i32(oh * p.stride) - i32(p.pad);
  let ws = i32(ow * p.stride) - i32(p.pad);
  let k = i32(p.K);
  var h1 = min(hs + k, i32(p.H + p.pad));
  var w1 = min(ws + k, i32(p.W + p.pad));
  var count = (h1 - hs) * (w1 - ws);
  let h0 = max(hs, 0);
  let w0 = max(ws, 0);
  h1 = min(h1, i32(p.H));
  w1 = min(w1, i32(p.W));
  if (p.includePad == 0u) { count = (h1 - h0) * (w1 - w0); }
  return Window(h0, h1, w0, w1, 1.0 / f32(max(count, 1)));
}

const PW: u32 = 64u;

// Position (row, col) in a rows x cols grid, stepped by PW cells at a time.
struct Pos { row: u32, col: u32, dRow: u32, dCol: u32 }

fn firstPos(i: u32, cols: u32) -> Pos {
  let row = i / cols;
  let dRow = PW / cols;
  return Pos(row, i - row * cols, dRow, PW - dRow * cols);
}

fn nextPos(q: Pos, cols: u32) -> Pos {
  var r = q;
  r.row += q.dRow;
  r.col += q.dCol;
  if (r.col >= cols) { r.col -= cols; r.row += 1u; }
  return r;
}

@compute @workgroup_size(PW)
fn avg_fwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let plane = wg.x + wg.y * nwg.x;
  if (plane >= p.planes) { return; }
  let xBase = plane * p.H * p.W;
  let yBase = plane * p.OH * p.OW;
  var q = firstPos(lid, p.OW);
  for (var o = lid; o < p.OH * p.OW; o += PW) {
    let win = window(q.row, q.col);
    var acc = 0.0;
    for (var h = win.h0; h < win.h1; h++) {
      let rowBase = xBase + u32(h) * p.W;
      for (var w = win.w0; w < win.w1; w++) { acc += src[rowBase + u32(w)]; }
    }
    dst[yBase + o] = acc * win.inv;
    q = nextPos(q, p.OW);
  }
}

// Gather form of the backward (no atomics): each input element sums dy / divisor over the
// outputs whose window covers it.
@compute @workgroup_size(PW)
fn avg_bwd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let plane = wg.x + wg.y * nwg.x;
  if (plane >= p.planes) { return; }
  let xBase = plane * p.H * p.W;
  let yBase = plane * p.OH * p.OW;
  let s = i32(p.stride);
  let k = i32(p.K);
  let pad = i32(p.pad);
  var q = firstPos(lid, p.W);
  for (var i = lid; i < p.H * p.W; i += PW) {
    let ih = i32(q.row);
    let iw = i32(q.col);
    // Outputs o with o*s - pad <= i <= o*s - pad + K - 1.
    let oh0 = max(0, (ih + pad - k + s) / s);  // ceil((ih + pad - K + 1) / s), numerator may be < 0
    let ow0 = max(0, (iw + pad - k + s) / s);
    let oh1 = min(i32(p.OH) - 1, (ih + pad) / s);
    let ow1 = min(i32(p.OW) - 1, (iw + pad) / s);
    var acc = 0.0;
    for (var oh = oh0; oh <= oh1; oh++) {
      for (var ow = ow0; ow <= ow1; ow++) {
        let win = window(u32(oh), u32(ow));
        acc += src[yBase + u32(oh) * p.OW + u32(ow)] * win.inv;
      }
    }
    dst[xBase + i] = acc;
    q = nextPos(q, p.W);
  }
}

// Global average pool backward: dx[plane, :] = s * dy[plane] (s = 1 / (H W)).
@compute @workgroup_size(WG)
fn gap_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.total) { return; }
  dst[idx] = p.s * src[idx / (p.H * p.W)];
}
