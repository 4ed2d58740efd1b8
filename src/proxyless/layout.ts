/**
 * Supernet layouts. ImageNet is the ProxylessNAS mobile space (224 input); CIFAR is a scaled-down
 * copy for 32×32 inputs that keeps the same stage structure (6 stages whose first block changes the
 * width, so 'zero' is offered at exactly the same relative positions), which lets a search on
 * CIFAR-10 price its blocks with the published ImageNet lookup table (see latency-loss.ts).
 */
import type { BlockSpec } from '../latency/arch.js';
import { outSize } from '../latency/keys.js';
import type { BlockPosition, Supernet } from '../latency/space.js';

export interface ProxylessLayout {
  name: string;
  inputSize: number;
  stemC: number;
  stemStride: number;
  /** Width of the fixed first MBConv (expand 1, kernel 3, stride 1). */
  firstBlockC: number;
  widths: number[];
  depths: number[];
  strides: number[];
  kernels: number[];
  expands: number[];
  /** Final 1×1 conv width. */
  featureMixC: number;
  classes: number;
}

export const IMAGENET_LAYOUT: ProxylessLayout = {
  name: 'imagenet',
  inputSize: 224,
  stemC: 32,
  stemStride: 2,
  firstBlockC: 16,
  widths: [24, 40, 80, 96, 192, 320],
  depths: [4, 4, 4, 4, 4, 1],
  strides: [2, 2, 2, 1, 2, 1],
  kernels: [3, 5, 7],
  expands: [3, 6],
  featureMixC: 1280,
  classes: 1000,
};

/**
 * CIFAR-10 layout: stride-1 stem (the net downsamples 16×, not 32×: 32 → 16 → 8 → 4 → 4 → 2 → 2),
 * narrow stages (12..64 wide, the ImageNet widths ÷ 2..5), 2 blocks per stage instead of 4 (11
 * searchable blocks, 5 of them with 'zero'), a 256-wide feature mix. On a 2-core lavapipe a batch-32
 * step of this net is bound by per-dispatch and per-workgroup overhead (~500 dispatches), not by
 * its 1.6-5.8 M multiply-adds per image, so channels were cut until a step took ~2 s.
 */
export const CIFAR_LAYOUT: ProxylessLayout = {
  name: 'cifar',
  inputSize: 32,
  stemC: 16,
  stemStride: 1,
  firstBlockC: 8,
  widths: [12, 16, 24, 32, 48, 64],
  depths: [2, 2, 2, 2, 2, 1],
  strides: [2, 2, 2, 1, 2, 1],
  kernels: [3, 5, 7],
  expands: [3, 6],
  featureMixC: 256,
  classes: 10,
};

export const LAYOUTS: Record<string, ProxylessLayout> = { imagenet: IMAGENET_LAYOUT, cifar: CIFAR_LAYOUT };

export function getLayout(name: string): ProxylessLayout {
  const l = LAYOUTS[name];
  if (!l) throw new Error(`unknown layout '${name}' (expected ${Object.keys(LAYOUTS).join(' or ')})`);
  return l;
}

export function validateLayout(l: ProxylessLayout): void {
  const n = l.widths.length;
  if (l.depths.length !== n || l.strides.length !== n) {
    throw new Error(`layout ${l.name}: widths, depths and strides must have equal lengths (${n}, ${l.depths.length}, ${l.strides.length})`);
  }
  const ints: Array<[string, number]> = [
    ['inputSize', l.inputSize], ['stemC', l.stemC], ['stemStride', l.stemStride], ['firstBlockC', l.firstBlockC],
    ['featureMixC', l.featureMixC], ['classes', l.classes],
    ...l.widths.map((v, i): [string, number] => [`widths[${i}]`, v]),
    ...l.depths.map((v, i): [string, number] => [`depths[${i}]`, v]),
    ...l.strides.map((v, i): [string, number] => [`strides[${i}]`, v]),
    ...l.kernels.map((v, i): [string, number] => [`kernels[${i}]`, v]),
    ...l.expands.map((v, i): [string, number] => [`expands[${i}]`, v]),
  ];
  for (const [k, v] of ints) if (!Number.isInteger(v) || v < 1) throw new Error(`layout ${l.name}: ${k} must be a positive integer, got ${v}`);
  for (const k of l.kernels) if (k % 2 === 0) throw new Error(`layout ${l.name}: kernel ${k} must be odd`);
  if (l.kernels.length * l.expands.length < 1) throw new Error(`layout ${l.name}: no candidates`);
}

/**
 * The layout as the latency module's Supernet (positions[0] is the fixed first block). Built here
 * rather than with proxylessSpace() because that one fixes the stem stride at 2; the candidate
 * order is the same (expand-major, then kernel, then 'zero' where an identity skip is possible).
 */
export function layoutSpace(l: ProxylessLayout): Supernet {
  validateLayout(l);
  const stem = { outC: l.stemC, kernel: 3, stride: l.stemStride };
  let h = outSize(l.inputSize, l.stemStride);
  let c = l.stemC;
  const positions: BlockPosition[] = [
    {
      inH: h,
      inC: c,
      outC: l.firstBlockC,
      stride: 1,
      candidates: [{ kernel: 3, expand: 1, stride: 1, inC: c, outC: l.firstBlockC, inH: h, idskip: false }],
    },
  ];
  c = l.firstBlockC;
  l.widths.forEach((w, s) => {
    for (let d = 0; d < l.depths[s]; d++) {
      const stride = d === 0 ? l.strides[s] : 1;
      const idskip = stride === 1 && c === w;
      const candidates: BlockSpec[] = [];
      for (const expand of l.expands) {
        for (const kernel of l.kernels) candidates.push({ kernel, expand, stride, inC: c, outC: w, inH: h, idskip });
      }
      if (idskip) candidates.push('zero');
      positions.push({ inH: h, inC: c, outC: w, stride, candidates });
      h = outSize(h, stride);
      c = w;
    }
  });
  return { inputSize: l.inputSize, stem, positions, featureMix: { outC: l.featureMixC }, classes: l.classes };
}

/** The searchable positions (every block after the fixed first one). */
export function searchPositions(l: ProxylessLayout): BlockPosition[] {
  return layoutSpace(l).positions.slice(1);
}

/** (stage, index in stage) of each searchable position. */
export function positionStages(l: ProxylessLayout): Array<{ stage: number; depth: number }> {
  const out: Array<{ stage: number; depth: number }> = [];
  l.depths.forEach((d, s) => {
    for (let i = 0; i < d; i++) out.push({ stage: s, depth: i });
  });
  return out;
}

/** Human-readable candidate name, ProxylessNAS style: '5x5_MBConv6' or 'zero'. */
export function candidateName(c: BlockPosition['candidates'][number]): string {
  return c === 'zero' ? 'zero' : `${c.kernel}x${c.kernel}_MBConv${c.expand}`;
}
