/**
 * The ensemble selection of issue 21 (docs/results.md, "Ensemble selection"): on the selection
 * cells' scores only, the Kendall tau vs CIFAR-10 validation accuracy of the log-rank-sum of every
 * subset of the candidate pool that contains WRCor (the pool is what the ce and az_nas passes give,
 * so any choice costs the same, about 2.5x WRCor). Prints the subsets best first.
 * Usage: npx tsx scripts/ranking-select.ts SELECT_SCORES.csv
 */
import { readFileSync } from 'node:fs';
import { logRankSum } from '../src/proxies/az-nas-math.js';
import { kendallTau } from '../src/util/ranks.js';

const POOL = ['wrcor', 'wrcor_act', 'naswot', 'az_nas_expressivity', 'az_nas_progressivity', 'az_nas_trainability', 'az_nas_complexity'];
const [file] = process.argv.slice(2);
if (!file) throw new Error('usage: ranking-select.ts SELECT_SCORES.csv');
const [head, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
const cols = head.split(',');
const rows = lines.map((l) => l.split(',').map(Number));
const col = (name: string) => rows.map((r) => r[cols.indexOf(name)]);
const acc = col('val_acc');
const out: Array<[number, string]> = [];
const rest = POOL.slice(1);
for (let mask = 0; mask < 1 << rest.length; mask++) {
  const members = ['wrcor', ...rest.filter((_, i) => mask & (1 << i))];
  out.push([kendallTau(logRankSum(members.map(col)), acc).tau, members.join('+')]);
}
out.sort((a, b) => b[0] - a[0]);
process.stdout.write(`${rows.length} selection cells\n`);
for (const [tau, m] of out.slice(0, 12)) process.stdout.write(`${tau.toFixed(4)}  ${m}\n`);
for (const p of POOL) process.stdout.write(`single ${p}: ${kendallTau(col(p), acc).tau.toFixed(4)}\n`);
