/**
 * WRCor (Weighted Response Correlation) and its ablations, one computation on the cross-entropy
 * tape: K = sum over ReLUs r of 2^block(r) (|corr(pre-activations_r)| + |corr(dL/dpre-activations_r)|),
 * score log|det K|. A ReLU the loss never reaches (a dead-end node) adds its activation term only.
 * Degenerate cells: where the cell's output node receives nothing (the logits do not depend on the
 * input) no gradient reaches the ReLUs from the input side: K_grad = 0 and wrcor_grad = log 0 =
 * -Infinity, unless weight gradients are taken in the same pass (grad_norm or snip requested):
 * then the ReLUs behind a batch norm get an all-zero gradient, which the correlation counts as
 * uncorrelated (identity), and the WRCor family of those cells differs between the two requests.
 */
import { wrcorScores, wrcorScoresMany } from './correlation-proxies.js';
import { defineProxyFamily } from './define.js';
import { cePass } from './passes.js';

export const wrcor = defineProxyFamily({
  members: {
    wrcor: 'Weighted Response Correlation: log|det sum_r 2^block (|corr(act_r)| + |corr(grad_r)|)|',
    wrcor_act: 'WRCor ablation: activation correlations only (weighted)',
    wrcor_grad: 'WRCor ablation: gradient correlations only (weighted)',
    wrcor_unweighted: 'WRCor ablation: all ReLUs weighted 1',
  },
  pass: cePass,
  needs: { backward: true },
  groupable: true,
  compute: (r, ctx) => wrcorScores(ctx.backend, r.relus, r.n),
  // Every network's correlation matrices go through the same batched dispatches.
  computeMany: (rs, ctxs) =>
    wrcorScoresMany(
      ctxs[0].backend,
      rs.map((r) => r.relus),
      rs[0].n,
    ),
});
