// A/B in one process (the idea of the review's ab.mts): grouped WRCor scoring with the src of tree A
// (before) and tree B (after), steady-state groups alternated A,B / B,A so load drift hits both alike.
// Per cell: recording wall and process-CPU ms (group start to its first read/sync, submits deferred
// as in bench/gpu-host-cost.ts), the same for the whole group ("total": every read and settled
// scope), device.createBuffer and pushErrorScope calls, staged writes. The wrcor scores of A and B
// are compared bit for bit where a driver computes them (lavapipe: run without WGNAS_BACKEND); Dawn's
// null backend computes nothing and reads back whatever its memory held, so there they vary run to run.
//   [WGNAS_BACKEND=null] npx tsx ab.mts <treeA> <treeB> <stacked|separate> <group> <channels> <batch> <rounds>
import { loadavg } from 'node:os';

const [rootA, rootB, mode] = process.argv.slice(2, 5);
const [G, C, B, rounds] = process.argv.slice(5, 9).map(Number);

interface Run {
  wall: number;
  cpu: number;
  totalWall: number;
  totalCpu: number;
  creates: number;
  scopes: number;
  staged: number;
  scores: number[];
}

async function side(root: string): Promise<() => Promise<Run>> {
  const { gpuOf, openBackend } = await import(`${root}/src/backend/index.js`);
  const { sampleCell } = await import(`${root}/src/spaces/nb201.js`);
  const { Rng } = await import(`${root}/src/util/rng.js`);
  const { ZeroShotScorer } = await import(`${root}/src/zeroshot/index.js`);
  const backend = await openBackend('gpu');
  const gpu = gpuOf(backend)!;
  gpu.maxDispatchesPerSubmit = 1e9;
  const rng = new Rng(1);
  const cells = Array.from({ length: G }, () => sampleCell(rng));
  const net = { channels: C, cellsPerStage: 5, numClasses: 10 };
  const scorer = new ZeroShotScorer(backend, ['wrcor'], { batchSize: B, seed: 0, net, group: G, groupMode: mode });
  const dev = gpu.device;
  let creates = 0;
  let scopes = 0;
  let staged = 0;
  const cb = dev.createBuffer.bind(dev);
  dev.createBuffer = (d: GPUBufferDescriptor) => (creates++, cb(d));
  const ps = dev.pushErrorScope.bind(dev);
  dev.pushErrorScope = (f: GPUErrorFilter) => (scopes++, ps(f));
  const g = gpu as unknown as Record<string, (...a: unknown[]) => unknown> & { pendingBuffers: Set<GPUBuffer> };
  const w = g.write.bind(gpu);
  g.write = (t, ...rest) => {
    if (g.pendingBuffers.has((t as { buffer: GPUBuffer }).buffer)) staged++;
    return w(t, ...rest);
  };
  let first: { wall: number; cpu: number } | null = null;
  let t0 = 0;
  let c0 = process.cpuUsage();
  for (const name of ['read', 'sync']) {
    const f = g[name].bind(gpu);
    g[name] = (...a) => {
      if (!first) {
        const c = process.cpuUsage(c0);
        first = { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
      }
      return f(...a);
    };
  }
  await scorer.scoreMany(cells); // compiles, fills the pool
  await scorer.scoreMany(cells);
  return async () => {
    creates = scopes = staged = 0;
    first = null;
    c0 = process.cpuUsage();
    t0 = performance.now();
    const r: Array<{ scores: { wrcor: number } }> = await scorer.scoreMany(cells);
    const c = process.cpuUsage(c0);
    const totalWall = performance.now() - t0;
    const f = first as unknown as { wall: number; cpu: number };
    return {
      wall: f.wall / G,
      cpu: f.cpu / G,
      totalWall: totalWall / G,
      totalCpu: (c.user + c.system) / 1000 / G,
      creates: creates / G,
      scopes: scopes / G,
      staged: staged / G,
      scores: r.map((x) => x.scores.wrcor),
    };
  };
}

const A = await side(rootA);
const Bside = await side(rootB);
const ra: Run[] = [];
const rb: Run[] = [];
const l0 = loadavg()[0];
for (let i = 0; i < rounds; i++) {
  if (i % 2) {
    rb.push(await Bside());
    ra.push(await A());
  } else {
    ra.push(await A());
    rb.push(await Bside());
  }
}
const l1 = loadavg()[0];
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r3 = (x: number) => +x.toFixed(3);
const same = ra.every((a, i) => a.scores.length === rb[i].scores.length && a.scores.every((s, j) => Object.is(s, rb[i].scores[j])));
const sum = (r: Run[]) => ({
  recordWallMsPerCell: r3(med(r.map((x) => x.wall))),
  recordCpuMsPerCell: r3(med(r.map((x) => x.cpu))),
  totalWallMsPerCell: r3(med(r.map((x) => x.totalWall))),
  totalCpuMsPerCell: r3(med(r.map((x) => x.totalCpu))),
  createBufferPerCell: med(r.map((x) => x.creates)),
  errorScopesPerCell: med(r.map((x) => x.scopes)),
  stagedWritesPerCell: med(r.map((x) => x.staged)),
});
const ratio = (k: keyof Run) => r3(med(rb.map((x) => x[k] as number)) / med(ra.map((x) => x[k] as number)));
const nullBackend = process.env.WGNAS_BACKEND === 'null';
const out = {
  adapter: process.env.WGNAS_BACKEND ?? 'default',
  mode,
  group: G,
  channels: C,
  batch: B,
  rounds,
  load1: [r3(l0), r3(l1)],
  before: sum(ra),
  after: sum(rb),
  ratio: { recordCpu: ratio('cpu'), recordWall: ratio('wall'), totalCpu: ratio('totalCpu'), totalWall: ratio('totalWall') },
  scoresBitIdentical: nullBackend ? 'n/a (null backend)' : same,
  wrcorAfter: rb[0].scores.map(String),
  raw: {
    recordCpu: { before: ra.map((x) => r3(x.cpu)), after: rb.map((x) => r3(x.cpu)) },
    recordWall: { before: ra.map((x) => r3(x.wall)), after: rb.map((x) => r3(x.wall)) },
    totalCpu: { before: ra.map((x) => r3(x.totalCpu)), after: rb.map((x) => r3(x.totalCpu)) },
    totalWall: { before: ra.map((x) => r3(x.totalWall)), after: rb.map((x) => r3(x.totalWall)) },
  },
};
console.log(JSON.stringify(out));
if (!same && !nullBackend) {
  console.log(JSON.stringify({ before: ra.map((x) => x.scores.map(String)), after: rb.map((x) => x.scores.map(String)) }));
  process.exit(1);
}
process.exit(0);
