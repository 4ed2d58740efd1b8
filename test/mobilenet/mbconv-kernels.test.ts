/**
 * MBConv kernel sizes and expansion ratios come from one constant (MBCONV_KERNELS, MBCONV_EXPANDS):
 * the layouts, the cell constructors, the hand-designed candidates, the ProxylessNAS latency space,
 * the random cells and mutations all read it.
 */
import { describe, expect, it } from 'vitest';
import {
  isMbconvKernel,
  MBCONV_EXPANDS,
  MBCONV_KERNELS,
  type MbconvKernel,
  PROXYLESS_EXPANDS,
  proxylessSpace,
} from '../../src/latency/space.js';
import { handDesignedCells, mbconvCell, mbconvOf, PRIMITIVES, primitiveSpec } from '../../src/mobilenet/cell.js';
import { mutateCell, randomCell } from '../../src/mobilenet/cell-mutation.js';
import { CIFAR_LAYOUT, IMAGENET_LAYOUT, validateLayout } from '../../src/mobilenet/layout.js';
import { Rng } from '../../src/util/rng.js';

const SHAPE = { inC: 8, outC: 8, stride: 1 as const, inH: 8 };

describe('MBConv kernels: one constant', () => {
  it('is what the layouts, the latency space and the hand-designed candidates use', () => {
    expect(MBCONV_KERNELS).toEqual([3, 5, 7]);
    expect(MBCONV_EXPANDS).toEqual([1, 3, 6]);
    for (const l of [IMAGENET_LAYOUT, CIFAR_LAYOUT]) {
      expect(l.kernels).toEqual([...MBCONV_KERNELS]);
      expect(l.expands).toEqual([...PROXYLESS_EXPANDS]);
    }
    const kernels = new Set(
      proxylessSpace()
        .positions.slice(1)
        .flatMap((p) => p.candidates.map((c) => (c === 'zero' ? null : c.kernel))),
    );
    expect([...kernels].filter((k) => k !== null).sort()).toEqual([...MBCONV_KERNELS]);
    // Expand-major over the kernels, then zero where the layer has a shortcut.
    expect(handDesignedCells(SHAPE).map(mbconvOf)).toEqual([
      ...PROXYLESS_EXPANDS.flatMap((expand) => MBCONV_KERNELS.map((kernel) => ({ kernel, expand }))),
      null,
    ]);
  });

  it('every kernel and ratio has its primitive, and mbconvOf inverts mbconvCell', () => {
    for (const kernel of MBCONV_KERNELS) {
      expect(primitiveSpec(`dw${kernel}`)).toMatchObject({ kind: 'dw', kernel });
      for (const expand of MBCONV_EXPANDS) expect(mbconvOf(mbconvCell(kernel, expand))).toEqual({ kernel, expand });
    }
    expect(() => mbconvCell(9 as MbconvKernel, 3)).toThrow(/mbconvCell: kernel 9 is not 3, 5 or 7/);
    expect(() => validateLayout({ ...CIFAR_LAYOUT, kernels: [9 as MbconvKernel] })).toThrow(/kernel 9 is not one of 3, 5, 7/);
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].filter(isMbconvKernel)).toEqual([...MBCONV_KERNELS]);
  });

  it('random cells and mutations propose every depthwise kernel', () => {
    const rng = new Rng(3);
    const seen = new Set<string>();
    let cell = mbconvCell(3, 6);
    for (let i = 0; i < 400; i++) {
      for (const n of randomCell(SHAPE, rng).nodes) seen.add(n.op);
      cell = mutateCell(cell, SHAPE, rng);
      for (const n of cell.nodes) seen.add(n.op);
    }
    const dw = PRIMITIVES.filter((p) => primitiveSpec(p).kind === 'dw');
    expect(dw).toEqual(MBCONV_KERNELS.map((k) => `dw${k}`));
    for (const op of dw) expect(seen.has(op), op).toBe(true);
  });
});
