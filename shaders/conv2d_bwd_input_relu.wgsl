// Convolution backward w.r.t. the input of relu(x) (the GEMM convolutions, grouped too):
// conv2d_bwd_input.wgsl with the ReLU's backward in the store, dx = C * (x > 0) (PyTorch's zero
// gradient at x == 0), so the gradient reaches the ReLU's input in one pass. x is the ReLU's input
// (MASK, binding 4).

//#include "conv2d_common.wgsl"

@group(0) @binding(0) var<uniform> p: ConvGemmParams;  // Cb = Cout
@group(0) @binding(1) var<storage, read_write> DX: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;  // A operand source
@group(0) @binding(3) var<storage, read> DY: array<f32>;  // B operand source
@group(0) @binding(4) var<storage, read> MASK: array<f32>;  // x: the ReLU's input

fn stDX(i: u32, v: f32) { DX[i] = select(0.0, v, MASK[i] > 0.0); }

//#include "conv2d_bwd_input_hooks.wgsl"
//#include "conv2d_gemm.wgsl"
//#include "conv2d_bcast.wgsl"
