// Implicit-GEMM core shared by the groups=1 convolution kernels (included, not a kernel itself).
// Computes C[M x N] = A[M x K] * B[K x N] in (4*WG_Y) x (4*WG_X) workgroup tiles staged through
// workgroup memory, RM x RN = 4 x 4 outputs per thread, like matmul.wgsl. Nothing is
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
// backends (lavapipe scalarises it), so the per-element loads use only the stepped KCtx.
// Split-K: workgroup z = fold * splits + split; split s covers k in [s*kChunk, (s+1)*kChunk) and
// stores a partial result; the fold part extends the column-tile grid past 65535 workgroups
// (column tile = wg.x + fold * nwg.x).
// Requires WG_Y in {4, 8, 16, 32, 64}: every thread loads B from one fixed column (threads % TN
// == 0) and steps k by WG_Y / 4, which must divide TK.

const RM: u32 = 4u;
const RN: u32 = 4u;
const TK: u32 = 16u;
override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;

var<workgroup> As: array<f32, WG_Y * RM * TK>;  // [TK][TM]
var<workgroup> Bs: array<f32, TK * WG_X * RN>;  // [TK][TN]

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let TM = WG_Y * RM;
  let TN = WG_X * RN;
  let threads = WG_X * WG_Y;
  let tid = lid.y * WG_X + lid.x;
  let split = wg.z % p.splits;
  let row0 = wg.y * TM;
  let col0 = (wg.x + (wg.z / p.splits) * nwg.x) * TN;
  let kBegin = split * p.kChunk;
  let kEnd = min(p.K, kBegin + p.kChunk);

  // A loads: each thread keeps one k within the tile and walks rows.
  let ak = tid % TK;
  let aRow0 = tid / TK;
  let aStep = threads / TK;
  // B loads: each thread keeps one column (decoded once) and walks k in steps of bStep.
  let bc = tid % TN;
  let bk0 = tid / TN;
  let bStep = threads / TN;
  let bValid = col0 + bc < p.N;
  let ctx = colCtx(min(col0 + bc, p.N - 1u));
  var kc = kCtx(kBegin + bk0);

  var acc: array<f32, 16>;  // RM * RN
  for (var i = 0u; i < RM * RN; i++) { acc[i] = 0.0; }

  for (var k0 = kBegin; k0 < kEnd; k0 += TK) {
    let ka = k0 + ak;
    let actx = aCtx(min(ka, p.K - 1u));
    for (var r = aRow0; r < TM; r += aStep) {
      var v = 0.0;
      if (ka < kEnd && row0 + r < p.M) { v = loadA(actx, row0 + r); }
      As[ak * TM + r] = v;
    }
    for (var kk = bk0; kk < TK; kk += bStep) {
      var v = 0.0;
      if (bValid && k0 + kk < kEnd) { v = loadB(ctx, kc); }
      Bs[kk * TN + bc] = v;
      for (var s = 0u; s < bStep; s++) { kc = kNext(kc); }
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < RM; i++) { a[i] = As[k * TM + lid.y + i * WG_Y]; }
      for (var j = 0u; j < RN; j++) { b[j] = Bs[k * TN + lid.x + j * WG_X]; }
      for (var i = 0u; i < RM; i++) {
        for (var j = 0u; j < RN; j++) { acc[i * RN + j] = fma(a[i], b[j], acc[i * RN + j]); }
      }
    }
    workgroupBarrier();
  }

  for (var j = 0u; j < RN; j++) {
    let c = col0 + lid.x + j * WG_X;
    if (c >= p.N) { continue; }
    let o = outCtx(c);
    for (var i = 0u; i < RM; i++) {
      let r = row0 + lid.y + i * WG_Y;
      if (r < p.M) { storeC(o, r, split, acc[i * RN + j]); }
    }
  }
}
