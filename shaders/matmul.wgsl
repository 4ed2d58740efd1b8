// Batched register-tiled f32 matmul: C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b], with an
// optional split-K. The kernel is matmul_core.wgsl on f32 operands; tile sizes (BM, BN, BK, TM,
// TN) are override constants so the autotuner picks them per adapter (src/kernels/matmul-tiles.ts).

alias VIN = vec4<f32>;
alias SH = vec4<f32>;

//#include "matmul_core.wgsl"
