/**
 * The CPU backend against PyTorch eager on the CPU, same machine, same threads, one run, same cells:
 *   - per NAS-Bench-201 cell (the full network: 16 channels, 5 cells per stage, batch 64): WRCor
 *     (build + forward + backward + the correlation matrices + log|det|), NASWOT, SynFlow and
 *     jacob_cov, each as `wgnas score` computes it (scoreCell);
 *   - a ProxylessNAS supernet step on the CIFAR layout (batch 32): a weight step on one sampled path
 *     per block and an architecture step on two (binary-gate gradients), with the same sampled paths
 *     on both sides;
 *   - an AutoSpace step: a weight step of the network whose layers mix K MBConv cells by softmax(phi),
 *     then a fitness step (gradients of phi only).
 * PyTorch runs bench/cpu-vs-torch.py (the same networks, written the plain way) in /usr/bin/python3
 * with Debian's python3-torch (bench only), in up to three configurations: as installed, with glibc
 * keeping freed memory (torch*, as bench/native-ops.bench.ts), and torch* with OpenBLAS (--openblas
 * DIR: Debian's python3-torch links the reference BLAS of libblas3, whose matmul is ~15x slower;
 * --openblas-only runs that configuration alone, the one the ratios are read against, where a
 * loaded machine leaves no time for all three).
 * Every PyTorch process gets the GOMP_SPINCOUNT ours runs with (src/native/binding.ts).
 *
 *   npx tsx bench/cpu-vs-torch.ts [--threads N] [--cells K] [--repeats R] [--rounds K] [--clock cpu|wall]
 *                                 [--only wrcor,naswot,synflow,jacob_cov,proxyless,autospace] [--steps S]
 *                                 [--openblas DIR [--openblas-only]] [--no-torch] [--dataset cifar10|folder:PATH]
 *                                 [--json out.json]
 *
 * Each figure: per cell (or step) the minimum over R repeats and K rounds, summed over the cells
 * (steps: the mean of the per-step minima). Items alternate ours / torch / torch* (/ torch*+OpenBLAS)
 * so a burst of other load lands on all alike; the load average is recorded. --clock cpu times each
 * process's CPU time (user + system, all its threads): with --threads 1 the figure other processes on
 * a shared machine barely disturb. The scored minibatch (64 images, seed 0) is drawn from --dataset
 * (bench-data.ts: the fetched CIFAR-10, else the bundled subset of a development checkout).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { type Backend, cpuBackend } from '../src/backend/index.js';
import { loadNb201Accuracies } from '../src/data/nb201-bench.js';
import { sampleGates } from '../src/kernels/binarize.js';
import type { MbconvExpand, MbconvKernel } from '../src/latency/space.js';
import { mbconvCell } from '../src/mobilenet/cell.js';
import { CellModule } from '../src/mobilenet/cell-module.js';
import { CIFAR_LAYOUT, layerShapes, layoutSpace } from '../src/mobilenet/layout.js';
import { mixtureForward } from '../src/mobilenet/mixture-layer.js';
import { Skeleton } from '../src/mobilenet/skeleton.js';
import { NativeDevice } from '../src/native/device.js';
import { ParamStore } from '../src/nn/init.js';
import { WeightSgd } from '../src/nn/optim.js';
import { Param, Tape } from '../src/nn/tape.js';
import { ProxylessSupernet } from '../src/proxyless/supernet.js';
import { formatArch, type Nb201Cell, parseArch } from '../src/spaces/nb201.js';
import { Rng } from '../src/util/rng.js';
import { scoreCell } from '../src/zeroshot/index.js';
import { benchProxyBatch, openBenchData } from './bench-data.js';
import { writeResult } from './results-dir.js';

const { values: v } = parseArgs({
  options: {
    threads: { type: 'string', default: '1' },
    cells: { type: 'string', default: '10' },
    repeats: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '1' },
    clock: { type: 'string', default: 'cpu' },
    only: { type: 'string' },
    steps: { type: 'string', default: '6' },
    openblas: { type: 'string' },
    'openblas-only': { type: 'boolean', default: false },
    'no-torch': { type: 'boolean', default: false },
    dataset: { type: 'string' },
    json: { type: 'string' },
  },
});
const int = (k: keyof typeof v, min = 1) => {
  const n = Number(v[k]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${k} must be an integer >= ${min}, got '${v[k]}'`);
  return n;
};
const threads = int('threads');
const nCells = int('cells');
const repeats = int('repeats');
const rounds = int('rounds');
const nSteps = int('steps');
const clock =
  v.clock === 'wall'
    ? 'wall'
    : v.clock === 'cpu'
      ? 'cpu'
      : (() => {
          throw new Error(`--clock must be cpu or wall, got '${v.clock}'`);
        })();
const PROXIES = ['wrcor', 'naswot', 'synflow', 'jacob_cov'] as const;
const WORKLOADS = [...PROXIES, 'proxyless', 'autospace'] as const;
type Workload = (typeof WORKLOADS)[number];
const only = (v.only?.split(',') ?? WORKLOADS) as Workload[];
for (const w of only) if (!WORKLOADS.includes(w)) throw new Error(`--only: unknown workload '${w}' (${WORKLOADS.join(', ')})`);

const TUNED_MALLOC = { MALLOC_MMAP_THRESHOLD_: '1000000000', MALLOC_TRIM_THRESHOLD_: '1000000000', MALLOC_TOP_PAD_: '536870912' };

function nowMs(): number {
  if (clock === 'wall') return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** A long-lived bench/cpu-vs-torch.py process answering one request at a time. */
class TorchServer {
  private constructor(
    private readonly proc: ReturnType<typeof spawn>,
    private readonly lines: AsyncIterator<string>,
    readonly version: string,
  ) {}

  static async start(env: Record<string, string>): Promise<TorchServer | string> {
    const script = join(dirname(fileURLToPath(import.meta.url)), 'cpu-vs-torch.py');
    const proc = spawn('/usr/bin/python3', [script, String(threads)], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
    const first = await Promise.race([
      lines.next().then((r) => (r.done ? null : r.value)),
      new Promise<null>((resolve) => proc.on('exit', () => resolve(null))),
    ]);
    if (!first)
      return /No module named 'torch'/.test(stderr)
        ? 'no torch for /usr/bin/python3 (apt-get install python3-torch)'
        : `python3 failed: ${stderr.trim().split('\n').pop()}`;
    return new TorchServer(proc, lines, (JSON.parse(first) as { torch: string }).torch);
  }

  async ask(req: Record<string, unknown>): Promise<{ ms: number[]; score?: number; loss?: number }> {
    this.proc.stdin!.write(JSON.stringify({ ...req, clock }) + '\n');
    const r = await this.lines.next();
    if (r.done) throw new Error('the PyTorch process exited');
    const out = JSON.parse(r.value) as { ms: number[]; score?: number; loss?: number; error?: string };
    if (out.error) throw new Error(out.error);
    return out;
  }

  close(): void {
    this.proc.stdin!.end();
  }
}

// ---- the workloads on our side ------------------------------------------------------------------

const NET = { channels: 16, cellsPerStage: 5, numClasses: 10 };

async function timeOurs(f: () => Promise<unknown>): Promise<number> {
  const t = nowMs();
  await f();
  return nowMs() - t;
}

/** A ProxylessNAS step with the given samples: weight step (1 path) + architecture step (2 paths). */
function proxylessStep(be: Backend, net: ProxylessSupernet, sgd: WeightSgd, x: Float32Array, y: Float32Array, n: number) {
  const S = CIFAR_LAYOUT.inputSize;
  return async (st: Step) => {
    {
      const t = new Tape(be);
      const xb = be.upload(x.subarray(0, n * 3 * S * S), [n, 3, S, S]);
      const yb = be.upload(y.subarray(0, n));
      try {
        const { logits } = net.forward(
          t,
          t.input(xb),
          st.weight.map((a) => ({ active: a, inactive: [], involved: [a] })),
        );
        const loss = t.crossEntropy(logits, yb);
        t.backward(loss);
        sgd.step(0.05);
        net.zeroGrad();
        await loss.value.read();
      } finally {
        t.dispose();
        xb.dispose();
        yb.dispose();
      }
    }
    const t = new Tape(be, { paramGrads: 'none' });
    const xv = be.upload(x.subarray(n * 3 * S * S, 2 * n * 3 * S * S), [n, 3, S, S]);
    const yv = be.upload(y.subarray(n, 2 * n));
    try {
      const gates = st.arch.map(([a, b]) => ({ active: a, inactive: [b], involved: [a, b] }));
      const { logits, records } = net.forward(t, t.input(xv), gates, { inactive: true });
      t.backward(t.crossEntropy(logits, yv));
      net.zeroGrad();
      await net.gateGradients(records, 'sampled');
    } finally {
      t.dispose();
      xv.dispose();
      yv.dispose();
    }
  };
}

interface Step {
  weight: number[];
  arch: Array<[number, number]>;
}

/** The AutoSpace mixture network: every layer mixes the same K MBConv cells. */
const MIX_CELLS: Array<[MbconvKernel, MbconvExpand]> = [
  [3, 6],
  [5, 3],
  [7, 6],
];

function autospaceStep(be: Backend, x: Float32Array, y: Float32Array, n: number) {
  const store = new ParamStore(be, new Rng(1));
  const cells: CellModule[][] = [];
  const skel = new Skeleton<CellModule[]>(store, CIFAR_LAYOUT, (shapes) =>
    shapes.map((shape, b) => {
      const row = MIX_CELLS.map(([k, e], j) => new CellModule(store, `l${b}.c${j}`, mbconvCell(k, e), shape));
      cells.push(row);
      return row;
    }),
  );
  const shapes = layerShapes(CIFAR_LAYOUT);
  const phi = shapes.map((_, b) => new Param(be.zeros([MIX_CELLS.length]), `phi${b}`, 'bias'));
  const sgd = new WeightSgd(be, store.params, { momentum: 0.9, nesterov: true, weightDecay: 4e-5 });
  const S = 32;
  const pass = async (off: number, paramGrads: 'all' | ReadonlySet<Param>, after: () => Promise<void>) => {
    const t = new Tape(be, { paramGrads });
    const xb = be.upload(x.subarray(off * 3 * S * S, (off + n) * 3 * S * S), [n, 3, S, S]);
    const yb = be.upload(y.subarray(off, off + n));
    try {
      const { logits } = skel.forward(t, t.input(xb), (row, b, h, at) => mixtureForward(t, h, row, phi[b], shapes[b], at));
      const loss = t.crossEntropy(logits, yb);
      t.backward(loss);
      await after();
      await loss.value.read();
    } finally {
      store.zeroGrad();
      for (const p of phi) p.zeroGrad();
      t.dispose();
      xb.dispose();
      yb.dispose();
    }
  };
  return {
    step: async () => {
      await pass(0, 'all', async () => void sgd.step(0.05));
      await pass(n, new Set(phi), async () => void (await Promise.all(phi.map((p) => p.grad!.read()))));
    },
    dispose: () => {
      sgd.dispose();
      for (const p of phi) p.value.dispose();
      store.dispose();
    },
  };
}

// ---- the run ----------------------------------------------------------------------------------------

// The images first: a dataset that is not there is one line before any work.
const data = await openBenchData(v.dataset, 'cpu-vs-torch');
if (data.note) process.stderr.write(`${data.note}\n`);
const batch = await benchProxyBatch(data, 64, 0, 'cpu-vs-torch');
const dev = NativeDevice.create({ threads });
const be = cpuBackend(dev, { ownsDevice: true });
const dir = mkdtempSync(join(tmpdir(), 'wgnas-cpu-vs-torch-'));
const batchFile = join(dir, 'batch.bin');
writeFileSync(batchFile, Buffer.from(new Float32Array([...batch.x, ...batch.y]).buffer));

// Cells: distinct NAS-Bench-201 networks (the ground-truth table), a seeded sample.
const archs = [...loadNb201Accuracies().keys()];
const rng = new Rng(7);
const cells: Nb201Cell[] = rng
  .shuffle(archs)
  .slice(0, nCells)
  .map((a) => parseArch(a));

const variants: Array<{ name: string; env: Record<string, string>; note: string }> = [
  { name: 'torch', env: {}, note: 'python3-torch as installed' },
  { name: 'torch*', env: TUNED_MALLOC, note: 'glibc keeping freed memory' },
];
if (v['openblas-only'] && !v.openblas) throw new Error('--openblas-only needs --openblas DIR');
if (v['openblas-only']) variants.length = 0;
if (v.openblas)
  variants.push({
    name: 'torch*+OpenBLAS',
    env: { ...TUNED_MALLOC, LD_LIBRARY_PATH: v.openblas, OPENBLAS_NUM_THREADS: String(threads) },
    note: `torch* with OpenBLAS from ${v.openblas}`,
  });
const spin = { GOMP_SPINCOUNT: process.env.GOMP_SPINCOUNT ?? '1000' };
const servers: Array<{ name: string; s: TorchServer }> = [];
let torchNote = 'not run (--no-torch)';
if (!v['no-torch']) {
  for (const vr of variants) {
    const s = await TorchServer.start({ ...spin, ...vr.env });
    if (typeof s === 'string') {
      torchNote = s;
      break;
    }
    servers.push({ name: vr.name, s });
    torchNote = `PyTorch ${s.version}, ${threads} thread(s)`;
  }
}
const cols = ['ours', ...servers.map((x) => x.name)];
const load0 = loadavg();
const log = (s: string) => process.stderr.write(s + '\n');
log(`ours: ${be.deviceName}; ${torchNote}; clock ${clock}; load ${load0.map((x) => x.toFixed(2)).join(' ')}`);

// ms[workload][col][item]: min over repeats and rounds.
const ms: Record<string, Record<string, number[]>> = {};
const scores: Record<string, Record<string, number[]>> = {};
const keep = (w: string, col: string, i: number, t: number) => {
  const row = ((ms[w] ??= {})[col] ??= []);
  row[i] = Math.min(row[i] ?? Infinity, t);
};

// Proxyless: samples drawn once, the same on both sides.
const positions = layoutSpace(CIFAR_LAYOUT).positions.slice(1);
const gateRng = new Rng(11);
const zeros = positions.map((p) => new Float32Array(p.candidates.length));
const steps: Step[] = Array.from({ length: nSteps }, () => ({
  weight: zeros.map((a) => sampleGates(a, gateRng, 1).active),
  arch: zeros.map((a) => {
    const g = sampleGates(a, gateRng, 2);
    return [g.active, g.inactive[0]] as [number, number];
  }),
}));
const layoutReq = {
  stemC: CIFAR_LAYOUT.stemC,
  stemStride: CIFAR_LAYOUT.stemStride,
  firstBlockC: CIFAR_LAYOUT.firstBlockC,
  featureMixC: CIFAR_LAYOUT.featureMixC,
  classes: CIFAR_LAYOUT.classes,
  lastC: CIFAR_LAYOUT.widths[CIFAR_LAYOUT.widths.length - 1],
};
const shapesReq = positions.map((p) => ({
  inC: p.inC,
  outC: p.outC,
  stride: p.stride,
  inH: p.inH,
  candidates: p.candidates.map((c) => (c === 'zero' ? 'zero' : [c.kernel, c.expand])),
}));

for (let round = 0; round < rounds; round++) {
  for (const w of only) {
    if ((PROXIES as readonly string[]).includes(w)) {
      for (const [i, cell] of cells.entries()) {
        const arch = formatArch(cell);
        await scoreCell(be, cell, [w], batch, { seed: 0 }); // warm-up: oneDNN primitives for this cell's shapes
        for (let r = 0; r < repeats; r++) {
          let s = 0;
          keep(w, 'ours', i, await timeOurs(async () => (s = (await scoreCell(be, cell, [w], batch, { seed: 0 })).scores[w])));
          ((scores[w] ??= {}).ours ??= [])[i] = s;
        }
        for (const { name, s } of servers) {
          const r = await s.ask({
            task: w,
            arch,
            batch: batchFile,
            n: 64,
            channels: NET.channels,
            cells: NET.cellsPerStage,
            repeats,
            seed: 0,
          });
          keep(w, name, i, Math.min(...r.ms));
          ((scores[w] ??= {})[name] ??= [])[i] = r.score!;
        }
        log(`${w} ${i + 1}/${cells.length} ${arch}: ${cols.map((c) => `${c} ${ms[w][c][i].toFixed(0)} ms`).join(', ')}`);
      }
    } else if (w === 'proxyless') {
      const net = new ProxylessSupernet(be, CIFAR_LAYOUT, new Rng(1));
      const sgd = new WeightSgd(be, net.params, { momentum: 0.9, nesterov: true, weightDecay: 4e-5 });
      const step = proxylessStep(be, net, sgd, batch.x, batch.y, 32);
      await step(steps[0]);
      for (const [i, st] of steps.entries()) {
        for (let r = 0; r < repeats; r++) keep(w, 'ours', i, await timeOurs(() => step(st)));
      }
      sgd.dispose();
      net.dispose();
      for (const { name, s } of servers) {
        for (let r = 0; r < repeats; r++) {
          const res = await s.ask({ task: 'proxyless', layout: layoutReq, shapes: shapesReq, steps, batch: batchFile, n: 32 });
          res.ms.forEach((t, i) => keep(w, name, i, t));
        }
      }
      log(`proxyless step: ${cols.map((c) => `${c} ${mean(ms[w][c]).toFixed(0)} ms`).join(', ')}`);
    } else {
      const a = autospaceStep(be, batch.x, batch.y, 32);
      await a.step();
      for (let i = 0; i < nSteps; i++) for (let r = 0; r < repeats; r++) keep(w, 'ours', i, await timeOurs(() => a.step()));
      a.dispose();
      const cellsReq = MIX_CELLS.map(([k, e]) => [k, e]);
      const mixShapes = layerShapes(CIFAR_LAYOUT).map((s) => ({ inC: s.inC, outC: s.outC, stride: s.stride, inH: s.inH }));
      for (const { name, s } of servers) {
        for (let r = 0; r < repeats; r++) {
          const res = await s.ask({
            task: 'autospace',
            layout: layoutReq,
            shapes: mixShapes,
            cells: cellsReq,
            batch: batchFile,
            n: 32,
            repeats: nSteps,
          });
          res.ms.forEach((t, i) => keep(w, name, i, t));
        }
      }
      log(`autospace step: ${cols.map((c) => `${c} ${mean(ms[w][c]).toFixed(0)} ms`).join(', ')}`);
    }
  }
}
for (const { s } of servers) s.close();
be.dispose();

function mean(a: number[]): number {
  return a.reduce((x, y) => x + y, 0) / a.length;
}
const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);

// ---- report -------------------------------------------------------------------------------------------
const load1 = loadavg();
const rows = only.map((w) => {
  const per = (c: string) => ((PROXIES as readonly string[]).includes(w) ? sum(ms[w][c]) / ms[w][c].length : mean(ms[w][c]));
  const oursMs = per('ours');
  return {
    workload: w,
    unit: (PROXIES as readonly string[]).includes(w) ? 'ms per cell' : 'ms per step',
    ms: Object.fromEntries(cols.map((c) => [c, per(c)])),
    speedup: Object.fromEntries(cols.slice(1).map((c) => [c, per(c) / oursMs])),
  };
});
const head = ['workload', 'unit', ...cols.map((c) => `${c} ms`), ...cols.slice(1).map((c) => `vs ${c}`)];
const table = [
  head,
  ...rows.map((r) => [
    r.workload,
    r.unit,
    ...cols.map((c) => r.ms[c].toFixed(1)),
    ...cols.slice(1).map((c) => `${r.speedup[c].toFixed(2)}x`),
  ]),
];
const widths = head.map((_, j) => Math.max(...table.map((r) => r[j].length)));
const text = table.map((r) => r.map((c, j) => (j < 2 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ')).join('\n');
console.log(
  [
    `CPU backend vs PyTorch eager (CPU), ${new Date().toISOString()}`,
    `machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} logical cores; load average ${load0.map((x) => x.toFixed(2)).join(' ')} -> ${load1.map((x) => x.toFixed(2)).join(' ')}`,
    `ours: ${be.deviceName} (GOMP_SPINCOUNT ${spin.GOMP_SPINCOUNT}); ${torchNote}; ${variants
      .slice(0, servers.length)
      .map((x) => `${x.name}: ${x.note}`)
      .join('; ')}`,
    `NB201 cells: ${cells.length} distinct networks (full: 16 channels, 5 cells per stage, batch 64); steps: CIFAR layout, batch 32, ${nSteps} steps`,
    `${clock === 'cpu' ? 'process CPU' : 'wall'} ms: per cell / step the min over ${repeats} repeats x ${rounds} round(s); proxies: mean over the cells; "vs X" > 1: ours faster`,
    '',
    text,
  ].join('\n'),
);
if (v.json) {
  const wrote = writeResult(
    v.json,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: { cpu: cpus()[0]?.model, logicalCores: cpus().length, loadAverage: { start: load0, end: load1 } },
        settings: { threads, cells: cells.length, repeats, rounds, steps: nSteps, clock, gompSpincount: spin.GOMP_SPINCOUNT },
        dataset: { spec: data.spec, name: data.train.name, trainImages: data.train.count },
        ours: be.deviceName,
        torch: torchNote,
        variants: variants.slice(0, servers.length),
        archs: cells.map(formatArch),
        rows,
        perItemMs: ms,
        scores,
      },
      null,
      2,
    ) + '\n',
  );
  log(`wrote ${wrote}`);
}
