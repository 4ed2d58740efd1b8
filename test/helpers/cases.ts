/** Shapes and layouts several test files share (the same cases on the WGSL kernels and the CPU backend). */
import type { CostModel } from '../../src/mobilenet/cost/model.js';
import type { MobileNetLayout } from '../../src/mobilenet/layout.js';

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
