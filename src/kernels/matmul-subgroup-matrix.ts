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
 * - 'staged': four subgroups (2 x 2) share a (2 TM M) x (2 TN N) block of C, A and B staged through
 *   workgroup memory in vec4<f16> pieces, KS fragments deep per barrier.
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
import { registerShaderSource } from '../gpu/shaders.js';
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
  /** Invocations per subgroup (the workgroup is one subgroup, or four). */
  subgroupSize: number;
  /** subgroupSize is pinned by WGSL's @subgroup_size (the device has subgroup-size-control). */
  pinned?: boolean;
  syntax: SgmatSyntax;
}

/** C rows x columns one workgroup computes. */
export function sgmatBlock(k: Pick<SgmatProgramKey, 'variant' | 'frag' | 'TM' | 'TN'>): { BM: number; BN: number } {
  const s = k.variant === 'staged' ? 2 : 1;
  return { BM: s * k.TM * k.frag.M, BN: s * k.TN * k.frag.N };
}

/** The f16 x f16 -> f32 configuration to use (a square one first), or null. */
export function pickSubgroupMatrixConfig(configs: readonly SubgroupMatrixConfig[] | undefined): SubgroupMatrixConfig | null {
  const ok = (configs ?? []).filter((c) => c.componentType === 'f16' && c.resultComponentType === 'f32');
  return ok.find((c) => c.M === c.N && c.N === c.K) ?? ok[0] ?? null;
}

export function sgmatProgramName(k: SgmatProgramKey): string {
  const f = k.frag;
  return `matmul_sgmat_${k.variant}_${f.M}x${f.N}x${f.K}_${k.TM}x${k.TN}_ks${k.KS}_sg${k.subgroupSize}${k.pinned ? 'pin' : ''}_${k.syntax}.wgsl`;
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
  // Staged: A tile [BM][BK] and B tile [BK][BN] in workgroup memory (f16, row-major), filled with
  // vec4<f16> reads by all four subgroups, then each subgroup's fragments loaded from there.
  const BK = k.KS * FK;
  const threads = 4 * k.subgroupSize;
  const aPieces = (BM * BK) / 4;
  const bPieces = (BK * BN) / 4;
  const fill = (n: number, body: (i: string) => string[]) =>
    [...Array(Math.ceil(n / threads)).keys()].flatMap((u) => {
      const idx = `li + ${u * threads}u`;
      const lines = body(`q${u}`);
      return (u + 1) * threads <= n
        ? [`    { let q${u} = ${idx};`, ...lines.map((l) => `      ${l}`), '    }']
        : [`    { let q${u} = ${idx};`, `      if (q${u} < ${n}u) {`, ...lines.map((l) => `        ${l}`), '      }', '    }'];
    });
  const put = (arr: string, at: string, v: string) => [0, 1, 2, 3].map((e) => `${arr}[${at} + ${e}u] = ${v}[${e}];`);
  const aFill = fill(aPieces, (q) => [
    `let ar = ${q} / ${BK / 4}u; let ak = (${q} % ${BK / 4}u) * 4u;`,
    `let va = A4[((wg.y * ${BM}u + ar) * p.K + k0 + ak) / 4u];`,
    ...put('As', `ar * ${BK}u + ak`, 'va'),
  ]);
  const bFill = fill(bPieces, (q) => [
    `let br = ${q} / ${BN / 4}u; let bc = (${q} % ${BN / 4}u) * 4u;`,
    `let vb = B4[((k0 + br) * p.N + wg.x * ${BN}u + bc) / 4u];`,
    ...put('Bs', `br * ${BN}u + bc`, 'vb'),
  ]);
  // One block per fragment step of the tile, so each step's fragment names can repeat.
  const steps = [...Array(k.KS).keys()].flatMap((kk) => [
    '    {',
    ...rows.map(
      (i) => `      let a${i} = ${load(left, '&As', `(sr * ${k.TM * FM}u + ${i * FM}u) * ${BK}u + ${kk * FK}u`, `${BK}u`)};`,
    ),
    ...cols.map(
      (j) => `      let b${j} = ${load(right, '&Bs', `${kk * FK}u * ${BN}u + sc * ${k.TN * FN}u + ${j * FN}u`, `${BN}u`)};`,
    ),
    ...mma.map((l) => `      ${l}`),
    '    }',
  ]);
  return `${header(emulated, pinned)}
@group(0) @binding(2) var<storage, read> A4: array<vec4<f16>>;
@group(0) @binding(3) var<storage, read> B4: array<vec4<f16>>;

var<workgroup> As: array<f16, ${BM * BK}>;
var<workgroup> Bs: array<f16, ${BK * BN}>;
${emulation('As', 'Bs')}
@compute @workgroup_size(${threads})${sgAttr}
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  // Subgroups are consecutive invocations of subgroupSize (as on every GPU with subgroup matrices;
  // the size pinned where the device can, else one size only: sgmatSubgroupSize); the index is
  // made subgroup-uniform explicitly, as the matrix builtins require.
  let sg = ${emulated ? `li / ${k.subgroupSize}u` : `subgroupBroadcastFirst(li / ${k.subgroupSize}u)`};
  let sr = sg / 2u;
  let sc = sg % 2u;
  let r0 = ${r0};
  let c0 = ${c0};
${acc.join('\n')}
  for (var k0 = 0u; k0 < p.K; k0 += ${BK}u) {
${aFill.join('\n')}
${bFill.join('\n')}
    workgroupBarrier();
${steps.join('\n')}
    workgroupBarrier();
  }
${stores.join('\n')}
}
`;
}

const registered = new Set<string>();
function programFile(k: SgmatProgramKey): string {
  const name = sgmatProgramName(k);
  if (!registered.has(name)) {
    registerShaderSource(name, sgmatProgram(k));
    registered.add(name);
  }
  return name;
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
  const limits = gpu.adapter.limits;
  const size = sgmatSubgroupSize(
    gpu.adapter.subgroupMinSize,
    gpu.adapter.subgroupMaxSize,
    gpu.device.features.has(SUBGROUP_SIZE_CONTROL_FEATURE as GPUFeatureName),
    variant === 'staged' ? 4 : 1,
    Math.min(limits.maxComputeInvocationsPerWorkgroup ?? 256, limits.maxComputeWorkgroupSizeX ?? 256),
  );
  if (typeof size === 'string') throw new Error(`matmul (subgroup matrix, ${variant}) on ${gpu.name}: ${size}`);
  const base = {
    variant,
    frag: { M: cfg.M, N: cfg.N, K: cfg.K },
    TM: o.TM ?? 2,
    TN: o.TN ?? (variant === 'direct' ? 4 : 2),
    KS: variant === 'staged' ? (o.KS ?? 2) : 1,
    ...size,
  };
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
