/**
 * Cost per cell of the ranking proxies, pass by pass in one process (so every pass sees the same
 * machine load): the ce pass (WRCor), az_nas, vkdnw and jacobian (jacob_cov) on the first K cells
 * of an arch list, NB201 at batch 64 of real CIFAR-10 images, CPU backend. Each pass runs as its own
 * scoreCell call, so besides its wall time (the runner's, device work synced) the process CPU time
 * of the call is taken too: on a shared machine the CPU time is the steadier of the two. Prints per
 * pass the mean and median over the cells of both, and their ratios to the ce pass. The mean is
 * what scoring a set of cells costs (total time / cells); the median is the typical cell.
 * THREADS (default: the backend's) sets the CPU threads: with 1 on a loaded machine the CPU time
 * counts no OpenMP thread waiting at a barrier for one that is descheduled.
 * Usage: npx tsx scripts/ranking-cost.ts ARCH_LIST [K=8] [THREADS]
 */
import { openBackend } from '../src/backend/index.js';
import { parseArch } from '../src/spaces/nb201.js';
import { readTextFile } from '../src/util/gz-file.js';
import { quantile } from '../src/util/quantile.js';
import { proxyBatch, scoreCell } from '../src/zeroshot/index.js';

const PASSES: Record<string, string[]> = {
  ce: ['wrcor'],
  az_nas: ['az_nas_expressivity', 'az_nas_progressivity', 'az_nas_trainability'],
  vkdnw: ['vkdnw'],
  jacobian: ['jacob_cov'],
};
const [list, kArg = '8', threadsArg] = process.argv.slice(2);
if (!list) throw new Error('usage: ranking-cost.ts ARCH_LIST [K]');
const cells = readTextFile(list).trim().split('\n').slice(0, Number(kArg)).map(parseArch);
const backend = await openBackend('cpu', { threads: threadsArg ? Number(threadsArg) : undefined });
const batch = proxyBatch(64, 0);
const wall: Record<string, number[]> = {};
const cpu: Record<string, number[]> = {};
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
try {
  await scoreCell(backend, cells[0], ['wrcor'], batch); // warm-up (first-call allocations)
  for (const c of cells) {
    for (const [pass, names] of Object.entries(PASSES)) {
      const c0 = cpuMs();
      const { timeMs } = await scoreCell(backend, c, names, batch);
      (cpu[pass] ??= []).push(cpuMs() - c0);
      (wall[pass] ??= []).push(timeMs[pass]);
    }
  }
} finally {
  backend.dispose();
}
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const stat = (t: Record<string, number[]>, f: (v: number[]) => number) =>
  Object.fromEntries(Object.entries(t).map(([p, v]) => [p, f(v)]));
const rows: Array<[string, Record<string, number>]> = [
  ['wall mean', stat(wall, mean)],
  ['wall median', stat(wall, (v) => quantile(v, 0.5))],
  ['cpu mean', stat(cpu, mean)],
  ['cpu median', stat(cpu, (v) => quantile(v, 0.5))],
];
process.stdout.write(`${cells.length} cells, ${backend.deviceName}; ms per cell, and x the ce pass (WRCor)\n`);
for (const [label, s] of rows) {
  const parts = Object.keys(PASSES).map((p) => `${p} ${s[p].toFixed(0)} (${(s[p] / s.ce).toFixed(2)}x)`);
  process.stdout.write(`${label.padEnd(11)}  ${parts.join('  ')}\n`);
}
