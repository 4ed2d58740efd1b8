// Pools the interleaved runs of runs.tsv (bench/gpu-host-cost.ts --workload, one row per timed
// run): per adapter, workload and version, the median and minimum over the runs, counts per step.
//   node bench/results/gpu-host-cost/2026-12-06-steps/pool.mjs > summary.md
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [head, ...lines] = readFileSync(join(import.meta.dirname, 'runs.tsv'), 'utf8').trim().split('\n');
const cols = head.split('\t');
const groups = new Map();
for (const line of lines) {
  const r = Object.fromEntries(line.split('\t').map((v, i) => [cols[i], v]));
  const key = `${r.adapter} ${r.workload} b${r.batch}`;
  const g = groups.get(key) ?? { before: [], after: [] };
  groups.set(key, g);
  const per = Number(r.steps_per_run);
  g[r.version].push({
    wall: Number(r.wall_ms_per_step),
    cpu: Number(r.cpu_ms_per_step),
    ...Object.fromEntries(['dispatches', 'copies', 'uploads', 'writeBuffer', 'reads'].map((k) => [k, Number(r[k]) / per])),
  });
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const f1 = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
console.log('| adapter, workload | version | runs | dispatches/step | copies | reads | uploads | wall ms/step median (min) | cpu ms/step median (min) |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const [key, g] of [...groups].sort()) {
  for (const v of ['before', 'after']) {
    const rs = g[v];
    const col = (k) => rs.map((r) => r[k]);
    console.log(
      `| ${key} | ${v} | ${rs.length} | ${f1(med(col('dispatches')))} | ${f1(med(col('copies')))} | ${f1(med(col('reads')))} | ${f1(med(col('uploads')))} | ` +
        `${f1(med(col('wall')))} (${f1(Math.min(...col('wall')))}) | ${f1(med(col('cpu')))} (${f1(Math.min(...col('cpu')))}) |`,
    );
  }
  const r = (k) => (med(g.before.map((x) => x[k])) / med(g.after.map((x) => x[k]))).toFixed(2);
  console.log(`| ${key} | before/after | | ${r('dispatches')}x | | | | ${r('wall')}x | ${r('cpu')}x |`);
}
