// Batched tiled f32 matmul: C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b].
// op(A) is M x K (A stored M x K, or K x M when transA = 1); op(B) is K x N (B stored K x N, or
// N x K when transB = 1). Strides of 0 broadcast an operand over the batch.
// Tile: each thread computes RM x RN outputs of a (WG_Y*RM) x (WG_X*RN) block; tile sizes are
// override constants so the autotuner can pick them per adapter without new WGSL.

struct Params {
  M: u32, N: u32, K: u32, batch: u32,
  transA: u32, transB: u32, strideA: u32, strideB: u32,
  strideC: u32, alpha: f32, beta: f32, _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

const RM: u32 = 4u;
const RN: u32 = 4u;
override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;
override TK: u32 = 16u;

var<workgroup> As: array<f32, WG_Y * RM * TK>;  // [TK][TM]
var<workgroup> Bs: array<f32, TK * WG_X * RN>;  // [TK][TN]

fn loadA(base: u32, r: u32, k: u32) -> f32 {
  if (r >= p.M || k >= p.K) { return 0.0; }
  if (p.transA == 0u) { return A[base + r * p.K + k]; }
  return A[base + k * p.M + r];
}

fn loadB(base: u32, k: u32, c: u32) -> f32 {
  if (k >= p.K || c >= p.N) { return 0.0; }
  if (p.transB == 0u) { return B[base + k * p.N + c]; }
  return B[base + c * p.K + k];
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let TM = WG_Y * RM;
  let TN = WG_X * RN;
  let b = wg.z;
  let row0 = wg.y * TM;
  let col0 = wg.x * TN;
  let baseA = b * p.strideA;
  let baseB = b * p.strideB;
  let tid = lid.y * WG_X + lid.x;
  let threads = WG_X * WG_Y;

  var acc: array<f32, 16>;  // RM * RN
  for (var i = 0u; i < RM * RN; i++) { acc[i] = 0.0; }

  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    for (var i = tid; i < TM * TK; i += threads) {
      // Consecutive threads walk the M (or K) axis that is contiguous in memory for this layout.
      var r: u32; var k: u32;
      if (p.transA == 0u) { k = i % TK; r = i / TK; } else { r = i % TM; k = i / TM; }
      As[k * TM + r] = loadA(baseA, row0 + r, k0 + k);
    }
    for (var i = tid; i < TK * TN; i += threads) {
      var c: u32; var k: u32;
      if (p.transB == 0u) { c = i % TN; k = i / TN; } else { k = i % TK; c = i / TK; }
      Bs[k * TN + c] = loadB(baseB, k0 + k, col0 + c);
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      var a: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var i = 0u; i < RM; i++) { a[i] = As[k * TM + lid.y + i * WG_Y]; }
      for (var j = 0u; j < RN; j++) { bv[j] = Bs[k * TN + lid.x + j * WG_X]; }
      for (var i = 0u; i < RM; i++) {
        for (var j = 0u; j < RN; j++) { acc[i * RN + j] = fma(a[i], bv[j], acc[i * RN + j]); }
      }
    }
    workgroupBarrier();
  }

  let baseC = b * p.strideC;
  for (var i = 0u; i < RM; i++) {
    let r = row0 + lid.y + i * WG_Y;
    if (r >= p.M) { continue; }
    for (var j = 0u; j < RN; j++) {
      let c = col0 + lid.x + j * WG_X;
      if (c >= p.N) { continue; }
      let idx = baseC + r * p.N + c;
      var v = p.alpha * acc[i * RN + j];
      if (p.beta != 0.0) { v += p.beta * C[idx]; }
      C[idx] = v;
    }
  }
}
