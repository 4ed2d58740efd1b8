// LEGACY implicit-GEMM core (WGNAS_CONV_CORE=legacy): the default tiled convolutions are generated
// programs (src/kernels/conv2d-program.ts); this structure (register arrays filled through helpers,
// double buffering, Acc passed by pointer) measured 1.4-8 TFLOP/s on an H200. Kept for A/B runs.
// Implicit-GEMM core shared by the groups=1 convolution kernels (included, not a kernel itself).
// Computes C[M x N] = A[M x K] * B[K x N] on the register tiling of gemm_tile.wgsl (BM x BN
// blocks, TM x TN outputs per thread, double-buffered BK-deep shared tiles). Nothing is
// materialised: the including kernel supplies the operand addressing as hooks,
//   struct ColCtx; fn colCtx(c: u32) -> ColCtx          column c of B, decoded once per thread
//   type KCtx;     fn kCtx(k: u32) -> KCtx              row k of B, decoded once per thread...
//                  fn kNext(kc: KCtx) -> KCtx           ...then stepped to k + 1 without division
//   fn loadB(col: ColCtx, kc: KCtx) -> f32              B[k, c] for k < p.K, c < p.N
//   struct ACtx;   fn aCtx(k: u32) -> ACtx              column k of A, decoded once per k-tile
//   fn loadA(a: ACtx, r: u32) -> f32                    A[r, k] for r < p.M, k < p.K
//   struct OutCtx; fn outCtx(c: u32) -> OutCtx          output column c (c < p.N)
//   fn storeC(o: OutCtx, r: u32, split: u32, v: f32)
// and a uniform `p` with fields M, N, K, splits, kChunk. Integer division is slow on CPU
// backends (lavapipe scalarises it) and not free on GPUs, so the per-element loads use only the
// stepped KCtx: every thread loads B from one fixed column (threads % BN == 0) stepping k by
// threads / BN, and A at one fixed k of the tile stepping rows by threads / BK.
// Split-K and groups: workgroup z = (fold * splits + split) * groups + group; split s covers k in
// [s*kChunk, (s+1)*kChunk) (kChunk a multiple of BK) and stores a partial result; the fold part
// extends the column-tile grid past 65535 workgroups (column tile = wg.x + fold * nwg.x).

alias SH = vec4<f32>;
//#include "gemm_tile.wgsl"

const MAXL: u32 = 16u;  // loads per thread per operand tile (host-checked)

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let threads = WG_X * WG_Y;
  let tid = ty * WG_X + tx;
  grp = wg.z % p.groups;
  let zs = wg.z / p.groups;
  let split = zs % p.splits;
  let row0 = wg.y * BM;
  let col0 = (wg.x + (zs / p.splits) * nwg.x) * BN;
  let kBegin = split * p.kChunk;
  let kEnd = min(p.K, kBegin + p.kChunk);
  let nTiles = (kEnd - min(kBegin, kEnd) + BK - 1u) / BK;

  // A loads: each thread keeps one k of the tile and walks rows.
  let ak = tid % BK;
  let aRow0 = tid / BK;
  let aStep = threads / BK;
  let aCount = BM / aStep;
  // B loads: each thread keeps one column (decoded once) and walks k in steps of bStep.
  let bc = tid % BN;
  let bk0 = tid / BN;
  let bStep = threads / BN;
  let bCount = BK / bStep;
  let bValid = col0 + bc < p.N;
  let ctx = colCtx(min(col0 + bc, p.N - 1u));
  var kc = kCtx(kBegin + bk0);

  var ra: array<f32, MAXL>;
  var rb: array<f32, MAXL>;
  var acc: Acc;
  for (var t = 0u; t <= nTiles; t++) {
    // Stage t: store the registers fetched for tile t - 1 ... (t = 0 fetches only)
    if (t > 0u) {
      let buf = (t - 1u) & 1u;
      let aBase = buf * BK * SA + ak * SA;
      for (var j = 0u; j < aCount; j++) {
        let r = aRow0 + j * aStep;
        As[aBase + r / 4u][r % 4u] = ra[j];
      }
      let bBase = buf * BK * SB + bc / 4u;
      for (var j = 0u; j < bCount; j++) { Bs[bBase + (bk0 + j * bStep) * SB][bc % 4u] = rb[j]; }
      workgroupBarrier();
    }
    // ... fetch tile t into registers while the FMAs below run on tile t - 1 ...
    if (t < nTiles) {
      let k0 = kBegin + t * BK;
      let ka = k0 + ak;
      let actx = aCtx(min(ka, p.K - 1u));
      for (var j = 0u; j < aCount; j++) {
        let r = row0 + aRow0 + j * aStep;
        var v = 0.0;
        if (ka < kEnd && r < p.M) { v = loadA(actx, r); }
        ra[j] = v;
      }
      for (var j = 0u; j < bCount; j++) {
        var v = 0.0;
        if (bValid && k0 + bk0 + j * bStep < kEnd) { v = loadB(ctx, kc); }
        rb[j] = v;
        for (var s = 0u; s < bStep; s++) { kc = kNext(kc); }
      }
    }
    // ... and the FMAs of tile t - 1. The next stage's stores go to the other buffer; the
    // barrier after them also orders these reads before that buffer is overwritten again.
    if (t > 0u) { tileFma((t - 1u) & 1u, tx, ty, &acc); }
  }

  for (var cv = 0u; cv < TN / 4u; cv++) {
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + tileCol(tx, cv) + j;
      if (c >= p.N) { break; }
      let o = outCtx(c);
      for (var rv = 0u; rv < TM / 4u; rv++) {
        for (var i = 0u; i < 4u; i++) {
          let r = row0 + tileRow(ty, rv, i);
          if (r < p.M) { storeC(o, r, split, acc[(rv * 4u + i) * 2u + cv][j]); }
        }
      }
    }
  }
}
