/**
 * AutoSpace's fitness logits φ (fitness.ts): the gradient of CE + λ·max(0, E[MAdds]/B − 1) against
 * central differences (with a CE linear in φ, so dCE/dφ is known), and the Adam step on it.
 */
import { describe, expect, it } from 'vitest';
import { FitnessLogits } from '../../src/autospace/fitness.js';
import { softmax } from '../../src/util/softmax.js';
import { forEachNudge } from '../helpers/layers.js';

const MADDS = [
  [4e5, 1e5, 0, 2.5e5],
  [3e5, 6e5, 1.2e5],
];
const FIXED = 1e6;
const CE = [
  [0.3, -0.1, 0.05, -0.2],
  [-0.4, 0.25, 0.1],
];
const PHI = [
  [0.2, -0.5, 0.1, 0.4],
  [0.3, -0.2, 0.6],
];

function fitness(budgetMadds: number, phi = PHI): FitnessLogits {
  const f = new FitnessLogits(MADDS, FIXED, { budgetMadds, budgetPenalty: 3, lr: 0.1 });
  phi.forEach((row, b) => f.phi[b].set(row));
  return f;
}

/** The objective the gradient belongs to: Σ CE·φ + λ·max(0, E[MAdds]/B − 1). */
function objective(phi: number[][], budgetMadds: number): number {
  const e = phi.reduce((acc, row, b) => acc + softmax(row).reduce((s, p, k) => s + p * MADDS[b][k], 0), FIXED);
  const ce = phi.reduce((acc, row, b) => acc + row.reduce((s, v, k) => s + v * CE[b][k], 0), 0);
  return ce + 3 * Math.max(0, e / budgetMadds - 1);
}

describe('AutoSpace fitness logits', () => {
  // E[MAdds] at PHI is about 1.43 M: a budget of 1.2 M is exceeded (the hinge pulls), 2 M is not.
  for (const budget of [1.2e6, 2e6]) {
    it(`gradient vs central differences, budget ${budget / 1e6} M`, () => {
      const f = fitness(budget);
      expect(f.expectedMadds() > budget).toBe(budget < 1.4e6);
      const g = f.gradient(CE);
      const h = 1e-6;
      forEachNudge(PHI, h, (b, k, up, dn) =>
        expect(g[b][k]).toBeCloseTo((objective(up, budget) - objective(dn, budget)) / (2 * h), 7),
      );
      if (budget === 2e6) g.forEach((row, b) => row.forEach((v, k) => expect(v).toBe(CE[b][k])));
    });
  }

  it('the first Adam step is −lr·g / rms(g) (one second moment for all φ), and lowers the objective', () => {
    const f = fitness(1.2e6);
    const g = f.gradient(CE);
    const flat = g.flat();
    const rms = Math.sqrt(flat.reduce((s, x) => s + x * x, 0) / flat.length);
    const before = objective(PHI, 1.2e6);
    const e = f.step(CE);
    expect(e).toBeCloseTo(fitness(1.2e6).expectedMadds(), 6);
    f.phi.forEach((row, b) => row.forEach((v, k) => expect(v).toBeCloseTo(PHI[b][k] - (0.1 * g[b][k]) / (rms + 1e-8), 12)));
    expect(
      objective(
        f.phi.map((r) => Array.from(r)),
        1.2e6,
      ),
    ).toBeLessThan(before);
  });
});
