/**
 * The ProxylessNAS mobile search space as a supernet: per block position, the candidate ops
 * (k ∈ MBCONV_KERNELS × expand ∈ PROXYLESS_EXPANDS, plus 'zero' where an identity skip is possible).
 * Used to list every (op, shape) to profile and to turn architecture probabilities into expected latency.
 */
import type { Rng } from '../util/rng.js';
import type { BlockSpec, ProxylessArch } from './arch.js';
import { archParts } from './arch.js';
import { expandedConvKey, outSize } from './keys.js';

/**
 * The depthwise kernel sizes of an MBConv block: the ProxylessNAS space's, the MobileNet layouts'
 * and the AutoSpace cells' dw primitives (mobilenet/cell.ts). Here, the lowest layer that both read.
 */
export const MBCONV_KERNELS = [3, 5, 7] as const;
export type MbconvKernel = (typeof MBCONV_KERNELS)[number];
/** The expansion ratios an MBConv block may have (1: no expansion node); the cells' pw primitives. */
export const MBCONV_EXPANDS = [1, 3, 6] as const;
export type MbconvExpand = (typeof MBCONV_EXPANDS)[number];
/** The expansion ratios the ProxylessNAS mobile space searches. */
export const PROXYLESS_EXPANDS: readonly MbconvExpand[] = [3, 6];

export function isMbconvKernel(k: number): k is MbconvKernel {
  return (MBCONV_KERNELS as readonly number[]).includes(k);
}

export function isMbconvExpand(e: number): e is MbconvExpand {
  return (MBCONV_EXPANDS as readonly number[]).includes(e);
}

export interface BlockPosition {
  inH: number;
  inC: number;
  outC: number;
  stride: number;
  /** Candidates in a fixed order; a 'zero' candidate exists only where idskip is possible. */
  candidates: BlockSpec[];
}

export interface Supernet {
  inputSize: number;
  stem: ProxylessArch['stem'];
  positions: BlockPosition[];
  featureMix: { outC: number } | null;
  classes: number;
}

export interface ProxylessSpaceOptions {
  inputSize?: number;
  stemC?: number;
  /** Width of the fixed first block (expand 1, k3). */
  firstBlockC?: number;
  widths?: number[];
  depths?: number[];
  strides?: number[];
  /** MBCONV_KERNELS by default; a table may price other kernels. */
  kernels?: readonly number[];
  /** PROXYLESS_EXPANDS by default. */
  expands?: readonly number[];
  featureMixC?: number;
  classes?: number;
}

/** Defaults: the ProxylessNAS mobile space (widths 24..320, 4 blocks per stage), the one the published Pixel 1 table covers. */
export function proxylessSpace(o: ProxylessSpaceOptions = {}): Supernet {
  const inputSize = o.inputSize ?? 224;
  const stem = { outC: o.stemC ?? 32, kernel: 3, stride: 2 };
  const widths = o.widths ?? [24, 40, 80, 96, 192, 320];
  const depths = o.depths ?? [4, 4, 4, 4, 4, 1];
  const strides = o.strides ?? [2, 2, 2, 1, 2, 1];
  const kernels = o.kernels ?? MBCONV_KERNELS;
  const expands = o.expands ?? PROXYLESS_EXPANDS;
  if (widths.length !== depths.length || widths.length !== strides.length) {
    throw new Error(
      `space: widths, depths and strides must have equal lengths (${widths.length}, ${depths.length}, ${strides.length})`,
    );
  }
  let h = outSize(inputSize, stem.stride);
  let c = stem.outC;
  const firstC = o.firstBlockC ?? 16;
  const positions: BlockPosition[] = [
    {
      inH: h,
      inC: c,
      outC: firstC,
      stride: 1,
      candidates: [{ kernel: 3, expand: 1, stride: 1, inC: c, outC: firstC, inH: h, idskip: false }],
    },
  ];
  c = firstC;
  widths.forEach((w, s) => {
    for (let d = 0; d < depths[s]; d++) {
      const stride = d === 0 ? strides[s] : 1;
      const idskip = stride === 1 && c === w;
      const candidates: BlockSpec[] = [];
      for (const expand of expands) {
        for (const kernel of kernels) candidates.push({ kernel, expand, stride, inC: c, outC: w, inH: h, idskip });
      }
      if (idskip) candidates.push('zero');
      positions.push({ inH: h, inC: c, outC: w, stride, candidates });
      h = outSize(h, stride);
      c = w;
    }
  });
  return { inputSize, stem, positions, featureMix: { outC: o.featureMixC ?? 1280 }, classes: o.classes ?? 1000 };
}

/** The architecture that picks candidate `choice[i]` at position i. */
export function archFromChoices(space: Supernet, choice: number[]): ProxylessArch {
  if (choice.length !== space.positions.length) {
    throw new Error(`archFromChoices: ${choice.length} choices for ${space.positions.length} positions`);
  }
  const blocks = space.positions.map((p, i) => {
    const c = p.candidates[choice[i]];
    if (c === undefined)
      throw new Error(`archFromChoices: choice ${choice[i]} out of range at position ${i} (${p.candidates.length} candidates)`);
    return c;
  });
  return { inputSize: space.inputSize, stem: space.stem, blocks, featureMix: space.featureMix, classes: space.classes };
}

export function randomChoices(space: Supernet, rng: Rng): number[] {
  return space.positions.map((p) => rng.int(p.candidates.length));
}

/** Every distinct table key of the space (stem, blocks, Conv_1, Logits), in a stable order. */
export function spaceKeys(space: Supernet): string[] {
  const fixed = archParts(
    archFromChoices(
      space,
      space.positions.map(() => 0),
    ),
  ).filter((p) => !p.name.startsWith('block'));
  const keys = new Set<string>([fixed[0].key]);
  for (const pos of space.positions) for (const c of pos.candidates) if (c !== 'zero') keys.add(expandedConvKey(c));
  for (const p of fixed.slice(1)) keys.add(p.key);
  return [...keys];
}
