/**
 * AZ-NAS and the ranking tools of issue 21: each component's math on hand-computed cases, the
 * device reductions against a host reference on both backends, the rank aggregations, the
 * bootstrap intervals, the registry names, and `score --proxies ensemble` end to end.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { featureEntropy, pixelUnshuffleWeight, probeScore } from '../../src/proxies/az-nas.js';
import {
  blockTrainability,
  covarianceEntropy,
  expressivityProgressivity,
  largestSingularValue,
  logRankSum,
  meanTrainability,
} from '../../src/proxies/az-nas-math.js';
import { ENSEMBLE_MEMBERS } from '../../src/proxies/ensemble.js';
import { AGGREGATORS, PROXIES, resolveProxies } from '../../src/proxies/index.js';
import { bootstrapInterval, kendallInterval, spearmanInterval } from '../../src/util/bootstrap.js';
import { kendallTau } from '../../src/util/ranks.js';
import { Rng } from '../../src/util/rng.js';
import { bothBackends } from '../helpers/backend.js';
import { wgnasInProcess } from '../helpers/cli.js';

const H = (ps: number[]) => -ps.reduce((s, p) => s + p * Math.log(p + 1e-8), 0);

describe('AZ-NAS components on hand-computed cases', () => {
  it('expressivity: entropy of the normalised channel-covariance eigenvalues', () => {
    // 4 samples of 2 channels, zero mean, covariance diag(3, 1): p = (3/4, 1/4).
    expect(covarianceEntropy([12, 0, 0, 4], [0, 0], 4)).toBeCloseTo(H([0.75, 0.25]), 12);
    // Samples (1,1), (3,3): mean (2,2), covariance [[1,1],[1,1]] (rank 1): entropy 0.
    expect(covarianceEntropy([10, 10, 10, 10], [4, 4], 2)).toBeCloseTo(0, 7);
    // Isotropic in 3 channels: ln 3.
    expect(covarianceEntropy([5, 0, 0, 0, 5, 0, 0, 0, 5], [0, 0, 0], 5)).toBeCloseTo(Math.log(3), 7);
    // Constant features (a cell whose output receives nothing): NaN, reported as -Infinity.
    expect(covarianceEntropy([0, 0, 0, 0], [0, 0], 3)).toBeNaN();
    expect(expressivityProgressivity([1, NaN]).expressivity).toBe(-Infinity);
  });

  it('expressivity sums the blocks, progressivity is the smallest step between consecutive blocks', () => {
    const r = expressivityProgressivity([1, 1.5, 1.2, 2]);
    expect(r.expressivity).toBeCloseTo(5.7, 12);
    expect(r.progressivity).toBeCloseTo(-0.3, 12);
  });

  it('trainability: -s - 1/s + 2 of the spectral norm, 0 at s = 1; the mean over blocks', () => {
    expect(largestSingularValue([3, 0, 0, 4, 0, 0], 3, 2)).toBeCloseTo(4, 10);
    expect(largestSingularValue([3, 4], 1, 2)).toBeCloseTo(5, 10);
    expect(largestSingularValue([1, 1, 1, 1], 2, 2)).toBeCloseTo(2, 10);
    expect(blockTrainability(1)).toBeCloseTo(0, 5);
    expect(blockTrainability(2)).toBeCloseTo(-0.5, 5);
    expect(blockTrainability(0)).toBeCloseTo(2 - 1e6, 3);
    expect(meanTrainability([-0.5, 0])).toBeCloseTo(-0.25, 12);
    expect(meanTrainability([-0.5, -Infinity])).toBe(-Infinity);
  });

  it('the aggregation: sum of log(rank / m), non-finite ranked lowest', () => {
    const agg = logRankSum([
      [1, 2, 3],
      [3, 2, 1],
    ]);
    expect(agg[0]).toBeCloseTo(Math.log(1 / 3) + Math.log(1), 12);
    expect(agg[1]).toBeCloseTo(2 * Math.log(2 / 3), 12);
    expect(logRankSum([[-Infinity, 5, NaN]]).map((v) => v.toFixed(6))).toEqual(
      [Math.log(1.5 / 3), 0, Math.log(1.5 / 3)].map((v) => v.toFixed(6)),
    );
    expect(() => logRankSum([[1], [1, 2]])).toThrow(/differ/);
  });
});

/** PyTorch's PixelUnshuffle(2) on the host, [n, c, 2h, 2w] -> [n, 4c, h, w]. */
function unshuffleHost(x: Float32Array, [n, c, h2, w2]: number[]): Float32Array {
  const h = h2 / 2;
  const w = w2 / 2;
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let dy = 0; dy < 2; dy++)
        for (let dx = 0; dx < 2; dx++)
          for (let y = 0; y < h; y++)
            for (let xx = 0; xx < w; xx++)
              out[((b * 4 * c + ch * 4 + dy * 2 + dx) * h + y) * w + xx] = x[((b * c + ch) * h2 + 2 * y + dy) * w2 + 2 * xx + dx];
  return out;
}

/** Host reference of a block's probe score: E over batch and positions of g_in g_out^T, then sigma. */
function probeHost(gIn: Float32Array, inShape: number[], gOut: Float32Array, outShape: number[]): number {
  const [n, co, ho, wo] = outShape;
  const g = inShape[2] === ho ? gIn : unshuffleHost(gIn, inShape);
  const ci = g.length / (n * ho * wo);
  const mat = new Float64Array(ci * co);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < ci; i++)
      for (let o = 0; o < co; o++) {
        let s = 0;
        for (let p = 0; p < ho * wo; p++) s += g[(b * ci + i) * ho * wo + p] * gOut[(b * co + o) * ho * wo + p];
        mat[i * co + o] += s / (n * ho * wo);
      }
  return blockTrainability(largestSingularValue(mat, ci, co));
}

describe('AZ-NAS device reductions against the host reference, on both backends', async () => {
  for (const { name, backend: be } of await bothBackends()) {
    it(`${name}: feature entropy, probe scores (same and halved resolution), identity block`, async ({ skip }) => {
      if (!be) return skip();
      const rng = new Rng(11);
      const shape = [3, 5, 4, 6];
      const f = rng.normals(3 * 5 * 24);
      for (let i = 0; i < f.length; i++) f[i] += (i % 5) * 0.3; // channel-dependent offsets
      const ft = be.upload(f, shape);
      // Host: covariance over the 3*24 samples of 5 channels.
      const gram = new Float64Array(25);
      const sums = new Float64Array(5);
      for (let b = 0; b < 3; b++)
        for (let p = 0; p < 24; p++)
          for (let i = 0; i < 5; i++) {
            const vi = f[(b * 5 + i) * 24 + p];
            sums[i] += vi;
            for (let j = 0; j < 5; j++) gram[i * 5 + j] += vi * f[(b * 5 + j) * 24 + p];
          }
      expect(await featureEntropy(be, ft)).toBeCloseTo(covarianceEntropy(gram, sums, 72), 4);
      ft.dispose();

      const cases: Array<[number[], number[]]> = [
        [
          [2, 3, 4, 4],
          [2, 3, 4, 4],
        ],
        [
          [2, 3, 8, 6],
          [2, 6, 4, 3],
        ],
      ];
      for (const [inShape, outShape] of cases) {
        const gi = rng.normals(inShape.reduce((a, b) => a * b));
        const go = Float32Array.from(rng.normals(outShape.reduce((a, b) => a * b)), (v) => Math.sign(v));
        const [git, got] = [be.upload(gi, inShape), be.upload(go, outShape)];
        expect(await probeScore(be, git, got), `${inShape} -> ${outShape}`).toBeCloseTo(probeHost(gi, inShape, go, outShape), 4);
        expect(await probeScore(be, got, got)).toBe(-Infinity); // g_in = g_out: an identity block
        git.dispose();
        got.dispose();
      }
      const w = pixelUnshuffleWeight(3);
      const x = rng.normals(2 * 3 * 4 * 4);
      const [xt, wt] = [be.upload(x, [2, 3, 4, 4]), be.upload(w, [12, 3, 2, 2])];
      const y = be.ops.conv2d(xt, wt, { stride: 2, pad: 0 });
      expect(Array.from(await y.read())).toEqual(Array.from(unshuffleHost(x, [2, 3, 4, 4])));
      [xt, wt, y].forEach((t) => t.dispose());
    });
  }
});

describe('bootstrap intervals of rank correlations', () => {
  const rng = new Rng(3);
  const a = Array.from({ length: 200 }, () => rng.normal());
  const b = a.map((v) => v + 0.8 * rng.normal());

  it('are deterministic for a seed, change with it, and bracket the estimate', () => {
    const i1 = kendallInterval(a, b, { seed: 7, resamples: 300 })!;
    expect(kendallInterval(a, b, { seed: 7, resamples: 300 })).toEqual(i1);
    expect(kendallInterval(a, b, { seed: 8, resamples: 300 })).not.toEqual(i1);
    const tau = kendallTau(a, b).tau;
    expect(i1.lo).toBeLessThan(tau);
    expect(i1.hi).toBeGreaterThan(tau);
    // sd of tau-hat on n = 200 is about 0.04: the 95% interval is roughly +-0.08.
    expect(i1.hi - i1.lo).toBeGreaterThan(0.08);
    expect(i1.hi - i1.lo).toBeLessThan(0.25);
    const r = spearmanInterval(a, b, { seed: 7, resamples: 300 })!;
    expect(r.lo).toBeLessThan(r.hi);
  });

  it('a perfectly monotone sample gives [1, 1]; fewer than 10 finite pairs give none; bad options throw', () => {
    const x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(
      kendallInterval(
        x,
        x.map((v) => v * v),
        { resamples: 50 },
      ),
    ).toEqual({ lo: 1, hi: 1, resamples: 50 });
    expect(bootstrapInterval([...x.slice(0, 8), NaN, 2], x, () => 0)).toBeNull();
    expect(() => kendallInterval(x, x, { resamples: 0 })).toThrow(/resamples/);
    expect(() => kendallInterval(x, x, { level: 1 })).toThrow(/level/);
  });
});

describe('registry names and score --proxies ensemble', () => {
  it('registers the AZ-NAS components, az_nas and the ensemble', () => {
    for (const n of ['az_nas_expressivity', 'az_nas_progressivity', 'az_nas_trainability', 'az_nas_complexity'])
      expect(PROXIES.has(n), n).toBe(true);
    expect(AGGREGATORS.get('az_nas')!.members).toEqual([
      'az_nas_expressivity',
      'az_nas_progressivity',
      'az_nas_trainability',
      'az_nas_complexity',
    ]);
    expect(AGGREGATORS.get('ensemble')!.members).toEqual([...ENSEMBLE_MEMBERS]);
    expect(resolveProxies(['ensemble']).map((p) => p.name)).toEqual([...ENSEMBLE_MEMBERS]);
    expect(PROXIES.has('vkdnw') && PROXIES.has('vkdnw_entropy')).toBe(true);
    expect(AGGREGATORS.get('vkdnw_agg')!.members).toEqual([
      'vkdnw',
      'jacob_cov',
      'az_nas_expressivity',
      'az_nas_trainability',
      'az_nas_complexity',
    ]);
  });

  it('score --proxies ensemble scores a couple of cells end to end (CPU backend)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgnas-ens-'));
    const out = join(dir, 's.csv');
    // Small networks and batches, on the CPU backend.
    const small = ['--cells-per-stage', '1', '--batch', '8', '--device', 'cpu', '--quiet'];
    const r = await wgnasInProcess([
      ...['score', '--sample', '3', '--ground-truth', '--proxies', 'ensemble,az_nas'],
      ...small,
      ...['--out', out],
    ]);
    expect(r.code, r.err).toBe(0);
    const [head, ...rows] = readFileSync(out, 'utf8').trim().split('\n');
    const cols = head.split(',');
    expect(cols).toEqual(expect.arrayContaining([...ENSEMBLE_MEMBERS, 'az_nas', 'ensemble', 'val_acc']));
    expect(rows.length).toBe(3);
    for (const row of rows) {
      const v = row.split(',');
      // Three cells: the log-rank sums are sums of log(rank / 3) <= 0.
      expect(Number(v[cols.indexOf('ensemble')])).toBeLessThanOrEqual(0);
      expect(Number.isFinite(Number(v[cols.indexOf('az_nas_expressivity')]))).toBe(true);
    }
    const c = await wgnasInProcess(['correlate', '--scores', out, '--bootstrap', '50']);
    expect(c.code, c.err).toBe(0);
    expect(c.out).toMatch(/ensemble\s+3\s/);
    expect(c.out).toMatch(/tau_ci95/);
    // The same ranking online in a search: the log-rank sum over the cells seen so far.
    const r2 = await wgnasInProcess([
      ...['search', '--proxy', 'ensemble', '--budget', '3', '--population', '2', '--sample-size', '1'],
      ...small,
      '--json',
    ]);
    expect(r2.code, r2.err).toBe(0);
    expect(JSON.parse(r2.out).best).toMatch(/^\|.*\|$/);
  }, 180_000);
});
