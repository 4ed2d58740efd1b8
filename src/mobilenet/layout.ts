/**
 * MobileNet layouts: the skeleton (stem, fixed first block, feature mix, classifier) and the shape
 * of every searchable layer. ImageNet is the ProxylessNAS mobile space (224 input); CIFAR is a
 * scaled-down copy for 32×32 inputs that keeps the same stage structure (6 stages whose first block
 * changes the width, so 'zero' is offered at exactly the same relative positions), which lets a
 * search on CIFAR-10 price its blocks with the published ImageNet lookup table (cost/table.ts).
 */
import type { BlockSpec } from '../latency/arch.js';
import { outSize } from '../latency/keys.js';
import {
  type BlockPosition,
  isMbconvExpand,
  isMbconvKernel,
  MBCONV_EXPANDS,
  MBCONV_KERNELS,
  type MbconvExpand,
  type MbconvKernel,
  PROXYLESS_EXPANDS,
  type Supernet,
} from '../latency/space.js';
import type { LayerShape } from './cell.js';

export interface MobileNetLayout {
  name: string;
  inputSize: number;
  stemC: number;
  stemStride: number;
  /** Width of the fixed first MBConv (expand 1, kernel 3, stride 1). */
  firstBlockC: number;
  widths: number[];
  depths: number[];
  strides: number[];
  /** Checked against MBCONV_KERNELS by validateLayout (a layout from a file too). */
  kernels: MbconvKernel[];
  /** Checked against MBCONV_EXPANDS by validateLayout. */
  expands: MbconvExpand[];
  /** Final 1×1 conv width. */
  featureMixC: number;
  classes: number;
}

export const IMAGENET_LAYOUT: MobileNetLayout = {
  name: 'imagenet',
  inputSize: 224,
  stemC: 32,
  stemStride: 2,
  firstBlockC: 16,
  widths: [24, 40, 80, 96, 192, 320],
  depths: [4, 4, 4, 4, 4, 1],
  strides: [2, 2, 2, 1, 2, 1],
  kernels: [...MBCONV_KERNELS],
  expands: [...PROXYLESS_EXPANDS],
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
export const CIFAR_LAYOUT: MobileNetLayout = {
  name: 'cifar',
  inputSize: 32,
  stemC: 16,
  stemStride: 1,
  firstBlockC: 8,
  widths: [12, 16, 24, 32, 48, 64],
  depths: [2, 2, 2, 2, 2, 1],
  strides: [2, 2, 2, 1, 2, 1],
  kernels: [...MBCONV_KERNELS],
  expands: [...PROXYLESS_EXPANDS],
  featureMixC: 256,
  classes: 10,
};

export const LAYOUTS: Record<string, MobileNetLayout> = { imagenet: IMAGENET_LAYOUT, cifar: CIFAR_LAYOUT };

export function getLayout(name: string): MobileNetLayout {
  const l = LAYOUTS[name];
  if (!l) throw new Error(`unknown layout '${name}' (expected ${Object.keys(LAYOUTS).join(' or ')})`);
  return l;
}

/**
 * Checks every field (a layout may come from a space file): one Error naming the layout and the
 * field, never a TypeError from a missing array.
 */
export function validateLayout(l: MobileNetLayout): void {
  if (!l || typeof l !== 'object' || Array.isArray(l))
    throw new Error(`layout must be a name or an object, got ${JSON.stringify(l)}`);
  const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));
  const name = typeof l.name === 'string' && l.name ? l.name : null;
  const where = `layout ${name ?? JSON.stringify(l).slice(0, 60)}`;
  if (!name) throw new Error(`${where}: name must be a non-empty string, got ${show(l.name)}`);
  const scalar = (k: keyof MobileNetLayout) => {
    const v = l[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
      throw new Error(`${where}: ${k} must be a positive integer, got ${show(v)}`);
  };
  const list = (k: keyof MobileNetLayout) => {
    const v = l[k];
    if (!Array.isArray(v) || v.length === 0)
      throw new Error(`${where}: ${k} must be a non-empty array of positive integers, got ${show(v)}`);
    v.forEach((x, i) => {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 1)
        throw new Error(`${where}: ${k}[${i}] must be a positive integer, got ${show(x)}`);
    });
  };
  (['inputSize', 'stemC', 'stemStride', 'firstBlockC', 'featureMixC', 'classes'] as const).forEach(scalar);
  (['widths', 'depths', 'strides', 'kernels', 'expands'] as const).forEach(list);
  const n = l.widths.length;
  if (l.depths.length !== n || l.strides.length !== n) {
    throw new Error(
      `${where}: widths, depths and strides must have equal lengths (${n}, ${l.depths.length}, ${l.strides.length})`,
    );
  }
  l.strides.forEach((s, i) => {
    if (s !== 1 && s !== 2) throw new Error(`${where}: strides[${i}] must be 1 or 2, got ${s}`);
  });
  // Kernel sizes and expansion ratios the cell primitives offer (an MBConv candidate is a cell).
  for (const k of l.kernels)
    if (!isMbconvKernel(k)) throw new Error(`${where}: kernel ${k} is not one of ${MBCONV_KERNELS.join(', ')}`);
  for (const e of l.expands)
    if (!isMbconvExpand(e)) throw new Error(`${where}: expand ${e} is not one of ${MBCONV_EXPANDS.join(', ')}`);
}

/**
 * The layout as the latency module's Supernet (positions[0] is the fixed first block). Built here
 * rather than with proxylessSpace() because that one fixes the stem stride at 2; the candidate
 * order is the same (expand-major, then kernel, then 'zero' where an identity skip is possible).
 */
export function layoutSpace(l: MobileNetLayout): Supernet {
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
export function searchPositions(l: MobileNetLayout): BlockPosition[] {
  return layoutSpace(l).positions.slice(1);
}

/** The shape of every searchable layer (what a cell of that layer takes and gives). */
export function layerShapes(l: MobileNetLayout): LayerShape[] {
  return searchPositions(l).map((p) => ({ inC: p.inC, outC: p.outC, stride: p.stride as 1 | 2, inH: p.inH }));
}

/** (stage, index in stage) of each searchable position. */
export function positionStages(l: MobileNetLayout): Array<{ stage: number; depth: number }> {
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
