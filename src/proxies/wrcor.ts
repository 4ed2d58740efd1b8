/**
 * WRCor (Weighted Response Correlation, Jing et al.) and its ablations, one computation on the
 * cross-entropy tape: K = sum over ReLUs r of 2^module(r) (|corr(pre-activations_r)| +
 * |corr(dL/dpre-activations_r)|), score log|det K|. module(r) is ReluPlace's: the authors' weights,
 * as their act_grad_cor_weighted (github.com/kunjing96/ZSNAS-WRCor,
 * foresight/pruners/measures/act_grad_cor_weighted.py) gives every ReLU of the i-th entry of
 * net.cells (NB201: the 3N+2 cells and reduction blocks) or net.block_list (MobileNet: stem, stages,
 * final conv) 2^i, and NB201's final ReLU (lastact) 2^(3N+2): 2^17 at the default N = 5.
 * wrcor_act and wrcor_grad keep one of the two terms (the same weights), wrcor_unweighted weighs
 * every ReLU 1, wrcor_stage 2^stage (ReluPlace's block; NB201: 0, 1, 2, a reduction block the stage
 * it opens, the final ReLU 2), what wgnas called wrcor up to WRCor definition 2.
 * A correlation matrix with an undefined row (a sample whose activations, or gradients, are
 * constant over the ReLU's features) adds nothing, as the authors skip a matrix with NaN: an
 * all-zero gradient counts as none, so a cell's scores do not depend on the other proxies asked
 * for in the same pass. A ReLU the loss never reaches (a dead-end node) adds its activation term
 * only. Where nothing is left (the cell's output node receives nothing, so every ReLU behind it
 * sees a constant input and gets a zero gradient) the sum is 0 and the score log 0 = -Infinity.
 */
import { wrcorScores, wrcorScoresMany } from './correlation-proxies.js';
import { defineProxyFamily } from './define.js';
import { cePass } from './passes.js';

export const wrcor = defineProxyFamily({
  members: {
    wrcor:
      "Weighted Response Correlation: log|det sum_r 2^module (|corr(act_r)| + |corr(grad_r)|)|, the authors' weights (NB201: the i-th of the 3N+2 cells and reduction blocks 2^i, the last ReLU 2^(3N+2))",
    wrcor_act: 'WRCor ablation: activation correlations only (weighted 2^module)',
    wrcor_grad: 'WRCor ablation: gradient correlations only (weighted 2^module)',
    wrcor_unweighted: 'WRCor ablation: all ReLUs weighted 1',
    wrcor_stage: 'WRCor weighted 2^stage (NB201: 1, 2, 4 by stage, a reduction block its stage, the last ReLU 4)',
  },
  // Merge tolerance: CPU vs lavapipe up to 8.1e-7; stacked groups within 1e-5 (docs/reliability.md).
  mergeRtol: 1e-5,
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
