/**
 * The register tile of shaders/gemm_tile.wgsl, shared by the matmul and the implicit-GEMM
 * convolutions: a workgroup computes a BM x BN block of C over k-tiles of BK, each of its
 * (BM / TM) x (BN / TN) threads TM x TN outputs. The values are the kernels' override constants.
 */

export interface GemmTile {
  BM: number;
  BN: number;
  BK: number;
  TM: number;
  TN: number;
}

export const GEMM_TILE_KEYS = ['BM', 'BN', 'BK', 'TM', 'TN'] as const;

/** What gemm_tile.wgsl declares (a 64 x 64 block of 16 x 16 threads, 4 x 4 outputs each). */
export const GEMM_TILE_DEFAULTS: GemmTile = { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 };

/** Operand vec4 loads per thread per tile of the generated matmul (bounds its unrolled code). */
export const MATMUL_MAX_LOADS = 4;
/**
 * Scalar loads per thread per operand tile of the conv cores (MAXL of the legacy conv2d_gemm.wgsl;
 * bounds the unrolled loads of the generated programs, conv2d-program.ts).
 */
export const CONV_MAX_LOADS = 16;

export function gemmTileName(t: GemmTile): string {
  return `${t.BM}x${t.BN}x${t.BK}/${t.TM}x${t.TN}`;
}

export function gemmThreads(t: GemmTile): { x: number; y: number; total: number } {
  const x = t.BN / t.TN;
  const y = t.BM / t.TM;
  return { x, y, total: x * y };
}

/**
 * Workgroup memory: A and B tiles, double-buffered, k-major with one vec4 of padding per row.
 * `elemBytes` 2 for the f16 kernels (vec4<f16> shared tiles).
 */
export function gemmTileStorageBytes(t: GemmTile, elemBytes = 4): number {
  return 2 * t.BK * (t.BM / 4 + 1) * 4 * elemBytes + 2 * t.BK * (t.BN / 4 + 1) * 4 * elemBytes;
}

/** Why a tile cannot run (for this core, on a device with these limits), or null when it fits. */
export function gemmTileMisfit(
  t: GemmTile,
  limits: Record<string, number>,
  core: 'matmul' | 'conv' = 'matmul',
  elemBytes = 4,
): string | null {
  for (const k of GEMM_TILE_KEYS) {
    if (!Number.isInteger(t[k]) || t[k] < 1) return `${k}=${t[k]} is not a positive integer`;
  }
  if (t.TM !== 4 && t.TM !== 8) return `TM=${t.TM} must be 4 or 8`;
  if (t.TN !== 4 && t.TN !== 8) return `TN=${t.TN} must be 4 or 8`;
  if (t.BM % t.TM !== 0) return `BM=${t.BM} is not a multiple of TM=${t.TM}`;
  if (t.BN % t.TN !== 0) return `BN=${t.BN} is not a multiple of TN=${t.TN}`;
  if (t.BK % 4 !== 0) return `BK=${t.BK} is not a multiple of 4`;
  const th = gemmThreads(t);
  const maxInv = limits.maxComputeInvocationsPerWorkgroup ?? 256;
  if (th.total > maxInv) return `${th.total} invocations > maxComputeInvocationsPerWorkgroup ${maxInv}`;
  if (th.x > (limits.maxComputeWorkgroupSizeX ?? 256)) return `${th.x} threads across > maxComputeWorkgroupSizeX`;
  if (th.y > (limits.maxComputeWorkgroupSizeY ?? 256)) return `${th.y} threads down > maxComputeWorkgroupSizeY`;
  if (core === 'matmul') {
    const loads = Math.ceil((Math.max(t.BM, t.BN) * t.BK) / 4 / th.total);
    if (loads > MATMUL_MAX_LOADS)
      return `${loads} vec4 loads per thread per tile > ${MATMUL_MAX_LOADS} (fewer BK or more threads)`;
  } else {
    // Both conv cores: each thread loads B of fwd / bwd_input from one column (threads % BN == 0)
    // stepping k by threads / BN, and A at one k (threads % BK == 0) stepping rows by threads / BK.
    if (th.total % t.BN !== 0) return `${th.total} threads are not a multiple of BN=${t.BN}`;
    if (t.BK % (th.total / t.BN) !== 0) return `BK=${t.BK} is not a multiple of threads / BN = ${th.total / t.BN}`;
    if (th.total % t.BK !== 0) return `${th.total} threads are not a multiple of BK=${t.BK}`;
    if (t.BM % (th.total / t.BK) !== 0) return `BM=${t.BM} is not a multiple of threads / BK = ${th.total / t.BK}`;
    const loads = Math.max((t.BM * t.BK) / th.total, (t.BN * t.BK) / th.total);
    if (loads > CONV_MAX_LOADS) return `${loads} loads per thread per tile > ${CONV_MAX_LOADS}`;
  }
  const bytes = gemmTileStorageBytes(t, elemBytes);
  const maxBytes = limits.maxComputeWorkgroupStorageSize ?? 16384;
  if (bytes > maxBytes) return `${bytes} bytes of workgroup memory > maxComputeWorkgroupStorageSize ${maxBytes}`;
  return null;
}

/** The override constants a pipeline gets for a tile. */
export function gemmConstants(t: GemmTile): Record<string, number> {
  return { BM: t.BM, BN: t.BN, BK: t.BK, TM: t.TM, TN: t.TN };
}

/**
 * The WGSL of one k-tile's products in the generated GEMM programs (matmul-program.ts,
 * conv2d-program.ts): for each k of the tile, each thread's RV x CV vec4 accumulators acc<r>_<c> +=
 * a column of As (stride SA) times a row of Bs (stride SB), as vec4 FMAs. aBase / bBase: the
 * shared buffer's first vec4 (a WGSL expression, double buffering); unroll: each k written out.
 */
export function tileFmaLines(t: {
  BK: number;
  SA: number;
  SB: number;
  RV: number;
  CV: number;
  WGX: number;
  WGY: number;
  unroll?: boolean;
  aBase?: string;
  bBase?: string;
}): string[] {
  const plus = (base: string | undefined) => (base ? `${base} + ` : '');
  const products = (ind: string, a: (rv: number) => string, b: (cv: number) => string): string[] => {
    const L: string[] = [];
    for (let rv = 0; rv < t.RV; rv++) L.push(`${ind}let a${rv} = vec4<f32>(As[${a(rv)}]);`);
    for (let cv = 0; cv < t.CV; cv++) L.push(`${ind}let b${cv} = vec4<f32>(Bs[${b(cv)}]);`);
    for (let rv = 0; rv < t.RV; rv++) {
      for (let i = 0; i < 4; i++) {
        for (let cv = 0; cv < t.CV; cv++) {
          const r = rv * 4 + i;
          L.push(`${ind}acc${r}_${cv} = fma(vec4<f32>(a${rv}.${'xyzw'[i]}), b${cv}, acc${r}_${cv});`);
        }
      }
    }
    return L;
  };
  if (!t.unroll) {
    return [
      `    for (var k = 0u; k < ${t.BK}u; k++) {`,
      ...products(
        '      ',
        (rv) => `${plus(t.aBase)}k * ${t.SA}u + ty + ${rv * t.WGY}u`,
        (cv) => `${plus(t.bBase)}k * ${t.SB}u + tx + ${cv * t.WGX}u`,
      ),
      '    }',
    ];
  }
  // Written out: the thread's first vec4 of each buffer once, then constant offsets per k.
  const L = [`    let ta = ${plus(t.aBase)}ty;`, `    let tb = ${plus(t.bBase)}tx;`];
  for (let k = 0; k < t.BK; k++) {
    L.push('    {');
    L.push(
      ...products(
        '      ',
        (rv) => `ta + ${k * t.SA + rv * t.WGY}u`,
        (cv) => `tb + ${k * t.SB + cv * t.WGX}u`,
      ),
    );
    L.push('    }');
  }
  return L;
}
