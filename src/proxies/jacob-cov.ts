/**
 * Jacobian covariance (Mellor et al. 2020, v1 of NASWOT): the correlation between the images'
 * input gradients of the summed logits, score -sum over its eigenvalues v of log(v + k) + 1/(v + k),
 * k = 1e-5.
 */
import type { Tensor } from '../backend/index.js';
import { Tape } from '../nn/tape.js';
import { definePass, defineProxy, imageFloats } from './define.js';
import { rowCorrelationEigenvalues } from './linalg.js';

interface JacobianResult {
  tape: Tape;
  /** dy/dx summed over the logits, [n, 3, size, size]; null when the logits do not depend on the input. */
  jac: Tensor | null;
}

/** Gradient of the summed logits w.r.t. each input image (rows of the Jacobian sum). */
const jacobianPass = definePass<JacobianResult>({
  name: 'jacobian',
  order: 20,
  async run(ctx) {
    const tape = new Tape(ctx.backend, { paramGrads: 'none' });
    try {
      const xin = tape.input(ctx.x, true);
      const { logits } = ctx.net.forward(tape, xin);
      tape.backward(logits);
      return { tape, jac: xin.grad };
    } catch (e) {
      tape.dispose();
      ctx.net.zeroGrad();
      throw e;
    }
  },
  release(r, ctx) {
    r.jac?.dispose();
    r.tape.dispose();
    ctx.net.zeroGrad();
  },
});

export const jacobCov = defineProxy({
  name: 'jacob_cov',
  description: 'Jacobian covariance: -sum(log(v+k) + 1/(v+k)) over eigenvalues of corr(dy/dx), k=1e-5',
  // Merge tolerance: CPU vs lavapipe up to 4.1e-5 (docs/reliability.md).
  mergeRtol: 5e-4,
  pass: jacobianPass,
  async compute(r, ctx) {
    // No path from the input to the logits (the cell's output node receives nothing): the Jacobian
    // is 0 and its correlation undefined. The reference (NASLib) fails there and stores -1e8; we
    // give -Infinity, the lowest rank. (Treating the zero rows as uncorrelated would give the
    // identity, i.e. the best possible score, to a network that ignores its input.)
    if (!r.jac) return -Infinity;
    const ev = await rowCorrelationEigenvalues(ctx.backend, r.jac, ctx.batch.n, imageFloats(ctx.batch));
    const k = 1e-5;
    return -ev.reduce((s, v) => s + Math.log(Math.max(v, 0) + k) + 1 / (Math.max(v, 0) + k), 0);
  },
});
