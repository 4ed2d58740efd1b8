/** grad_norm (Abdelfattah et al. 2021): sum over conv/linear weights of ||dL/dW||_2. */
import { defineProxy } from './define.js';
import { cePass, readScalars } from './passes.js';

export const gradNorm = defineProxy({
  name: 'grad_norm',
  description: 'sum over conv/linear weights of ||dL/dW||_2',
  // Merge tolerance: CPU vs lavapipe up to 2.1e-3 (docs/reliability.md).
  mergeRtol: 2e-2,
  pass: cePass,
  needs: { backward: true, paramGrads: true },
  async compute(r, ctx) {
    // A weight the loss never reaches (a conv on an edge out of a node only 'none' edges feed, or
    // into a dead end) has no gradient tensor: dL/dW = 0, as PyTorch gives for a conv whose input is
    // all zeros, so it adds ||0|| = 0. A cell whose output node receives nothing scores 0.
    const ws = r.weights.filter((p) => p.grad);
    const sq = await readScalars(ws.map((p) => ctx.backend.ops.sumSquares(p.grad!)));
    return sq.reduce((s, v) => s + Math.sqrt(v), 0);
  },
});
