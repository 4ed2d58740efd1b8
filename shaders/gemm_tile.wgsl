// Register-tiled GEMM building blocks (included, not a kernel itself) used by the legacy
// conv2d_gemm.wgsl (WGNAS_CONV_CORE=legacy; the default is src/kernels/conv2d-program.ts).
// A workgroup computes a BM x BN block of C with WG_Y x WG_X threads
// (WG_Y = BM / TM, WG_X = BN / TN); each thread owns TM x TN outputs as 4 x 4 sub-blocks spread
// over the block:
//   rows    rv * 4 * WG_Y + 4 * ty + i   (rv < TM / 4, i < 4)
//   columns cv * 4 * WG_X + 4 * tx + j   (cv < TN / 4, j < 4)
// so the threads of a warp read consecutive vec4s of a shared-memory row (no bank conflicts) and
// every output chunk is 4 consecutive columns.
// Operands are staged k-major through workgroup memory, double-buffered: the including kernel
// fetches the next k-tile into registers before the FMAs on the current one and stores them into
// the other buffer after, so one barrier per k-tile suffices. Shared rows are padded by one vec4
// so the transposing (component-wise) stores of k-contiguous operands spread over banks.
// The includer defines `alias SH = vec4<f32>` (or vec4<f16>): the shared element type.
// Tile rules (checked on the host, src/kernels/gemm-tile.ts): TM, TN in {4, 8}; BM % TM == 0,
// BN % TN == 0, BK % 4 == 0.

override BM: u32 = 64u;
override BN: u32 = 64u;
override BK: u32 = 16u;
override TM: u32 = 4u;
override TN: u32 = 4u;
override WG_X: u32 = BN / TN;
override WG_Y: u32 = BM / TM;

// Shared row strides in vec4s (one vec4 of padding).
override SA: u32 = BM / 4u + 1u;
override SB: u32 = BN / 4u + 1u;

var<workgroup> As: array<SH, 2u * BK * SA>;  // [buffer][k][m / 4]
var<workgroup> Bs: array<SH, 2u * BK * SB>;  // [buffer][k][n / 4]

// acc[(rv * 4 + i) * 2 + cv] holds row (rv, i), columns chunk cv of this thread's outputs.
alias Acc = array<vec4<f32>, 16>;

// acc += A_tile(buf) * B_tile(buf) for this thread's outputs.
fn tileFma(buf: u32, tx: u32, ty: u32, acc: ptr<function, Acc>) {
  let a0 = buf * BK * SA + ty;
  let b0 = buf * BK * SB + tx;
  for (var k = 0u; k < BK; k++) {
    var a: array<vec4<f32>, 2>;
    var b: array<vec4<f32>, 2>;
    for (var rv = 0u; rv < TM / 4u; rv++) { a[rv] = vec4<f32>(As[a0 + k * SA + rv * WG_Y]); }
    for (var cv = 0u; cv < TN / 4u; cv++) { b[cv] = vec4<f32>(Bs[b0 + k * SB + cv * WG_X]); }
    for (var rv = 0u; rv < TM / 4u; rv++) {
      for (var i = 0u; i < 4u; i++) {
        let av = vec4<f32>(a[rv][i]);
        for (var cv = 0u; cv < TN / 4u; cv++) {
          let o = (rv * 4u + i) * 2u + cv;
          (*acc)[o] = fma(av, b[cv], (*acc)[o]);
        }
      }
    }
  }
}

// Block-relative row of this thread's output (rv, i) and first column of chunk cv.
fn tileRow(ty: u32, rv: u32, i: u32) -> u32 { return rv * 4u * WG_Y + 4u * ty + i; }
fn tileCol(tx: u32, cv: u32) -> u32 { return cv * 4u * WG_X + 4u * tx; }
