/**
 * The fitness logits φ of one AutoSpace iteration: per layer, one logit per mixed cell, learned by
 * Adam on the CPU from dCE/dφ plus the MAdds-budget hinge λ·max(0, E[MAdds]/B − 1), where
 * E[MAdds] = fixed + Σ_b Σ_k softmax(φ_b)_k · MAdds_bk.
 *
 * One second moment shared by all φ: per-element Adam would rescale every layer's gradient to unit
 * size, so a 5 k-MAdds difference in a 2×2 layer would push as hard as 500 k in the first layer, and
 * the layers whose CE signal is weak would follow the budget term alone.
 */
import { softmax } from '../util/softmax.js';

export class FitnessLogits {
  /** φ per layer (starts at 0: uniform mixing). */
  readonly phi: Float64Array[];
  private readonly m: Float64Array[];
  private v = 0;
  private steps = 0;

  constructor(
    /** madds[b][k]: multiply-adds of mixed cell k of layer b. */
    private readonly madds: readonly (readonly number[])[],
    /** Multiply-adds outside the searchable layers. */
    private readonly fixedMadds: number,
    private readonly o: { budgetMadds: number; budgetPenalty: number; lr: number },
  ) {
    this.phi = madds.map((row) => new Float64Array(row.length));
    this.m = madds.map((row) => new Float64Array(row.length));
  }

  probs(): number[][] {
    return this.phi.map((z) => softmax(z));
  }

  /** E[MAdds] of the network at the current φ. */
  expectedMadds(): number {
    return this.fixedMadds + this.probs().reduce((acc, p, b) => acc + p.reduce((a, pk, k) => a + pk * this.madds[b][k], 0), 0);
  }

  /** d/dφ of CE + λ·max(0, E[MAdds]/B − 1), from dCE/dφ per layer. */
  gradient(ceGrads: readonly ArrayLike<number>[]): number[][] {
    const { budgetMadds, budgetPenalty } = this.o;
    const probs = this.probs();
    const over = this.expectedMadds() / budgetMadds - 1;
    return this.phi.map((z, b) => {
      const p = probs[b];
      const mean = p.reduce((a, pk, k) => a + pk * this.madds[b][k], 0);
      // ∂/∂φ_k of λ·max(0, E/B − 1) = λ/B · p_k (m_k − Σ_j p_j m_j)
      return Array.from(
        z,
        (_, k) => ceGrads[b][k] + (over > 0 ? (budgetPenalty / budgetMadds) * p[k] * (this.madds[b][k] - mean) : 0),
      );
    });
  }

  /** One Adam step from dCE/dφ per layer (the budget hinge's gradient is added here). Returns E[MAdds] before the step. */
  step(ceGrads: readonly ArrayLike<number>[]): number {
    const expected = this.expectedMadds();
    const g = this.gradient(ceGrads);
    const lr = this.o.lr;
    const flat = g.flat();
    this.v = 0.999 * this.v + (0.001 * flat.reduce((a, x) => a + x * x, 0)) / flat.length;
    this.steps++;
    const vh = this.v / (1 - 0.999 ** this.steps);
    this.phi.forEach((z, b) => {
      const m = this.m[b];
      for (let k = 0; k < z.length; k++) {
        m[k] = 0.9 * m[k] + 0.1 * g[b][k];
        const mh = m[k] / (1 - 0.9 ** this.steps);
        z[k] -= (lr * mh) / (Math.sqrt(vh) + 1e-8);
      }
    });
    return expected;
  }

  /** True while every logit is finite. */
  finite(): boolean {
    return this.phi.every((z) => z.every((v) => Number.isFinite(v)));
  }
}
