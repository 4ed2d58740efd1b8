/**
 * Which semantics did NASLib's PyTorch reference (../shared/data/nb201/zc_nasbench201.json) use
 * for NB201 conv edges out of a node that only 'none' edges feed: absent (Nb201Net unfedEdges
 * 'skip', the proxies' default) or run on zeros ('zeros', NAS-Bench-201's PyTorch code)? At PyTorch
 * init (BN beta 0) both give the same forward and the same weight gradients, so of the reference's
 * proxies only NASWOT can tell them apart (the ReLUs of those edges see zeros). The reference's
 * NASWOT comes from other images than ours, with a bias that follows its level; so this fits
 * (ours − ref)/ref against ref on the cells without such edges (the control) and reports the
 * affected cells' mean residual from that trend under each semantics: the reference's semantics
 * leaves ~0. (nb201_zc_proxies.csv cannot answer: its 9445 cells are canonical forms that hold
 * 'none' on every such edge.) Prints one line per group and the residuals; takes ~2 minutes.
 *
 * Usage: npx tsx scripts/unfed-edges-reference.ts [BATCH (32: the reference's NASWOT scale)] [CONTROL_CELLS (120)]
 */
import { openBackend } from '../src/backend/index.js';
import { loadNaslibZc } from '../src/data/nb201-bench.js';
import { NB201_DEFAULT } from '../src/nn/nb201-net.js';
import type { Nb201Cell } from '../src/spaces/nb201.js';
import { proxyBatch, scoreCell } from '../src/zeroshot/index.js';

const EDGE_FROM = [0, 0, 1, 0, 1, 2];
const EDGE_TO = [1, 2, 2, 3, 3, 3];

/** Conv edges whose source node receives only 'none' (directly or through such nodes). */
function unfedConvEdges(cell: Nb201Cell): number {
  const fed = [true, false, false, false];
  for (let j = 1; j <= 3; j++)
    for (let e = 0; e < 6; e++) if (EDGE_TO[e] === j && cell.edges[e] !== 'none' && fed[EDGE_FROM[e]]) fed[j] = true;
  return cell.edges.filter((op, e) => op.startsWith('nor_conv') && !fed[EDGE_FROM[e]]).length;
}

const batchSize = Number(process.argv[2] ?? 32);
const controlCells = Number(process.argv[3] ?? 120);
const rows = loadNaslibZc('cifar10');
const affected = rows.filter((r) => unfedConvEdges(r.cell) > 0);
const others = rows.filter((r) => unfedConvEdges(r.cell) === 0);
const control = Array.from({ length: controlCells }, (_, i) => others[Math.floor((i * others.length) / controlCells)]);
const backend = await openBackend('cpu', { threads: 2 });
const batch = proxyBatch(batchSize, 0);
const naswot = async (cell: Nb201Cell, unfedEdges: 'skip' | 'zeros') =>
  (await scoreCell(backend, cell, ['naswot'], batch, { seed: 1, net: { ...NB201_DEFAULT, unfedEdges } })).scores.naswot;

// Control trend: relative bias = a * ref + b, least squares.
const cx: number[] = [];
const cy: number[] = [];
for (const r of control) {
  cx.push(r.scores.nwot);
  cy.push((await naswot(r.cell, 'skip')) / r.scores.nwot - 1);
}
const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
const sd = (v: number[]) => Math.sqrt(mean(v.map((x) => (x - mean(v)) ** 2)));
const [mx, my] = [mean(cx), mean(cy)];
const a = cx.reduce((s, x, i) => s + (x - mx) * (cy[i] - my), 0) / cx.reduce((s, x) => s + (x - mx) ** 2, 0);
const b = my - a * mx;
console.log(
  `${control.length} control cells: (ours - ref)/ref = ${a.toExponential(2)} * ref ${b >= 0 ? '+' : '-'} ${Math.abs(b).toFixed(3)}`,
);
for (const mode of ['skip', 'zeros'] as const) {
  const res: number[] = [];
  for (const r of affected) res.push((await naswot(r.cell, mode)) / r.scores.nwot - 1 - (a * r.scores.nwot + b));
  const se = sd(res) / Math.sqrt(res.length);
  console.log(
    `${affected.length} cells with a conv edge out of a none-fed node, '${mode}': residual ${(100 * mean(res)).toFixed(2)} % ` +
      `(sd ${(100 * sd(res)).toFixed(2)} %, ${(mean(res) / se).toFixed(1)} standard errors from 0)`,
  );
}
backend.dispose();
