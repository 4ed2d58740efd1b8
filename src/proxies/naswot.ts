/**
 * NASWOT (Mellor et al. 2021): log|det K| of the Hamming kernel of the ReLUs' binary codes, from
 * the forward of the cross-entropy tape. A kernel made only of constant codes (every ReLU input
 * zero: a cell whose output node receives nothing) is singular: -Infinity (NASLib's reference
 * table stores its failure value -1e8 there).
 */
import { naswotScore, naswotScoresMany } from './correlation-proxies.js';
import { defineProxy } from './define.js';
import { cePass } from './passes.js';

export const naswot = defineProxy({
  name: 'naswot',
  description: 'NASWOT: log|det| of the binary-code Hamming kernel (Mellor et al. 2021)',
  // Merge tolerance: CPU vs lavapipe up to 9e-8; stacked groups within 1e-5 (docs/reliability.md).
  mergeRtol: 1e-5,
  pass: cePass,
  groupable: true,
  compute: (r, ctx) => naswotScore(ctx.backend, r.relus, r.n),
  computeMany: (rs, ctxs) =>
    naswotScoresMany(
      ctxs[0].backend,
      rs.map((r) => r.relus),
      rs[0].n,
    ),
});
