/** Shapes and layouts several test files share (the same cases on the WGSL kernels and the CPU backend). */
import { DEFAULT_EVOLVE, type EvolveConfig } from '../../src/autospace/evolve-config.js';
import type { Conv2dParams, Pool2dParams } from '../../src/kernels/params.js';
import { archCost, type CostModel } from '../../src/mobilenet/cost/model.js';
import type { MobileNetLayout } from '../../src/mobilenet/layout.js';
import { fixedMadds } from '../../src/mobilenet/madds.js';

/** Matmul cases [batch, M, N, K, transA, transB]: 1x1x1, odd sizes, every transpose, K = 1 and tall/flat shapes. */
export const MATMUL_CASES: ReadonlyArray<[number, number, number, number, boolean, boolean]> = [
  [1, 1, 1, 1, false, false],
  [1, 7, 13, 5, false, false],
  [1, 64, 64, 64, false, false],
  [1, 65, 63, 17, false, false],
  [3, 31, 37, 41, false, false],
  [2, 29, 67, 3, true, false],
  [2, 17, 19, 97, false, true],
  [1, 1, 130, 1, true, true],
  [4, 100, 1, 33, true, true],
];

/** x [N, C, H, W] convolved with `cout` filters of k x k. */
export interface ConvCase {
  x: [number, number, number, number];
  cout: number;
  k: number;
  p: Conv2dParams;
}

export const convLabel = (c: ConvCase) => `x[${c.x}] cout=${c.cout} k=${c.k} s=${c.p.stride} p=${c.p.pad} g=${c.p.groups ?? 1}`;

export const convWShape = (c: ConvCase) => [c.cout, c.x[1] / (c.p.groups ?? 1), c.k, c.k];

/** Convolution cases, for the WGSL kernels and the CPU backend (each adds its own). */
export const CONV_CASES: readonly ConvCase[] = [
  { x: [1, 1, 1, 1], cout: 1, k: 1, p: { stride: 1, pad: 0 } },
  { x: [2, 3, 7, 5], cout: 4, k: 3, p: { stride: 1, pad: 1 } }, // C=3 stem, odd H/W
  { x: [1, 3, 8, 8], cout: 16, k: 3, p: { stride: 1, pad: 1 } },
  { x: [3, 5, 7, 7], cout: 7, k: 3, p: { stride: 2, pad: 1 } }, // stride 2, odd size
  { x: [2, 4, 5, 7], cout: 3, k: 5, p: { stride: 2, pad: 0 } },
  { x: [1, 2, 9, 6], cout: 5, k: 7, p: { stride: 1, pad: 3 } },
  { x: [2, 16, 8, 8], cout: 16, k: 1, p: { stride: 1, pad: 0 } },
  { x: [2, 16, 9, 9], cout: 32, k: 3, p: { stride: 2, pad: 1 } }, // NB201 reduction-cell shape
  { x: [2, 33, 6, 5], cout: 70, k: 3, p: { stride: 1, pad: 1 } }, // > one 64-row tile
  { x: [1, 1, 5, 5], cout: 1, k: 5, p: { stride: 3, pad: 0 } }, // output 1x1
  { x: [2, 6, 7, 5], cout: 6, k: 3, p: { stride: 1, pad: 1, groups: 6 } }, // depthwise
  { x: [1, 8, 9, 9], cout: 8, k: 5, p: { stride: 2, pad: 2, groups: 8 } }, // depthwise 5x5 s2
  { x: [2, 3, 7, 7], cout: 3, k: 7, p: { stride: 1, pad: 3, groups: 3 } }, // depthwise 7x7
  { x: [2, 4, 6, 6], cout: 6, k: 3, p: { stride: 1, pad: 1, groups: 2 } }, // grouped
  { x: [5, 3, 4, 4], cout: 3, k: 3, p: { stride: 1, pad: 1, groups: 3 } }, // depthwise, 5 images per workgroup
  { x: [7, 2, 6, 5], cout: 2, k: 5, p: { stride: 2, pad: 2, groups: 2 } }, // depthwise, 3x3 output planes
  { x: [2, 4, 7, 7], cout: 4, k: 3, p: { stride: 2, pad: 0, groups: 4 } }, // depthwise, no padding
  { x: [1, 2, 20, 23], cout: 2, k: 3, p: { stride: 1, pad: 1, groups: 2 } }, // depthwise, > 64 row runs
  { x: [2, 3, 9, 9], cout: 3, k: 3, p: { stride: 3, pad: 1, groups: 3 } }, // depthwise stride 3: generic kernel
  { x: [1, 3, 9, 9], cout: 3, k: 9, p: { stride: 1, pad: 4, groups: 3 } }, // depthwise 9x9: generic kernel
  { x: [1, 1, 7, 5], cout: 1, k: 3, p: { stride: 2, pad: 1, groups: 1 } },
];

/** Batch-norm shapes, for the WGSL kernels and the CPU backend (each adds its own). */
export const BN_SHAPES: readonly number[][] = [
  [1, 1, 1, 2],
  [1, 1, 5, 7],
  [2, 3, 7, 5],
  [4, 16, 8, 8],
  [3, 5, 1, 1],
  [6, 4], // [N, C] (BatchNorm1d-style)
  [2, 2, 64, 41], // 5248 elements per channel: one statistics workgroup per channel
];

/** Average-pool cases [x shape, params], for the WGSL kernels and the CPU backend. */
export const POOL_CASES: ReadonlyArray<[number[], Pool2dParams]> = [
  [[2, 3, 7, 5], { kernel: 3, stride: 1, pad: 1, countIncludePad: false }], // NB201 avg_pool_3x3
  [[2, 3, 7, 5], { kernel: 3, stride: 1, pad: 1, countIncludePad: true }],
  [[2, 4, 8, 8], { kernel: 2, stride: 2, pad: 0 }], // NB201 reduction-cell shortcut
  [[1, 1, 7, 7], { kernel: 2, stride: 2, pad: 0 }], // odd size, last row dropped
  [[1, 2, 9, 6], { kernel: 3, stride: 2, pad: 1, countIncludePad: false }],
  [[1, 2, 9, 6], { kernel: 3, stride: 2, pad: 1, countIncludePad: true }],
  [[1, 1, 1, 1], { kernel: 1, stride: 1, pad: 0 }],
  [[3, 1, 5, 5], { kernel: 5, stride: 1, pad: 2, countIncludePad: false }],
  [[1, 2, 11, 9], { kernel: 7, stride: 3, pad: 3, countIncludePad: false }],
  [[1, 2, 11, 9], { kernel: 7, stride: 3, pad: 3, countIncludePad: true }],
];

/** A pool case's test name. */
export const poolCaseName = (s: readonly number[], p: Pool2dParams) =>
  `x[${s}] k=${p.kernel} s=${p.stride} p=${p.pad} incl=${p.countIncludePad ?? true}`;

/** Correlation shapes [B, N, D] (batch, rows, features), for the WGSL kernels and the CPU backend. */
export const CORRELATION_SHAPES: ReadonlyArray<[number, number, number]> = [
  [1, 1, 2],
  [1, 2, 3],
  [2, 5, 7],
  [3, 17, 257],
  [1, 64, 1000],
  [2, 67, 31],
];

/**
 * A layout of three searchable blocks: two of width 4 with an identity skip (and 'zero'), then a
 * stride-2 width change; 4-wide stem and first block. The fields that differ are given.
 */
export function threeBlockLayout(
  o: Pick<MobileNetLayout, 'name' | 'inputSize' | 'stemStride' | 'featureMixC' | 'classes'> &
    Partial<Pick<MobileNetLayout, 'widths' | 'kernels'>>,
): MobileNetLayout {
  return {
    name: o.name,
    inputSize: o.inputSize,
    stemC: 4,
    stemStride: o.stemStride,
    firstBlockC: 4,
    widths: o.widths ?? [4, 8],
    depths: [2, 1],
    strides: [1, 2],
    kernels: o.kernels ?? [3, 5],
    expands: [3, 6],
    featureMixC: o.featureMixC,
    classes: o.classes,
  };
}

/** A small layout whose step runs in well under a second on lavapipe (8×8 inputs). */
export const TOY_LAYOUT = threeBlockLayout({ name: 'toy', inputSize: 8, stemStride: 1, featureMixC: 16, classes: 10 });

/** 8×8 inputs, a 4 -> 6 width change, 3 classes. */
export const TINY_SUPERNET_LAYOUT = threeBlockLayout({
  name: 'tiny',
  inputSize: 8,
  stemStride: 1,
  widths: [4, 6],
  featureMixC: 8,
  classes: 3,
});

/** A CIFAR-sized layout (32×32 input, stride-2 stem) offering every kernel size. */
export const TINY_CIFAR_LAYOUT = threeBlockLayout({
  name: 'tiny-cifar',
  inputSize: 32,
  stemStride: 2,
  kernels: [3, 5, 7],
  featureMixC: 16,
  classes: 10,
});

/** A synthetic latency table of TOY_LAYOUT: 'zero' (index 4 where present) is free; elsewhere a distinct fastest candidate. */
export const TOY_COST: CostModel = {
  unit: 'ms',
  source: 'table',
  fixed: 2,
  perPosition: [
    [3, 1.5, 4, 2.5, 0],
    [2, 3, 1, 4, 0],
    [5, 4, 6, 2],
  ],
};

/** Halfway between the cheapest and the dearest architecture under `cost`: a ceiling some meet and some do not. */
export function halfwayCost(cost: CostModel): number {
  const pick = (best: (...v: number[]) => number) =>
    archCost(
      cost,
      cost.perPosition.map((row) => row.indexOf(best(...row))),
    );
  return (pick(Math.min) + pick(Math.max)) / 2;
}

/** An AutoSpace run of `layout` that takes seconds: a few candidates, steps and iterations, 200 k MAdds over the skeleton. */
export function tinyEvolveConfig(layout: MobileNetLayout, over: Partial<EvolveConfig> = {}): EvolveConfig {
  return {
    ...DEFAULT_EVOLVE,
    layout,
    budgetMadds: fixedMadds(layout) + 200_000,
    populationSize: 5,
    k: 3,
    iterations: 3,
    steps: 2,
    warmupSteps: 1,
    minEvaluations: 1,
    replaceEvery: 1,
    guideIterations: 1,
    batchSize: 8,
    seed: 4,
    ...over,
  };
}
