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

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

interface HostRec {
  d: number;
  block: number;
  a: Float32Array;
  g?: Float32Array;
}

const live: ReluRecord[] = [];
afterAll(() => {
  for (const r of live) {
    r.input.dispose();
    r.gradInput?.dispose();
  }
});

/** Random records with mixed D (1, primes, repeats so groups form), blocks 0..3, some without gradients. */
function makeArch(g: Gpu, n: number, seed: number, count: number): { recs: ReluRecord[]; host: HostRec[] } {
  const rng = new Rng(seed);
  const ds = [1, 2, 3, 7, 13, 31, 32, 32, 32, 64];
  const recs: ReluRecord[] = [];
  const host: HostRec[] = [];
  for (let i = 0; i < count; i++) {
    const d = ds[(i * 7 + seed) % ds.length];
    const block = (i + seed) % 4;
    // Offsets per sample so centring matters; a few constant rows.
    const a = rng.normals(n * d).map((v, j) => v + (((j / d) | 0) % 3));
    if (i % 5 === 0 && d > 1) a.fill(2, 0, d);
    const grad = i % 4 !== 3;
    const gr = grad ? rng.normals(n * d, 0.01) : undefined;
    host.push({ d, block, a, g: gr });
    const rec: ReluRecord = {
      name: `r${seed}.${i}`,
      block,
      input: g.upload(a, [n, d]),
      gradInput: gr ? g.upload(gr, [n, 1, d, 1]) : undefined,
    };
    recs.push(rec);
    live.push(rec);
  }
  return { recs, host };
}

/** The f64 reference: the four WRCor matrices from correlationCpu. */
function wrcorCpu(host: HostRec[], n: number): WrcorScores {
  const nn = n * n;
  const [act, grad, actU, gradU] = [0, 1, 2, 3].map(() => new Float64Array(nn));
  for (const h of host) {
    const w = 2 ** h.block;
    const ca = correlationCpu(h.a, 1, n, h.d);
    for (let i = 0; i < nn; i++) {
      act[i] += w * Math.abs(ca[i]);
      actU[i] += Math.abs(ca[i]);
    }
    if (!h.g) continue;
    const cg = correlationCpu(h.g, 1, n, h.d);
    for (let i = 0; i < nn; i++) {
      grad[i] += w * Math.abs(cg[i]);
      gradU[i] += Math.abs(cg[i]);
    }
  }
  const sum = (x: Float64Array, y: Float64Array) => x.map((v, i) => v + y[i]);
  return {
    wrcor: logAbsDet(sum(act, grad), n),
    wrcor_act: logAbsDet(act, n),
    wrcor_grad: logAbsDet(grad, n),
    wrcor_unweighted: logAbsDet(sum(actU, gradU), n),
  };
}

function naswotCpu(host: HostRec[], n: number): number {
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
  for (const key of ['wrcor', 'wrcor_act', 'wrcor_grad', 'wrcor_unweighted'] as const) {
    const err = Math.abs(got[key] - want[key]);
    if (!(err <= tol * Math.max(1, Math.abs(want[key])))) {
      throw new Error(`${label} ${key}: ${got[key]} vs ${want[key]}`);
    }
  }
}

describe('accumulate_abs_batched vs CPU reference', () => {
  const cases: Array<{ n: number; slots: number; layerSlots: number[]; outs: 1 | 2; abs: boolean; unitDiagonal: boolean }> = [
    { n: 1, slots: 1, layerSlots: [0], outs: 1, abs: true, unitDiagonal: false },
    { n: 5, slots: 4, layerSlots: [0, 0, 1, 3, 3, 3], outs: 2, abs: true, unitDiagonal: true },
    { n: 7, slots: 3, layerSlots: [1, 2, 2], outs: 1, abs: false, unitDiagonal: false },
    { n: 17, slots: 6, layerSlots: [0, 1, 1, 2, 4, 5, 5, 5, 5, 5, 5], outs: 2, abs: true, unitDiagonal: false },
  ];
  for (const c of cases) {
    it(`n=${c.n} slots=${c.slots} L=${c.layerSlots.length} outs=${c.outs} abs=${c.abs} unitDiag=${c.unitDiagonal}`, async ({
      skip,
    }) => {
      if (!gpu) return skip();
      const rng = new Rng(c.n * 31 + c.slots);
      const nn = c.n * c.n;
      const L = c.layerSlots.length;
      const src = rng.normals(L * nn);
      const dst = rng.normals(c.slots * c.outs * nn);
      const weights = c.layerSlots.map((_, l) => 2 ** (l % 4));
      const opts = { ...c, weights };
      const gd = gpu.upload(dst);
      const gs = gpu.upload(src);
      accumulateAbsBatched(gpu, gd, gs, opts);
      const ref = Float64Array.from(dst);
      accumulateAbsBatchedCpu(ref, src, opts);
      expectClose(await gd.read(), ref, { atol: 1e-5, label: 'K' });
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
        const ref = wrcorCpu(archs[a].host, n);
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
    await expect(wrcorScores(onGpu(gpu), [{ name: 'odd', block: 0, input: t }], n)).rejects.toThrow(/'odd'.*not 6 samples/);
    await expect(wrcorScores(onGpu(gpu), [{ name: 'g', block: 0, input: u, gradInput: t }], n)).rejects.toThrow(
      /gradInput has 7 elements/,
    );
    await expect(wrcorScoresMany(onGpu(gpu), [[]], 0)).rejects.toThrow(/positive integer/);
    await expect(naswotScoresMany(onGpu(gpu), [[{ name: 'odd', block: 0, input: t }]], n)).rejects.toThrow(ShapeError);
    t.dispose();
    u.dispose();
  });
});
