import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadNb201Accuracies, loadNb201ReferenceProxies } from '../../data/nb201-bench.js';
import { acquireGpu } from '../../gpu/index.js';
import { canonicalKey, parseArch } from '../../spaces/nb201.js';
import { VOTE_MEMBERS } from '../../proxies/registry.js';
import { voteScores } from '../../proxies/vote.js';
import { kendallTau, spearmanRho } from '../../util/ranks.js';
import { addVote, scoreAll, wantsVote, ZeroShotScorer, ZERO_SHOT_DEFAULTS } from '../../zeroshot/index.js';
import { fmt, intOpt, listOpt, readTable, textTable, UsageError, writeTable } from '../args.js';
import { selectCells } from './score.js';

export const summary = 'Kendall tau / Spearman rho of proxies vs NAS-Bench-201 ground truth';

const HELP = `usage: wgnas correlate [--scores FILE | --reference | --sample K] [options]

Rank correlation (Kendall tau-b, Spearman rho) of proxy scores with NAS-Bench-201 CIFAR-10
validation accuracy (../shared/data/nb201).
  --scores FILE     a .csv/.json written by 'wgnas score --out' (columns arch, <proxy>..., time_ms);
                    repeatable, the files are concatenated; adds 'vote' when its members are present
  --reference       the PyTorch reference scores shipped in nb201_zc_proxies.csv (9445 cells)
  --sample K        score K random cells with known accuracy now, then correlate (default 50)
  --proxies LIST    proxies to score with --sample (default wrcor,naswot,synflow,jacob_cov,vote)
  --batch N, --seed N, --cells-per-stage N   as in 'wgnas score'
  --out FILE        also write the per-cell scores (.csv/.json)
`;

// Our proxy names -> the reference table's column names.
const REFERENCE_NAME: Record<string, string> = {
  naswot: 'nwot',
  synflow: 'synflow',
  grad_norm: 'grad_norm',
  snip: 'snip',
  jacob_cov: 'jacov',
  zen: 'zen',
  params: 'params',
  flops: 'flops',
};

export interface CorrelationRow {
  proxy: string;
  n: number;
  kendallTau: number;
  spearmanRho: number;
  msPerArch?: number;
}

export function correlateColumns(
  rows: Array<Record<string, number | undefined>>,
  proxies: string[],
  truthKey: string,
): CorrelationRow[] {
  return proxies.map((p) => {
    const pairs = rows.filter((r) => Number.isFinite(r[p]) && Number.isFinite(r[truthKey]));
    const a = pairs.map((r) => r[p] as number);
    const b = pairs.map((r) => r[truthKey] as number);
    return { proxy: p, n: pairs.length, kendallTau: kendallTau(a, b).tau, spearmanRho: spearmanRho(a, b).rho };
  });
}

export async function run(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      scores: { type: 'string', multiple: true },
      reference: { type: 'boolean' },
      sample: { type: 'string' },
      proxies: { type: 'string' },
      batch: { type: 'string' },
      seed: { type: 'string' },
      'cells-per-stage': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return;
  }
  const accs = loadNb201Accuracies();
  const accOf = (arch: string) => accs.get(canonicalKey(parseArch(arch)));

  if (v.reference) {
    const ref = loadNb201ReferenceProxies();
    const names = Object.keys(ref[0]?.scores ?? {});
    const rows = ref.map((r) => ({ ...r.scores, val_acc: r.valAcc ?? accOf(r.arch) }));
    const table = correlateColumns(rows, names, 'val_acc');
    process.stdout.write(`PyTorch reference scores (nb201_zc_proxies.csv) vs CIFAR-10 val accuracy\n`);
    process.stdout.write(textTable(['proxy', 'n', 'kendall_tau', 'spearman_rho'], table.map((r) => [r.proxy, r.n, r.kendallTau, r.spearmanRho])));
    return;
  }

  let rows: Array<Record<string, number | undefined> & { arch?: unknown }>;
  let proxies: string[];
  const timeMs: number[] = [];
  const archs: string[] = [];
  if (v.scores?.length) {
    const table = v.scores.flatMap((f) => readTable(f, readFileSync(f, 'utf8')));
    if (!table.length || !('arch' in table[0])) throw new UsageError(`${v.scores.join(', ')}: needs an 'arch' column`);
    proxies = Object.keys(table[0]).filter((k) => !['arch', 'val_acc', 'time_ms'].includes(k));
    rows = table.map((r) => {
      const o: Record<string, number | undefined> = {};
      for (const p of proxies) o[p] = r[p] === '' || r[p] === undefined ? undefined : Number(r[p]);
      o.val_acc = accOf(r.arch);
      if (r.time_ms) timeMs.push(Number(r.time_ms));
      archs.push(r.arch);
      return o;
    });
    if (!proxies.includes('vote') && VOTE_MEMBERS.every((m) => proxies.includes(m))) {
      const vote = voteScores(rows as Array<Record<string, number>>);
      rows.forEach((r, i) => (r.vote = vote[i]));
      proxies.push('vote');
    }
  } else {
    const names = listOpt(v.proxies, ['wrcor', 'naswot', 'synflow', 'jacob_cov', 'vote']);
    const cells = selectCells({ sample: v.sample ?? '50', 'ground-truth': true, seed: v.seed }, accs);
    const gpu = await acquireGpu();
    const scorer = new ZeroShotScorer(gpu, names, {
      ...ZERO_SHOT_DEFAULTS,
      batchSize: intOpt('batch', v.batch, 64, 2),
      seed: intOpt('seed', v.seed, 0, 0),
      net: { ...ZERO_SHOT_DEFAULTS.net, cellsPerStage: intOpt('cells-per-stage', v['cells-per-stage'], 5) },
    });
    const scored = await scoreAll(scorer, cells, 'correlate');
    timeMs.push(...scored.map((s) => s.timeMs));
    gpu.destroy();
    if (wantsVote(names)) addVote(scored);
    proxies = Object.keys(scored[0].scores);
    rows = scored.map((s) => ({ ...s.scores, val_acc: accOf(s.arch) }));
    archs.push(...scored.map((s) => s.arch));
    if (v.out) writeTable(v.out, scored.map((s, i) => ({ arch: s.arch, ...s.scores, val_acc: rows[i].val_acc, time_ms: Math.round(s.timeMs) })));
  }
  const table = correlateColumns(rows, proxies, 'val_acc');
  // The PyTorch reference scores of the same cells, for the proxies both have: a like-for-like check.
  const refByArch = new Map(loadNb201ReferenceProxies().map((r) => [r.arch, r]));
  const refTau = (proxy: string): string => {
    const col = REFERENCE_NAME[proxy];
    if (!col) return '';
    const pairs = archs.map((a, i) => [refByArch.get(canonicalKey(parseArch(a)))?.scores[col], rows[i].val_acc] as const);
    const ok = pairs.filter(([s, acc]) => Number.isFinite(s) && Number.isFinite(acc));
    return ok.length > 2 ? kendallTau(ok.map((p) => p[0]!), ok.map((p) => p[1]!)).tau.toFixed(4) : '';
  };
  const msPerArch = timeMs.length ? timeMs.reduce((a, b) => a + b, 0) / timeMs.length : NaN;
  process.stdout.write(`proxy vs NAS-Bench-201 CIFAR-10 validation accuracy (${rows.length} cells, ${fmt(msPerArch)} ms/arch for all proxies)\n`);
  process.stdout.write(
    textTable(
      ['proxy', 'n', 'kendall_tau', 'spearman_rho', 'pytorch_ref_tau_same_cells'],
      table.map((r) => [r.proxy, r.n, r.kendallTau, r.spearmanRho, refTau(r.proxy)]),
    ),
  );
}
