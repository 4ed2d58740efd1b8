// Convolution forward, groups = 1, on f16 operands with f32 accumulation (opt-in, shader-f16):
// conv2d.wgsl's implicit GEMM reading x and w as f16 (cast_f16.wgsl packs them). Halves the
// operand traffic; every product and sum is f32.

enable f16;

//#include "conv2d_common.wgsl"

@group(0) @binding(0) var<uniform> p: ConvGemmParams;  // Cb = Cin
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f16>;  // A operand source
@group(0) @binding(3) var<storage, read> X: array<f16>;  // B operand source

fn ldX(i: u32) -> f32 { return f32(X[i]); }
fn ldW(i: u32) -> f32 { return f32(Wt[i]); }

//#include "conv2d_fwd_hooks.wgsl"
//#include "conv2d_gemm.wgsl"
