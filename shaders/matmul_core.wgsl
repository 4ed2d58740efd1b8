// Batched, split-K, register-tiled matmul core (included by matmul.wgsl and matmul_f16.wgsl):
//   C[s][b] = alpha * op(A[b]) op(B[b]) over k in split s's range (+ beta * C when splits = 1).
// op(A) is M x K (A stored M x K, or K x M when transA = 1); op(B) is K x N (B stored K x N, or
// N x K when transB = 1). strideA/strideB of 0 broadcast an operand over the batch.
// Tiling and double buffering: gemm_tile.wgsl. Operands load as vec4s along their contiguous
// axis when flags say the layout allows it (that axis a multiple of 4), else four bounds-checked
// scalars (the edge path); C is stored as vec4s when N % 4 == 0.
// The includer defines VIN (the operand vec4 type: vec4<f32> or vec4<f16>) and SH = VIN.
// Grid: x = column tiles, y = row tiles, z = split * batch + b (split-K writes the partial of
// split s at C + s * batch * strideC; the host sums them).

// flags: bit 0 A vec4-loadable, bit 1 B vec4-loadable, bit 2 C vec4-storable.
struct Params {
  M: u32, N: u32, K: u32, batch: u32,
  transA: u32, transB: u32, strideA: u32, strideB: u32,
  strideC: u32, alpha: f32, beta: f32, flags: u32,
  splits: u32, kChunk: u32, _a: u32, _b: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<VIN>;
@group(0) @binding(2) var<storage, read> B: array<VIN>;
@group(0) @binding(3) var<storage, read_write> C: array<vec4<f32>>;

//#include "gemm_tile.wgsl"

// Elements (r, c .. c+3) of a row-major rows x cols operand at `base` (zeros outside).
fn ldA(base: u32, r: u32, c: u32, rows: u32, cols: u32, vec: bool) -> VIN {
  var v = VIN();
  if (r >= rows) { return v; }
  let e = base + r * cols + c;
  // vec: cols % 4 == 0 and c % 4 == 0, so c < cols means the whole vec4 is inside.
  if (vec && c < cols) { return A[e >> 2u]; }
  for (var i = 0u; i < 4u; i++) {
    if (c + i < cols) { v[i] = A[(e + i) >> 2u][(e + i) & 3u]; }
  }
  return v;
}

fn ldB(base: u32, r: u32, c: u32, rows: u32, cols: u32, vec: bool) -> VIN {
  var v = VIN();
  if (r >= rows) { return v; }
  let e = base + r * cols + c;
  if (vec && c < cols) { return B[e >> 2u]; }
  for (var i = 0u; i < 4u; i++) {
    if (c + i < cols) { v[i] = B[(e + i) >> 2u][(e + i) & 3u]; }
  }
  return v;
}

const MAXL: u32 = 4u;  // vec4 loads per thread per operand tile (host-checked)
alias Regs = array<VIN, MAXL>;

// Split-K: kChunk is a multiple of BK, so a split's k-tiles end at its kEnd or run past K (the
// last split), and bounding k by K alone keeps every split to its own range.
struct Tile { row0: u32, col0: u32, baseA: u32, baseB: u32, tid: u32 }

// Loads the A tile of k-tile k0 into registers: transA = 0 reads BM rows x BK/4 vec4s along k,
// transA = 1 reads BK rows x BM/4 vec4s along m (consecutive threads, consecutive addresses).
fn fetchA(t: Tile, k0: u32, regs: ptr<function, Regs>) {
  let units = BM * BK / 4u;
  let threads = WG_X * WG_Y;
  let vec = (p.flags & 1u) != 0u;
  for (var l = 0u; l < MAXL; l++) {
    let u = t.tid + l * threads;
    if (l * threads >= units) { break; }
    if (u >= units) { continue; }
    if (p.transA == 0u) {
      let r = u / (BK / 4u);
      let c = k0 + (u % (BK / 4u)) * 4u;
      (*regs)[l] = ldA(t.baseA, t.row0 + r, c, p.M, p.K, vec);
    } else {
      let k = k0 + u / (BM / 4u);
      let c = t.row0 + (u % (BM / 4u)) * 4u;
      (*regs)[l] = ldA(t.baseA, k, c, p.K, p.M, vec);
    }
  }
}

fn putA(t: Tile, buf: u32, regs: ptr<function, Regs>) {
  let units = BM * BK / 4u;
  let threads = WG_X * WG_Y;
  let base = buf * BK * SA;
  for (var l = 0u; l < MAXL; l++) {
    let u = t.tid + l * threads;
    if (l * threads >= units) { break; }
    if (u >= units) { continue; }
    let v = (*regs)[l];
    if (p.transA == 0u) {
      let r = u / (BK / 4u);
      let k = (u % (BK / 4u)) * 4u;
      for (var i = 0u; i < 4u; i++) { As[base + (k + i) * SA + r / 4u][r % 4u] = v[i]; }
    } else {
      As[base + (u / (BM / 4u)) * SA + u % (BM / 4u)] = v;
    }
  }
}

// B: transB = 0 reads BK rows x BN/4 vec4s along n; transB = 1 reads BN rows x BK/4 vec4s along k.
fn fetchB(t: Tile, k0: u32, regs: ptr<function, Regs>) {
  let units = BN * BK / 4u;
  let threads = WG_X * WG_Y;
  let vec = (p.flags & 2u) != 0u;
  for (var l = 0u; l < MAXL; l++) {
    let u = t.tid + l * threads;
    if (l * threads >= units) { break; }
    if (u >= units) { continue; }
    if (p.transB == 0u) {
      let k = k0 + u / (BN / 4u);
      let c = t.col0 + (u % (BN / 4u)) * 4u;
      (*regs)[l] = ldB(t.baseB, k, c, p.K, p.N, vec);
    } else {
      let r = u / (BK / 4u);
      let c = k0 + (u % (BK / 4u)) * 4u;
      (*regs)[l] = ldB(t.baseB, t.col0 + r, c, p.N, p.K, vec);
    }
  }
}

fn putB(t: Tile, buf: u32, regs: ptr<function, Regs>) {
  let units = BN * BK / 4u;
  let threads = WG_X * WG_Y;
  let base = buf * BK * SB;
  for (var l = 0u; l < MAXL; l++) {
    let u = t.tid + l * threads;
    if (l * threads >= units) { break; }
    if (u >= units) { continue; }
    let v = (*regs)[l];
    if (p.transB == 0u) {
      Bs[base + (u / (BN / 4u)) * SB + u % (BN / 4u)] = v;
    } else {
      let n = u / (BK / 4u);
      let k = (u % (BK / 4u)) * 4u;
      for (var i = 0u; i < 4u; i++) { Bs[base + (k + i) * SB + n / 4u][n % 4u] = v[i]; }
    }
  }
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let b = wg.z % p.batch;
  let split = wg.z / p.batch;
  let kBegin = split * p.kChunk;
  var t: Tile;
  t.row0 = wg.y * BM;
  t.col0 = wg.x * BN;
  t.baseA = b * p.strideA;
  t.baseB = b * p.strideB;
  t.tid = ty * WG_X + tx;
  let kEnd = min(p.K, kBegin + p.kChunk);
  let nTiles = (kEnd - min(kBegin, kEnd) + BK - 1u) / BK;

  var ra: Regs;
  var rb: Regs;
  var acc: Acc;
  if (nTiles > 0u) {
    fetchA(t, kBegin, &ra);
    fetchB(t, kBegin, &rb);
    putA(t, 0u, &ra);
    putB(t, 0u, &rb);
  }
  workgroupBarrier();
  for (var i = 0u; i < nTiles; i++) {
    let cur = i & 1u;
    let more = i + 1u < nTiles;
    if (more) {
      fetchA(t, kBegin + (i + 1u) * BK, &ra);
      fetchB(t, kBegin + (i + 1u) * BK, &rb);
    }
    tileFma(cur, tx, ty, &acc);
    if (more) {
      putA(t, 1u - cur, &ra);
      putB(t, 1u - cur, &rb);
    }
    workgroupBarrier();
  }

  let baseC = (split * p.batch + b) * p.strideC;
  let vecC = (p.flags & 4u) != 0u;
  for (var rv = 0u; rv < TM / 4u; rv++) {
    for (var i = 0u; i < 4u; i++) {
      let r = t.row0 + tileRow(ty, rv, i);
      if (r >= p.M) { continue; }
      for (var cv = 0u; cv < TN / 4u; cv++) {
        let c = t.col0 + tileCol(tx, cv);
        if (c >= p.N) { continue; }
        let e = baseC + r * p.N + c;
        var v = p.alpha * acc[(rv * 4u + i) * 2u + cv];
        if (vecC) {
          if (p.beta != 0.0) { v += p.beta * C[e >> 2u]; }
          C[e >> 2u] = v;
        } else {
          for (var j = 0u; j < 4u; j++) {
            if (c + j >= p.N) { break; }
            let ej = e + j;
            var s = v[j];
            if (p.beta != 0.0) { s += p.beta * C[ej >> 2u][ej & 3u]; }
            C[ej >> 2u][ej & 3u] = s;
          }
        }
      }
    }
  }
}
