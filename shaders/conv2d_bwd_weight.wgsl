// Convolution backward w.r.t. the weight, groups = 1, as a split-K implicit GEMM (conv2d_gemm.wgsl):
//   M = Cout, N = Cin * KH * KW (column c = (ci, kh, kw)), K = batch * OH * OW (k = (n, oh, ow))
//   A[co, k] = dy[n, co, oh, ow]; B[k, c] = x[n, ci, oh*stride - pad + kh, ow*stride - pad + kw]
//   partial[split, co, c] = C restricted to the split's k range; the host sums the splits
//   (reduce.wgsl:sum_slices) unless there is only one, in which case this is dw itself.

//#include "conv2d_common.wgsl"

@group(0) @binding(0) var<uniform> p: ConvGemmParams;  // Cb = Cin
@group(0) @binding(1) var<storage, read_write> PART: array<f32>;
@group(0) @binding(2) var<storage, read> DY: array<f32>;  // A operand source
@group(0) @binding(3) var<storage, read> X: array<f32>;  // B operand source

fn ldX(i: u32) -> f32 { return X[i]; }

//#include "conv2d_bwd_weight_hooks.wgsl"
//#include "conv2d_gemm.wgsl"
//#include "conv2d_bcast.wgsl"
