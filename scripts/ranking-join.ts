/**
 * Joins `wgnas score --out` CSVs of the same cells by arch (correlate concatenates files; this
 * puts the columns of several runs on one row), keeping the cells present in every file; time_ms
 * is summed, val_acc taken from the first file. Aggregates are recomputed by correlate.
 * Usage: npx tsx scripts/ranking-join.ts OUT.csv A.csv B.csv ...
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

const [out, ...files] = process.argv.slice(2);
if (!out || files.length < 2) throw new Error('usage: ranking-join.ts OUT.csv A.csv B.csv ...');
const tables = files.map((f) => {
  const [head, ...lines] = readFileSync(f, 'utf8').trim().split('\n');
  const cols = head.split(',');
  return new Map(lines.map((l) => {
    const v = l.split(',');
    return [v[0], Object.fromEntries(cols.map((c, i) => [c, v[i]]))] as const;
  }));
});
const proxyCols: string[] = [];
for (const t of tables) {
  const first = t.values().next().value as Record<string, string>;
  for (const c of Object.keys(first)) if (!['arch', 'val_acc', 'time_ms'].includes(c) && !proxyCols.includes(c)) proxyCols.push(c);
}
const archs = [...tables[0].keys()].filter((a) => tables.every((t) => t.has(a)));
const lines = [['arch', ...proxyCols, 'val_acc', 'time_ms'].join(',')];
for (const a of archs) {
  const rows = tables.map((t) => t.get(a)!);
  const val = (c: string) => rows.find((r) => r[c] !== undefined)?.[c] ?? '';
  lines.push([a, ...proxyCols.map(val), rows[0].val_acc, rows.reduce((s, r) => s + Number(r.time_ms), 0)].join(','));
}
writeFileSync(out + '.tmp', lines.join('\n') + '\n');
renameSync(out + '.tmp', out);
process.stdout.write(`${archs.length} cells joined into ${out}\n`);
