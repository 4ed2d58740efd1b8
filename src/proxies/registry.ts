/**
 * The proxy registry: name -> what it measures and which pass computes it. Scores are oriented so
 * that higher predicts better accuracy, as in the NASLib / zero-cost literature.
 */
export type ProxyPass = 'ce' | 'jacobian' | 'zico' | 'meco' | 'zen' | 'synflow' | 'static';

export interface ProxyInfo {
  name: string;
  pass: ProxyPass;
  description: string;
}

const list: ProxyInfo[] = [
  { name: 'wrcor', pass: 'ce', description: 'Weighted Response Correlation: log|det sum_r 2^block (|corr(act_r)| + |corr(grad_r)|)|' },
  { name: 'wrcor_act', pass: 'ce', description: 'WRCor ablation: activation correlations only (weighted)' },
  { name: 'wrcor_grad', pass: 'ce', description: 'WRCor ablation: gradient correlations only (weighted)' },
  { name: 'wrcor_unweighted', pass: 'ce', description: 'WRCor ablation: all ReLUs weighted 1' },
  { name: 'naswot', pass: 'ce', description: 'NASWOT: log|det| of the binary-code Hamming kernel (Mellor et al. 2021)' },
  { name: 'grad_norm', pass: 'ce', description: 'sum over conv/linear weights of ||dL/dW||_2' },
  { name: 'snip', pass: 'ce', description: 'SNIP saliency: sum |W * dL/dW| over conv/linear weights' },
  { name: 'jacob_cov', pass: 'jacobian', description: 'Jacobian covariance: -sum(log(v+k) + 1/(v+k)) over eigenvalues of corr(dy/dx), k=1e-5' },
  { name: 'zico', pass: 'zico', description: 'ZiCo: sum over layers of log(sum |mean g| / std g) across two half-batches' },
  { name: 'meco', pass: 'meco', description: 'MeCo: sum over ReLU inputs of the minimum eigenvalue of the channel correlation (one sample)' },
  { name: 'zen', pass: 'zen', description: 'Zen-score: log E|f(x) - f(x + 0.01 e)| + sum log sqrt(mean BN var), Gaussian init and input' },
  { name: 'synflow', pass: 'synflow', description: 'SynFlow: ln sum |W * dR/dW| with |W|, BN removed, all-ones input' },
  { name: 'params', pass: 'static', description: 'number of parameters (millions)' },
  { name: 'flops', pass: 'static', description: 'FLOPs of one 32x32 forward (millions), NAS-Bench-201\'s counter' },
];

export const PROXIES: ReadonlyMap<string, ProxyInfo> = new Map(list.map((p) => [p.name, p]));

/** The majority vote of WRCor, SynFlow and jacob_cov (a Borda count over a scored population). */
export const VOTE_MEMBERS = ['wrcor', 'synflow', 'jacob_cov'] as const;

export function resolveProxies(names: readonly string[]): ProxyInfo[] {
  const out: ProxyInfo[] = [];
  for (const raw of names) {
    const name = raw.trim().toLowerCase();
    if (name === 'all') return list.slice();
    if (name === 'vote') {
      for (const m of VOTE_MEMBERS) if (!out.some((p) => p.name === m)) out.push(PROXIES.get(m)!);
      continue;
    }
    const p = PROXIES.get(name);
    if (!p) {
      throw new Error(`unknown proxy '${raw}'; known: ${[...PROXIES.keys(), 'vote', 'all'].join(', ')}`);
    }
    if (!out.includes(p)) out.push(p);
  }
  return out;
}
