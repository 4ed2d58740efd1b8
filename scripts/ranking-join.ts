/**
 * Joins `wgnas score --out` CSVs of the same cells by arch (correlate concatenates files; this
 * puts the columns of several runs on one row), keeping the cells present in every file; time_ms
 * is summed, val_acc taken from the first file. Aggregates of the registry are recomputed by
 * correlate; `--add NAME=a+b+c` adds a column NAME, the log-rank sum of those columns over the
 * joined cells (an ensemble under study, e.g. one round's choice, that correlate then reports).
 * Any file may be gzipped (NAME.csv.gz: read gunzipped, OUT written gzipped).
 * Usage: npx tsx scripts/ranking-join.ts [--add NAME=a+b ...] OUT.csv A.csv [B.csv ...]
 */
import { logRankSum } from '../src/proxies/az-nas-math.js';
import { gzipBytes, isGz, readTextFile } from '../src/util/gz-file.js';
import { writeFileAtomic } from '../src/util/durable.js';

const argv = process.argv.slice(2);
const adds: Array<[string, string[]]> = [];
while (argv[0] === '--add') {
  const [name, members] = (argv[1] ?? '').split('=');
  adds.push([name, (members ?? '').split('+')]);
  argv.splice(0, 2);
}
const [out, ...files] = argv;
if (!out || files.length < 1) throw new Error('usage: ranking-join.ts [--add NAME=a+b ...] OUT.csv A.csv [B.csv ...]');
const tables = files.map((f) => {
  const [head, ...lines] = readTextFile(f).trim().split('\n');
  const cols = head.split(',');
  return new Map(
    lines.map((l) => {
      const v = l.split(',');
      return [v[0], Object.fromEntries(cols.map((c, i) => [c, v[i]]))] as const;
    }),
  );
});
const proxyCols: string[] = [];
for (const t of tables) {
  const first = t.values().next().value as Record<string, string>;
  for (const c of Object.keys(first))
    if (!['arch', 'val_acc', 'time_ms'].includes(c) && !proxyCols.includes(c)) proxyCols.push(c);
}
const archs = [...tables[0].keys()].filter((a) => tables.every((t) => t.has(a)));
const val = (a: string, c: string) => tables.map((t) => t.get(a)!).find((r) => r[c] !== undefined)?.[c] ?? '';
const added = adds.map(([name, members]) => {
  for (const m of members) if (!proxyCols.includes(m)) throw new Error(`--add ${name}: no column '${m}'`);
  return logRankSum(members.map((m) => archs.map((a) => Number(val(a, m)))));
});
const lines = [['arch', ...proxyCols, ...adds.map(([n]) => n), 'val_acc', 'time_ms'].join(',')];
archs.forEach((a, i) => {
  const rows = tables.map((t) => t.get(a)!);
  lines.push(
    [
      a,
      ...proxyCols.map((c) => val(a, c)),
      ...added.map((col) => col[i]),
      rows[0].val_acc,
      rows.reduce((s, r) => s + Number(r.time_ms), 0),
    ].join(','),
  );
});
const text = lines.join('\n') + '\n';
writeFileAtomic(out, isGz(out) ? gzipBytes(text) : text);
process.stdout.write(`${archs.length} cells joined into ${out}\n`);
