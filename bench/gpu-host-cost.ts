/**
 * Host cost per GPU dispatch: how long the host takes to record grouped WRCor scoring (NAS-Bench-201,
 * full network), with submits deferred so the GPU does not compete for the CPU, plus microbenchmarks of
 * the Dawn calls one dispatch makes. On a fast GPU the host is the bound, and these microseconds are it.
 *
 *   npx tsx bench/gpu-host-cost.ts [--group 4] [--batch 8] [--channels 16] [--mode separate|stacked] [--reps 3] [--micro 20000] [--save] [--tag T]
 *   npx tsx bench/gpu-host-cost.ts --workload proxyless-fixed|proxyless-sampled|proxyless-arch|autospace|train [--batch 64] [--reps 3] [--autospace-steps 1] [--seed 0] [--label-smoothing 0.1]
 *
 * `record` is the time from the start of a group until its first read or sync (all dispatches
 * recorded, none submitted); `total` includes the GPU work and the reads. --save writes result.json and
 * the printed report under bench/results/gpu-host-cost/<date>[-tag]/. With WGNAS_BACKEND=null Dawn runs
 * no driver: what remains is Dawn's front end and our code, the host cost a fast GPU's host pays too
 * (the scores are then meaningless). --mode stacked runs each group as one channel-stacked network
 * (score --group-mode stacked); --micro 0 skips the microbenchmarks. --channels narrows the network
 * (the dispatch count does not depend on it; Dawn's null device caps its memory, so large stacked
 * groups fit only narrow). Copies (copyBufferToBuffer)
 * are counted beside the dispatches: each is an encoder command too.
 *
 * --workload records training steps instead (bench/host-cost-steps.ts: the product's ProxylessNAS
 * weight and architecture steps, an AutoSpace iteration, a `wgnas train` epoch), each run in full with its reads, so
 * `wall` and `cpu` per step are the whole step's and `record` its time to the first wait; beside them
 * the dispatches by kernel, copies, uploads, queue.writeBuffer calls, reads (mapAsync round trips),
 * syncs and submits per step (bench/host-cost-counters.ts), the values each step returned and a hash
 * of every parameter after the runs, to compare before and after a change. No microbenchmarks there.
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { loadavg, cpus } from 'node:os';
import { gpuOf, openBackend } from '../src/backend/index.js';
import { Gpu } from '../src/gpu/gpu.js';
import { STORAGE_USAGE } from '../src/gpu/pool.js';
import { registerShaderSource } from '../src/gpu/shaders.js';
import { defineUniforms } from '../src/gpu/uniforms.js';
import { sampleCell } from '../src/spaces/nb201.js';
import { Rng } from '../src/util/rng.js';
import { GROUP_MODES, type GroupMode, ZeroShotScorer } from '../src/zeroshot/index.js';
import { resultsDir, writeResult } from './results-dir.js';
import { countsSince, type CountSnapshot, GpuCounters } from './host-cost-counters.js';
import { openStepRunner, STEP_WORKLOADS, type StepWorkload } from './host-cost-steps.js';

const { values } = parseArgs({
  options: {
    group: { type: 'string', default: '4' },
    batch: { type: 'string', default: '8' },
    mode: { type: 'string', default: 'separate' },
    channels: { type: 'string', default: '16' },
    reps: { type: 'string', default: '3' },
    micro: { type: 'string', default: '20000' },
    save: { type: 'boolean', default: false },
    tag: { type: 'string' },
    workload: { type: 'string', default: 'wrcor' },
    seed: { type: 'string', default: '0' },
    'autospace-steps': { type: 'string', default: '1' },
    'label-smoothing': { type: 'string' },
  },
});
const posInt = (flag: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${flag}: expected a positive integer, got '${v}'`);
    process.exit(2);
  }
  return n;
};
const G = posInt('group', values.group);
const B = posInt('batch', values.batch);
const C = posInt('channels', values.channels);
const reps = posInt('reps', values.reps);
const microIters = values.micro === '0' ? 0 : posInt('micro', values.micro);
const mode = values.mode as GroupMode;
if (!GROUP_MODES.includes(mode)) {
  console.error(`--mode: expected ${GROUP_MODES.join(' or ')}, got '${values.mode}'`);
  process.exit(2);
}
const workload = values.workload as StepWorkload | 'wrcor';
if (workload !== 'wrcor' && !STEP_WORKLOADS.includes(workload)) {
  console.error(`--workload: expected wrcor or ${STEP_WORKLOADS.join(', ')}, got '${values.workload}'`);
  process.exit(2);
}
const seed = Number(values.seed);
if (!Number.isInteger(seed) || seed < 0) {
  console.error(`--seed: expected an integer >= 0, got '${values.seed}'`);
  process.exit(2);
}
const autospaceSteps = posInt('autospace-steps', values['autospace-steps']);
const labelSmoothing = values['label-smoothing'] === undefined ? undefined : Number(values['label-smoothing']);
if (labelSmoothing !== undefined && !(labelSmoothing >= 0 && labelSmoothing < 1)) {
  console.error(`--label-smoothing: expected a number in [0, 1), got '${values['label-smoothing']}'`);
  process.exit(2);
}
const outDir = values.save ? resultsDir('gpu-host-cost', { tag: values.tag }) : null;

const lines: string[] = [];
const say = (s: string) => {
  lines.push(s);
  console.log(s);
};

const backend = await openBackend('gpu');
const gpu = gpuOf(backend)!;
// Record a whole group before anything is submitted, so the measured host time is recording alone.
gpu.maxDispatchesPerSubmit = 1e9;
gpu.firstDispatchesPerSubmit = 1e9; // nor the small chunks after a wait
const load0 = loadavg();
say(`adapter: ${gpu.name}${gpu.adapter.isSoftware ? ' (software)' : ''}; host ${cpus()[0]?.model ?? '?'} x${cpus().length}`);
say(`load average at start: ${load0.map((l) => l.toFixed(2)).join(' ')}`);
if (process.env.WGNAS_BACKEND === 'null') {
  // Dawn's null backend runs no kernels: the recording figures are Dawn's front end and ours alone.
  say('backend=null: no kernel runs, the scores below are meaningless; recording costs exclude the driver');
}

if (workload !== 'wrcor') await runSteps(workload);

// ---- grouped WRCor ------------------------------------------------------------------------------

const rng = new Rng(1);
const cells = Array.from({ length: G }, () => sampleCell(rng));
const scorer = new ZeroShotScorer(backend, ['wrcor'], {
  batchSize: B,
  seed: 0,
  net: { channels: C, cellsPerStage: 5, numClasses: 10 },
  group: G,
  groupMode: mode,
});

// The first read or sync of a group marks the end of its recording. Wall time and this process's CPU
// time are both taken: on a shared machine the CPU time is the steadier figure (submits are deferred,
// so no GPU thread runs while a group records).
let firstWaitMs = 0;
let cpu0 = process.cpuUsage();
let firstWaitCpuUs = 0;
const markFirstWait = () => {
  if (firstWaitMs) return;
  firstWaitMs = performance.now();
  const c = process.cpuUsage(cpu0);
  firstWaitCpuUs = c.user + c.system;
};
const read0 = Gpu.prototype.read;
const sync0 = Gpu.prototype.sync;
Gpu.prototype.read = function (this: Gpu, t) {
  markFirstWait();
  return read0.call(this, t);
};
Gpu.prototype.sync = function (this: Gpu) {
  markFirstWait();
  return sync0.call(this);
};

interface GroupRun {
  recordMsPerCell: number;
  recordCpuMsPerCell: number;
  usPerDispatch: number;
  dispatchesPerCell: number;
  copiesPerCell: number;
  totalMsPerCell: number;
  wrcor: number[];
}

async function runGroup(): Promise<GroupRun> {
  firstWaitMs = 0;
  const d0 = gpu.dispatchCount;
  const c0 = gpu.copyCount;
  cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await scorer.scoreMany(cells);
  const t1 = performance.now();
  const dispatches = gpu.dispatchCount - d0;
  const copies = gpu.copyCount - c0;
  const recordMs = firstWaitMs - t0;
  return {
    recordMsPerCell: recordMs / G,
    recordCpuMsPerCell: firstWaitCpuUs / 1000 / G,
    usPerDispatch: (1000 * recordMs) / dispatches,
    dispatchesPerCell: dispatches / G,
    copiesPerCell: copies / G,
    totalMsPerCell: (t1 - t0) / G,
    wrcor: r.map((c) => c.scores.wrcor),
  };
}

say(`grouped WRCor (${mode}): ${G} NB201 cells per group, batch ${B}, network C=${C}, N=5, seed 0`);
const warm = await runGroup(); // compiles pipelines, fills the buffer pool
say(`warm-up group: record ${warm.recordMsPerCell.toFixed(1)} ms/cell, total ${warm.totalMsPerCell.toFixed(0)} ms/cell`);
const runs: GroupRun[] = [];
for (let i = 0; i < reps; i++) {
  const r = await runGroup();
  runs.push(r);
  say(
    `group ${i + 1}: record ${r.recordMsPerCell.toFixed(1)} ms/cell (cpu ${r.recordCpuMsPerCell.toFixed(1)})  ${r.usPerDispatch.toFixed(1)} us/dispatch  ` +
      `${r.dispatchesPerCell} dispatches/cell  ${r.copiesPerCell} copies/cell  total ${r.totalMsPerCell.toFixed(0)} ms/cell`,
  );
}
Gpu.prototype.read = read0;
Gpu.prototype.sync = sync0;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// The machine may be shared: the minimum is the least disturbed figure, the median the typical one.
const summary = {
  minRecordMsPerCell: Math.min(...runs.map((r) => r.recordMsPerCell)),
  minUsPerDispatch: Math.min(...runs.map((r) => r.usPerDispatch)),
  recordMsPerCell: median(runs.map((r) => r.recordMsPerCell)),
  recordCpuMsPerCell: median(runs.map((r) => r.recordCpuMsPerCell)),
  minRecordCpuMsPerCell: Math.min(...runs.map((r) => r.recordCpuMsPerCell)),
  usPerDispatch: median(runs.map((r) => r.usPerDispatch)),
  dispatchesPerCell: runs[0].dispatchesPerCell,
  copiesPerCell: runs[0].copiesPerCell,
  totalMsPerCell: median(runs.map((r) => r.totalMsPerCell)),
};
say(
  `median: record ${summary.recordMsPerCell.toFixed(1)} ms/cell (cpu ${summary.recordCpuMsPerCell.toFixed(1)}), ` +
    `${summary.usPerDispatch.toFixed(1)} us/dispatch, total ${summary.totalMsPerCell.toFixed(0)} ms/cell; ` +
    `min: record ${summary.minRecordMsPerCell.toFixed(1)} ms/cell (cpu ${summary.minRecordCpuMsPerCell.toFixed(1)}), ` +
    `${summary.minUsPerDispatch.toFixed(1)} us/dispatch`,
);
// The scores must not move with host-side changes: print them in full to compare runs.
say(`wrcor: ${runs[0].wrcor.map((s) => String(s)).join(' ')}`);

// ---- microbenchmarks ----------------------------------------------------------------------------

if (microIters === 0) finish({});

const device = gpu.device;
// A tiny scale kernel (uniform at 0, two storage buffers), registered so Gpu.dispatch can use it too.
const SCALE_FILE = 'bench-host-cost-scale.wgsl';
registerShaderSource(
  SCALE_FILE,
  `struct P { n: u32, a: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
override WG: u32 = 64u;
// Unused, as many override constants as a GEMM tile has: they only make the pipeline key realistic.
override BM: u32 = 1u;
override BN: u32 = 1u;
override BK: u32 = 1u;
override TM: u32 = 1u;
override TN: u32 = 1u;
@compute @workgroup_size(WG) fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x < p.n) { y[g.x] = p.a * x[g.x]; }
}`,
);
/** A fresh spec per call, as kernels build theirs. */
const scaleSpec = () => ({ file: SCALE_FILE, entry: 'main', constants: { WG: 64, BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 } });
const pipeline = await gpu.compile(scaleSpec());
const layout = pipeline.getBindGroupLayout(0);
const ubuf = device.createBuffer({ size: 256, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
const xs = device.createBuffer({ size: 1024, usage: STORAGE_USAGE });
const ys = device.createBuffer({ size: 1024, usage: STORAGE_USAGE });

/**
 * Wall microseconds per call: the best of 5 rounds of iters/5 calls, after a warm-up round. The best
 * round, because the machine may be shared; wall, not process CPU time, because V8's GC threads would
 * count in the latter although they run beside the recording thread.
 */
function perCallUs(iters: number, fn: (i: number) => void): number {
  const n = Math.max(1, Math.floor(iters / 5));
  for (let i = 0; i < Math.min(1000, n); i++) fn(i); // warm the JIT
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn(i);
    best = Math.min(best, (1000 * (performance.now() - t0)) / n);
  }
  return best;
}

const micro: Record<string, number> = {};
micro.createBindGroupUs = perCallUs(microIters, () => {
  device.createBindGroup({
    layout,
    entries: [
      { binding: 0, resource: { buffer: ubuf, offset: 0, size: 16 } },
      { binding: 1, resource: { buffer: xs } },
      { binding: 2, resource: { buffer: ys } },
    ],
  });
});
micro.createBindGroupBareBufferUs = perCallUs(microIters, () => {
  device.createBindGroup({
    layout,
    entries: [
      { binding: 0, resource: { buffer: ubuf, offset: 0, size: 16 } },
      { binding: 1, resource: xs },
      { binding: 2, resource: ys },
    ],
  });
});
{
  const bg = device.createBindGroup({
    layout,
    entries: [
      { binding: 0, resource: { buffer: ubuf, offset: 0, size: 16 } },
      { binding: 1, resource: { buffer: xs } },
      { binding: 2, resource: { buffer: ys } },
    ],
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  micro.setBindGroupDispatchUs = perCallUs(microIters, () => {
    pass.setBindGroup(0, bg);
    pass.dispatchWorkgroups(1);
  });
  pass.end();
  enc.finish(); // recorded, never submitted
}
{
  micro.pipelineLookupUs = perCallUs(microIters, () => gpu.pipeline(scaleSpec()));
}
micro.poolAcquireReleaseUs = perCallUs(microIters, () => gpu.pool.release(gpu.pool.acquire(4096)));
{
  // A conv-sized uniform struct, packed as kernels pack theirs on every dispatch.
  const P = defineUniforms('bench', 'Params', { N: 'u32', C: 'u32', H: 'u32', W: 'u32', K: 'u32', alpha: 'f32', s: 'vec2<u32>' });
  micro.packUniformsUs = perCallUs(microIters, (i) => P.pack({ N: 8, C: 16, H: 32, W: 32, K: i & 7, alpha: 0.5, s: [1, 1] }));
}
{
  // One whole Gpu.dispatch (uniform slot, bind group, set + dispatch) of a no-op (n = 0), submitted after.
  const x = gpu.empty([256]);
  const y = gpu.empty([256]);
  const u = new Uint32Array([0, 0, 0, 0]);
  micro.gpuDispatchUs = perCallUs(Math.min(microIters, 5000), () =>
    gpu.dispatch({
      kernel: scaleSpec(),
      buffers: [x, y],
      uniforms: u,
      workgroups: [1],
    }),
  );
  await gpu.sync();
  x.dispose();
  y.dispose();
}
finish(micro);

function finish(micro: Record<string, number>): never {
  for (const [k, v] of Object.entries(micro)) say(`micro ${k.padEnd(28)} ${v.toFixed(2)} us`);
  writeRunAndExit({ group: G, batch: B, mode, reps, microIters, net: `NB201 C=${C} N=5`, proxy: 'wrcor', seed: 0 }, () => ({
    warmup: warm,
    runs,
    summary,
    micro,
  }));
}

/**
 * Both modes' ending: the load at the end, then (with --out) result.json - the adapter, date,
 * settings and load around what `fields` gives - and report.txt.
 */
function writeRunAndExit(settings: Record<string, unknown>, fields: () => Record<string, unknown>): never {
  const load1 = loadavg();
  say(`load average at end: ${load1.map((l) => l.toFixed(2)).join(' ')}`);
  if (outDir) {
    const result = {
      adapter: gpu.name,
      software: gpu.adapter.isSoftware,
      date: new Date().toISOString(),
      settings,
      loadAverage: { start: load0, end: load1 },
      ...fields(),
    };
    writeResult(join(outDir, 'result.json'), JSON.stringify(result, null, 2) + '\n');
    writeResult(join(outDir, 'report.txt'), lines.join('\n') + '\n');
    say(`wrote ${outDir}`);
  }
  process.exit(0);
}

// ---- training steps (--workload) ----------------------------------------------------------------

interface StepRun {
  /** Per training step (an AutoSpace iteration's divided by its 2 x steps). */
  wallMs: number;
  cpuMs: number;
  /** Time to the run's first read or sync (what it records before its first wait), per run. */
  recordMs: number;
  recordCpuMs: number;
  counts: CountSnapshot;
  values: Record<string, number>;
}

async function runSteps(w: StepWorkload): Promise<never> {
  const counters = new GpuCounters(gpu);
  counters.install();
  const runner = await openStepRunner(backend, w, {
    batch: B,
    seed,
    autospaceSteps,
    nullDevice: process.env.WGNAS_BACKEND === 'null',
    labelSmoothing,
  });
  const per = runner.stepsPerRun;
  say(`workload ${w}: ${runner.describe}, seed ${seed}; per run: ${per} step(s)`);
  const once = async (i: number): Promise<StepRun> => {
    const c0 = counters.snapshot();
    counters.markStart();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const values = await runner.run(i);
    const t1 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    return {
      wallMs: (t1 - t0) / per,
      cpuMs: (cpu.user + cpu.system) / 1000 / per,
      recordMs: counters.firstWaitMs ? counters.firstWaitMs - t0 : t1 - t0,
      recordCpuMs: counters.firstWaitMs ? counters.firstWaitCpuUs / 1000 : (cpu.user + cpu.system) / 1000,
      counts: countsSince(c0, counters.snapshot()),
      values,
    };
  };
  const fmtCounts = (c: CountSnapshot) =>
    `${c.dispatches} dispatches  ${c.copies} copies  ${c.uploads} uploads  ${c.writeBuffers} writeBuffer  ${c.reads} reads  ${c.syncs} syncs  ${c.submits} submits`;
  const fmtValues = (v: Record<string, number>) =>
    Object.entries(v)
      .map(([k, x]) => `${k}=${x}`)
      .join(' ');
  const warmRun = await once(0); // compiles pipelines, fills the buffer pool
  say(`warm-up run 0: wall ${warmRun.wallMs.toFixed(1)} ms/step  ${fmtCounts(warmRun.counts)}  ${fmtValues(warmRun.values)}`);
  // One run with each dispatch timed (by kernel): not among the timed runs, as the timing adds to them.
  counters.kernels.clear();
  counters.timeKernels = true;
  const kRun = await once(1);
  counters.timeKernels = false;
  const byKernel = [...counters.kernels.entries()]
    .map(([kernel, k]) => ({ kernel, count: k.count, hostMs: k.hostMs }))
    .filter((k) => k.count > 0)
    .sort((a, b) => b.count - a.count || b.hostMs - a.hostMs);
  say(`by kernel (run 1, ${kRun.counts.dispatches} dispatches, ${kRun.counts.copies} copies; host ms inside Gpu.dispatch):`);
  for (const k of byKernel) say(`  ${String(k.count).padStart(5)}  ${k.hostMs.toFixed(2).padStart(8)} ms  ${k.kernel}`);
  const stepRuns: StepRun[] = [];
  for (let r = 0; r < reps; r++) {
    const s = await once(2 + r);
    stepRuns.push(s);
    say(
      `run ${2 + r}: wall ${s.wallMs.toFixed(1)} ms/step (cpu ${s.cpuMs.toFixed(1)})  to first wait ${s.recordMs.toFixed(1)} ms (cpu ${s.recordCpuMs.toFixed(1)})  ` +
        `${fmtCounts(s.counts)}  ${fmtValues(s.values)}`,
    );
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const stepSummary = {
    wallMsPerStep: median(stepRuns.map((s) => s.wallMs)),
    minWallMsPerStep: Math.min(...stepRuns.map((s) => s.wallMs)),
    cpuMsPerStep: median(stepRuns.map((s) => s.cpuMs)),
    minCpuMsPerStep: Math.min(...stepRuns.map((s) => s.cpuMs)),
    recordMs: median(stepRuns.map((s) => s.recordMs)),
    dispatchesPerStep: median(stepRuns.map((s) => s.counts.dispatches / per)),
    copiesPerStep: median(stepRuns.map((s) => s.counts.copies / per)),
    readsPerStep: median(stepRuns.map((s) => s.counts.reads / per)),
    uploadsPerStep: median(stepRuns.map((s) => s.counts.uploads / per)),
    writeBuffersPerStep: median(stepRuns.map((s) => s.counts.writeBuffers / per)),
  };
  say(
    `median: wall ${stepSummary.wallMsPerStep.toFixed(1)} ms/step (cpu ${stepSummary.cpuMsPerStep.toFixed(1)}), min wall ${stepSummary.minWallMsPerStep.toFixed(1)} (cpu ${stepSummary.minCpuMsPerStep.toFixed(1)}); ` +
      `per step ${stepSummary.dispatchesPerStep} dispatches, ${stepSummary.copiesPerStep} copies, ${stepSummary.readsPerStep} reads, ` +
      `${stepSummary.uploadsPerStep} uploads, ${stepSummary.writeBuffersPerStep} writeBuffer`,
  );
  const digest = await runner.digest();
  say(`parameters after ${2 + reps} runs: fnv1a ${digest}`);
  runner.dispose();
  counters.uninstall();
  writeRunAndExit(
    { workload: w, describe: runner.describe, batch: B, reps, seed, autospaceSteps, labelSmoothing, stepsPerRun: per },
    () => ({ warmup: warmRun, byKernel: { run: kRun, kernels: byKernel }, runs: stepRuns, summary: stepSummary, digest }),
  );
}
