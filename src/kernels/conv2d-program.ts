/**
 * The groups = 1 (and grouped) implicit-GEMM convolutions as generated programs, in the style of
 * matmul-program.ts: one program per (pass, tile, operand element type). C[M x N] = A[M x K] B[K x N]
 * with A and B addressed in place (im2col index math written out per pass), TM x TN outputs per
 * thread in named vec4 registers, each BK-deep k-tile staged once into workgroup memory between two
 * barriers, every load and FMA unrolled. The hand-written core this replaces (conv2d_gemm.wgsl:
 * register arrays filled through helpers, double buffering) is the structure that ran at 2.4
 * TFLOP/s for every tile on an H200 where this one's matmul ran at 31-37.
 *
 * Shapes stay in the uniform block (ConvGemmParams), so one program serves every shape of a pass.
 * Integer division by them is kept out of the k loop: every operand element a thread loads sits at
 * a fixed offset from the k-tile start, so its k index (a mixed-radix position, e.g. (ci, kh, kw)) is
 * decoded once before the loop and then stepped by BK per tile with two compares ("walkers"); the
 * per-column or per-row parts (e.g. (n, oh, ow) of an output column) are decoded once per thread.
 *
 *   fwd        M = Cout, N = batch*OH*OW (n, oh, ow), K = Cin*KH*KW (ci, kh, kw); A = w, B = x
 *   bwd_input  M = Cin,  N = batch*H*W   (n, ih, iw), K = Cout*KH*KW (co, kh, kw); A = w, B = dy
 *   bwd_weight M = Cout, N = Cin*KH*KW   (ci, kh, kw), K = batch*OH*OW (n, oh, ow); A = dy, B = x
 *
 * Load layouts (T threads): 'k-fast' units put consecutive threads on consecutive k (the row index
 * stepping by T / BK per load): every A, and B of the weight gradient, whose k runs along memory.
 * 'n-fast' puts consecutive threads on consecutive columns (k stepping by T / BN): B of fwd and
 * bwd_input, whose columns run along memory. Grid, groups and split-K as conv2d_gemm.wgsl:
 * workgroup z = (fold * splits + split) * groups + group, column tile = wg.x + fold * nwg.x.
 */
import { type GemmTile, tileFmaLines } from './gemm-tile.js';

export type ConvPass = 'fwd' | 'bwd_input' | 'bwd_weight';

export interface ConvProgramKey {
  pass: ConvPass;
  tile: GemmTile;
  /** Operand element type (f16: forward only; products and sums stay f32). */
  elem: 'f32' | 'f16';
  /**
   * The convolution follows a ReLU whose output is never stored (f32 only): fwd and bwd_weight load
   * relu(x) for x; bwd_input stores dx * (x > 0), the gradient at the ReLU's input, reading x from a
   * fifth binding.
   */
  relu?: boolean;
}

/** The uniform fields (ConvGemmParams of conv2d_common.wgsl; the legacy kernels share them). */
export const CONV_GEMM_FIELDS = {
  M: 'u32',
  N: 'u32',
  K: 'u32',
  splits: 'u32',
  kChunk: 'u32',
  Cb: 'u32',
  H: 'u32',
  W: 'u32',
  OH: 'u32',
  OW: 'u32',
  KH: 'u32',
  KW: 'u32',
  stride: 'u32',
  pad: 'u32',
  strideShift: 'u32',
  stridePow2: 'u32',
  Mpad: 'u32',
  groups: 'u32',
  Mtot: 'u32',
  grpA: 'u32',
  grpB: 'u32',
  grpC: 'u32',
  _a: 'u32',
  _b: 'u32',
} as const;

export function convProgramName(k: ConvProgramKey): string {
  const t = k.tile;
  return `conv2d_${k.pass}${k.relu ? '_relu' : ''}_${k.elem}_${t.BM}x${t.BN}x${t.BK}_${t.TM}x${t.TN}.wgsl`;
}

const XYZW = 'xyzw';

/**
 * A k walker: the position of k in a mixed radix [q][R1][R0] (q unbounded), held as three u32s and
 * advanced by a step decomposed once into (sq, sy, sx) (sy < R1, sx < R0, so one carry each).
 */
interface Walker {
  name: string;
  R1: string;
  R0: string;
}

function walkerInit(w: Walker, k: string): string[] {
  return [
    `  let ${w.name}i = ${k};`,
    `  var ${w.name}q = ${w.name}i / (${w.R1} * ${w.R0});`,
    `  let ${w.name}r = ${w.name}i - ${w.name}q * (${w.R1} * ${w.R0});`,
    `  var ${w.name}y = ${w.name}r / ${w.R0};`,
    `  var ${w.name}x = ${w.name}r - ${w.name}y * ${w.R0};`,
  ];
}

/** Decomposes a constant step over the walker's radix (once, before the k loop). */
function stepInit(w: Walker, step: number, tag: string): string[] {
  const s = `${w.name}${tag}`;
  return [
    `  let ${s}q = ${step}u / (${w.R1} * ${w.R0});`,
    `  let ${s}r = ${step}u - ${s}q * (${w.R1} * ${w.R0});`,
    `  let ${s}y = ${s}r / ${w.R0};`,
    `  let ${s}x = ${s}r - ${s}y * ${w.R0};`,
  ];
}

/** Lines declaring (dst)q/y/x: the walker state (src) advanced by the step `tag`. */
function advance(w: Walker, src: string, dst: string, tag: string, indent: string): string[] {
  const s = `${w.name}${tag}`;
  return [
    `${indent}let ${dst}x0 = ${src}x + ${s}x;`,
    `${indent}let ${dst}cx = ${dst}x0 >= ${w.R0};`,
    `${indent}let ${dst}y0 = ${src}y + ${s}y + select(0u, 1u, ${dst}cx);`,
    `${indent}let ${dst}cy = ${dst}y0 >= ${w.R1};`,
    `${indent}let ${dst}q = ${src}q + ${s}q + select(0u, 1u, ${dst}cy);`,
    `${indent}let ${dst}y = select(${dst}y0, ${dst}y0 - ${w.R1}, ${dst}cy);`,
    `${indent}let ${dst}x = select(${dst}x0, ${dst}x0 - ${w.R0}, ${dst}cx);`,
  ];
}

/** Lines advancing the walker's own state by the step `tag` (after each k-tile). */
function advanceInPlace(w: Walker, tag: string, indent: string): string[] {
  const n = w.name;
  const s = `${n}${tag}`;
  return [
    `${indent}{`,
    `${indent}  let x0 = ${n}x + ${s}x;`,
    `${indent}  let cx = x0 >= ${w.R0};`,
    `${indent}  let y0 = ${n}y + ${s}y + select(0u, 1u, cx);`,
    `${indent}  let cy = y0 >= ${w.R1};`,
    `${indent}  ${n}q = ${n}q + ${s}q + select(0u, 1u, cy);`,
    `${indent}  ${n}y = select(y0, y0 - ${w.R1}, cy);`,
    `${indent}  ${n}x = select(x0, x0 - ${w.R0}, cx);`,
    `${indent}}`,
  ];
}

/** WGSL source of one convolution program. */
export function convProgram(k: ConvProgramKey): string {
  const { BM, BN, BK, TM, TN } = k.tile;
  const WGX = BN / TN;
  const WGY = BM / TM;
  const T = WGX * WGY;
  const CV = TN / 4;
  const RV = TM / 4;
  const e = k.elem;
  const vt = `vec4<${e}>`;
  const pass = k.pass;
  const relu = k.relu === true;
  if (relu && e !== 'f32') throw new Error('convProgram: the ReLU variants are f32 only');
  // relu(x) as x is loaded (fwd, bwd_weight): padding stays 0.
  // NaN kept (WGSL's max drops it): reluNaN of relu_nan.wgsl, included below.
  const ldX = (v: string) => (relu ? `reluNaN(${v})` : v);
  // A is always stored component-wise (k-fast); B row-wise when n-fast (fwd, bwd_input).
  const bNFast = pass !== 'bwd_weight';
  const SA = BM / 4 + 1;
  const SB = BN / 4 + (bNFast ? 0 : 1);
  // gemmTileMisfit(..., 'conv') guarantees these (A rows and n-fast B rows split evenly over the loads).
  if (T % BK !== 0 || BM % (T / BK) !== 0 || T % BN !== 0 || BK % (T / BN) !== 0) {
    throw new Error(`convProgram: tile ${JSON.stringify(k.tile)} does not suit the conv loads`);
  }
  const L: string[] = [];
  if (e === 'f16') L.push('enable f16;');
  L.push(`// ${convProgramName(k)}: generated by src/kernels/conv2d-program.ts`);
  L.push(
    `struct ConvGemmParams {\n${Object.entries(CONV_GEMM_FIELDS)
      .map(([n, t]) => `  ${n}: ${t},`)
      .join('\n')}\n}`,
  );
  if (relu && pass !== 'bwd_input') {
    L.push('//#include "relu_nan.wgsl"');
  }
  L.push(`@group(0) @binding(0) var<uniform> p: ConvGemmParams;
@group(0) @binding(1) var<storage, read_write> C: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<${e}>;
@group(0) @binding(3) var<storage, read> B: array<${e}>;${relu && pass === 'bwd_input' ? "\n@group(0) @binding(4) var<storage, read> R: array<f32>;  // the ReLU's input x" : ''}
var<workgroup> As: array<${vt}, ${BK * SA}>;
var<workgroup> Bs: array<${vt}, ${BK * SB}>;

@compute @workgroup_size(${WGX}, ${WGY}, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * ${WGX}u + tx;
  let grp = wg.z % p.groups;
  let zs = wg.z / p.groups;
  let split = zs % p.splits;
  let row0 = wg.y * ${BM}u;
  let col0 = (wg.x + (zs / p.splits) * nwg.x) * ${BN}u;
  let kBegin = split * p.kChunk;
  let kEnd = min(p.K, kBegin + p.kChunk);
  let hw = p.H * p.W;
  let ohw = p.OH * p.OW;
  let kk = p.KH * p.KW;`);

  // ---- A loads: k-fast (kr = tid % BK), rows tid / BK + l * (T / BK) ----
  const aStep = T / BK;
  const aLoads = Math.ceil(BM / aStep);
  L.push(`  let kr = tid % ${BK}u;`);
  for (let l = 0; l < aLoads; l++) L.push(`  let am${l} = tid / ${BK}u + ${l * aStep}u;`, `  let ar${l} = row0 + am${l};`);
  // ---- B: per-pass decode hoisted before the loop ----
  const bStepK = T / BN; // n-fast: k rows per load step
  const bLoadsN = Math.ceil(BK / bStepK);
  const bStepN = T / BK; // k-fast: columns per load step
  const bLoadsK = Math.ceil(BN / bStepN);
  const kw: Walker = { name: 'wk', R1: 'p.KH', R0: 'p.KW' }; // k over (c, kh, kw)
  const pw: Walker = { name: 'wp', R1: 'p.OH', R0: 'p.OW' }; // k over (n, oh, ow)
  const tileLines: string[] = []; // inside the k loop, before the barrier
  const afterLines: string[] = []; // inside the k loop, after the FMAs
  const storeA = (l: number, v: string) => `      As[kr * ${SA}u + am${l} / 4u][am${l} % 4u] = ${v};`;
  if (pass === 'fwd' || pass === 'bwd_input') {
    // B column c = (n, a, b) over the output (fwd: OH x OW) or input (bwd_input: H x W) plane.
    const Cc = pass === 'fwd' ? 'p.OW' : 'p.W'; // the plane's row length
    const plane = pass === 'fwd' ? 'ohw' : 'hw';
    const bPlane = pass === 'fwd' ? 'hw' : 'ohw'; // plane of B's source tensor (x or dy)
    L.push(
      `  let bc = tid % ${BN}u;`,
      `  let bCol = col0 + bc;`,
      `  let bValid = bCol < p.N;`,
      `  let bcc = min(bCol, p.N - 1u);`,
      `  let bn = bcc / ${plane};`,
      `  let bpix = bcc - bn * ${plane};`,
      `  let ba = bpix / ${Cc};`,
      `  let bb = bpix - ba * ${Cc};`,
      `  let bBase = bn * p.Cb * ${bPlane} + grp * p.grpB;`,
    );
    if (pass === 'fwd') L.push(`  let ih0 = i32(ba * p.stride) - i32(p.pad);`, `  let iw0 = i32(bb * p.stride) - i32(p.pad);`);
    else L.push(`  let th0 = ba + p.pad;`, `  let tw0 = bb + p.pad;`, `  let sMask = p.stride - 1u;`);
    // B walker at k = kBegin + tid / BN, advanced by T / BN per load and BK per tile.
    L.push(...walkerInit(kw, `kBegin + tid / ${BN}u`), ...stepInit(kw, BK, 'T'));
    if (bLoadsN > 1) L.push(...stepInit(kw, bStepK, 'L'));
    for (let l = 0; l < bLoadsN; l++) {
      // Load l's k walker: load l - 1's advanced by T / BN.
      if (l > 0) tileLines.push(...advance(kw, l === 1 ? 'wk' : `kb${l - 1}`, `kb${l}`, 'L', '    '));
      const w = l === 0 ? 'wk' : `kb${l}`;
      const krow = `tid / ${BN}u + ${l * bStepK}u`;
      tileLines.push('    {', `      let kb = k0 + ${krow};`, `      var v = ${e}(0);`);
      if (pass === 'fwd') {
        tileLines.push(
          `      let ih = u32(ih0 + i32(${w}y));`,
          `      let iw = u32(iw0 + i32(${w}x));`,
          `      if (bValid && kb < kEnd && ih < p.H && iw < p.W) { v = ${ldX(`B[bBase + ${w}q * hw + ih * p.W + iw]`)}; }`,
        );
      } else {
        // dy row oh contributes to input row ih through tap kh when oh * stride = ih + pad - kh.
        tileLines.push(
          `      let th = th0 - ${w}y;`,
          `      let tw = tw0 - ${w}x;`,
          `      var oh: u32; var ow: u32; var al: bool;`,
          `      if (p.stridePow2 != 0u) { oh = th >> p.strideShift; ow = tw >> p.strideShift; al = ((th | tw) & sMask) == 0u; }`,
          `      else { oh = th / p.stride; ow = tw / p.stride; al = oh * p.stride == th && ow * p.stride == tw; }`,
          `      if (bValid && kb < kEnd && al && oh < p.OH && ow < p.OW) { v = B[bBase + ${w}q * ohw + oh * p.OW + ow]; }`,
        );
      }
      tileLines.push(`      Bs[(${krow}) * ${SB}u + bc / 4u][bc % 4u] = v;`, '    }');
    }
    afterLines.push(...advanceInPlace(kw, 'T', '    '));
    // A: fwd w[co, k] row-major (no walker); bwd_input w[co, ci, kh, kw] at k = (co, kh, kw).
    if (pass === 'fwd') {
      tileLines.push(`    let ka = k0 + kr;`, `    let aBase = grp * p.grpA + ka;`);
      for (let l = 0; l < aLoads; l++) {
        tileLines.push(
          `    { var v = ${e}(0); if (ka < kEnd && ar${l} < p.M) { v = A[aBase + ar${l} * p.K]; }`,
          storeA(l, 'v') + ' }',
        );
      }
    } else {
      const aw: Walker = { name: 'wa', R1: 'p.KH', R0: 'p.KW' };
      L.push(...walkerInit(aw, 'kBegin + kr'), ...stepInit(aw, BK, 'T'), '  let mkk = p.M * kk;');
      tileLines.push(`    let ka = k0 + kr;`, `    let aOff = grp * p.grpA + waq * mkk + way * p.KW + wax;`);
      for (let l = 0; l < aLoads; l++) {
        tileLines.push(
          `    { var v = ${e}(0); if (ka < kEnd && ar${l} < p.M) { v = A[aOff + ar${l} * kk]; }`,
          storeA(l, 'v') + ' }',
        );
      }
      afterLines.push(...advanceInPlace(aw, 'T', '    '));
    }
  } else {
    // bwd_weight: one walker over (n, oh, ow) at k = kBegin + kr serves A (dy) and B (x).
    L.push(...walkerInit(pw, 'kBegin + kr'), ...stepInit(pw, BK, 'T'), '  let aImg = p.Mtot * ohw;', '  let bImg = p.Cb * hw;');
    // B columns c = (ci, kh, kw), one per load, decoded once.
    for (let l = 0; l < bLoadsK; l++) {
      L.push(
        `  let bo${l} = tid / ${BK}u + ${l * bStepN}u;`,
        `  let bCol${l} = col0 + bo${l};`,
        `  let bValid${l} = ${(l + 1) * bStepN > BN ? `bo${l} < ${BN}u && ` : ''}bCol${l} < p.N;`,
        `  let bcc${l} = min(bCol${l}, p.N - 1u);`,
        `  let bci${l} = bcc${l} / kk;`,
        `  let bt${l} = bcc${l} - bci${l} * kk;`,
        `  let bkh${l} = bt${l} / p.KW;`,
        `  let bCh${l} = grp * p.grpB + bci${l} * hw;`,
        `  let bdh${l} = i32(bkh${l}) - i32(p.pad);`,
        `  let bdw${l} = i32(bt${l} - bkh${l} * p.KW) - i32(p.pad);`,
      );
    }
    tileLines.push(
      `    let ka = k0 + kr;`,
      `    let kIn = ka < kEnd;`,
      `    let aOff = grp * p.grpA + wpq * aImg + wpy * p.OW + wpx;`,
      `    let xOff = wpq * bImg;`,
      `    let ihs = i32(wpy * p.stride);`,
      `    let iws = i32(wpx * p.stride);`,
    );
    for (let l = 0; l < aLoads; l++) {
      tileLines.push(`    { var v = ${e}(0); if (kIn && ar${l} < p.M) { v = A[aOff + ar${l} * ohw]; }`, storeA(l, 'v') + ' }');
    }
    for (let l = 0; l < bLoadsK; l++) {
      tileLines.push(
        '    {',
        `      let ih = u32(ihs + bdh${l});`,
        `      let iw = u32(iws + bdw${l});`,
        `      var v = ${e}(0);`,
        `      if (kIn && bValid${l} && ih < p.H && iw < p.W) { v = ${ldX(`B[xOff + bCh${l} + ih * p.W + iw]`)}; }`,
        `      ${(l + 1) * bStepN > BN ? `if (bo${l} < ${BN}u) ` : ''}{ Bs[kr * ${SB}u + bo${l} / 4u][bo${l} % 4u] = v; }`,
        '    }',
      );
    }
    afterLines.push(...advanceInPlace(pw, 'T', '    '));
  }

  for (let r = 0; r < TM; r++) for (let c = 0; c < CV; c++) L.push(`  var acc${r}_${c} = vec4<f32>();`);
  L.push(`  for (var k0 = kBegin; k0 < kEnd; k0 += ${BK}u) {`);
  L.push(...tileLines);
  L.push('    workgroupBarrier();');
  L.push(...tileFmaLines({ BK, SA, SB, RV, CV, WGX, WGY }));
  L.push('    workgroupBarrier();');
  L.push(...afterLines);
  L.push('  }');

  // ---- epilogue ----
  for (let rv = 0; rv < RV; rv++)
    for (let i = 0; i < 4; i++) L.push(`  let r${rv * 4 + i} = row0 + ${rv * 4 * WGY}u + 4u * ty + ${i}u;`);
  for (let cv = 0; cv < CV; cv++) {
    for (let j = 0; j < 4; j++) {
      L.push(`  { let c = col0 + ${cv * 4 * WGX + j}u + 4u * tx;`, '    if (c < p.N) {');
      let at: (r: string) => string;
      if (pass === 'bwd_weight') {
        // partial[split, co, c] (the splits are summed on the host), dw itself when one split.
        L.push('      let o = split * p.Mtot * p.N + grp * p.grpC + c;');
        at = (r) => `o + ${r} * p.N`;
      } else {
        const plane = pass === 'fwd' ? 'ohw' : 'hw';
        L.push(`      let n = c / ${plane};`, `      let o = grp * p.grpC + n * p.Mtot * ${plane} + (c - n * ${plane});`);
        at = (r) => `o + ${r} * ${plane}`;
      }
      for (let r = 0; r < TM; r++) {
        const v = `acc${r}_${cv}.${XYZW[j]}`;
        // bwd_input after a ReLU: the gradient at its input, dx * (x > 0) (zero at x == 0, as PyTorch).
        const store =
          relu && pass === 'bwd_input'
            ? `let i = ${at(`r${r}`)}; C[i] = select(0.0, ${v}, R[i] > 0.0);`
            : `C[${at(`r${r}`)}] = ${v};`;
        L.push(`      if (r${r} < p.M) { ${store} }`);
      }
      L.push('    }', '  }');
    }
  }
  L.push('}');
  return L.join('\n');
}
