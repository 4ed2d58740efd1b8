/**
 * Writes the two disjoint cell lists of the ranking study (docs/results.md, "Ensemble selection"):
 * select.txt, 200 cells the ensemble is chosen on, and eval.txt, >= 1000 other cells it is then
 * evaluated on: every cell of NASLib's zc_nasbench201.json (CIFAR-100 / ImageNet16-120 accuracies)
 * plus random ones. Cells are distinct NAS-Bench-201 cells of the 9445-cell accuracy table
 * (canonical 'live' keys), shuffled with a fixed seed.
 * Usage: npx tsx scripts/ranking-cells.ts OUT_DIR [EVAL_COUNT=1000] [SEED=2026]
 */
import { join } from 'node:path';
import { loadNaslibZc, loadNb201Table } from '../src/data/nb201-bench.js';
import { canonicalKey } from '../src/spaces/nb201.js';
import { Rng } from '../src/util/rng.js';
import { writeFileAtomic } from '../src/util/durable.js';

const [dir, evalArg = '1000', seedArg = '2026'] = process.argv.slice(2);
if (!dir) throw new Error('usage: ranking-cells.ts OUT_DIR [EVAL_COUNT] [SEED]');
const table = loadNb201Table();
const byKey = new Map(table.map((r) => [r.arch, r.arch]));
const naslib = [...new Set(loadNaslibZc('cifar10').map((r) => canonicalKey(r.cell)))].filter((k) => byKey.has(k));
const rng = new Rng(Number(seedArg));
const rest = table.map((r) => r.arch).filter((a) => !naslib.includes(a));
for (let i = rest.length - 1; i > 0; i--) {
  const j = rng.int(i + 1);
  [rest[i], rest[j]] = [rest[j], rest[i]];
}
const select = rest.slice(0, 200);
const evalCells = [...naslib, ...rest.slice(200, 200 + Math.max(0, Number(evalArg) - naslib.length))];
writeFileAtomic(join(dir, 'select.txt'), select.join('\n') + '\n');
writeFileAtomic(join(dir, 'eval.txt'), evalCells.join('\n') + '\n');
process.stdout.write(`select ${select.length}, eval ${evalCells.length} (${naslib.length} NASLib cells)\n`);
