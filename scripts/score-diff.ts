/**
 * How far apart two score files (`wgnas score --out`) are, proxy by proxy: the largest difference
 * relative to the larger score over the cells both hold, against the proxy's merge tolerance
 * (its registry definition's mergeRtol: what correlate --scores accepts as the same score). The
 * measurement behind docs/reliability.md's table: the same cells on two devices or thread counts.
 * Population-level columns (vote, ...) rank each file's cells and are left out.
 * Usage: npx tsx scripts/score-diff.ts A.csv B.csv [MORE_A.csv MORE_B.csv ...]  (pairs; maxima over all)
 */
import { AGGREGATORS, PROXIES } from '../src/proxies/registry.js';
import { cellNumber, type Row, readStreamedRows, rowFormatOf } from '../src/data/row-stream.js';

const files = process.argv.slice(2);
if (files.length < 2 || files.length % 2) throw new Error('usage: score-diff.ts A.csv B.csv [A2.csv B2.csv ...]');
const read = (f: string): Map<string, Row> => new Map(readStreamedRows(f, rowFormatOf(f)).rows.map((r) => [String(r.arch), r]));

const most = new Map<string, { rel: number; cells: number }>();
for (let i = 0; i < files.length; i += 2) {
  const [a, b] = [read(files[i]), read(files[i + 1])];
  for (const [arch, ra] of a) {
    const rb = b.get(arch);
    if (!rb) continue;
    for (const p of Object.keys(ra).filter((k) => PROXIES.has(k) && !AGGREGATORS.has(k) && k in rb)) {
      const [x, y] = [cellNumber(ra[p]), cellNumber(rb[p])];
      if (x === undefined || y === undefined) continue;
      const rel =
        x === y ? 0 : Number.isFinite(x) && Number.isFinite(y) ? Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y)) : Infinity;
      const m = most.get(p) ?? { rel: 0, cells: 0 };
      most.set(p, { rel: Math.max(m.rel, rel), cells: m.cells + 1 });
    }
  }
}
const fmt = (x: number) => (x === 0 ? '0' : x.toExponential(1));
process.stdout.write('proxy                 cells  most apart  merge tolerance\n');
for (const [p, m] of [...most].sort((x, y) => [...PROXIES.keys()].indexOf(x[0]) - [...PROXIES.keys()].indexOf(y[0])))
  process.stdout.write(
    `${p.padEnd(22)}${String(m.cells).padStart(5)}  ${fmt(m.rel).padStart(10)}  ${PROXIES.get(p)!.mergeRtol.toExponential(0)}${m.rel > PROXIES.get(p)!.mergeRtol ? '  (beyond)' : ''}\n`,
  );
