/**
 * One part of the CELL SET's effect on Kendall tau (docs/results.md, "AZ-NAS against its published
 * 0.741"): AZ-NAS's notebook correlates all 15625 encodings of NAS-Bench-201, among them the 341
 * whose output is disconnected from the input (all at 10% accuracy, constant output: no finite
 * expressivity in AZ-NAS's code); we correlate distinct connected cells. Prints how the 15625's
 * encodings split, and the tau of a joined score CSV's cells with the disconnected cells added in
 * proportion (341 x cells / 9444 live distinct cells), tied below every other cell in every score.
 * (The isomorphic encodings cannot be added this way: in NAS-Bench-201 each was trained and would
 * be scored separately, so exact copies would be wrong; the shared table has one accuracy per cell.)
 * Usage: npx tsx scripts/ranking-cellset.ts JOINED.csv
 */
import { AGGREGATORS } from '../src/proxies/registry.js';
import { allCells, canonicalKey, isConnected, parseArch } from '../src/spaces/nb201.js';
import { readTextFile } from '../src/util/gz-file.js';
import { kendallTau } from '../src/util/ranks.js';

const [file] = process.argv.slice(2);
if (!file) throw new Error('usage: ranking-cellset.ts JOINED.csv');
const [head, ...lines] = readTextFile(file).trim().split('\n');
const cols = head.split(',');
const rows = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
const mult = new Map<string, number>();
let disconnected = 0;
for (const c of allCells()) {
  if (!isConnected(c)) disconnected++;
  else mult.set(canonicalKey(c), (mult.get(canonicalKey(c)) ?? 0) + 1);
}
const proxies = cols.filter((c) => !['arch', 'val_acc', 'time_ms'].includes(c));
type Row = Record<string, number>;
const asRow = (r: Record<string, string>): Row =>
  Object.fromEntries([...proxies, 'val_acc'].map((c) => [c, r[c] === '' ? NaN : Number(r[c])]));
const distinct: Row[] = rows.map(asRow);
const expanded: Row[] = rows.map(asRow);
const deadCount = Math.round((disconnected * rows.length) / mult.size);
for (let i = 0; i < deadCount; i++) expanded.push(Object.fromEntries([...proxies.map((p) => [p, -Infinity]), ['val_acc', 10]]));
const aggregate = (pop: Row[]) => {
  for (const a of AGGREGATORS.values()) {
    if (!a.members.every((m) => proxies.includes(m))) continue;
    const v = a.aggregate(pop);
    pop.forEach((r, i) => (r[a.name] = v[i]));
  }
};
aggregate(distinct);
aggregate(expanded);
const tau = (pop: Row[], p: string) => {
  const ok = pop.filter((r) => !Number.isNaN(r[p]) && Number.isFinite(r.val_acc));
  // Disconnected cells tie below everything: -Infinity ranks lowest, as in the aggregates.
  return kendallTau(
    ok.map((r) => (Number.isFinite(r[p]) ? r[p] : -1e300)),
    ok.map((r) => r.val_acc),
  ).tau;
};
const names = ['az_nas', 'vkdnw_agg', 'ensemble', 'wrcor', 'params'].filter((p) => p in distinct[0]);
const counts = [...mult.values()];
const encodedOnce = counts.filter((m) => m === 1).length;
process.stdout.write(
  `15625 encodings: ${disconnected} disconnected, ${15625 - disconnected} encode ${mult.size} distinct connected cells ` +
    `(${encodedOnce} once, the others 2-${Math.max(...counts)} times)\n`,
);
const here = rows.map((r) => mult.get(canonicalKey(parseArch(r.arch.replace(/"/g, '')))) ?? 0);
process.stdout.write(
  `${file}: ${rows.length} cells (encoded ${here.reduce((a, b) => a + b, 0)} times among the 15625), + ${deadCount} disconnected\n`,
);
process.stdout.write('proxy       tau_distinct  tau_plus_disconnected  change\n');
for (const p of names) {
  const a = tau(distinct, p);
  const b = tau(expanded, p);
  process.stdout.write(
    `${p.padEnd(12)}${a.toFixed(4).padStart(12)}  ${b.toFixed(4).padStart(21)}  ${(b - a >= 0 ? '+' : '') + (b - a).toFixed(4)}\n`,
  );
}
