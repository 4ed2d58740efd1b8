/**
 * accumulate_abs_batched's workgroup skip flags (each layer's diagonal read once per workgroup)
 * against the kernel before them (every thread reads every layer's diagonal: 'per-thread') bit for
 * bit, and both against the CPU reference, on the awkward layouts: n * n no multiple of the
 * workgroup (a workgroup spans slots), empty slots at either end and in a row, every layer skipped,
 * more layers in a workgroup's slots than one window of flags holds, every flag combination.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/index.js';
import {
  accumulateAbsBatched,
  type BatchedAccumulateOptions,
  accumulateAbsBatchedCpu,
  batchedLayerMeta,
} from '../../src/kernels/proxy-ops.js';
import { Rng } from '../../src/util/rng.js';
import { expectClose, testGpu } from '../helpers/gpu.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

interface Case {
  label: string;
  n: number;
  slots: number;
  layerSlots: number[];
  /** Layers given a diagonal entry of 0 (a constant row): skipped under skipConstant. */
  zeroDiag: (l: number) => boolean;
}

const range = (k: number, f: (i: number) => number) => Array.from({ length: k }, (_, i) => f(i));

const CASES: Case[] = [
  // 25 elements per slot: a workgroup of 256 spans 11 slots, the 3rd to 5th and the last empty.
  {
    label: 'n 5, empty slots at the ends and in a row',
    n: 5,
    slots: 24,
    layerSlots: [0, 0, 1, 5, 5, 5, 6, 9, 10, 10, 11, 12, 17, 20, 20, 22],
    zeroDiag: (l) => l % 3 === 1,
  },
  { label: 'n 10, slot 0 empty', n: 10, slots: 7, layerSlots: [1, 1, 2, 3, 3, 3, 3, 5, 6], zeroDiag: (l) => l % 4 === 0 },
  { label: 'n 17, all layers skipped', n: 17, slots: 3, layerSlots: [0, 0, 1, 2, 2], zeroDiag: () => true },
  { label: 'n 33, none skipped', n: 33, slots: 2, layerSlots: [0, 1, 1], zeroDiag: () => false },
  // WRCor's layout: N = 64 (16 workgroups per slot), most slots of the dispatch empty.
  { label: 'n 64, 2 of 6 slots filled', n: 64, slots: 6, layerSlots: [2, 2, 2, 3, 3], zeroDiag: (l) => l === 1 },
  // More layers in one workgroup's slots than a window of flags holds (256): 11 windows, zero
  // diagonals on both sides of the window boundaries.
  {
    label: 'n 4, 2600 layers over 20 slots',
    n: 4,
    slots: 20,
    layerSlots: range(2600, (l) => (l < 1500 ? 3 : l < 1530 ? 4 : l < 2000 ? 7 : 19)),
    zeroDiag: (l) => l % 7 === 0 || l === 255 || l === 256 || l === 1023 || l === 1024 || l === 2047,
  },
  { label: 'n 3, 1100 layers in one slot', n: 3, slots: 1, layerSlots: range(1100, () => 0), zeroDiag: (l) => l % 5 === 2 },
];

const FLAGS: Array<Pick<BatchedAccumulateOptions, 'abs' | 'unitDiagonal' | 'skipConstant'>> = [];
for (const abs of [true, false]) {
  for (const unitDiagonal of [true, false]) {
    for (const skipConstant of [true, false]) FLAGS.push({ abs, unitDiagonal, skipConstant });
  }
}

/** The matrices: random entries, diagonals just under 1 (Gram products of unit rows), some with a 0 there. */
function stack(c: Case, seed: number): Float32Array {
  const nn = c.n * c.n;
  const L = c.layerSlots.length;
  const src = new Rng(seed).normals(L * nn);
  for (let l = 0; l < L; l++) {
    for (let k = 0; k < c.n; k++) src[l * nn + k * (c.n + 1)] = 1 - 1e-7 * k;
    if (c.zeroDiag(l)) src[l * nn + (l % c.n) * (c.n + 1)] = 0;
  }
  return src;
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

describe('accumulate_abs_batched: workgroup skip flags', () => {
  it('slot ranges ascend through empty slots', () => {
    expect(Array.from(batchedLayerMeta(5, [1, 1, 3], [2, 4, 8]))).toEqual([0, 0, 0, 2, 2, 2, 2, 3, 3, 3, 2, 4, 8]);
  });

  CASES.forEach((c, ci) => {
    it(`${c.label}: every flag combination and outs 1-3, bit for bit as the per-thread kernel`, async ({ skip }) => {
      const g = gpu;
      if (!g) return skip();
      const nn = c.n * c.n;
      const L = c.layerSlots.length;
      const src = stack(c, 100 + ci);
      const gs = g.upload(src);
      const weights = c.layerSlots.map((_, l) => 2 ** (l % 4));
      const weights2 = c.layerSlots.map((_, l) => 2 ** ((l * 5) % 18));
      for (const outs of [1, 2, 3] as const) {
        for (const [fi, flags] of FLAGS.entries()) {
          // Every flag combination at outs 3 (WRCor's), the skip flag alone at outs 1 and 2.
          if (outs < 3 && !(flags.abs && flags.unitDiagonal)) continue;
          const o: BatchedAccumulateOptions = {
            n: c.n,
            slots: c.slots,
            outs,
            layerSlots: c.layerSlots,
            weights,
            weights2: outs === 3 ? weights2 : undefined,
            ...flags,
          };
          const dst = new Rng(ci * 31 + fi).normals(c.slots * outs * nn);
          const got: Float32Array[] = [];
          for (const check of ['workgroup', 'per-thread'] as const) {
            const gd = g.upload(dst);
            accumulateAbsBatched(g, gd, gs, o, check);
            got.push(await gd.read());
            gd.dispose();
          }
          const label = `${c.label} outs ${outs} ${JSON.stringify(flags)}`;
          expect(bits(got[0]), label).toEqual(bits(got[1]));
          const ref = Float64Array.from(dst);
          accumulateAbsBatchedCpu(ref, src, o);
          // Layers sum in f32 on the GPU: up to 1300 terms of weight up to 2^17 per entry.
          const sumW = Math.max(...weights, ...(outs === 3 ? weights2 : []));
          expectClose(got[0], ref, { atol: 1e-6 * sumW * Math.sqrt(L) * 8, rtol: 1e-5, label });
          if (flags.skipConstant && c.layerSlots.every((_, l) => c.zeroDiag(l))) {
            expect(bits(got[0]), `${label}: nothing added`).toEqual(bits(Float32Array.from(dst)));
          }
        }
      }
      gs.dispose();
    });
  });
});
