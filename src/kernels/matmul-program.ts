/**
 * The matmul program, generated per tile and operand layout (as tfjs-backend-webgpu does): a
 * BM x BN block of C per workgroup, TM x TN outputs per thread held in named vec4 registers,
 * A and B staged through workgroup memory once per BK-deep k-tile, every load and FMA written out.
 * On an H200 this structure ran at 31-37 TFLOP/s where the earlier hand-written core (register
 * arrays filled through pointers, double buffering, run-time layout flags) ran at 2.4 whatever its
 * tile (the experiment of docs/results.md, bench/matmul-variants.ts at commit 19ac416).
 *
 * What a program bakes in (its cache key): the tile, transA/transB, which operands are read as
 * vec4s (their contiguous axis a multiple of 4), whether C is written as vec4s (N % 4 == 0),
 * whether beta * C is read, and the operand element type (f16 operands accumulate in f32).
 * Sizes, strides, alpha/beta and the split-K chunk stay in the uniform block (MATMUL_PARAMS).
 *
 * Thread layout (same as the conv core's gemm_tile.wgsl): thread (tx, ty) owns rows
 * rv * 4 * WG_Y + 4 * ty + i and column chunks cv * 4 * WG_X + 4 * tx, so the threads of a warp read
 * consecutive vec4s of a shared row. Shared tiles are k-major (As[k][m], Bs[k][n]); operands whose
 * contiguous axis is k are transposed on the way in, into rows padded by one vec4.
 */
import { type GemmTile, tileFmaLines } from './gemm-tile.js';

export interface MatmulProgramKey {
  tile: GemmTile;
  transA: boolean;
  transB: boolean;
  vecA: boolean;
  vecB: boolean;
  vecC: boolean;
  beta: boolean;
  elem: 'f32' | 'f16';
}

/** The program's name in the shader cache (a pseudo file name; one per key). */
export function matmulProgramName(k: MatmulProgramKey): string {
  const t = k.tile;
  const bits = `${+k.transA}${+k.transB}${+k.vecA}${+k.vecB}${+k.vecC}${+k.beta}`;
  return `matmul_${k.elem}_${t.BM}x${t.BN}x${t.BK}_${t.TM}x${t.TN}_${bits}.wgsl`;
}

const PARAMS_STRUCT = `struct Params {
  M: u32, N: u32, K: u32, batch: u32,
  transA: u32, transB: u32, strideA: u32, strideB: u32,
  strideC: u32, alpha: f32, beta: f32, flags: u32,
  splits: u32, kChunk: u32, _a: u32, _b: u32,
}`;

/**
 * One operand's tile load: `units` vec4-sized pieces spread over the threads (unrolled), each
 * read from global memory (a vec4 or four bounds-checked scalars) and stored into shared memory
 * (a vec4 along the shared row, or four transposed components).
 */
function loadLines(o: {
  buf: 'A' | 'B';
  shared: 'As' | 'Bs';
  threads: number;
  /** Outer x inner pieces: `outer` rows of the stored operand, `inner` vec4s along its contiguous axis. */
  outer: number;
  inner4: number;
  /** Stored operand's row (global), its first contiguous element (global), and their bounds. */
  rowExpr: (r: string) => string;
  colExpr: (c: string) => string;
  rowBound: string;
  colBound: string;
  /** Stored row length (the contiguous axis' size) and the batch base. */
  ld: string;
  base: string;
  vec: boolean;
  /** true: shared[(c + i) * S + r / 4][r % 4] = v[i] (contiguous axis is k); false: shared[r * S + c / 4] = v. */
  transpose: boolean;
  stride: number;
  vt: string;
}): string[] {
  const L: string[] = [];
  const units = o.outer * o.inner4;
  for (let l = 0; l * o.threads < units; l++) {
    const guard = (l + 1) * o.threads > units ? `if (tid + ${l * o.threads}u < ${units}u) ` : '';
    L.push(`    ${guard}{`);
    L.push(`      let u = tid + ${l * o.threads}u; let r = u / ${o.inner4}u; let c = (u % ${o.inner4}u) * 4u;`);
    L.push(`      let gr = ${o.rowExpr('r')}; let gc = ${o.colExpr('c')};`);
    L.push(`      var v = ${o.vt}();`);
    if (o.vec) {
      // The contiguous axis is a multiple of 4, so gc < bound means the whole vec4 is inside.
      L.push(`      if (gr < ${o.rowBound} && gc < ${o.colBound}) { v = ${o.buf}[(${o.base} + gr * ${o.ld} + gc) / 4u]; }`);
    } else {
      L.push(`      if (gr < ${o.rowBound}) {`);
      L.push(`        let e = ${o.base} + gr * ${o.ld} + gc;`);
      for (let i = 0; i < 4; i++) L.push(`        if (gc + ${i}u < ${o.colBound}) { v.${'xyzw'[i]} = ${o.buf}[e + ${i}u]; }`);
      L.push('      }');
    }
    if (o.transpose) {
      L.push(`      let s = c * ${o.stride}u + r / 4u; let q = r % 4u;`);
      for (let i = 0; i < 4; i++) L.push(`      ${o.shared}[s + ${i * o.stride}u][q] = v.${'xyzw'[i]};`);
    } else {
      L.push(`      ${o.shared}[r * ${o.stride}u + c / 4u] = v;`);
    }
    L.push('    }');
  }
  return L;
}

/** WGSL source of one matmul program. */
export function matmulProgram(k: MatmulProgramKey): string {
  const { BM, BN, BK, TM, TN } = k.tile;
  const WGX = BN / TN;
  const WGY = BM / TM;
  const threads = WGX * WGY;
  const CV = TN / 4;
  const RV = TM / 4;
  // Shared row strides in vec4s; rows written component-wise (transposed) get one vec4 of padding.
  const SA = BM / 4 + (k.transA ? 0 : 1);
  const SB = BN / 4 + (k.transB ? 1 : 0);
  const e = k.elem;
  const vt = `vec4<${e}>`;
  const arr = (vec: boolean) => (vec ? `array<${vt}>` : `array<${e}>`);
  const L: string[] = [];
  if (e === 'f16') L.push('enable f16;');
  L.push(`// ${matmulProgramName(k)}: generated by src/kernels/matmul-program.ts`);
  L.push(PARAMS_STRUCT);
  L.push(`@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: ${arr(k.vecA)};
@group(0) @binding(2) var<storage, read> B: ${arr(k.vecB)};
@group(0) @binding(3) var<storage, read_write> C: ${k.vecC ? 'array<vec4<f32>>' : 'array<f32>'};
var<workgroup> As: array<${vt}, ${BK * SA}>;
var<workgroup> Bs: array<${vt}, ${BK * SB}>;

@compute @workgroup_size(${WGX}, ${WGY}, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * ${WGX}u + tx;
  let b = wg.z % p.batch;
  let split = wg.z / p.batch;
  let row0 = wg.y * ${BM}u;
  let col0 = wg.x * ${BN}u;
  let baseA = b * p.strideA;
  let baseB = b * p.strideB;
  let kBegin = split * p.kChunk;
  let kEnd = min(p.K, kBegin + p.kChunk);`);
  for (let r = 0; r < TM; r++) for (let c = 0; c < CV; c++) L.push(`  var acc${r}_${c} = vec4<f32>();`);
  L.push(`  for (var k0 = kBegin; k0 < kEnd; k0 += ${BK}u) {`);
  // A tile: op(A) rows row0.., k in k0..; stored M x K (rows = m) or K x M (transA: rows = k).
  L.push(
    ...(k.transA
      ? loadLines({
          buf: 'A',
          shared: 'As',
          threads,
          outer: BK,
          inner4: BM / 4,
          rowExpr: (r) => `k0 + ${r}`,
          colExpr: (c) => `row0 + ${c}`,
          rowBound: 'kEnd',
          colBound: 'p.M',
          ld: 'p.M',
          base: 'baseA',
          vec: k.vecA,
          transpose: false,
          stride: SA,
          vt,
        })
      : loadLines({
          buf: 'A',
          shared: 'As',
          threads,
          outer: BM,
          inner4: BK / 4,
          rowExpr: (r) => `row0 + ${r}`,
          colExpr: (c) => `k0 + ${c}`,
          rowBound: 'p.M',
          colBound: 'kEnd',
          ld: 'p.K',
          base: 'baseA',
          vec: k.vecA,
          transpose: true,
          stride: SA,
          vt,
        })),
  );
  // B tile: k in k0.., columns col0..; stored K x N (rows = k) or N x K (transB: rows = n).
  L.push(
    ...(k.transB
      ? loadLines({
          buf: 'B',
          shared: 'Bs',
          threads,
          outer: BN,
          inner4: BK / 4,
          rowExpr: (r) => `col0 + ${r}`,
          colExpr: (c) => `k0 + ${c}`,
          rowBound: 'p.N',
          colBound: 'kEnd',
          ld: 'p.K',
          base: 'baseB',
          vec: k.vecB,
          transpose: true,
          stride: SB,
          vt,
        })
      : loadLines({
          buf: 'B',
          shared: 'Bs',
          threads,
          outer: BK,
          inner4: BN / 4,
          rowExpr: (r) => `k0 + ${r}`,
          colExpr: (c) => `col0 + ${c}`,
          rowBound: 'kEnd',
          colBound: 'p.N',
          ld: 'p.N',
          base: 'baseB',
          vec: k.vecB,
          transpose: false,
          stride: SB,
          vt,
        })),
  );
  L.push('    workgroupBarrier();');
  L.push(...tileFmaLines({ BK, SA, SB, RV, CV, WGX, WGY }));
  L.push('    workgroupBarrier();');
  L.push('  }');
  // Epilogue: split s writes its partial at C + s * batch * strideC (the host sums them).
  L.push('  let baseC = (split * p.batch + b) * p.strideC;');
  for (let rv = 0; rv < RV; rv++) {
    for (let i = 0; i < 4; i++) {
      const r = rv * 4 + i;
      L.push(`  let r${r} = row0 + ${rv * 4 * WGY}u + 4u * ty + ${i}u;`);
      L.push(`  if (r${r} < p.M) {`);
      for (let cv = 0; cv < CV; cv++) {
        L.push(`    { let c = col0 + ${cv * 4 * WGX}u + 4u * tx; let e = baseC + r${r} * p.N + c;`);
        L.push(`      var v = p.alpha * acc${r}_${cv};`);
        if (k.vecC) {
          L.push(`      if (c < p.N) {${k.beta ? ' v += p.beta * C[e / 4u];' : ''} C[e / 4u] = v; }`);
        } else {
          for (let j = 0; j < 4; j++) {
            const comp = 'xyzw'[j];
            L.push(`      if (c + ${j}u < p.N) { C[e + ${j}u] = v.${comp}${k.beta ? ` + p.beta * C[e + ${j}u]` : ''}; }`);
          }
        }
        L.push('    }');
      }
      L.push('  }');
    }
  }
  L.push('}');
  return L.join('\n');
}
