/** SNIP (Lee et al. 2019) as a zero-cost proxy: sum over conv/linear weights of |W * dL/dW|. */
import { defineProxy } from './define.js';
import { cePass, readScalars } from './passes.js';

export const snip = defineProxy({
  name: 'snip',
  description: 'SNIP saliency: sum |W * dL/dW| over conv/linear weights',
  // Merge tolerance: CPU vs lavapipe up to 1.5e-3 (docs/reliability.md).
  mergeRtol: 2e-2,
  pass: cePass,
  needs: { backward: true, paramGrads: true },
  async compute(r, ctx) {
    // No gradient tensor = dL/dW = 0 (see grad_norm): such a weight adds |W * 0| = 0.
    const ws = r.weights.filter((p) => p.grad);
    const v = await readScalars(ws.map((p) => ctx.backend.ops.sumAbsProduct(p.value, p.grad!)));
    return v.reduce((s, a) => s + a, 0);
  },
});
