/**
 * What stacking costs for the order real runs score cells in: for groups of G consecutive cells of
 * `score --all` (cellFromIndex order; also `--all --ground-truth`, its 9445 canonical cells) against
 * random groups, the stacked network's convolution MACs over the separate networks' (k) and its
 * tape's bytes per cell over one cell's alone (stackedTapeBytes: weights and activations held while
 * the WRCor pass runs). Backend-free; full NAS-Bench-201 (C=16, 5 cells per stage), batch 64.
 * Usage: npx tsx scripts/stacked-group-cost.ts [G,...=16,64,256] [RANDOM_GROUPS=50]
 */
import { NB201_DEFAULT } from '../src/nn/nb201-net.js';
import { planCell, stackedMacs, stackedTapeBytes } from '../src/nn/nb201-stacked-plan.js';
import { allCells, isCanonical, type Nb201Cell, sampleCell } from '../src/spaces/nb201.js';
import { Rng } from '../src/util/rng.js';

const [gArg = '16,64,256', randArg = '50'] = process.argv.slice(2);
const net = NB201_DEFAULT;
const N = 64;
const all = allCells();
const orders: Record<string, Nb201Cell[]> = { all: all, 'all --ground-truth': all.filter((c) => isCanonical(c)) };
const aloneBytes = new Map<Nb201Cell, number>();
const alone = (c: Nb201Cell) => {
  let b = aloneBytes.get(c);
  if (b === undefined) aloneBytes.set(c, (b = stackedTapeBytes([planCell(c)], net, N, true)));
  return b;
};

function stats(groups: Nb201Cell[][]): { k: number; kMax: number; mem: number; memMax: number } {
  let k = 0;
  let kMax = 0;
  let mem = 0;
  let memMax = 0;
  for (const g of groups) {
    const kg = stackedMacs(g, net).k;
    const mg =
      stackedTapeBytes(
        g.map((c) => planCell(c)),
        net,
        N,
        true,
      ) / g.reduce((s, c) => s + alone(c), 0);
    k += kg;
    mem += mg;
    kMax = Math.max(kMax, kg);
    memMax = Math.max(memMax, mg);
  }
  return { k: k / groups.length, kMax, mem: mem / groups.length, memMax };
}

const f = (x: number) => x.toFixed(2);
console.log(`| G | order | groups | k mean | k max | tape bytes per cell / alone, mean | max |`);
console.log('|---:|---|---:|---:|---:|---:|---:|');
for (const G of gArg.split(',').map(Number)) {
  const rows: Array<[string, Nb201Cell[][]]> = Object.entries(orders).map(([name, cells]) => [
    name,
    Array.from({ length: Math.floor(cells.length / G) }, (_, i) => cells.slice(i * G, (i + 1) * G)),
  ]);
  const rng = new Rng(1);
  rows.push(['random', Array.from({ length: Number(randArg) }, () => Array.from({ length: G }, () => sampleCell(rng)))]);
  for (const [name, groups] of rows) {
    const s = stats(groups);
    console.log(`| ${G} | ${name} | ${groups.length} | ${f(s.k)} | ${f(s.kMax)} | ${f(s.mem)} | ${f(s.memMax)} |`);
  }
}
