/**
 * The tensor-core matmul: C = A B with f16 operands and f32 accumulation through subgroup matrices
 * (`chromium-experimental-subgroup-matrix`, Vulkan cooperative matrices), where the adapter offers
 * them. Opt-in and experimental: nothing in the product calls it yet; `wgnas bench matmul-sgmat
 * matmul-sgmat-staged` measures it (the device suite runs them with WGNAS_DAWN_FLAGS that expose the
 * feature). No software adapter here has subgroup-matrix configurations (lavapipe reports none), so
 * the programs have only run where a GPU has; the generator and the refusals are tested everywhere.
 *
 * Two program shapes, one fragment size (the adapter's f16 x f16 -> f32 configuration, M x N x K):
 * - 'direct': one subgroup per workgroup computes TM x TN result fragments, its A and B fragments
 *   loaded straight from the storage buffers (L1/L2 serve the reuse);
 * - 'staged': SGM x SGN subgroups (2 x 2 by default) share a (SGM TM M) x (SGN TN N) block of C, A
 *   and B staged through workgroup memory in vec4<f16> pieces, KS fragments deep per barrier; each
 *   subgroup's TM + TN fragment loads per step feed TM x TN products. Options (absent: the program
 *   of the H100's first run): db, two shared buffers with the next k-tile held in registers while
 *   the current one is multiplied (one barrier per k-tile); pad, f16s of padding per shared row, so
 *   the rows of a fragment load start in different banks (rows of 64 or 256 bytes all start in
 *   one bank group otherwise); 8 keeps every row 16-byte aligned.
 * Sizes must be multiples of the block (M, N) and of the fragment depth (K): this is a benchmark of
 * what the hardware gives, not yet a general op (no edges, no transposes, no batch).
 *
 * Both shapes assume subgroups of one known size, consecutive in the workgroup: where the device has
 * subgroup-size-control the programs pin it (@subgroup_size), else an adapter with a range of sizes
 * is refused (sgmatSubgroupSize).
 *
 * Dawn changed the load/store syntax in 2025 (a `row_major` template argument instead of a bool):
 * the newer form is compiled first and the older one if it fails, once per Gpu.
 */
import { KernelCompileError } from '../gpu/errors.js';
import type { Gpu } from '../gpu/gpu.js';
import { generatedProgramFile } from '../gpu/shaders.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { castF16, hasF16 } from './f16.js';

export const SUBGROUP_MATRIX_FEATURE = 'chromium-experimental-subgroup-matrix';
/** The Dawn toggles that expose it on NVIDIA's Vulkan driver (f16 and the Vulkan memory model are prerequisites). */
export const SUBGROUP_MATRIX_DAWN_FLAGS =
  'enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia,use_vulkan_memory_model';

/** One subgroup-matrix configuration an adapter reports (GPUAdapterInfo.subgroupMatrixConfigs). */
export interface SubgroupMatrixConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

export type SgmatVariant = 'direct' | 'staged';
/**
 * How the builtins are written: Dawn's newer `row_major` template form, its older bool form, or
 * 'emulated': the same program with every fragment a private f32 array and the builtins plain
 * loops (every invocation computes whole fragments), so the index math runs on any adapter.
 */
export type SgmatSyntax = 'template' | 'bool' | 'emulated';

export interface SgmatProgramKey {
  variant: SgmatVariant;
  /** The fragment: result M x N, depth K. */
  frag: { M: number; N: number; K: number };
  /** Result fragments per subgroup, rows x columns. */
  TM: number;
  TN: number;
  /** Staged only: fragments of depth per workgroup-memory tile. */
  KS: number;
  /** Staged only: subgroups down and across the workgroup's block (default 2 x 2). */
  SGM?: number;
  SGN?: number;
  /** Staged only: double-buffered shared tiles, the next k-tile prefetched into registers. */
  db?: boolean;
  /** Staged only: f16s of padding at the end of each shared row (default 0). */
  pad?: number;
  /** Invocations per subgroup (the workgroup is one subgroup, or SGM x SGN). */
  subgroupSize: number;
  /** subgroupSize is pinned by WGSL's @subgroup_size (the device has subgroup-size-control). */
  pinned?: boolean;
  syntax: SgmatSyntax;
}

type BlockKey = Pick<SgmatProgramKey, 'variant' | 'frag' | 'TM' | 'TN' | 'SGM' | 'SGN'>;

/** Subgroups down and across a workgroup (direct: one). */
export function sgmatGrid(k: BlockKey): { SGM: number; SGN: number } {
  return k.variant === 'staged' ? { SGM: k.SGM ?? 2, SGN: k.SGN ?? 2 } : { SGM: 1, SGN: 1 };
}

/** C rows x columns one workgroup computes. */
export function sgmatBlock(k: BlockKey): { BM: number; BN: number } {
  const { SGM, SGN } = sgmatGrid(k);
  return { BM: SGM * k.TM * k.frag.M, BN: SGN * k.TN * k.frag.N };
}

/** Workgroup memory a program declares (staged: its A and B tiles, f16, padded rows, one or two buffers). */
export function sgmatStorageBytes(k: SgmatProgramKey): number {
  if (k.variant !== 'staged') return 0;
  const { BM, BN } = sgmatBlock(k);
  const BK = k.KS * k.frag.K;
  const pad = k.pad ?? 0;
  return (k.db ? 2 : 1) * (BM * (BK + pad) + BK * (BN + pad)) * 2;
}

/** The f16 x f16 -> f32 configuration to use (a square one first), or null. */
export function pickSubgroupMatrixConfig(configs: readonly SubgroupMatrixConfig[] | undefined): SubgroupMatrixConfig | null {
  const ok = (configs ?? []).filter((c) => c.componentType === 'f16' && c.resultComponentType === 'f32');
  return ok.find((c) => c.M === c.N && c.N === c.K) ?? ok[0] ?? null;
}

/** The staged options' part of a name ('' for the defaults, so those names stay as they were). */
export function sgmatOptionsSuffix(k: SgmatProgramKey): string {
  if (k.variant !== 'staged') return '';
  const { SGM, SGN } = sgmatGrid(k);
  return `${SGM !== 2 || SGN !== 2 ? `_g${SGM}x${SGN}` : ''}${k.db ? '_db' : ''}${k.pad ? `_pad${k.pad}` : ''}`;
}

export function sgmatProgramName(k: SgmatProgramKey): string {
  const f = k.frag;
  return `matmul_sgmat_${k.variant}_${f.M}x${f.N}x${f.K}_${k.TM}x${k.TN}_ks${k.KS}${sgmatOptionsSuffix(k)}_sg${k.subgroupSize}${k.pinned ? 'pin' : ''}_${k.syntax}.wgsl`;
}

/** The device feature behind WGSL's @subgroup_size (Dawn: `enable subgroup_size_control;`). */
export const SUBGROUP_SIZE_CONTROL_FEATURE = 'subgroup-size-control';

/**
 * The subgroup size the programs are built for: the adapter's largest, pinned with @subgroup_size
 * where the device can (the largest whose `perWorkgroup` subgroups fit `maxInvocations`). Unpinned,
 * a driver may run smaller subgroups: the staged program's subgroup k would no longer be invocations
 * kS..kS+S-1, and the direct one would run its fragments once per subgroup, each a duplicate. So an
 * adapter with a range of sizes and no way to pin one is refused (a one-line reason instead of a
 * size). Unknown sizes: 32, unpinned (what every GPU with subgroup matrices so far runs).
 */
export function sgmatSubgroupSize(
  minSize: number | undefined,
  maxSize: number | undefined,
  canPin: boolean,
  perWorkgroup = 1,
  maxInvocations = Infinity,
): { subgroupSize: number; pinned: boolean } | string {
  if (maxSize === undefined) return { subgroupSize: 32, pinned: false };
  if (canPin) {
    // Subgroup sizes are powers of two.
    let size = maxSize;
    while (size * perWorkgroup > maxInvocations && size / 2 >= (minSize ?? maxSize)) size /= 2;
    return { subgroupSize: size, pinned: true };
  }
  if (minSize !== undefined && minSize !== maxSize)
    return `needs one subgroup size: the adapter runs ${minSize} to ${maxSize} and the device has no ${SUBGROUP_SIZE_CONTROL_FEATURE} to pin one`;
  return { subgroupSize: maxSize, pinned: false };
}

// Tint checks that fragment offsets are workgroup-uniform; the staged program's depend on the
// subgroup's index, uniform within its subgroup only (which is what the builtins need).
const header = (emulated: boolean, pinned: boolean) => `enable f16;
${emulated && !pinned ? '' : 'enable subgroups;\n'}${pinned ? 'enable subgroup_size_control;\n' : ''}${emulated ? '' : 'enable chromium_experimental_subgroup_matrix;\ndiagnostic(off, chromium.subgroup_matrix_uniformity);\n'}
struct Params { M: u32, N: u32, K: u32, _a: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> C: array<f32>;`;

/** WGSL source of one program (types written out: left <f16, K, M>, right <f16, N, K>, result <f32, N, M>). */
export function sgmatProgram(k: SgmatProgramKey): string {
  const { M: FM, N: FN, K: FK } = k.frag;
  const emulated = k.syntax === 'emulated';
  const left = emulated ? `array<f32, ${FM * FK}>` : `subgroup_matrix_left<f16, ${FK}, ${FM}>`;
  const right = emulated ? `array<f32, ${FK * FN}>` : `subgroup_matrix_right<f16, ${FN}, ${FK}>`;
  const result = emulated ? `array<f32, ${FM * FN}>` : `subgroup_matrix_result<f32, ${FN}, ${FM}>`;
  const load = (t: string, ptr: string, off: string, stride: string) =>
    k.syntax === 'template'
      ? `subgroupMatrixLoad<${t}, row_major>(${ptr}, ${off}, ${stride})`
      : k.syntax === 'bool'
        ? `subgroupMatrixLoad<${t}>(${ptr}, ${off}, false, ${stride})`
        : `ld_${ptr.slice(1)}(${off}, ${stride})`;
  const store = (off: string, v: string) =>
    k.syntax === 'template'
      ? `subgroupMatrixStore<row_major>(&C, ${off}, ${v}, p.N);`
      : k.syntax === 'bool'
        ? `subgroupMatrixStore(&C, ${off}, ${v}, false, p.N);`
        : `st_C(${off}, ${v}, p.N);`;
  const mmaCall = (a: string, b: string, c: string) =>
    emulated ? `mma(${a}, ${b}, ${c})` : `subgroupMatrixMultiplyAccumulate(${a}, ${b}, ${c})`;
  // The emulation's builtins: row-major fragments, element (r, c) at X[off + r * stride + c].
  const ld = (src: string, rows: number, cols: number) => `fn ld_${src}(off: u32, stride: u32) -> array<f32, ${rows * cols}> {
  var m: array<f32, ${rows * cols}>;
  for (var r = 0u; r < ${rows}u; r++) { for (var c = 0u; c < ${cols}u; c++) { m[r * ${cols}u + c] = f32(${src}[off + r * stride + c]); } }
  return m;
}`;
  const emulation = (srcA: string, srcB: string) =>
    emulated
      ? `
${ld(srcA, FM, FK)}
${ld(srcB, FK, FN)}
fn mma(a: ${left}, b: ${right}, c: ${result}) -> ${result} {
  var d = c;
  for (var m = 0u; m < ${FM}u; m++) { for (var n = 0u; n < ${FN}u; n++) { for (var kk = 0u; kk < ${FK}u; kk++) {
    d[m * ${FN}u + n] += a[m * ${FK}u + kk] * b[kk * ${FN}u + n];
  } } }
  return d;
}
fn st_C(off: u32, v: ${result}, stride: u32) {
  for (var r = 0u; r < ${FM}u; r++) { for (var c = 0u; c < ${FN}u; c++) { C[off + r * stride + c] = v[r * ${FN}u + c]; } }
}
`
      : '';
  const { BM, BN } = sgmatBlock(k);
  const pinned = Boolean(k.pinned);
  const sgAttr = pinned ? ` @subgroup_size(${k.subgroupSize})` : '';
  const rows = [...Array(k.TM).keys()];
  const cols = [...Array(k.TN).keys()];
  const acc = rows.flatMap((i) => cols.map((j) => `  var c${i}_${j} = ${result}();`));
  const mma = rows.flatMap((i) => cols.map((j) => `c${i}_${j} = ${mmaCall(`a${i}`, `b${j}`, `c${i}_${j}`)};`));
  // The subgroup's first C row and column (staged: its quadrant of the workgroup's block).
  const r0 = k.variant === 'staged' ? `wg.y * ${BM}u + sr * ${k.TM * FM}u` : `wg.y * ${BM}u`;
  const c0 = k.variant === 'staged' ? `wg.x * ${BN}u + sc * ${k.TN * FN}u` : `wg.x * ${BN}u`;
  const stores = rows.flatMap((i) => cols.map((j) => `  ${store(`(r0 + ${i * FM}u) * p.N + c0 + ${j * FN}u`, `c${i}_${j}`)}`));
  if (k.variant === 'direct') {
    return `${header(emulated, pinned)}
@group(0) @binding(2) var<storage, read> A: array<f16>;
@group(0) @binding(3) var<storage, read> B: array<f16>;
${emulation('A', 'B')}
@compute @workgroup_size(${k.subgroupSize})${sgAttr}
fn main(@builtin(workgroup_id) wg: vec3<u32>) {
  let r0 = ${r0};
  let c0 = ${c0};
${acc.join('\n')}
  for (var k = 0u; k < p.K; k += ${FK}u) {
${rows.map((i) => `    let a${i} = ${load(left, '&A', `(r0 + ${i * FM}u) * p.K + k`, 'p.K')};`).join('\n')}
${cols.map((j) => `    let b${j} = ${load(right, '&B', `k * p.N + c0 + ${j * FN}u`, 'p.N')};`).join('\n')}
${mma.map((l) => `    ${l}`).join('\n')}
  }
${stores.join('\n')}
}
`;
  }
  // Staged: A tile [BM][BK] and B tile [BK][BN] in workgroup memory (f16, row-major, rows padded by
  // `pad`), filled with vec4<f16> reads by all subgroups, then each subgroup's fragments loaded from there.
  const { SGM, SGN } = sgmatGrid(k);
  const BK = k.KS * FK;
  const pad = k.pad ?? 0;
  const SA = BK + pad;
  const SB = BN + pad;
  const stages = k.db ? 2 : 1;
  const threads = SGM * SGN * k.subgroupSize;
  const aPieces = (BM * BK) / 4;
  const bPieces = (BK * BN) / 4;
  const fill = (n: number, body: (q: string, u: number) => string[]) =>
    [...Array(Math.ceil(n / threads)).keys()].flatMap((u) => {
      const idx = `li + ${u * threads}u`;
      const lines = body(`q${u}`, u);
      return (u + 1) * threads <= n
        ? [`    { let q${u} = ${idx};`, ...lines.map((l) => `      ${l}`), '    }']
        : [`    { let q${u} = ${idx};`, `      if (q${u} < ${n}u) {`, ...lines.map((l) => `        ${l}`), '      }', '    }'];
    });
  const put = (arr: string, at: string, v: string) => [0, 1, 2, 3].map((e) => `${arr}[${at} + ${e}u] = ${v}[${e}];`);
  const aAt = (q: string) => `let ar = ${q} / ${BK / 4}u; let ak = (${q} % ${BK / 4}u) * 4u;`;
  const bAt = (q: string) => `let br = ${q} / ${BN / 4}u; let bc = (${q} % ${BN / 4}u) * 4u;`;
  const aRead = (kv: string) => `A4[((wg.y * ${BM}u + ar) * p.K + ${kv} + ak) / 4u]`;
  const bRead = (kv: string) => `B4[((${kv} + br) * p.N + wg.x * ${BN}u + bc) / 4u]`;
  const plus = (off: string) => (off ? `${off} + ` : '');
  // One block per fragment step of the tile, so each step's fragment names can repeat.
  const steps = (offA: string, offB: string) =>
    [...Array(k.KS).keys()].flatMap((kk) => [
      '    {',
      ...rows.map(
        (i) =>
          `      let a${i} = ${load(left, '&As', `${plus(offA)}(sr * ${k.TM * FM}u + ${i * FM}u) * ${SA}u + ${kk * FK}u`, `${SA}u`)};`,
      ),
      ...cols.map(
        (j) =>
          `      let b${j} = ${load(right, '&Bs', `${plus(offB)}${kk * FK}u * ${SB}u + sc * ${k.TN * FN}u + ${j * FN}u`, `${SB}u`)};`,
      ),
      ...mma.map((l) => `      ${l}`),
      '    }',
    ]);
  let loop: string[];
  if (!k.db) {
    loop = [
      `  for (var k0 = 0u; k0 < p.K; k0 += ${BK}u) {`,
      ...fill(aPieces, (q) => [aAt(q), `let va = ${aRead('k0')};`, ...put('As', `ar * ${SA}u + ak`, 'va')]),
      ...fill(bPieces, (q) => [bAt(q), `let vb = ${bRead('k0')};`, ...put('Bs', `br * ${SB}u + bc`, 'vb')]),
      '    workgroupBarrier();',
      ...steps('', ''),
      '    workgroupBarrier();',
      '  }',
    ];
  } else {
    // Buffer `cur` holds the k-tile being multiplied; the next one is read into registers (pa*, pb*)
    // before its products and written into the other buffer after them; the barrier ending step i
    // orders both (step i + 1 reads what step i wrote, and writes the buffer step i read).
    const prefetch = () => [
      ...fill(aPieces, (q, u) => [aAt(q), `pa${u} = ${aRead('kn')};`]),
      ...fill(bPieces, (q, u) => [bAt(q), `pb${u} = ${bRead('kn')};`]),
    ];
    const commit = (offA: string, offB: string) => [
      ...fill(aPieces, (q, u) => [aAt(q), ...put('As', `${plus(offA)}ar * ${SA}u + ak`, `pa${u}`)]),
      ...fill(bPieces, (q, u) => [bAt(q), ...put('Bs', `${plus(offB)}br * ${SB}u + bc`, `pb${u}`)]),
    ];
    const inner = (lines: string[]) => lines.map((l) => `  ${l}`);
    loop = [
      ...[...Array(Math.ceil(aPieces / threads)).keys()].map((u) => `  var pa${u}: vec4<f16>;`),
      ...[...Array(Math.ceil(bPieces / threads)).keys()].map((u) => `  var pb${u}: vec4<f16>;`),
      '  {',
      '    let kn = 0u;',
      ...inner([...prefetch(), ...commit('', '')]),
      '  }',
      '  workgroupBarrier();',
      '  var cur = 0u;',
      `  for (var k0 = 0u; k0 < p.K; k0 += ${BK}u) {`,
      `    let kn = k0 + ${BK}u;`,
      '    let more = kn < p.K;',
      '    if (more) {',
      ...inner(prefetch()),
      '    }',
      `    let offA = cur * ${BM * SA}u;`,
      `    let offB = cur * ${BK * SB}u;`,
      ...steps('offA', 'offB'),
      '    if (more) {',
      `      let nextA = ${BM * SA}u - offA;`,
      `      let nextB = ${BK * SB}u - offB;`,
      ...inner(commit('nextA', 'nextB')),
      '    }',
      '    workgroupBarrier();',
      '    cur = 1u - cur;',
      '  }',
    ];
  }
  return `${header(emulated, pinned)}
@group(0) @binding(2) var<storage, read> A4: array<vec4<f16>>;
@group(0) @binding(3) var<storage, read> B4: array<vec4<f16>>;

var<workgroup> As: array<f16, ${stages * BM * SA}>;
var<workgroup> Bs: array<f16, ${stages * BK * SB}>;
${emulation('As', 'Bs')}
@compute @workgroup_size(${threads})${sgAttr}
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  // Subgroups are consecutive invocations of subgroupSize (as on every GPU with subgroup matrices;
  // the size pinned where the device can, else one size only: sgmatSubgroupSize); the index is
  // made subgroup-uniform explicitly, as the matrix builtins require.
  let sg = ${emulated ? `li / ${k.subgroupSize}u` : `subgroupBroadcastFirst(li / ${k.subgroupSize}u)`};
  let sr = sg / ${SGN}u;
  let sc = sg % ${SGN}u;
  let r0 = ${r0};
  let c0 = ${c0};
${acc.join('\n')}
${loop.join('\n')}
${stores.join('\n')}
}
`;
}

function programFile(k: SgmatProgramKey): string {
  return generatedProgramFile(sgmatProgramName(k), () => sgmatProgram(k));
}

/** A program of the most common configuration, for the uniform block's declaration check. */
const REFERENCE_PROGRAM = programFile({
  variant: 'direct',
  frag: { M: 16, N: 16, K: 16 },
  TM: 2,
  TN: 2,
  KS: 1,
  subgroupSize: 32,
  syntax: 'template',
});
export const SGMAT_PARAMS = defineUniforms(REFERENCE_PROGRAM, 'Params', { M: 'u32', N: 'u32', K: 'u32', _a: 'u32' });

/** Why this Gpu cannot run the subgroup-matrix matmul (one line naming the fix), or null. */
export function subgroupMatrixProblem(gpu: Gpu): string | null {
  if (!gpu.device.features.has(SUBGROUP_MATRIX_FEATURE as GPUFeatureName))
    return `${gpu.name} does not offer ${SUBGROUP_MATRIX_FEATURE} (on NVIDIA, set WGNAS_DAWN_FLAGS=${SUBGROUP_MATRIX_DAWN_FLAGS})`;
  if (!hasF16(gpu)) return `${gpu.name} does not offer shader-f16, which the subgroup-matrix operands need`;
  if (!pickSubgroupMatrixConfig(gpu.adapter.subgroupMatrixConfigs))
    return `${gpu.name} reports no f16 x f16 -> f32 subgroup-matrix configuration (configs: ${JSON.stringify(gpu.adapter.subgroupMatrixConfigs ?? [])})`;
  return null;
}

export interface SgmatOptions {
  variant?: SgmatVariant;
  TM?: number;
  TN?: number;
  KS?: number;
  /** Staged only (SgmatProgramKey). */
  SGM?: number;
  SGN?: number;
  db?: boolean;
  pad?: number;
}

/**
 * What bench's matmul-sgmat / matmul-sgmat-staged try on a GPU with the feature (src/bench/sgmat-tune.ts
 * times them, the fastest correct one is measured), the first of each the H100's 2026-12-06 program
 * (direct 2x4: 50.5 TFLOP/s at 4096^3, staged 2x2: 46.6). With 16x16x16 fragments and subgroups of 32:
 * - direct: 2x4, 4x2 and 4x4 fragments per subgroup (8 or 16 products per 6 or 8 fragment loads;
 *   16 x 8 f32 accumulator registers at 4x4);
 * - staged: the 2x2 default; the same double-buffered with padded rows; 4 subgroups of 2x4 fragments
 *   (64 x 128 block, 27 KiB); 4 of 4x4 (128 x 128, each subgroup a 64 x 64 warp tile as CUTLASS's
 *   fp16 GEMMs, 37 KiB); 8 of 2x4 (4 x 2 subgroups, 128 x 128, 37 KiB); 4 of 4x4 one fragment deep
 *   (BK 16, 21 KiB). Workgroup memory is checked against the device (sgmatMisfit) before compiling.
 */
export const SGMAT_CANDIDATES: Readonly<Record<SgmatVariant, readonly SgmatOptions[]>> = {
  direct: [
    { TM: 2, TN: 4 },
    { TM: 4, TN: 2 },
    { TM: 4, TN: 4 },
  ],
  staged: [
    { TM: 2, TN: 2, KS: 2 },
    { TM: 2, TN: 2, KS: 2, db: true, pad: 8 },
    { TM: 2, TN: 4, KS: 2, db: true, pad: 8 },
    { TM: 4, TN: 4, KS: 2, db: true, pad: 8 },
    { TM: 2, TN: 4, KS: 2, SGM: 4, SGN: 2, db: true, pad: 8 },
    { TM: 4, TN: 4, KS: 1, db: true, pad: 8 },
  ],
};

/** A short name of a program's options: TMxTN fragments, ks depth, and the staged options. */
export function sgmatOptionsName(k: SgmatProgramKey): string {
  const { SGM, SGN } = sgmatGrid(k);
  const grid = k.variant === 'staged' ? `${SGM}x${SGN} subgroups of ` : '';
  const opts = [k.db ? 'db' : '', k.pad ? `pad${k.pad}` : ''].filter(Boolean).join(',');
  return `${grid}${k.TM}x${k.TN}${k.variant === 'staged' ? ` ks${k.KS}` : ''}${opts ? ` ${opts}` : ''}`;
}

/** Why a program cannot run on a device with these limits (invocations, workgroup memory), or null. */
export function sgmatMisfit(k: SgmatProgramKey, limits: Record<string, number>): string | null {
  const { SGM, SGN } = sgmatGrid(k);
  const threads = SGM * SGN * k.subgroupSize;
  const most = Math.min(limits.maxComputeInvocationsPerWorkgroup ?? 256, limits.maxComputeWorkgroupSizeX ?? 256);
  if (threads > most) return `${threads} invocations > the device's ${most}`;
  const bytes = sgmatStorageBytes(k);
  const maxBytes = limits.maxComputeWorkgroupStorageSize ?? 16384;
  if (bytes > maxBytes) return `${bytes} bytes of workgroup memory > maxComputeWorkgroupStorageSize ${maxBytes}`;
  const { BM, BN } = sgmatBlock(k);
  const BK = k.KS * k.frag.K;
  if (k.variant === 'staged' && (BK % 4 || BN % 4))
    return `the staged program reads vec4s: BK ${BK} and BN ${BN} must be multiples of 4 (block ${BM} x ${BN})`;
  // Subgroup-matrix loads from workgroup memory want 16-byte aligned rows (Vulkan's
  // OpCooperativeMatrixLoadKHR stride rule): lavapipe has no such matrices to show a bad one.
  if ((k.pad ?? 0) % 8) return `pad ${k.pad} f16s: shared rows must stay 16-byte aligned (a multiple of 8)`;
  return null;
}

const syntaxOf = new WeakMap<Gpu, SgmatSyntax>();

/**
 * The program for these options on this Gpu, compiled (the newer syntax first, then the older);
 * throws a one-line error where the feature or a configuration is missing.
 */
export async function prepareSubgroupMatrixMatmul(gpu: Gpu, o: SgmatOptions = {}): Promise<SgmatProgramKey> {
  const problem = subgroupMatrixProblem(gpu);
  if (problem) throw new Error(`matmul (subgroup matrix): ${problem}`);
  const cfg = pickSubgroupMatrixConfig(gpu.adapter.subgroupMatrixConfigs)!;
  const variant = o.variant ?? 'direct';
  const staged = variant === 'staged';
  const limits = gpu.adapter.limits;
  const grid = staged ? { SGM: o.SGM ?? 2, SGN: o.SGN ?? 2 } : { SGM: 1, SGN: 1 };
  const size = sgmatSubgroupSize(
    gpu.adapter.subgroupMinSize,
    gpu.adapter.subgroupMaxSize,
    gpu.device.features.has(SUBGROUP_SIZE_CONTROL_FEATURE as GPUFeatureName),
    grid.SGM * grid.SGN,
    Math.min(limits.maxComputeInvocationsPerWorkgroup ?? 256, limits.maxComputeWorkgroupSizeX ?? 256),
  );
  if (typeof size === 'string') throw new Error(`matmul (subgroup matrix, ${variant}) on ${gpu.name}: ${size}`);
  const base: Omit<SgmatProgramKey, 'syntax'> = {
    variant,
    frag: { M: cfg.M, N: cfg.N, K: cfg.K },
    TM: o.TM ?? 2,
    TN: o.TN ?? (variant === 'direct' ? 4 : 2),
    KS: staged ? (o.KS ?? 2) : 1,
    // The staged options only where they differ from the defaults (the program names stay as they were).
    ...(staged && (grid.SGM !== 2 || grid.SGN !== 2) ? grid : {}),
    ...(staged && o.db ? { db: true } : {}),
    ...(staged && o.pad ? { pad: o.pad } : {}),
    ...size,
  };
  const misfit = sgmatMisfit({ ...base, syntax: 'template' }, limits);
  if (misfit)
    throw new Error(`matmul (subgroup matrix, ${variant} ${sgmatOptionsName({ ...base, syntax: 'template' })}): ${misfit}`);
  const known = syntaxOf.get(gpu);
  const errors: string[] = [];
  for (const syntax of known ? [known] : (['template', 'bool'] as const)) {
    const key = { ...base, syntax };
    try {
      await gpu.compile({ file: programFile(key) });
      syntaxOf.set(gpu, syntax);
      return key;
    } catch (e) {
      if (!(e instanceof KernelCompileError)) throw e;
      errors.push(`${syntax} syntax: ${e.message.split('\n').slice(0, 3).join(' | ')}`);
    }
  }
  throw new Error(`matmul (subgroup matrix): no program compiled on ${gpu.name}: ${errors.join('; ')}`);
}

/** Why these sizes do not fit the program's block, or null. */
export function sgmatShapeProblem(k: SgmatProgramKey, M: number, N: number, K: number): string | null {
  const { BM, BN } = sgmatBlock(k);
  const BK = k.KS * k.frag.K;
  if (M % BM || N % BN || K % BK)
    return `M, N, K = ${M}, ${N}, ${K} must be multiples of ${BM}, ${BN}, ${BK} (the ${k.variant} program's block)`;
  return null;
}

/**
 * C [M, N] = A [M, K] B [K, N] (f32 tensors; the operands are rounded to f16 on the way in, the
 * products summed in f32) with a program from prepareSubgroupMatrixMatmul. Writes `out` if given.
 */
export function matmulSubgroupMatrix(gpu: Gpu, key: SgmatProgramKey, a: GpuTensor, b: GpuTensor, out?: GpuTensor): GpuTensor {
  if (a.shape.length !== 2 || b.shape.length !== 2 || a.shape[1] !== b.shape[0])
    throw new RangeError(`matmul (subgroup matrix): needs A [M, K] and B [K, N], got [${a.shape}] and [${b.shape}]`);
  const [M, K] = a.shape;
  const N = b.shape[1];
  const problem = sgmatShapeProblem(key, M, N, K);
  if (problem) throw new RangeError(`matmul (subgroup matrix): ${problem}`);
  const c = out ?? gpu.empty([M, N]);
  const a16 = castF16(gpu, a);
  const b16 = castF16(gpu, b);
  const { BM, BN } = sgmatBlock(key);
  try {
    gpu.dispatch({
      kernel: { file: programFile(key) },
      buffers: [c, a16, b16],
      uniforms: SGMAT_PARAMS.pack({ M, N, K }),
      workgroups: [N / BN, M / BM],
    });
  } finally {
    a16.dispose();
    b16.dispose();
  }
  return c;
}
