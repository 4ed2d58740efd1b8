/**
 * Depthwise convolution (groups = Cin = Cout, square kernel KS <= 7, stride 1 or 2) as generated
 * programs: the program core's (the default) forward, input gradient and weight gradient on hardware
 * adapters. The legacy core (WGNAS_CONV_CORE=legacy) and software adapters keep conv2d_depthwise.wgsl
 * (src/kernels/conv2d.ts), so one device run measures both.
 * One program per (pass, KS, stride, pad, R, tile size); shapes travel in the uniforms (DwParams).
 *
 * Design (for NVIDIA, where conv2d_depthwise.wgsl ran 5x5 / 7x7 at 0.47-0.58x tfjs-webgpu and a 3x3
 * weight gradient in 19.5 ms; the suspects: its private `array<f32, 49>` windows, indexed by loop
 * variables and clamped by Tint, placed in local memory, and 144 workgroups for that gradient):
 *  - No private arrays: weights, window values and accumulators are named scalars (v<kw>, x<j>,
 *    a<r>) and each kernel row's loads and FMAs are written out, so nothing indexed at run time can
 *    land in local memory. The kernel rows are a loop of constant trip count KS (the driver may
 *    unroll it) holding one row's KS weights: written out as well, a 7x7 program took lavapipe's
 *    LLVM 2-4 s to compile (a test on lavapipe reported as hardware: 82 -> 248 s) and kept all 49
 *    weights live.
 *  - A workgroup (DW_WG threads) owns one channel and a tile: `imgs` whole planes (small planes: a
 *    few images, so lanes stay busy) or a band of `rows` rows of one plane. It stages the tile's
 *    input (x; dy for the input gradient) with its halo into workgroup memory once, consecutive
 *    threads on consecutive elements, zero outside the image, so the compute loop reads windows
 *    without bounds checks. From global memory (the legacy kernel) each input is loaded KS * span /
 *    R times with a bounds check each, and a warp's window load spans several cache lines.
 *  - Each thread computes R consecutive outputs of a row: per kernel row, the window of span =
 *    (R - 1) * stride + KS values and the row's KS x R FMAs. R = 4 up to 3x3 kernels, 8 above: 7x7
 *    then loads 12.25 values per output instead of 17.5. Registers, estimated (R accumulators +
 *    span + KS weights + ~15 indices): k3 s1 ~28, k5 s1 ~40, k7 s1 ~44, k7 s2 ~51.
 *  - Forward and input gradient: per output the FMA sequence of conv2d_depthwise.wgsl (kernel rows
 *    in order, then kw, taps from 0, padding and the input gradient's rows of the other parity as
 *    fma(0, w, acc)), so both give its bits.
 *  - Weight gradient: the threads in KS groups, group kh accumulating kernel row kh's KS taps over
 *    its share of the tasks (KS + R + span registers, ~44 at k7 s1), in rounds of tiles over a batch
 *    split; one sum per tap over its group at the end. The host splits the batch until there are
 *    ~2048 workgroups on hardware (the legacy kernel: 128) and sums the splits (sum_slices).
 */

export type DwPass = 'fwd' | 'bwd_input' | 'bwd_weight';

/** Threads per workgroup. */
export const DW_WG = 128;
/**
 * Workgroup memory tile sizes (f32 elements): a plan takes the smallest that holds its tile. The
 * largest with the 49 taps of a 7x7 kernel stays within WebGPU's default 16 KiB (4096 elements).
 */
export const DW_TILE_SIZES = [1024, 2048, 4032] as const;

export interface DwProgramKey {
  pass: DwPass;
  KS: number;
  ST: number;
  PD: number;
  /** Outputs per thread task (a run along a row); a multiple of ST. */
  R: number;
  /** Workgroup memory, f32 elements. */
  tile: number;
}

/**
 * Uniforms. imgs: images per tile; rows: output rows per band (fwd, bwd_weight: of y; bwd_input: of
 * dx); bands: bands per plane; chunks: R-runs per row; BR x SW: a tile image's rows x row stride;
 * splits: batch splits (bwd_weight).
 */
export const DW_FIELDS = {
  N: 'u32',
  C: 'u32',
  H: 'u32',
  W: 'u32',
  OH: 'u32',
  OW: 'u32',
  imgs: 'u32',
  rows: 'u32',
  bands: 'u32',
  chunks: 'u32',
  BR: 'u32',
  SW: 'u32',
  splits: 'u32',
  _a: 'u32',
  _b: 'u32',
  _c: 'u32',
} as const;

/** Outputs per thread task for a kernel size. */
export const dwRun = (KS: number): number => (KS <= 3 ? 4 : 8);

export function dwProgramName(k: DwProgramKey): string {
  return `conv2d_dw_${k.pass}_k${k.KS}s${k.ST}p${k.PD}_r${k.R}_t${k.tile}.wgsl`;
}

const floorDiv = (a: number, b: number): number => Math.floor(a / b);

/** Input gradient: dy columns (and rows) of a run of R dx values, relative to the run's start / ST. */
function bwdInputWindow(KS: number, ST: number, PD: number, R: number): { lo: number; span: number } {
  const lo = floorDiv(PD - KS + 1, ST);
  return { lo, span: floorDiv(R + PD - 1, ST) - lo + 1 };
}

/**
 * A mixed-radix walker: flat index i over [q][R1][R0] as (q, y, x), started at `start` and stepped
 * by the constant `step` with one carry per digit (step decomposed once), no division in the loop.
 */
function walker(v: string, start: string, R1: string, R0: string, step: number): { init: string[]; advance: string[] } {
  return {
    init: [
      `let ${v}n = ${R1} * ${R0};`,
      `var ${v}q = ${start} / ${v}n;`,
      `let ${v}m = ${start} - ${v}q * ${v}n;`,
      `var ${v}y = ${v}m / ${R0};`,
      `var ${v}x = ${v}m - ${v}y * ${R0};`,
      `let ${v}sq = ${step}u / ${v}n;`,
      `let ${v}sm = ${step}u - ${v}sq * ${v}n;`,
      `let ${v}sy = ${v}sm / ${R0};`,
      `let ${v}sx = ${v}sm - ${v}sy * ${R0};`,
    ],
    advance: [
      `let ${v}x0 = ${v}x + ${v}sx;`,
      `let ${v}cx = ${v}x0 >= ${R0};`,
      `${v}x = select(${v}x0, ${v}x0 - ${R0}, ${v}cx);`,
      `let ${v}y0 = ${v}y + ${v}sy + select(0u, 1u, ${v}cx);`,
      `let ${v}cy = ${v}y0 >= ${R1};`,
      `${v}y = select(${v}y0, ${v}y0 - ${R1}, ${v}cy);`,
      `${v}q = ${v}q + ${v}sq + select(0u, 1u, ${v}cy);`,
    ],
  };
}

/** Lines indented by `indent`. */
const ind = (indent: string, lines: string[]) => lines.map((s) => indent + s);

const u = (n: number) => `${n}u`;
const i = (n: number) => `${n}i`;
/** `base + n` with the constant folded away when 0. */
const plus = (base: string, n: number) => (n === 0 ? base : `${base} + ${u(n)}`);
/** `base + n` on i32, the sign written out. */
const plusI = (base: string, n: number) => (n === 0 ? base : n > 0 ? `${base} + ${i(n)}` : `${base} - ${i(-n)}`);
/** `base * n` with the factor 1 left out. */
const times = (base: string, n: number) => (n === 1 ? base : `${base} * ${u(n)}`);

/** WGSL source of one depthwise program. */
export function dwProgram(k: DwProgramKey): string {
  const { pass, KS, ST, PD, R, tile } = k;
  if (!(KS >= 1 && KS <= 7 && (ST === 1 || ST === 2) && PD >= 0 && R % ST === 0 && R >= ST)) {
    throw new Error(`dwProgram: unsupported ${JSON.stringify(k)}`);
  }
  const KK = KS * KS;
  const WG = DW_WG;
  const bwi = pass === 'bwd_input';
  const L: string[] = [];
  L.push(`// ${dwProgramName(k)}: generated by src/kernels/conv2d-depthwise-program.ts`);
  L.push(
    `struct DwParams {\n${Object.entries(DW_FIELDS)
      .map(([n, t]) => `  ${n}: ${t},`)
      .join('\n')}\n}`,
  );
  const [outName, srcName, thirdName] =
    pass === 'fwd' ? ['Y', 'X', 'Wt'] : pass === 'bwd_input' ? ['DX', 'DY', 'Wt'] : ['PART', 'X', 'DY'];
  L.push(`@group(0) @binding(0) var<uniform> p: DwParams;
@group(0) @binding(1) var<storage, read_write> ${outName}: array<f32>;
@group(0) @binding(2) var<storage, read> ${srcName}: array<f32>;
@group(0) @binding(3) var<storage, read> ${thirdName}: array<f32>;
var<workgroup> tile: array<f32, ${tile}>;${pass === 'bwd_weight' ? '' : `\nvar<workgroup> wts: array<f32, ${KK}>;  // the channel's taps`}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wg.y;`);

  // Tile geometry: source plane (x or dy) dims; first tile row / column in source coordinates.
  const srcH = bwi ? 'p.OH' : 'p.H';
  const srcW = bwi ? 'p.OW' : 'p.W';
  const outRows = bwi ? 'p.H' : 'p.OH';
  const win = bwi ? bwdInputWindow(KS, ST, PD, R) : { lo: -PD, span: (R - 1) * ST + KS };
  // fwd / bwd_weight: tile (row, col) = x (r0 * ST - PD + row, col - PD);
  // bwd_input: dy (r0 / ST + lo + row, col + lo), r0 a multiple of ST.
  const rowOrigin = bwi ? plusI(`i32(${ST === 1 ? 'r0' : `r0 / ${u(ST)}`})`, win.lo) : plusI(`i32(${times('r0', ST)})`, -PD);
  const colOrigin = win.lo; // tile column 0 in source columns
  const zeroRow = bwi && ST > 1; // the input gradient's rows of the other parity read a zero row

  const loader = (indent: string): string[] => {
    const wl = walker('l', 'lid', 'p.BR', 'p.SW', WG);
    return ind(indent, [
      ...wl.init,
      `let srcBase = (n0 * p.C + c) * ${srcH} * ${srcW};`,
      `let srcImg = p.C * ${srcH} * ${srcW};`,
      `let rowO = ${rowOrigin};`,
      `let tileN = (nImg * p.BR${zeroRow ? ' + 1u' : ''}) * p.SW;`,
      `for (var f = lid; f < tileN; f += ${u(WG)}) {`,
      `  let sr = u32(rowO + i32(ly));`,
      `  let sc = u32(${plusI('i32(lx)', colOrigin)});`,
      '  var v = 0.0;',
      `  if (lq < nImg && sr < ${srcH} && sc < ${srcW}) { v = ${srcName}[srcBase + lq * srcImg + sr * ${srcW} + sc]; }`,
      '  tile[f] = v;',
      ...ind('  ', wl.advance),
      '}',
    ]);
  };

  // The task loop: (img, row, run) over nImg x nRows x chunks, consecutive threads on consecutive
  // runs; `first` and `step` (a constant) deal the tasks to the threads.
  const taskLoop = (indent: string, first: string, step: number, body: string[]): string[] => {
    const wt = walker('t', first, 'nRows', 'p.chunks', step);
    return ind(indent, [
      ...wt.init,
      'let tasks = nImg * nRows * p.chunks;',
      `for (var t = ${first}; t < tasks; t += ${u(step)}) {`,
      ...ind('  ', body),
      ...ind('  ', wt.advance),
      '}',
    ]);
  };

  // One kernel row's window: x<j> = tile[b + j] for the columns j the row's FMAs read.
  const window = (cols: Iterable<number>) => [...cols].sort((a, b) => a - b).map((j) => `let x${j} = tile[${plus('b', j)}];`);

  if (pass === 'fwd' || pass === 'bwd_input') {
    L.push(
      '  let blk = wg.x / p.bands;',
      '  let band = wg.x - blk * p.bands;',
      '  let n0 = blk * p.imgs;',
      '  let nImg = min(p.imgs, p.N - n0);',
      '  let r0 = band * p.rows;',
      `  let nRows = min(p.rows, ${outRows} - r0);`,
      `  if (lid < ${u(KK)}) { wts[lid] = Wt[c * ${u(KK)} + lid]; }`,
      ...loader('  '),
      '  workgroupBarrier();',
    );
    const body: string[] = [];
    for (let r = 0; r < R; r++) body.push(`var a${r} = 0.0;`);
    // Per kernel row kh (a loop: the driver may unroll it): its KS weights, its window, its FMAs.
    const row: string[] = [];
    const fmas: string[] = [];
    const cols = new Set<number>();
    for (let kw = 0; kw < KS; kw++) {
      for (let r = 0; r < R; r++) {
        // fwd: output r reads column r * ST + kw; bwd_input: dy column (r + PD - kw) / ST where that divides.
        const d = r + PD - kw;
        if (bwi && ((d % ST) + ST) % ST !== 0) continue;
        const j = bwi ? d / ST - win.lo : r * ST + kw;
        cols.add(j);
        fmas.push(`a${r} = fma(x${j}, v${kw}, a${r});`);
      }
    }
    if (pass === 'fwd') {
      body.push(`let s = (tq * p.BR + ${times('ty', ST)}) * p.SW + tx * ${u(R * ST)};`);
      row.push('let b = s + kh * p.SW;');
    } else if (!zeroRow) {
      // dx row i meets dy row i + PD - kh through tap kh: tile row i + (KS - 1) - kh.
      body.push(`let s = tq * p.BR * p.SW + ${times('tx', R / ST)};`);
      row.push(`let b = s + (ty + ${u(KS - 1)} - kh) * p.SW;`);
    } else {
      // Stride 2: dx row i meets dy row (i + PD - kh) / 2 where that divides: tile row
      // (i + E - kh) / 2 with E = PD - 2 lo >= KS - 1 (never negative); the zero row where it does not.
      body.push(`let s = tq * p.BR * p.SW + ${times('tx', R / ST)};`, 'let zr = nImg * p.BR * p.SW;');
      row.push(`let e = ty + ${u(PD - ST * win.lo)} - kh;`, 'let b = select(zr, s + (e >> 1u) * p.SW, (e & 1u) == 0u);');
    }
    for (let kw = 0; kw < KS; kw++) row.push(`let v${kw} = wts[${plus(`kh * ${u(KS)}`, kw)}];`);
    row.push(...window(cols), ...fmas);
    body.push(`for (var kh = 0u; kh < ${u(KS)}; kh++) {`, ...ind('  ', row), '}');
    // Store the run's outputs inside the row.
    const [plane, rowLen] = pass === 'fwd' ? ['p.OH * p.OW', 'p.OW'] : ['p.H * p.W', 'p.W'];
    body.push(`let c0 = tx * ${u(R)};`, `let o = ((n0 + tq) * p.C + c) * ${plane} + (r0 + ty) * ${rowLen} + c0;`);
    body.push(`${outName}[o] = a0;`);
    for (let r = 1; r < R; r++) body.push(`if (c0 + ${u(r)} < ${rowLen}) { ${outName}[o + ${u(r)}] = a${r}; }`);
    L.push(...taskLoop('  ', 'lid', WG, body));
  } else {
    // Weight gradient: the threads in KS groups of G, group kh accumulating kernel row kh's KS taps
    // over its share of the tasks, in rounds of tiles (image block x band) over the split's images.
    const G = Math.floor(WG / KS);
    L.push(
      '  let split = wg.x;',
      '  let nA = split * p.N / p.splits;',
      '  let nB = (split + 1u) * p.N / p.splits;',
      '  let rounds = ((nB - nA + p.imgs - 1u) / p.imgs) * p.bands;',
      `  let kh = lid / ${u(G)};`,
      `  let tl = lid - kh * ${u(G)};`,
    );
    for (let kw = 0; kw < KS; kw++) L.push(`  var a${kw} = 0.0;`);
    L.push(
      '  for (var round = 0u; round < rounds; round++) {',
      '    let blk = round / p.bands;',
      '    let band = round - blk * p.bands;',
      '    let n0 = nA + blk * p.imgs;',
      '    let nImg = min(p.imgs, nB - n0);',
      '    let r0 = band * p.rows;',
      '    let nRows = min(p.rows, p.OH - r0);',
      ...loader('    '),
      '    workgroupBarrier();',
    );
    const body: string[] = [];
    body.push(`let b = (tq * p.BR + ${times('ty', ST)} + kh) * p.SW + tx * ${u(R * ST)};`);
    body.push(`let c0 = tx * ${u(R)};`, 'let o = ((n0 + tq) * p.C + c) * p.OH * p.OW + (r0 + ty) * p.OW + c0;');
    body.push('let g0 = DY[o];');
    for (let r = 1; r < R; r++) body.push(`var g${r} = 0.0;`, `if (c0 + ${u(r)} < p.OW) { g${r} = DY[o + ${u(r)}]; }`);
    const cols = new Set<number>();
    const fmas: string[] = [];
    for (let kw = 0; kw < KS; kw++) {
      for (let r = 0; r < R; r++) {
        cols.add(r * ST + kw);
        fmas.push(`a${kw} = fma(g${r}, x${r * ST + kw}, a${kw});`);
      }
    }
    body.push(...window(cols), ...fmas);
    L.push(`    if (kh < ${u(KS)}) {`, ...taskLoop('      ', 'tl', G, body), '    }', '    workgroupBarrier();', '  }');
    // Sum each tap over its group's G threads through the tile ([tap][thread], stride G + 1 so that
    // the summing threads read distinct banks): one thread per tap.
    const S = G + 1;
    if (KK * S > tile) throw new Error(`dwProgram: ${KK} x ${S} lane sums exceed the tile`);
    L.push(`  if (kh < ${u(KS)}) {`);
    for (let kw = 0; kw < KS; kw++) L.push(`    tile[(kh * ${u(KS)} + ${u(kw)}) * ${u(S)} + tl] = a${kw};`);
    L.push(
      '  }',
      '  workgroupBarrier();',
      `  if (lid < ${u(KK)}) {`,
      '    var sum = 0.0;',
      `    for (var j = 0u; j < ${u(G)}; j++) { sum += tile[lid * ${u(S)} + j]; }`,
      `    PART[(split * p.C + c) * ${u(KK)} + lid] = sum;`,
      '  }',
    );
  }
  L.push('}');
  return L.join('\n');
}

// ---- planning -----------------------------------------------------------------------------------

/** What the planner needs of a depthwise convolution. */
export interface DwDims {
  N: number;
  C: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
  KS: number;
  ST: number;
  PD: number;
}

export interface DwPlan {
  key: DwProgramKey;
  imgs: number;
  rows: number;
  bands: number;
  chunks: number;
  BR: number;
  SW: number;
  /** Workgroup memory the tile uses (f32 elements). */
  used: number;
}

/**
 * Largest bank multiplicity of the first warp's window loads (32 lanes on consecutive tasks; every
 * lane then adds the same offsets) for a tile row stride SW.
 */
export function dwBankConflict(
  pass: DwPass,
  ST: number,
  R: number,
  rows: number,
  chunks: number,
  BR: number,
  SW: number,
): number {
  const bwi = pass === 'bwd_input';
  const runStride = bwi ? R / ST : R * ST;
  const count = new Array<number>(32).fill(0);
  for (let t = 0; t < 32; t++) {
    const q = t % chunks;
    const rest = (t - q) / chunks;
    const row = rest % rows;
    const img = (rest - row) / rows;
    const tileRow = bwi ? Math.floor(row / ST) : row * ST;
    count[((img * BR + tileRow) * SW + q * runStride) % 32]++;
  }
  return Math.max(...count);
}

/**
 * The tile of one pass: whole planes (as many images as fill DW_WG tasks) when a plane fits
 * maxTile, else bands of rows (of one image); then the smallest tile size that holds it, and within
 * that size the row stride with the fewest bank conflicts. Null when not even one row fits.
 */
export function planDepthwise(pass: DwPass, d: DwDims, maxTile: number = DW_TILE_SIZES[DW_TILE_SIZES.length - 1]): DwPlan | null {
  const { KS, ST, PD } = d;
  const R = dwRun(KS);
  const bwi = pass === 'bwd_input';
  const [outRows, outCols] = bwi ? [d.H, d.W] : [d.OH, d.OW];
  const chunks = Math.ceil(outCols / R);
  const w = bwi ? bwdInputWindow(KS, ST, PD, R) : { lo: -PD, span: (R - 1) * ST + KS };
  const swMin = bwi ? (chunks - 1) * (R / ST) + w.span : (chunks * R - 1) * ST + KS;
  const tileRows = (rows: number) => (bwi ? floorDiv(rows - 1 + PD, ST) - w.lo + 1 : (rows - 1) * ST + KS);
  const zero = bwi && ST > 1 ? 1 : 0; // the zero row
  const need = (imgs: number, rows: number, sw: number) => (imgs * tileRows(rows) + zero) * sw;
  let rows = outRows;
  let bands = 1;
  let imgs = 1;
  if (need(1, outRows, swMin) <= maxTile) {
    const fit = Math.floor((maxTile / swMin - zero) / tileRows(outRows));
    imgs = Math.max(1, Math.min(d.N, Math.floor(DW_WG / (outRows * chunks)), fit));
  } else {
    // Bands of the input gradient start at multiples of ST (their tile rows then line up).
    const step = bwi ? ST : 1;
    let max = 0;
    for (let r = step; r < outRows && need(1, r, swMin) <= maxTile; r += step) max = r;
    if (max === 0) return null;
    bands = Math.ceil(outRows / max);
    rows = Math.ceil(Math.ceil(outRows / bands) / step) * step;
    bands = Math.ceil(outRows / rows);
  }
  const BR = tileRows(rows);
  const size = DW_TILE_SIZES.find((s) => s >= need(imgs, rows, swMin))!;
  let SW = swMin;
  let best = dwBankConflict(pass, ST, R, rows, chunks, BR, swMin);
  for (let sw = swMin + 1; sw < swMin + 32 && need(imgs, rows, sw) <= size; sw++) {
    const b = dwBankConflict(pass, ST, R, rows, chunks, BR, sw);
    if (b < best) [best, SW] = [b, sw];
  }
  return {
    key: { pass, KS, ST, PD, R, tile: size },
    imgs,
    rows,
    bands,
    chunks,
    BR,
    SW,
    used: need(imgs, rows, SW),
  };
}
