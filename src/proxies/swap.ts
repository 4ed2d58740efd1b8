/**
 * SWAP-Score (Peng et al., ICLR 2024) and its regularised form, from the forward of the
 * cross-entropy tape (swap-patterns.ts counts the patterns). As the authors' code
 * (pym1024/SWAP src/metrics/swap.py): every ReLU's output sign over the batch, one pattern per
 * neuron, the count of distinct patterns; reg_swap = swap * exp(-(p - mu)^2 / sigma) with p the
 * parameter count in thousands (their count_parameters / 1e3, and sigma not squared or doubled).
 * Their code gives no mu/sigma for NAS-Bench-201; SWAP_REG_MU_K / SWAP_REG_SIGMA_K2 are ours (see
 * there). A count: of the same ReLU inputs, both backends and every grouping give the same integer.
 */
import { defineProxyFamily } from './define.js';
import { cePass } from './passes.js';
import { swapCountsMany } from './swap-patterns.js';

/**
 * Regulariser centre, in thousands of parameters: 1.5 M, the largest NB201 CIFAR-10 cells (so the
 * factor rises with size over the whole space), with sigma = mu^2 / 1.5 in thousands squared: in
 * millions, mu = sigma = 1.5. Not the authors' (their repository has none for NB201).
 */
export const SWAP_REG_MU_K = 1500;
export const SWAP_REG_SIGMA_K2 = 1.5e6;

/** exp(-(p - mu)^2 / sigma), p in thousands of parameters (the authors' cal_regular_factor). */
export const swapRegularFactor = (paramsK: number, muK = SWAP_REG_MU_K, sigmaK2 = SWAP_REG_SIGMA_K2) =>
  Math.exp(-((paramsK - muK) ** 2) / sigmaK2);

/** Both scores of a network with `count` distinct patterns and `params` parameters. */
const scoresOf = (count: number, params: number) => ({ swap: count, reg_swap: count * swapRegularFactor(params / 1e3) });

export const swap = defineProxyFamily({
  members: {
    swap: 'SWAP: distinct sample-wise ReLU patterns over the batch (Peng et al. 2024; their setting: --batch 16 --init gaussian, at batch 64 nearly every neuron is distinct)',
    reg_swap: 'SWAP times exp(-(params_K - 1500)^2 / 1.5e6), a size prior (mu, sigma ours: none published for NB201)',
  },
  // The count of given records is exact on both backends, but across devices a pre-activation
  // within rounding of 0 may change sign: CPU vs lavapipe moved 2 of 12 cells by one pattern
  // (2.4e-5 relative, bench/results/merge-tolerance/2026-12-06-swap/); 1 vs 2 threads by none.
  mergeRtol: 5e-4,
  pass: cePass,
  groupable: true,
  compute: async (r, ctx) => scoresOf((await swapCountsMany(ctx.backend, [r.relus], r.n))[0], ctx.net.paramCount()),
  computeMany: async (rs, ctxs) => {
    const counts = await swapCountsMany(
      ctxs[0].backend,
      rs.map((r) => r.relus),
      rs[0].n,
    );
    return counts.map((s, i) => scoresOf(s, ctxs[i].net.paramCount()));
  },
});
