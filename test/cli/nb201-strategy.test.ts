/**
 * The answer of `wgnas search` on NAS-Bench-201 is the best evaluated cell by the proxy's own
 * ranking of everything evaluated, for every strategy and for single proxies and aggregates alike.
 * Synthetic raw scores with a known best: every member proxy scores a cell by its number of
 * nor_conv_3x3 edges plus a small per-cell term (no ties), so the cell that is best on one member is
 * best on all, and the exhaustive answer over the evaluated cells is known.
 */
import { describe, expect, it } from 'vitest';
import { runNb201Strategy } from '../../src/cli/nb201-strategy.js';
import { AGGREGATORS } from '../../src/proxies/registry.js';
import { cellIndex, formatArch, type Nb201Cell } from '../../src/spaces/nb201.js';
import { Rng } from '../../src/util/rng.js';

const conv3 = (c: Nb201Cell) => c.edges.filter((e) => e === 'nor_conv_3x3').length;
const value = (c: Nb201Cell) => conv3(c) + cellIndex(c) / 1e5;

function rawOf(proxy: string): (c: Nb201Cell) => Promise<Record<string, number>> {
  const members = AGGREGATORS.get(proxy)?.members ?? [proxy];
  return async (c) => Object.fromEntries(members.map((m) => [m, value(c)]));
}

describe('wgnas search (NAS-Bench-201): the reported best is the best evaluated cell', () => {
  for (const proxy of ['wrcor', 'vote', 'vote_majority', 'az_nas', 'ensemble']) {
    for (const strategy of ['random', 'evolution', 'reinforce'] as const) {
      it(`${strategy}, ${proxy}`, async () => {
        for (const seed of [1, 2]) {
          const r = await runNb201Strategy(rawOf(proxy), {
            strategy,
            proxy,
            budget: 60,
            rng: new Rng(seed),
            population: 10,
            sampleSize: 3,
          });
          const evaluated = r.history.map((h) => h.arch);
          const best = evaluated.reduce((x, y) => (value(y) > value(x) ? y : x));
          expect(formatArch(r.best), `seed ${seed}`).toBe(formatArch(best));
        }
      });
    }
  }
});
