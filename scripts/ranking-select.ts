/**
 * The ensemble selection of issue 21 (docs/results.md, "Ensemble selection"), on the selection
 * cells' scores only: the Kendall tau-b vs CIFAR-10 validation accuracy of the log-rank sum of
 * every subset of the candidate pool that contains WRCor and fits the cost budget. A subset costs
 * the sum of the passes its members need (the ce pass = 1, WRCor's own; static counts = 0; the
 * others as measured, --cost PASS=X,...). Rows of several score CSVs of the same cells are joined
 * by arch (cells in every file). Prints the admissible subsets best first, then each member alone.
 * Usage: npx tsx scripts/ranking-select.ts [--budget 3] [--cost az_nas=1.4,vkdnw=2,jacobian=0.6] A.csv [B.csv ...]
 */
import { logRankSum } from '../src/proxies/az-nas-math.js';
import { readTextFile } from '../src/util/gz-file.js';
import { kendallTau } from '../src/util/ranks.js';

/** Candidate -> the pass that computes it. */
const POOL: Record<string, string> = {
  wrcor: 'ce',
  wrcor_act: 'ce',
  naswot: 'ce',
  az_nas_expressivity: 'az_nas',
  az_nas_progressivity: 'az_nas',
  az_nas_trainability: 'az_nas',
  az_nas_complexity: 'static',
  params: 'static',
  vkdnw: 'vkdnw',
  vkdnw_entropy: 'vkdnw',
  jacob_cov: 'jacobian',
};

const args = process.argv.slice(2);
let budget = 3;
const cost: Record<string, number> = { ce: 1, static: 0 };
const files: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--budget') budget = Number(args[++i]);
  else if (args[i] === '--cost') {
    for (const kv of (args[++i] ?? '').split(',')) {
      const [k, v] = kv.split('=');
      cost[k] = Number(v);
    }
  } else files.push(args[i]);
}
if (!files.length || !(budget > 0))
  throw new Error('usage: ranking-select.ts [--budget X] [--cost PASS=X,...] A.csv [B.csv ...]');

// Join by arch: column -> value per cell, cells present in every file.
const tables = files.map((f) => {
  const [head, ...lines] = readTextFile(f).trim().split('\n');
  const cols = head.split(',');
  return new Map(lines.map((l) => [l.split(',')[0], Object.fromEntries(l.split(',').map((v, i) => [cols[i], v]))]));
});
const archs = [...tables[0].keys()].filter((a) => tables.every((t) => t.has(a)));
const col = (name: string): number[] =>
  archs.map((a) => {
    const v = tables.map((t) => t.get(a)![name]).find((x) => x !== undefined);
    if (v === undefined) throw new Error(`no column '${name}' in ${files.join(', ')}`);
    return Number(v);
  });
const pool = Object.keys(POOL).filter((m) => tables.some((t) => t.values().next().value?.[m] !== undefined));
for (const p of new Set(pool.map((m) => POOL[m]))) if (cost[p] === undefined) throw new Error(`no --cost for pass '${p}'`);
const acc = col('val_acc');
const cols = Object.fromEntries(pool.map((m) => [m, col(m)]));
const costOf = (members: string[]) => [...new Set(members.map((m) => POOL[m]))].reduce((s, p) => s + cost[p], 0);

const out: Array<{ tau: number; members: string[]; cost: number }> = [];
const rest = pool.filter((m) => m !== 'wrcor');
for (let mask = 0; mask < 1 << rest.length; mask++) {
  const members = ['wrcor', ...rest.filter((_, i) => mask & (1 << i))];
  out.push({ tau: kendallTau(logRankSum(members.map((m) => cols[m])), acc).tau, members, cost: costOf(members) });
}
out.sort((a, b) => b.tau - a.tau);
const ok = out.filter((o) => o.cost <= budget + 1e-9);
process.stdout.write(`${archs.length} selection cells; pool: ${pool.join(', ')}\n`);
process.stdout.write(
  `pass costs (x WRCor): ${Object.entries(cost)
    .map(([p, c]) => `${p} ${c}`)
    .join(', ')}; budget ${budget}\n`,
);
process.stdout.write(`${ok.length} of ${out.length} subsets containing wrcor fit the budget; best first:\n`);
for (const o of ok.slice(0, 12)) process.stdout.write(`${o.tau.toFixed(4)}  ${o.cost.toFixed(2)}x  ${o.members.join('+')}\n`);
process.stdout.write('best subsets over the budget (not admissible, for reference):\n');
for (const o of out.filter((x) => x.cost > budget + 1e-9).slice(0, 5))
  process.stdout.write(`${o.tau.toFixed(4)}  ${o.cost.toFixed(2)}x  ${o.members.join('+')}\n`);
for (const m of pool) process.stdout.write(`single ${m}: ${kendallTau(cols[m], acc).tau.toFixed(4)}\n`);
