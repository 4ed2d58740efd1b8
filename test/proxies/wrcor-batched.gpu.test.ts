import { onGpu } from '../helpers/backend.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gpu, ShapeError } from '../../src/gpu/index.js';
import { correlationCpu, correlationOffDiagInPlace } from '../../src/kernels/correlation.js';
import { accumulateAbsBatched, accumulateAbsBatchedCpu, batchedLayerMeta } from '../../src/kernels/proxy-ops.js';
import type { ReluRecord } from '../../src/nn/tape.js';
import {
  naswotScorePerLayer,
  naswotScoresMany,
  planChunks,
  type WrcorScores,
  wrcorScores,
  wrcorScoresMany,
  wrcorScoresPerLayer,
} from '../../src/proxies/correlation-proxies.js';
import { logAbsDet } from '../../src/proxies/linalg.js';
import { Rng } from '../../src/util/rng.js';
import { expectClose, testGpu } from '../helpers/gpu.js';
import { type HostRelu, wrcorReference } from '../helpers/wrcor-reference.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

const live: ReluRecord[] = [];
afterAll(() => {
  for (const r of live) {
    r.input.dispose();
    r.gradInput?.dispose();
  }
});

/**
 * Random records with mixed D (1, primes, repeats so groups form), blocks 0..3, modules 0..17, some
 * without gradients, some with a constant row (skipped), some with an all-zero gradient (skipped).
 */
function makeArch(g: Gpu, n: number, seed: number, count: number): { recs: ReluRecord[]; host: HostRelu[] } {
  const rng = new Rng(seed);
  const ds = [1, 2, 3, 7, 13, 31, 32, 32, 32, 64];
  const recs: ReluRecord[] = [];
  const host: HostRelu[] = [];
  for (let i = 0; i < count; i++) {
    const d = ds[(i * 7 + seed) % ds.length];
    const block = (i + seed) % 4;
    const module = (i * 5 + seed) % 18;
    // Offsets per sample so centring matters; a few constant rows.
    const a = rng.normals(n * d).map((v, j) => v + (((j / d) | 0) % 3));
    if (i % 5 === 0 && d > 1) a.fill(2, 0, d);
    const grad = i % 4 !== 3;
    const gr = grad ? rng.normals(n * d, 0.01) : undefined;
    if (gr && i % 7 === 2) gr.fill(0);
    host.push({ d, block, module, a, g: gr });
    const rec: ReluRecord = {
      name: `r${seed}.${i}`,
      block,
      module,
      input: g.upload(a, [n, d]),
      gradInput: gr ? g.upload(gr, [n, 1, d, 1]) : undefined,
    };
    recs.push(rec);
    live.push(rec);
  }
  return { recs, host };
}

function naswotCpu(host: HostRelu[], n: number): number {
  const k = new Float64Array(n * n);
  for (const h of host) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let agree = 0;
        for (let e = 0; e < h.d; e++) agree += h.a[i * h.d + e] > 0 === h.a[j * h.d + e] > 0 ? 1 : 0;
        k[i * n + j] += agree;
      }
    }
  }
  return logAbsDet(k, n);
}

function expectScores(got: WrcorScores, want: WrcorScores, tol: number, label: string): void {
  for (const key of ['wrcor', 'wrcor_act', 'wrcor_grad', 'wrcor_unweighted', 'wrcor_stage'] as const) {
    if (got[key] === want[key]) continue; // -Infinity where every matrix was skipped
    const err = Math.abs(got[key] - want[key]);
    if (!(err <= tol * Math.max(1, Math.abs(want[key])))) {
      throw new Error(`${label} ${key}: ${got[key]} vs ${want[key]}`);
    }
  }
}

describe('accumulate_abs_batched vs CPU reference', () => {
  const cases: Array<{
    n: number;
    slots: number;
    layerSlots: number[];
    outs: 1 | 2 | 3;
    abs: boolean;
    unitDiagonal: boolean;
    skipConstant?: boolean;
  }> = [
    { n: 1, slots: 1, layerSlots: [0], outs: 1, abs: true, unitDiagonal: false },
    { n: 5, slots: 4, layerSlots: [0, 0, 1, 3, 3, 3], outs: 2, abs: true, unitDiagonal: true },
    { n: 7, slots: 3, layerSlots: [1, 2, 2], outs: 1, abs: false, unitDiagonal: false },
    { n: 17, slots: 6, layerSlots: [0, 1, 1, 2, 4, 5, 5, 5, 5, 5, 5], outs: 2, abs: true, unitDiagonal: false },
    { n: 6, slots: 3, layerSlots: [0, 0, 1, 2, 2, 2], outs: 3, abs: true, unitDiagonal: true },
    { n: 6, slots: 3, layerSlots: [0, 0, 1, 2, 2, 2, 2], outs: 3, abs: true, unitDiagonal: true, skipConstant: true },
    { n: 9, slots: 2, layerSlots: [0, 1, 1, 1], outs: 1, abs: true, unitDiagonal: false, skipConstant: true },
  ];
  for (const c of cases) {
    it(`n=${c.n} slots=${c.slots} L=${c.layerSlots.length} outs=${c.outs} abs=${c.abs} unitDiag=${c.unitDiagonal} skip=${!!c.skipConstant}`, async ({
      skip,
    }) => {
      if (!gpu) return skip();
      const rng = new Rng(c.n * 31 + c.slots);
      const nn = c.n * c.n;
      const L = c.layerSlots.length;
      const src = rng.normals(L * nn);
      // Gram products of unit rows: diagonals ~1; every third layer with a constant row's 0 there.
      for (let l = 0; l < L; l++) for (let k = 0; k < c.n; k++) src[l * nn + k * (c.n + 1)] = 1 - 1e-7 * k;
      for (let l = 1; l < L; l += 3) src[l * nn + (l % c.n) * (c.n + 1)] = 0;
      const dst = rng.normals(c.slots * c.outs * nn);
      const weights = c.layerSlots.map((_, l) => 2 ** (l % 4));
      const weights2 = c.outs === 3 ? c.layerSlots.map((_, l) => 2 ** (17 - l)) : undefined;
      const opts = { ...c, weights, weights2 };
      const gd = gpu.upload(dst);
      const gs = gpu.upload(src);
      accumulateAbsBatched(gpu, gd, gs, opts);
      const ref = Float64Array.from(dst);
      accumulateAbsBatchedCpu(ref, src, opts);
      expectClose(await gd.read(), ref, { atol: 1e-5, rtol: 1e-6, label: 'K' });
      if (c.skipConstant) {
        // The same as the layers without a 0 on the diagonal alone.
        const kept = c.layerSlots.map((_, l) => l).filter((l) => l % 3 !== 1);
        const alone = Float64Array.from(dst);
        accumulateAbsBatchedCpu(alone, Float32Array.from(kept.flatMap((l) => [...src.subarray(l * nn, (l + 1) * nn)])), {
          ...opts,
          skipConstant: false,
          layerSlots: kept.map((l) => c.layerSlots[l]),
          weights: kept.map((l) => weights[l]),
          weights2: weights2 && kept.map((l) => weights2[l]),
        });
        expect(alone).toEqual(ref);
      }
      gd.dispose();
      gs.dispose();
    });
  }

  it('rejects unsorted or out-of-range slots and short buffers', async ({ skip }) => {
    if (!gpu) return skip();
    expect(() => batchedLayerMeta(2, [1, 0], [1, 1])).toThrow(/sorted/);
    expect(() => batchedLayerMeta(2, [0, 2], [1, 1])).toThrow(/not in \[0, 2\)/);
    expect(() => batchedLayerMeta(2, [0], [1, 1])).toThrow(ShapeError);
    const small = gpu.zeros([4]);
    expect(() => accumulateAbsBatched(gpu!, small, small, { n: 2, slots: 2, layerSlots: [0], weights: [1] })).toThrow(ShapeError);
    small.dispose();
  });
});

describe('correlationOffDiagInPlace', () => {
  for (const [B, N, D] of [
    [1, 3, 1],
    [3, 5, 2],
    [2, 9, 37],
  ] as const) {
    it(`B=${B} N=${N} D=${D}: off-diagonal entries match correlationCpu`, async ({ skip }) => {
      if (!gpu) return skip();
      const x = new Rng(B + N + D).normals(B * N * D).map((v, i) => v + (i % 3));
      // A larger buffer than the shape: the batched path works on windows of its arena.
      const big = gpu.upload(Float32Array.from({ length: B * N * D + 11 }, (_, i) => (i < x.length ? x[i] : 99)));
      const win = gpu.empty([B, N, D]);
      gpu.copy(big, win, B * N * D);
      const c = gpu.empty([B, N, N]);
      correlationOffDiagInPlace(gpu, win, c);
      const got = await c.read();
      const ref = correlationCpu(x, B, N, D);
      for (let i = 0; i < got.length; i++) if ((i % (N * N)) % (N + 1) === 0) got[i] = ref[i]; // diagonal not written as 1
      expectClose(got, ref, { atol: 2e-5, label: 'C' });
      for (const t of [big, win, c]) t.dispose();
    });
  }
});

describe('batched WRCor / NASWOT equal the per-layer path and the f64 reference', () => {
  const n = 6;

  it('planChunks groups by D, sorts by slot and splits a group by the arena bound', () => {
    const items = [
      { slot: 1, d: 8, id: 0 },
      { slot: 0, d: 8, id: 1 },
      { slot: 0, d: 3, id: 2 },
      { slot: 1, d: 8, id: 3 },
      { slot: 0, d: 8, id: 4 },
    ];
    const one = planChunks(items, n, 1 << 20);
    expect(one.map((c) => [c.d, c.items.map((i) => i.id)])).toEqual([
      [3, [2]],
      [8, [1, 4, 0, 3]],
    ]);
    // (8 + 6) * 6 * 4 = 336 bytes per layer: 700 bytes fit 2 layers.
    const split = planChunks(items, n, 700);
    expect(split.map((c) => c.items.map((i) => i.id))).toEqual([[2], [1, 4], [0, 3]]);
    // A record larger than the bound still runs (alone).
    expect(planChunks(items, n, 10).length).toBe(5);
  });

  for (const A of [1, 2, 3]) {
    it(`${A} architecture(s) at once, default and tiny arenas`, async ({ skip }) => {
      if (!gpu) return skip();
      const archs = [...Array(A).keys()].map((a) => makeArch(gpu!, n, 100 + a, 12 + 3 * a));
      const many = await wrcorScoresMany(
        onGpu(gpu),
        archs.map((x) => x.recs),
        n,
      );
      // 2 KiB: the D=32/64 groups need several chunks, D=64 one layer per chunk.
      const chunked = await wrcorScoresMany(
        onGpu(gpu),
        archs.map((x) => x.recs),
        n,
        { arenaBytes: 2048 },
      );
      expect(many).toHaveLength(A);
      for (let a = 0; a < A; a++) {
        const old = await wrcorScoresPerLayer(onGpu(gpu), archs[a].recs, n);
        const ref = wrcorReference(archs[a].host, n);
        expect(Number.isFinite(ref.wrcor)).toBe(true);
        expectScores(many[a], old, 1e-4, `arch ${a} batched vs per-layer`);
        expectScores(chunked[a], old, 1e-4, `arch ${a} chunked vs per-layer`);
        expectScores(many[a], ref, 1e-3, `arch ${a} batched vs f64`);
        expectScores(await wrcorScores(onGpu(gpu), archs[a].recs, n), many[a], 1e-5, `arch ${a} single vs many`);
      }
      const nw = await naswotScoresMany(
        onGpu(gpu),
        archs.map((x) => x.recs),
        n,
        { arenaBytes: 2048 },
      );
      for (let a = 0; a < A; a++) {
        const old = await naswotScorePerLayer(onGpu(gpu), archs[a].recs, n);
        expect(nw[a]).toBeCloseTo(old, 4);
        expect(nw[a]).toBeCloseTo(naswotCpu(archs[a].host, n), 4);
      }
    });
  }

  it('its scratch (arena plus matrices, rounded up to size classes) stays within arenaBytes', async ({ skip }) => {
    if (!gpu) return skip();
    const be = onGpu(gpu);
    const elems: number[] = [];
    const counting = {
      ...be,
      empty: (shape: readonly number[]) => (elems.push(shape.reduce((x, y) => x * y, 1)), be.empty(shape)),
    };
    // n = 8, D = 9: (9 + 8) 8 4 = 544 bytes a layer, so 100 layers fill one chunk of 54400 bytes
    // exactly: 7200 arena and 6400 matrix elements, each below a power of two (8192).
    const rng = new Rng(9);
    const recs: ReluRecord[] = Array.from({ length: 100 }, (_, i) => ({
      name: `b${i}`,
      block: i % 3,
      module: i % 18,
      input: gpu!.upload(rng.normals(8 * 9), [8, 9]),
    }));
    live.push(...recs);
    const arenaBytes = 544 * 100;
    const [s] = await wrcorScoresMany(counting, [recs], 8, { arenaBytes });
    expect(elems).toHaveLength(2);
    expect(4 * (elems[0] + elems[1])).toBeLessThanOrEqual(arenaBytes);
    const [exact] = await wrcorScoresMany(be, [recs], 8, { arenaBytes: 1 << 30 });
    expect(s).toEqual(exact);
  });

  it('records without any gradient give -Infinity for wrcor_grad, as before', async ({ skip }) => {
    if (!gpu) return skip();
    const rng = new Rng(5);
    const recs: ReluRecord[] = [3, 5].map((d, i) => ({
      name: `a${i}`,
      block: i,
      module: i,
      input: gpu!.upload(rng.normals(n * d), [n, d]),
    }));
    live.push(...recs);
    const [s] = await wrcorScoresMany(onGpu(gpu), [recs], n);
    const old = await wrcorScoresPerLayer(onGpu(gpu), recs, n);
    expect(s.wrcor_grad).toBe(-Infinity);
    expect(s.wrcor_act).toBeCloseTo(old.wrcor_act, 4);
    expect(await wrcorScoresMany(onGpu(gpu), [], n)).toEqual([]);
    const [empty] = await wrcorScoresMany(onGpu(gpu), [[]], n);
    expect(empty.wrcor).toBe(-Infinity);
  });

  it('30 records: the batched path needs far fewer dispatches', async ({ skip }) => {
    if (!gpu) return skip();
    const { recs } = makeArch(gpu, n, 7, 30);
    await gpu.sync();
    let c0 = gpu.dispatchCount;
    await wrcorScoresPerLayer(onGpu(gpu), recs, n);
    const perLayer = gpu.dispatchCount - c0;
    c0 = gpu.dispatchCount;
    await wrcorScores(onGpu(gpu), recs, n);
    const batched = gpu.dispatchCount - c0;
    // 3 per distinct D (normalise, Gram, accumulate) vs ~5 per correlation + 2 accumulates.
    const distinctD = new Set(recs.map((r) => r.input.size / n)).size;
    expect(batched).toBe(3 * distinctD);
    expect(batched * 8).toBeLessThan(perLayer);
  });

  it('rejects records that do not fit the batch', async ({ skip }) => {
    if (!gpu) return skip();
    const t = gpu.zeros([7]);
    const u = gpu.zeros([12]);
    await expect(wrcorScores(onGpu(gpu), [{ name: 'odd', block: 0, module: 0, input: t }], n)).rejects.toThrow(
      /'odd'.*not 6 samples/,
    );
    await expect(wrcorScores(onGpu(gpu), [{ name: 'g', block: 0, module: 0, input: u, gradInput: t }], n)).rejects.toThrow(
      /gradInput has 7 elements/,
    );
    await expect(wrcorScoresMany(onGpu(gpu), [[]], 0)).rejects.toThrow(/positive integer/);
    await expect(naswotScoresMany(onGpu(gpu), [[{ name: 'odd', block: 0, module: 0, input: t }]], n)).rejects.toThrow(ShapeError);
    t.dispose();
    u.dispose();
  });
});
