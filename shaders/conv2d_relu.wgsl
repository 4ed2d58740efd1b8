// Convolution forward on relu(x) (the GEMM convolutions, grouped too): conv2d.wgsl with the ReLU
// applied as x is loaded, so an NAS-Bench-201 ReLU-Conv-BN edge needs neither a ReLU pass nor its
// output tensor. Padding stays 0 (relu(0) = 0).

//#include "conv2d_common.wgsl"
//#include "relu_nan.wgsl"

@group(0) @binding(0) var<uniform> p: ConvGemmParams;  // Cb = Cin
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;  // A operand source
@group(0) @binding(3) var<storage, read> X: array<f32>;  // B operand source: the ReLU's input

// relu(x), keeping NaN (max alone would return 0 for it).
fn ldX(i: u32) -> f32 { return reluNaN(X[i]); }
fn ldW(i: u32) -> f32 { return Wt[i]; }

//#include "conv2d_fwd_hooks.wgsl"
//#include "conv2d_gemm.wgsl"
//#include "conv2d_bcast.wgsl"
