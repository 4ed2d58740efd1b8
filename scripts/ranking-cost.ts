/**
 * Cost per cell of the ranking proxies, pass by pass in one process (so every pass sees the same
 * machine load): the ce pass (WRCor), az_nas, vkdnw and jacobian (jacob_cov) on the first K cells
 * of an arch list, NB201 at batch 64 of real CIFAR-10 images, CPU backend. Prints the median ms per
 * pass and the ratios to the ce pass.
 * Usage: npx tsx scripts/ranking-cost.ts ARCH_LIST [K=8]
 */
import { readFileSync } from 'node:fs';
import { openBackend } from '../src/backend/index.js';
import { parseArch } from '../src/spaces/nb201.js';
import { quantile } from '../src/util/quantile.js';
import { proxyBatch, scoreCell } from '../src/zeroshot/index.js';

const [list, kArg = '8'] = process.argv.slice(2);
if (!list) throw new Error('usage: ranking-cost.ts ARCH_LIST [K]');
const cells = readFileSync(list, 'utf8').trim().split('\n').slice(0, Number(kArg)).map(parseArch);
const backend = await openBackend('cpu', {});
const batch = proxyBatch(64, 0);
const times: Record<string, number[]> = {};
try {
  await scoreCell(backend, cells[0], ['wrcor'], batch); // warm-up (first-call allocations)
  for (const c of cells) {
    const { timeMs } = await scoreCell(backend, c, ['wrcor', 'az_nas', 'vkdnw', 'jacob_cov'], batch);
    for (const [pass, ms] of Object.entries(timeMs)) (times[pass] ??= []).push(ms);
  }
} finally {
  backend.dispose();
}
const med = Object.fromEntries(Object.entries(times).map(([p, v]) => [p, quantile(v, 0.5)]));
process.stdout.write(`${cells.length} cells, ${backend.deviceName}\n`);
for (const [p, ms] of Object.entries(med)) process.stdout.write(`${p}: median ${ms.toFixed(0)} ms/cell, ${(ms / med.ce).toFixed(2)}x the ce pass\n`);
process.stdout.write(`ensemble (ce + az_nas): ${((med.ce + med.az_nas) / med.ce).toFixed(2)}x WRCor\n`);
