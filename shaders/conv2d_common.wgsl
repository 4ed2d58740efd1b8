// Pieces shared by the convolution kernels (included, not a kernel itself): the uniform layout of
// the groups=1 implicit-GEMM kernels and the index walkers. Helpers take every size as an
// argument (no module-scope state), so any conv2d*.wgsl may include this file whatever its own
// Params; they are small plain functions that the compiler inlines.

// Uniforms of conv2d.wgsl, conv2d_bwd_input.wgsl and conv2d_bwd_weight.wgsl, packed by
// gemmUniforms in src/kernels/conv2d.ts. Cb: channels of the B operand's source tensor (x: Cin for
// the forward and the weight gradient; dy: Cout for the input gradient). stride = 1 << strideShift
// when stridePow2 != 0 (only the input gradient uses it). Mpad: rows of the packed A
// (conv2d_bcast.wgsl). Grouped convolutions (conv2d_gemm.wgsl only) run one GEMM per group
// (workgroup z = ... * groups + group, kept in `grp`): M, N, K are one group's, Mtot the output
// (fwd, bwd_input) or dy (bwd_weight) channels of all groups, and grpA / grpB / grpC what the A
// source, the B source and the output advance per group (elements).
struct ConvGemmParams {
  M: u32, N: u32, K: u32, splits: u32,
  kChunk: u32, Cb: u32, H: u32, W: u32,
  OH: u32, OW: u32, KH: u32, KW: u32,
  stride: u32, pad: u32, strideShift: u32, stridePow2: u32,
  Mpad: u32, groups: u32, Mtot: u32, grpA: u32,
  grpB: u32, grpC: u32, _a: u32, _b: u32,
}

// The group this workgroup computes (set by conv2d_gemm.wgsl's main; 0 in the broadcast core).
var<private> grp: u32;

// (a / b, a % b), the remainder by multiply-subtract (one division).
fn divmod(a: u32, b: u32) -> vec2<u32> {
  let q = a / b;
  return vec2<u32>(q, a - q * b);
}

// Flat index i over [outer][rows][cols] as (outer, row, col): e.g. (n, oh, ow) of an output
// position or (ci, kh, kw) of a reduction index.
fn unflatten3(i: u32, rows: u32, cols: u32) -> vec3<u32> {
  let a = divmod(i, rows * cols);
  let b = divmod(a.y, cols);
  return vec3<u32>(a.x, b.x, b.y);
}

// Flat index i over [outer][chans][rows][cols] as (outer, chan, row, col): e.g. (n, co, oh, ow) of
// y[n, co, oh, ow] or (co, ci, kh, kw) of a weight.
fn unflatten4(i: u32, chans: u32, rows: u32, cols: u32) -> vec4<u32> {
  let a = unflatten3(i, rows, cols);
  let b = divmod(a.x, chans);
  return vec4<u32>(b.x, b.y, a.y, a.z);
}

// A position (outer, y, x) stepped along a flat index without division: off is the outer index
// already scaled to an element offset, y < rows, x < cols.
struct Walk { off: u32, y: u32, x: u32 }

// The position of flat index i (as unflatten3, the outer index scaled by offStep).
fn walkAt(i: u32, rows: u32, cols: u32, offStep: u32) -> Walk {
  let t = unflatten3(i, rows, cols);
  return Walk(t.x * offStep, t.y, t.z);
}

// The position of flat index i + 1 given that of i; offStep = what one outer step adds to off.
fn walkNext(w: Walk, rows: u32, cols: u32, offStep: u32) -> Walk {
  var n = w;
  n.x += 1u;
  if (n.x == cols) {
    n.x = 0u;
    n.y += 1u;
    if (n.y == rows) { n.y = 0u; n.off += offStep; }
  }
  return n;
}

// Flat index i over [outer][plane] placed in a tensor laid out [outer][rows][plane]: the offset of
// (outer, row 0, i % plane); row r lies r * plane further on. E.g. output column (n, oh, ow) of
// y[n, co, oh, ow] with rows = Cout, plane = OH * OW.
fn rowZeroOffset(i: u32, rows: u32, plane: u32) -> u32 {
  let d = divmod(i, plane);
  return d.x * rows * plane + d.y;
}
