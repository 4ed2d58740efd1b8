/**
 * ReLU records that are networks' slices of channel-stacked tensors (CorrRecord.stacked) give the
 * WRCor and NASWOT scores of the same slices as records of their own, bit for bit: the arena holds
 * the same matrices in the same places, also when a chunk boundary cuts a stacked tensor's slices
 * and when a network reads one stacked tensor twice.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/backend/index.js';
import { type CorrRecord, naswotScoresMany, wrcorScoresMany } from '../../src/proxies/correlation-proxies.js';
import { Rng } from '../../src/util/rng.js';
import { cpuTestBackend } from '../helpers/backend.js';

describe('stacked ReLU records in the batched correlations', () => {
  it('equal their slices as separate records, with tiny and default arenas', async ({ skip }) => {
    const be = cpuTestBackend();
    if (!be) return skip();
    const rng = new Rng(9);
    const [n, G] = [6, 3];
    // Two stacked ReLUs of 5 and 12 features per network; network 1 skips the first, network 2 reads the second twice.
    const ds = [5, 12];
    const host = ds.map((d) => ({ x: rng.normals(n * G * d), g: rng.normals(n * G * d), d }));
    const slice = (a: Float32Array, d: number, g: number) => {
      const out = new Float32Array(n * d);
      for (let r = 0; r < n; r++) out.set(a.subarray((r * G + g) * d, (r * G + g + 1) * d), r * d);
      return out;
    };
    const made: Tensor[] = [];
    const up = (a: Float32Array, shape: number[]) => {
      const t = be.upload(a, shape);
      made.push(t);
      return t;
    };
    const stackedT = host.map((h) => ({ x: up(h.x, [n, G * h.d]), g: up(h.g, [n, G * h.d]) }));
    const uses = [[0, 1], [1], [0, 1, 1]];
    const stacked: CorrRecord[][] = uses.map((rs, g) =>
      rs.map((r, k) => ({
        name: `r${r}`,
        block: k,
        input: stackedT[r].x,
        gradInput: g === 1 ? undefined : stackedT[r].g,
        stacked: { groups: G, index: g },
      })),
    );
    const own: CorrRecord[][] = uses.map((rs, g) =>
      rs.map((r, k) => ({
        name: `r${r}`,
        block: k,
        input: up(slice(host[r].x, host[r].d, g), [n, host[r].d]),
        gradInput: g === 1 ? undefined : up(slice(host[r].g, host[r].d, g), [n, host[r].d]),
      })),
    );
    try {
      for (const arenaBytes of [undefined, 2 * (12 + n) * n * 4]) {
        expect(await wrcorScoresMany(be, stacked, n, { arenaBytes })).toEqual(await wrcorScoresMany(be, own, n, { arenaBytes }));
        expect(await naswotScoresMany(be, stacked, n, { arenaBytes })).toEqual(
          await naswotScoresMany(be, own, n, { arenaBytes }),
        );
      }
    } finally {
      made.forEach((t) => t.dispose());
    }
  });
});
