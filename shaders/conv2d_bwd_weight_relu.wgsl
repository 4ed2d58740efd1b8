// Convolution backward w.r.t. the weight on relu(x) (the GEMM convolutions, grouped too):
// conv2d_bwd_weight.wgsl with the ReLU applied as x is loaded (the forward of conv2d_relu.wgsl never
// stored relu(x)).

//#include "conv2d_common.wgsl"
//#include "relu_nan.wgsl"

@group(0) @binding(0) var<uniform> p: ConvGemmParams;  // Cb = Cin
@group(0) @binding(1) var<storage, read_write> PART: array<f32>;
@group(0) @binding(2) var<storage, read> DY: array<f32>;  // A operand source
@group(0) @binding(3) var<storage, read> X: array<f32>;  // B operand source: the ReLU's input

// relu(x), keeping NaN (max alone would return 0 for it).
fn ldX(i: u32) -> f32 { return reluNaN(X[i]); }

//#include "conv2d_bwd_weight_hooks.wgsl"
//#include "conv2d_gemm.wgsl"
//#include "conv2d_bcast.wgsl"
