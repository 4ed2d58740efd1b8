// Convolution forward, groups = 1, as an implicit GEMM (conv2d_gemm.wgsl):
//   M = Cout, N = batch * OH * OW (column c = (n, oh, ow)), K = Cin * KH * KW (k = (ci, kh, kw))
//   A[co, k] = w[co, ci, kh, kw]; B[k, c] = x[n, ci, oh*stride - pad + kh, ow*stride - pad + kw]
//   y[n, co, oh, ow] = C[co, c]
// Hooks: conv2d_fwd_hooks.wgsl; f16 operands: conv2d_f16.wgsl.

//#include "conv2d_common.wgsl"

@group(0) @binding(0) var<uniform> p: ConvGemmParams;  // Cb = Cin
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;  // A operand source
@group(0) @binding(3) var<storage, read> X: array<f32>;  // B operand source

fn ldX(i: u32) -> f32 { return X[i]; }
fn ldW(i: u32) -> f32 { return Wt[i]; }

//#include "conv2d_fwd_hooks.wgsl"
//#include "conv2d_gemm.wgsl"
//#include "conv2d_bcast.wgsl"
