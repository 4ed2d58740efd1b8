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
import { wrcorReference } from '../helpers/wrcor-reference.js';

describe('stacked ReLU records in the batched correlations', () => {
  it('equal their slices as separate records, with tiny and default arenas', async ({ skip }) => {
    const be = cpuTestBackend();
    if (!be) return skip();
    const rng = new Rng(9);
    const [n, G] = [6, 3];
    // Two stacked ReLUs of 5 and 12 features per network; network 1 skips the first, network 2 reads the second twice.
    const ds = [5, 12];
    const host = ds.map((d) => ({ x: rng.normals(n * G * d), g: rng.normals(n * G * d), d }));
    // Network 2's slice of the second tensor's gradient is zero (skipped), and sample 3 of network
    // 0's slice of the first tensor is constant (skipped): the others' slices still count.
    for (let r = 0; r < n; r++) host[1].g.fill(0, (r * G + 2) * 12, (r * G + 3) * 12);
    host[0].x.fill(0.5, (3 * G + 0) * 5, (3 * G + 1) * 5);
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
        module: 2 * k + 1,
        input: stackedT[r].x,
        gradInput: g === 1 ? undefined : stackedT[r].g,
        stacked: { groups: G, index: g },
      })),
    );
    const own: CorrRecord[][] = uses.map((rs, g) =>
      rs.map((r, k) => ({
        name: `r${r}`,
        block: k,
        module: 2 * k + 1,
        input: up(slice(host[r].x, host[r].d, g), [n, host[r].d]),
        gradInput: g === 1 ? undefined : up(slice(host[r].g, host[r].d, g), [n, host[r].d]),
      })),
    );
    // The f64 reference, the skipped matrices left out.
    const refs = uses.map((rs, g) =>
      wrcorReference(
        rs.map((r, k) => ({
          d: host[r].d,
          block: k,
          module: 2 * k + 1,
          a: slice(host[r].x, host[r].d, g),
          g: g === 1 ? undefined : slice(host[r].g, host[r].d, g),
        })),
        n,
      ),
    );
    try {
      for (const arenaBytes of [undefined, 2 * (12 + n) * n * 4]) {
        const got = await wrcorScoresMany(be, own, n, { arenaBytes });
        got.forEach((s, g) => {
          for (const [k, v] of Object.entries(refs[g])) {
            if (v === -Infinity) expect(s[k as keyof typeof s], `${g} ${k}`).toBe(v);
            else expect(Math.abs(s[k as keyof typeof s] - v), `${g} ${k}`).toBeLessThan(1e-4 * Math.abs(v));
          }
        });
        expect(await wrcorScoresMany(be, stacked, n, { arenaBytes })).toEqual(got);
        expect(await naswotScoresMany(be, stacked, n, { arenaBytes })).toEqual(
          await naswotScoresMany(be, own, n, { arenaBytes }),
        );
      }
    } finally {
      made.forEach((t) => t.dispose());
    }
  });
});
