// Convolution backward w.r.t. the input, groups = 1, as an implicit GEMM (conv2d_gemm.wgsl):
//   M = Cin, N = batch * H * W (column c = (n, ih, iw)), K = Cout * KH * KW (k = (co, kh, kw))
//   A[ci, k] = w[co, ci, kh, kw]
//   B[k, c] = dy[n, co, oh, ow] where ih = oh*stride - pad + kh (and likewise for w), else 0
//   dx[n, ci, ih, iw] = C[ci, c]

//#include "conv2d_common.wgsl"

@group(0) @binding(0) var<uniform> p: ConvGemmParams;  // Cb = Cout
@group(0) @binding(1) var<storage, read_write> DX: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;  // A operand source
@group(0) @binding(3) var<storage, read> DY: array<f32>;  // B operand source

fn stDX(i: u32, v: f32) { DX[i] = v; }

//#include "conv2d_bwd_input_hooks.wgsl"
//#include "conv2d_gemm.wgsl"
//#include "conv2d_bcast.wgsl"
