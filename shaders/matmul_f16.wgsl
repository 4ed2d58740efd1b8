// Batched register-tiled matmul on f16 operands with f32 accumulation (opt-in, needs shader-f16):
// matmul_core.wgsl reading A and B as f16 (cast_f16.wgsl packs them) into f16 shared tiles; every
// product and sum is f32, so the error is the inputs' rounding to f16 plus the f32 sums.

enable f16;

alias VIN = vec4<f16>;
alias SH = vec4<f16>;

//#include "matmul_core.wgsl"
