/**
 * A backend that does what a training step batches one item at a time, as the steps did before
 * they were batched: sgdStepMany as one sgdStep per tensor, gateDotMany as one gateDot per pair,
 * adamStepRows as one adamStep per row (through copies of the row), mixForward as one
 * mixAccumulate per candidate, mixBackwardMany as one mixBackward per candidate, readMany as one
 * read each, and (composeBnRelu6) relu6(batch norm) as batchNormForward, relu6, relu6Backward and
 * batchNormBackward. A step on it and on the backend itself must give the same bits.
 */
import type { Backend, BackendOps, Tensor } from '../../src/backend/index.js';

export function perItemBackend(be: Backend, o: { composeBnRelu6: boolean }): { backend: Backend; dispose(): void } {
  const ops = be.ops;
  /** Each composed batch norm's output, by its mean tensor (the backward gets the mean, not y). */
  const bnOut = new Map<Tensor, Tensor>();
  const overrides: { -readonly [K in keyof BackendOps]?: BackendOps[K] } = {
    sgdStepMany: (w, grad, buf, s) =>
      w.forEach((t, j) => ops.sgdStep(t, grad[j], buf[j], { ...s, lr: s.lr[j], weightDecay: s.weightDecay[j] })),
    gateDotMany: (a, b, out, indices, scale) => a.forEach((t, j) => ops.gateDot(t, b[j], out, indices[j], scale)),
    adamStepRows: (w, grad, m, v, rows, a) => {
      for (const r of rows) {
        if (r.size === 0) continue;
        const parts = [w, grad, m, v].map((t) => {
          const p = be.empty([r.size]);
          be.copy(t, p, r.size, r.offset, 0);
          return p;
        });
        ops.adamStep(parts[0], parts[1], parts[2], parts[3], { ...a, step: r.step });
        [w, m, v].forEach((t, i) => be.copy(parts[[0, 2, 3][i]], t, r.size, 0, r.offset));
        for (const p of parts) p.dispose();
      }
    },
    mixForward: (outs, probs) => {
      const y = be.empty(outs[0].shape);
      outs.forEach((t, k) => ops.mixAccumulate(y, t, probs, k, { overwrite: k === 0 }));
      return y;
    },
    mixBackwardMany: (outs, dy, probs, dOuts, gDots) => outs.forEach((t, k) => ops.mixBackward(t, dy, probs, k, dOuts[k], gDots)),
  };
  if (o.composeBnRelu6) {
    overrides.batchNormRelu6Forward = (x, gamma, beta, eps) => {
      const { y, mean, invStd } = ops.batchNormForward(x, gamma, beta, eps);
      bnOut.set(mean, y);
      return { z: ops.relu6(y), mean, invStd };
    };
    overrides.batchNormRelu6Backward = (dz, x, mean, invStd, gamma) => {
      const dy = ops.relu6Backward(dz, bnOut.get(mean)!);
      const r = ops.batchNormBackward(dy, x, mean, invStd, gamma);
      dy.dispose();
      return r;
    };
  }
  const backend: Backend = {
    ...be,
    ops: Object.freeze({ ...ops, ...overrides }) as BackendOps,
    readMany: (ts) => Promise.all(ts.map((t) => t.read())),
  };
  return {
    backend,
    dispose: () => {
      for (const y of bnOut.values()) y.dispose();
      bnOut.clear();
    },
  };
}
