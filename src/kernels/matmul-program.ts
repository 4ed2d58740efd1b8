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
 *
 * Two options of the tile, for the autotuner to try (MatmulTile; a tile without them is the program
 * above, unchanged):
 * - db: two shared buffers per operand; each k-tile's global loads go to registers before the
 *   products of the previous one and to the other buffer after them, so the loads' latency hides
 *   behind the FMAs and one barrier per k-tile suffices (the pipelined loop of CUTLASS's SGEMM).
 *   Workgroup memory: what gemmTileStorageBytes already counts (it assumed two buffers).
 * - unroll: each k of the tile written out, shared offsets constant (no loop for the driver to unroll).
 */
import { type GemmTile, tileFmaLines } from './gemm-tile.js';

/** A matmul tile: the register tile, and program options the autotuner may pick (absent: off). */
export interface MatmulTile extends GemmTile {
  /** Double-buffered shared tiles, the next k-tile's loads held in registers (one barrier per k-tile). */
  db?: boolean;
  /** The k loop of each tile written out. */
  unroll?: boolean;
}

/** The options' suffix of tile and program names ('' for a plain tile, so its names stay as they were). */
export function matmulVariantSuffix(t: MatmulTile, sep = '+'): string {
  return `${t.db ? `${sep}db` : ''}${t.unroll ? `${sep}u` : ''}`;
}

/**
 * Workgroup memory a program declares: one or two (db) A and B tiles, k-major, the transposed
 * operand's rows padded by a vec4 (what Dawn checks against maxComputeWorkgroupStorageSize; the
 * host's check, gemmTileStorageBytes, counts two buffers and both paddings for every tile).
 */
export function matmulProgramStorageBytes(
  k: Pick<MatmulProgramKey, 'tile' | 'transA' | 'transB'> & { elem?: 'f32' | 'f16' },
): number {
  const { SA, SB } = sharedStrides(k);
  return (k.tile.db ? 2 : 1) * k.tile.BK * (SA + SB) * 4 * (k.elem === 'f16' ? 2 : 4);
}

/** Shared row strides in vec4s; rows written component-wise (transposed) get one vec4 of padding. */
function sharedStrides(k: Pick<MatmulProgramKey, 'tile' | 'transA' | 'transB'>): { SA: number; SB: number } {
  return { SA: k.tile.BM / 4 + (k.transA ? 0 : 1), SB: k.tile.BN / 4 + (k.transB ? 1 : 0) };
}

export interface MatmulProgramKey {
  tile: MatmulTile;
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
  return `matmul_${k.elem}_${t.BM}x${t.BN}x${t.BK}_${t.TM}x${t.TN}${matmulVariantSuffix(t, '_')}_${bits}.wgsl`;
}

const PARAMS_STRUCT = `struct Params {
  M: u32, N: u32, K: u32, batch: u32,
  transA: u32, transB: u32, strideA: u32, strideB: u32,
  strideC: u32, alpha: f32, beta: f32, flags: u32,
  splits: u32, kChunk: u32, _a: u32, _b: u32,
}`;

/** One operand's tile load (the k-tile of A or of B) as matmulProgram writes it. */
interface OperandLoad {
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
}

/** vec4 pieces per thread of one operand's k-tile (the last round guarded where they do not divide). */
function pieceRounds(o: OperandLoad): number {
  return Math.ceil((o.outer * o.inner4) / o.threads);
}

/** Piece l's guard and its place in the stored tile (r: stored row, c: first contiguous element). */
function pieceHead(o: OperandLoad, l: number): string[] {
  const units = o.outer * o.inner4;
  const guard = (l + 1) * o.threads > units ? `if (tid + ${l * o.threads}u < ${units}u) ` : '';
  return [`    ${guard}{`, `      let u = tid + ${l * o.threads}u; let r = u / ${o.inner4}u; let c = (u % ${o.inner4}u) * 4u;`];
}

/** Reads piece l from global memory into `v` (a vec4 or four bounds-checked scalars; zeros outside). */
function pieceFetch(o: OperandLoad, v: string, declare: boolean): string[] {
  const L = [`      let gr = ${o.rowExpr('r')}; let gc = ${o.colExpr('c')};`, `      ${declare ? 'var ' : ''}${v} = ${o.vt}();`];
  if (o.vec) {
    // The contiguous axis is a multiple of 4, so gc < bound means the whole vec4 is inside.
    L.push(`      if (gr < ${o.rowBound} && gc < ${o.colBound}) { ${v} = ${o.buf}[(${o.base} + gr * ${o.ld} + gc) / 4u]; }`);
  } else {
    L.push(`      if (gr < ${o.rowBound}) {`);
    L.push(`        let e = ${o.base} + gr * ${o.ld} + gc;`);
    for (let i = 0; i < 4; i++) L.push(`        if (gc + ${i}u < ${o.colBound}) { ${v}.${'xyzw'[i]} = ${o.buf}[e + ${i}u]; }`);
    L.push('      }');
  }
  return L;
}

/** Writes `v` (piece l) into the shared tile at `off` vec4s (a vec4 along the row, or four transposed components). */
function pieceStore(o: OperandLoad, v: string, off: string): string[] {
  const at = off ? `${off} + ` : '';
  if (o.transpose) {
    const L = [`      let s = ${at}c * ${o.stride}u + r / 4u; let q = r % 4u;`];
    for (let i = 0; i < 4; i++) L.push(`      ${o.shared}[s + ${i * o.stride}u][q] = ${v}.${'xyzw'[i]};`);
    return L;
  }
  return [`      ${o.shared}[${at}r * ${o.stride}u + c / 4u] = ${v};`];
}

/**
 * One operand's tile load: `units` vec4-sized pieces spread over the threads (unrolled), each
 * read from global memory and stored into shared memory at once.
 */
function loadLines(o: OperandLoad): string[] {
  const L: string[] = [];
  for (let l = 0; l < pieceRounds(o); l++)
    L.push(...pieceHead(o, l), ...pieceFetch(o, 'v', true), ...pieceStore(o, 'v', ''), '    }');
  return L;
}

/** The double-buffered program's halves of a load: into registers `<reg><l>`, and from them into shared memory. */
function prefetchLines(o: OperandLoad, reg: string): string[] {
  const L: string[] = [];
  for (let l = 0; l < pieceRounds(o); l++) L.push(...pieceHead(o, l), ...pieceFetch(o, `${reg}${l}`, false), '    }');
  return L;
}

function commitLines(o: OperandLoad, reg: string, off: string): string[] {
  const L: string[] = [];
  for (let l = 0; l < pieceRounds(o); l++) L.push(...pieceHead(o, l), ...pieceStore(o, `${reg}${l}`, off), '    }');
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
  const { SA, SB } = sharedStrides(k);
  const stages = k.tile.db ? 2 : 1;
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
var<workgroup> As: array<${vt}, ${stages * BK * SA}>;
var<workgroup> Bs: array<${vt}, ${stages * BK * SB}>;

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
  // A tile: op(A) rows row0.., k in kv..; stored M x K (rows = m) or K x M (transA: rows = k).
  const loadA = (kv: string): OperandLoad =>
    k.transA
      ? {
          buf: 'A',
          shared: 'As',
          threads,
          outer: BK,
          inner4: BM / 4,
          rowExpr: (r) => `${kv} + ${r}`,
          colExpr: (c) => `row0 + ${c}`,
          rowBound: 'kEnd',
          colBound: 'p.M',
          ld: 'p.M',
          base: 'baseA',
          vec: k.vecA,
          transpose: false,
          stride: SA,
          vt,
        }
      : {
          buf: 'A',
          shared: 'As',
          threads,
          outer: BM,
          inner4: BK / 4,
          rowExpr: (r) => `row0 + ${r}`,
          colExpr: (c) => `${kv} + ${c}`,
          rowBound: 'p.M',
          colBound: 'kEnd',
          ld: 'p.K',
          base: 'baseA',
          vec: k.vecA,
          transpose: true,
          stride: SA,
          vt,
        };
  // B tile: k in kv.., columns col0..; stored K x N (rows = k) or N x K (transB: rows = n).
  const loadB = (kv: string): OperandLoad =>
    k.transB
      ? {
          buf: 'B',
          shared: 'Bs',
          threads,
          outer: BN,
          inner4: BK / 4,
          rowExpr: (r) => `col0 + ${r}`,
          colExpr: (c) => `${kv} + ${c}`,
          rowBound: 'p.N',
          colBound: 'kEnd',
          ld: 'p.K',
          base: 'baseB',
          vec: k.vecB,
          transpose: true,
          stride: SB,
          vt,
        }
      : {
          buf: 'B',
          shared: 'Bs',
          threads,
          outer: BK,
          inner4: BN / 4,
          rowExpr: (r) => `${kv} + ${r}`,
          colExpr: (c) => `col0 + ${c}`,
          rowBound: 'kEnd',
          colBound: 'p.N',
          ld: 'p.N',
          base: 'baseB',
          vec: k.vecB,
          transpose: false,
          stride: SB,
          vt,
        };
  const fma = (aBase: string, bBase: string) =>
    tileFmaLines({ BK, SA, SB, RV, CV, WGX, WGY, unroll: Boolean(k.tile.unroll), aBase, bBase });
  if (!k.tile.db) {
    L.push(`  for (var k0 = kBegin; k0 < kEnd; k0 += ${BK}u) {`);
    L.push(...loadLines(loadA('k0')), ...loadLines(loadB('k0')));
    L.push('    workgroupBarrier();');
    L.push(...fma('', ''));
    L.push('    workgroupBarrier();');
    L.push('  }');
  } else {
    // Buffer `cur` holds the k-tile being multiplied; the next one is read into registers before
    // its products and written into the other buffer after them. The barrier at the end of step i
    // orders both: step i + 1 reads what step i wrote, and step i + 1 writes the buffer step i read.
    const la = loadA('kn');
    const lb = loadB('kn');
    for (let l = 0; l < pieceRounds(la); l++) L.push(`  var pa${l} = ${vt}();`);
    for (let l = 0; l < pieceRounds(lb); l++) L.push(`  var pb${l} = ${vt}();`);
    L.push('  {', '    let kn = kBegin;');
    L.push(...prefetchLines(la, 'pa'), ...prefetchLines(lb, 'pb'));
    L.push(...commitLines(la, 'pa', ''), ...commitLines(lb, 'pb', ''));
    L.push('  }', '  workgroupBarrier();');
    L.push('  var cur = 0u;');
    L.push(`  for (var k0 = kBegin; k0 < kEnd; k0 += ${BK}u) {`);
    L.push(`    let kn = k0 + ${BK}u;`, '    let more = kn < kEnd;');
    const inMore = (lines: string[]) => lines.map((l) => `  ${l}`);
    L.push('    if (more) {', ...inMore([...prefetchLines(la, 'pa'), ...prefetchLines(lb, 'pb')]), '    }');
    L.push(`    let offA = cur * ${BK * SA}u;`, `    let offB = cur * ${BK * SB}u;`);
    L.push(...fma('offA', 'offB'));
    L.push('    if (more) {');
    L.push(`      let nextA = ${BK * SA}u - offA;`, `      let nextB = ${BK * SB}u - offB;`);
    L.push(...inMore([...commitLines(la, 'pa', 'nextA'), ...commitLines(lb, 'pb', 'nextB')]), '    }');
    L.push('    workgroupBarrier();', '    cur = 1u - cur;', '  }');
  }
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
