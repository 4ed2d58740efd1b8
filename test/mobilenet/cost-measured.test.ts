/**
 * The measured cost model (cells priced on the CPU): the op list of a cell (checked by hand and by the addon, which rejects
 * ops that do not chain), the per-cell sums with a fake profiler (exact), and one real pricing of
 * a small space through oneDNN. The addon part skips locally without a build, fails under CI=true.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CellError, type LayerShape, mbconvCell, referenceCell, zeroCell } from '../../src/mobilenet/cell.js';
import { parseCell } from '../../src/mobilenet/cell-text.js';
import { cellNativeOps, measuredCost, skeletonNativeOps } from '../../src/mobilenet/cost/measured.js';
import { archCost } from '../../src/mobilenet/cost/model.js';
import { CIFAR_LAYOUT, layerShapes } from '../../src/mobilenet/layout.js';
import { spaceFromLayout } from '../../src/mobilenet/space-file.js';
import type { NativeBinding, NativeOp, ProfileResult } from '../../src/native/binding.js';
import { nativeOrNull } from '../helpers/native.js';

let native: NativeBinding | null;
beforeAll(() => {
  native = nativeOrNull();
});

const S2: LayerShape = { inC: 8, outC: 12, stride: 2, inH: 32 };
const S1: LayerShape = { inC: 12, outC: 12, stride: 1, inH: 16 };

describe('cell ops', () => {
  it('MBConv k5 e6 at a strided layer: expand 1×1, strided depthwise, linear 1×1', () => {
    expect(cellNativeOps(mbconvCell(5, 6), S2)).toEqual([
      { type: 'conv', inH: 32, inC: 8, outC: 48, kernel: 1, stride: 1, relu6: true },
      { type: 'dwconv', inH: 32, inC: 48, kernel: 5, stride: 2, relu6: true },
      { type: 'conv', inH: 16, inC: 48, outC: 12, kernel: 1, stride: 1, relu6: false },
    ]);
    expect(cellNativeOps(zeroCell(), S1)).toEqual([]);
  });

  it('a DAG cell: two-input node priced on the summed input, full 3×3 conv', () => {
    // dw3 on the input (stride 2 -> 16x16), c3e1 on the input (also strided), pwl of their sum.
    const ops = cellNativeOps(parseCell('dw3<0;c3e1<0;pwl<1,2;=>3'), S2);
    expect(ops).toEqual([
      { type: 'dwconv', inH: 32, inC: 8, kernel: 3, stride: 2, relu6: true },
      { type: 'conv', inH: 32, inC: 8, outC: 8, kernel: 3, stride: 2, relu6: true },
      { type: 'conv', inH: 16, inC: 8, outC: 12, kernel: 1, stride: 1, relu6: false },
    ]);
  });

  it('an invalid cell for the shape is a CellError', () => {
    expect(() => cellNativeOps(parseCell('pw6<0;=>1'), S2)).toThrow(CellError);
  });

  it('the addon accepts the reference network as one chain (every op matches the previous output)', async ({ skip }) => {
    if (!native) return skip();
    const [stem, first, mix, logits] = skeletonNativeOps(CIFAR_LAYOUT);
    const body = layerShapes(CIFAR_LAYOUT).flatMap((sh) => cellNativeOps(referenceCell(sh), sh));
    const r = await native.profile([stem, first, ...body, mix, logits], { repeats: 2, warmup: 0 });
    expect(r.count).toBe(2);
    expect(r.medianMs).toBeGreaterThan(0);
  });
});

/** A profiler whose op time is a known function of the op: 1 ms per million MACs + 0.01 ms. */
function fakeNative(calls: NativeOp[][]): NativeBinding {
  const macs = (op: NativeOp): number => {
    if (op.type === 'conv') return (op.inH ** 2 / (op.stride ?? 1) ** 2) * op.inC * op.outC * op.kernel ** 2;
    if (op.type === 'dwconv') return (op.inH ** 2 / (op.stride ?? 1) ** 2) * op.inC * op.kernel ** 2;
    return 1000;
  };
  return {
    cpuInfo: () => ({
      model: 'fake cpu',
      vendor: 'x',
      logicalCores: 1,
      availableCores: 1,
      features: [],
      cacheBytes: { l2: 1 << 20 },
    }),
    backends: () => [{ name: 'onednn', available: true, version: 'fake' }],
    profile: async (ops: NativeOp[]) => {
      calls.push(ops);
      return { medianMs: macs(ops[0]) / 1e6 + 0.01 } as ProfileResult;
    },
  } as unknown as NativeBinding;
}

describe('pricing a space', () => {
  it('sums node times per cell, times each distinct op once, prices the skeleton', async () => {
    const calls: NativeOp[][] = [];
    const space = spaceFromLayout(CIFAR_LAYOUT);
    const lat = await measuredCost(space, { native: fakeNative(calls) });
    expect(calls.every((c) => c.length === 1)).toBe(true);
    const keys = calls.map((c) => JSON.stringify(c[0]));
    expect(new Set(keys).size).toBe(keys.length);
    expect(lat.meta!.ops).toBe(String(keys.length));
    expect(lat.source).toBe('measured');
    expect(lat.unit).toBe('ms');
    expect(lat.meta!.cpu).toBe('fake cpu');
    expect(lat.meta!.backend).toBe('onednn');
    // Layer 0 (8 -> 12, stride 2, 32x32), MBConv k3 e3 (choice 0): 1x1 8->24 at 32x32, dw3 24 ch stride 2, 1x1 24->12 at 16x16.
    const byHand = (32 * 32 * 8 * 24) / 1e6 + 0.01 + (16 * 16 * 24 * 9) / 1e6 + 0.01 + (16 * 16 * 24 * 12) / 1e6 + 0.01;
    expect(lat.perPosition[0][0]).toBeCloseTo(byHand, 12);
    // zero cells cost nothing; every other cell something
    space.cells.forEach((cells, b) => cells.forEach((c, j) => expect(lat.perPosition[b][j] === 0).toBe(c.nodes.length === 0)));
    expect(lat.fixed).toBeGreaterThan(0.04); // four skeleton ops
    // A shared cache: a second pricing of the same space measures nothing and gives the same matrix.
    const cache = new Map<string, number>();
    const first = await measuredCost(space, { native: fakeNative(calls), cache });
    const n = calls.length;
    const again = await measuredCost(space, { native: fakeNative(calls), cache });
    expect(calls.length).toBe(n);
    expect(again.perPosition).toEqual(first.perPosition);
    expect(again.fixed).toBe(first.fixed);
    const choices = space.cells.map(() => 0);
    expect(archCost(lat, choices)).toBeCloseTo(lat.fixed + lat.perPosition.reduce((s, p) => s + p[0], 0), 12);
  });

  it('oneDNN prices a real space: deeper / wider cells of a layer cost more', async ({ skip }) => {
    if (!native) return skip();
    const space = spaceFromLayout(CIFAR_LAYOUT);
    const lat = await measuredCost(space, { native, repeats: 5, warmup: 1 });
    expect(lat.meta!.library).toMatch(/oneDNN/i);
    for (const row of lat.perPosition) for (const ms of row) expect(Number.isFinite(ms) && ms >= 0).toBe(true);
    // Layer 0: MBConv k7 e6 (choice 5) has 2x the expand and ~5x the depthwise MACs of k3 e3 (choice 0).
    expect(lat.perPosition[0][5]).toBeGreaterThan(lat.perPosition[0][0]);
  });
});
