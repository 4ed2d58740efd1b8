/**
 * A cell space as a product of per-layer choices for the generic search strategies (src/search),
 * restricted to a MAdds band and optionally a latency ceiling: what the zero-shot search over a
 * learned or hand-designed space walks.
 */
import { type CostModel, archCost } from '../mobilenet/cost/model.js';
import { cellMadds } from '../mobilenet/cell.js';
import { archMadds } from '../mobilenet/madds.js';
import type { CellSpace } from '../mobilenet/space.js';
import { type SearchSpace, checkChoices } from '../spaces/space.js';
import { UserFacingError } from '../util/errors.js';

/**
 * A MAdds band or latency ceiling no architecture of the space meets (or, for a narrow band, none
 * found): `bound` names the setting at fault when one is, for the command line to name its flag.
 */
export class SpaceConstraintError extends UserFacingError {
  override readonly name = 'SpaceConstraintError';
  constructor(
    message: string,
    readonly bound?: 'budgetMadds' | 'minMadds' | 'maxLatencyMs',
  ) {
    super(message);
  }
}

/** A latency ceiling for cellSearchSpace: the space's cells priced in ms (a measured cost model) and the limit. */
export interface LatencyLimit {
  latency: Pick<CostModel, 'unit' | 'fixed' | 'perPosition'>;
  maxLatencyMs: number;
}

/**
 * The space as a product of per-layer choices, restricted to architectures whose whole-network
 * MAdds lie in [minMadds, budgetMadds] (a band makes "equal MAdds" comparisons between spaces),
 * and optionally whose priced latency is at most a ceiling (equal latency as well): sampling and
 * mutation redraw until the constraints hold.
 */
export function cellSearchSpace(
  space: CellSpace,
  budgetMadds = Infinity,
  minMadds = 0,
  limit?: LatencyLimit,
): SearchSpace<number[]> {
  const sizes = space.cells.map((c) => c.length);
  const name = `${space.file.source}:${space.layout.name}`;
  const fast = (a: number[]) => !limit || archCost(limit.latency, a) <= limit.maxLatencyMs;
  const within = (a: number[]) => {
    const m = archMadds(space, a);
    return m <= budgetMadds && m >= minMadds && fast(a);
  };
  const madds = (b: number, j: number) => cellMadds(space.cells[b][j], space.shapes[b]);
  const cheapest = space.cells.map((cells, b) => cells.reduce((best, _c, j) => (madds(b, j) < madds(b, best) ? j : best), 0));
  const priciest = space.cells.map((cells, b) => cells.reduce((best, _c, j) => (madds(b, j) > madds(b, best) ? j : best), 0));
  const M = (x: number) => (x / 1e6).toFixed(2);
  if (archMadds(space, cheapest) > budgetMadds) {
    throw new SpaceConstraintError(
      `${name}: budget ${M(budgetMadds)} M MAdds is below the cheapest architecture (${M(archMadds(space, cheapest))} M)`,
      'budgetMadds',
    );
  }
  if (archMadds(space, priciest) < minMadds) {
    throw new SpaceConstraintError(
      `${name}: minimum ${M(minMadds)} M MAdds is above the most expensive architecture (${M(archMadds(space, priciest))} M)`,
      'minMadds',
    );
  }
  if (minMadds > budgetMadds)
    throw new SpaceConstraintError(`${name}: minimum ${M(minMadds)} M MAdds exceeds the budget ${M(budgetMadds)} M`, 'minMadds');
  if (limit) {
    if (limit.latency.unit !== 'ms')
      throw new RangeError(`${name}: a latency ceiling needs a cost model in ms, got one in ${limit.latency.unit}`);
    if (limit.latency.perPosition.length !== sizes.length || limit.latency.perPosition.some((p, b) => p.length !== sizes[b])) {
      throw new RangeError(
        `${name}: the latency matrix does not match the space (${limit.latency.perPosition.map((p) => p.length).join('/')} priced cells per layer, space has ${sizes.join('/')})`,
      );
    }
    const fastest = limit.latency.perPosition.map((p) => p.indexOf(Math.min(...p)));
    const lo = archCost(limit.latency, fastest);
    if (lo > limit.maxLatencyMs)
      throw new SpaceConstraintError(
        `${name}: latency ceiling ${limit.maxLatencyMs.toFixed(3)} ms is below the fastest architecture (${lo.toFixed(3)} ms)`,
        'maxLatencyMs',
      );
  }
  const band = `${M(minMadds)}..${M(budgetMadds)} M MAdds${limit ? ` and ${limit.maxLatencyMs.toFixed(3)} ms` : ''}`;
  const TRIES = 1000;
  const check = (a: number[]) => {
    checkChoices({ name, choiceSizes: sizes }, a);
    return [...a];
  };
  return {
    name,
    choiceSizes: sizes,
    sample(rng) {
      for (let i = 0; i < TRIES; i++) {
        const a = sizes.map((k) => rng.int(k));
        if (within(a)) return a;
      }
      // Narrow bands (and latency ceilings): from a random draw, random single-layer changes that never
      // move away from the constraints (relative distance to the MAdds band plus relative excess over
      // the ceiling) and never leave them once inside; a walk stuck outside restarts.
      const dist = (x: number[]) => {
        const m = archMadds(space, x);
        const over = limit ? Math.max(0, archCost(limit.latency, x) / limit.maxLatencyMs - 1) : 0;
        return (
          Math.max(0, minMadds - m, m - budgetMadds) / (Number.isFinite(budgetMadds) ? budgetMadds : Math.max(1, minMadds)) + over
        );
      };
      for (let restart = 0; restart < 8; restart++) {
        const a = sizes.map((k) => rng.int(k));
        let d = dist(a);
        for (let i = 0; i < 200 * sizes.length; i++) {
          const b = rng.int(sizes.length);
          const old = a[b];
          a[b] = rng.int(sizes[b]);
          const after = dist(a);
          if (after > d || (d === 0 && after > 0)) a[b] = old;
          else d = after;
          if (d === 0 && i >= 4 * sizes.length) return a;
        }
        if (d === 0) return a;
      }
      throw new SpaceConstraintError(`${name}: could not sample an architecture within ${band}`);
    },
    mutate(a, rng) {
      const mutable = sizes.map((k, i) => (k > 1 ? i : -1)).filter((i) => i >= 0);
      if (!mutable.length) throw new SpaceConstraintError(`${name}: every layer has one cell, nothing to mutate`);
      for (let i = 0; i < TRIES; i++) {
        const b = rng.pick(mutable);
        const c = [...a];
        c[b] = (a[b] + 1 + rng.int(sizes[b] - 1)) % sizes[b];
        if (within(c)) return c;
      }
      throw new SpaceConstraintError(`${name}: no neighbour of [${a.join(',')}] fits ${band}`);
    },
    key: (a) => a.join(','),
    encode: check,
    decode: check,
    format: (a) => a.join(','),
    parse: (s) => check(s.split(',').map((v) => Number(v))),
  };
}
