/**
 * CPU latency of the architectures an AutoSpace evidence run found (each row's `best`), priced like
 * the bench does (src/autospace/cell-latency.ts: every node timed through the native addon,
 * oneDNN, 1 thread, caches flushed), for runs recorded before the bench priced its rows.
 *
 *   npx tsx bench/autospace-latency.ts bench/results/autospace-evidence/<run>/result.json[.gz] ...
 */
import { basename, dirname } from 'node:path';
import { parseCell } from '../src/mobilenet/cell-text.js';
import { measuredCost } from '../src/mobilenet/cost/measured.js';
import { archCost } from '../src/mobilenet/cost/model.js';
import { getLayout, layerShapes } from '../src/mobilenet/layout.js';
import { readTextFile } from '../src/util/gz-file.js';

interface Row {
  space: string;
  meanTestAcc?: number;
  bestMadds?: number;
  best?: { layout: string; cells: string[] };
}

const files = process.argv.slice(2);
// A run's folder names it (bench/results/<experiment>/<date>-<version>/result.json[.gz]).
const runName = (f: string) => (/^result\.json(\.gz)?$/.test(basename(f)) ? basename(dirname(f)) : basename(f));
if (!files.length) throw new Error('usage: npx tsx bench/autospace-latency.ts EVIDENCE.json...');
// One op cache: an op several architectures share is timed once, so the rows compare under one machine state.
const cache = new Map<string, number>();
console.log('| file | space | MAdds | short-train acc | CPU latency (ms) | nodes |');
console.log('|---|---|---:|---:|---:|---:|');
for (const f of files) {
  const rows = (JSON.parse(readTextFile(f)) as { rows: Row[] }).rows;
  for (const r of rows) {
    if (!r.best) continue;
    const layout = getLayout(r.best.layout);
    const cells = r.best.cells.map((c) => [parseCell(c)]);
    const lat = await measuredCost({ layout, shapes: layerShapes(layout), cells }, { cache });
    const ms = archCost(
      lat,
      cells.map(() => 0),
    );
    const nodes = cells.reduce((s, [c]) => s + c.nodes.length, 0);
    const acc = r.meanTestAcc === undefined ? '-' : `${(100 * r.meanTestAcc).toFixed(1)} %`;
    console.log(
      `| ${runName(f)} | ${r.space} | ${((r.bestMadds ?? 0) / 1e6).toFixed(2)} M | ${acc} | ${ms.toFixed(3)} | ${nodes} |`,
    );
  }
}
