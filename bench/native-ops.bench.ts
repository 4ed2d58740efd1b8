/**
 * Op-level benchmark of the native CPU backend at the NAS-Bench-201 shapes, batch 64: conv 3x3 and
 * 1x1 (forward, backward data, backward weights), batch norm, ReLU (forward and backward) and
 * WRCor's correlation Gram product (N = 64 rows of D = C*H*W), at 16/32/64 channels and 32/16/8 px.
 * Side by side: native (this addon), PyTorch eager on the CPU (bench/native-ops-torch.py, when
 * /usr/bin/python3 has torch: apt-get install python3-torch; bench only) and the WGSL ops on the
 * Dawn adapter (lavapipe on a CPU-only machine), same threads, same machine, one run.
 *
 *   npx tsx bench/native-ops.bench.ts [--threads N] [--repeats R] [--min-ms T] [--no-wgsl] [--no-torch]
 *                                     [--only SUBSTRING] [--json out.json]
 *
 * Each figure is the minimum over R samples of the mean time per op, a sample lasting about
 * T / R ms (the minimum is the least disturbed by other load; the load average is printed).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { acquireGpu, type Gpu } from '../src/gpu/index.js';
import { batchNormBackward, batchNormForward } from '../src/kernels/batchnorm.js';
import { reluBackward, relu } from '../src/kernels/activation.js';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight } from '../src/kernels/conv2d.js';
import { correlationOffDiagInPlace } from '../src/kernels/correlation.js';
import { NativeDevice } from '../src/native/device.js';
import * as nat from '../src/native/ops/index.js';
import { Rng } from '../src/util/rng.js';

type Kind = 'conv_fwd' | 'conv_bwd_data' | 'conv_bwd_weight' | 'bn_fwd' | 'bn_bwd' | 'relu_fwd' | 'relu_bwd' | 'gram';

interface OpCase {
  id: string;
  kind: Kind;
  N: number;
  C: number;
  H: number;
  Cout?: number;
  k?: number;
  stride?: number;
  pad?: number;
  D?: number;
}

/** The NB201 stages at batch 64. */
function cases(): OpCase[] {
  const N = 64;
  const out: OpCase[] = [];
  for (const [C, H] of [
    [16, 32],
    [32, 16],
    [64, 8],
  ]) {
    for (const k of [3, 1]) {
      for (const kind of ['conv_fwd', 'conv_bwd_data', 'conv_bwd_weight'] as const) {
        out.push({ id: `${kind} ${k}x${k} C${C} ${H}px`, kind, N, C, H, Cout: C, k, stride: 1, pad: k >> 1 });
      }
    }
    for (const kind of ['bn_fwd', 'bn_bwd', 'relu_fwd', 'relu_bwd'] as const) out.push({ id: `${kind} C${C} ${H}px`, kind, N, C, H });
    out.push({ id: `gram N64 D${C * H * H}`, kind: 'gram', N, C, H, D: C * H * H });
  }
  return out;
}

/** One op as a closure over prepared inputs; each call enqueues it once and frees what it made. */
type Runner = () => void;

interface Backend {
  prepare(c: OpCase): Runner;
  sync(): Promise<void>;
}

function inputs(c: OpCase): { x: Float32Array; w: Float32Array; dy: Float32Array; g: Float32Array } {
  const rng = new Rng(7);
  const Cout = c.Cout ?? c.C;
  const k = c.k ?? 1;
  const n = c.kind === 'gram' ? c.N * c.D! : c.N * c.C * c.H * c.H;
  return {
    x: rng.normals(n),
    w: rng.normals(Cout * c.C * k * k, 0.1),
    dy: rng.normals(c.N * Cout * c.H * c.H),
    g: rng.normals(c.C),
  };
}

function nativeBackend(dev: NativeDevice): Backend {
  return {
    sync: () => dev.sync(),
    prepare(c) {
      const d = inputs(c);
      const xs = [c.N, c.C, c.H, c.H];
      const p = { stride: c.stride ?? 1, pad: c.pad ?? 0 };
      const wShape = [c.Cout ?? c.C, c.C, c.k ?? 1, c.k ?? 1];
      const x = dev.upload(d.x, c.kind === 'gram' ? [1, c.N, c.D!] : xs);
      const w = dev.upload(d.w, wShape);
      const dy = dev.upload(d.dy, xs);
      const g = dev.upload(d.g, [c.C]);
      const bn = c.kind === 'bn_bwd' ? nat.batchNormForward(dev, x, g, g) : null;
      const gram = c.kind === 'gram' ? dev.empty([1, c.N, c.N]) : null;
      const free = (...ts: Array<{ dispose(): void }>) => ts.forEach((t) => t.dispose());
      switch (c.kind) {
        case 'conv_fwd':
          return () => free(nat.conv2d(dev, x, w, p));
        case 'conv_bwd_data':
          return () => free(nat.conv2dBackwardInput(dev, dy, w, xs, p));
        case 'conv_bwd_weight':
          return () => free(nat.conv2dBackwardWeight(dev, x, dy, wShape, p));
        case 'bn_fwd':
          return () => free(...Object.values(nat.batchNormForward(dev, x, g, g)));
        case 'bn_bwd':
          return () => free(...Object.values(nat.batchNormBackward(dev, dy, x, bn!.mean, bn!.invStd, g)));
        case 'relu_fwd':
          return () => free(nat.relu(dev, x));
        case 'relu_bwd':
          return () => free(nat.reluBackward(dev, dy, x));
        case 'gram':
          // Normalises x in place each time: idempotent up to rounding, as the proxy's arena pass.
          return () => nat.correlationOffDiagInPlace(dev, x, gram!);
      }
    },
  };
}

function gpuBackend(gpu: Gpu): Backend {
  return {
    sync: () => gpu.sync(),
    prepare(c) {
      const d = inputs(c);
      const xs = [c.N, c.C, c.H, c.H];
      const p = { stride: c.stride ?? 1, pad: c.pad ?? 0 };
      const wShape = [c.Cout ?? c.C, c.C, c.k ?? 1, c.k ?? 1];
      const x = gpu.upload(d.x, c.kind === 'gram' ? [1, c.N, c.D!] : xs);
      const w = gpu.upload(d.w, wShape);
      const dy = gpu.upload(d.dy, xs);
      const g = gpu.upload(d.g, [c.C]);
      const bn = c.kind === 'bn_bwd' ? batchNormForward(gpu, x, g, g) : null;
      const gram = c.kind === 'gram' ? gpu.empty([1, c.N, c.N]) : null;
      const free = (...ts: Array<{ dispose(): void }>) => ts.forEach((t) => t.dispose());
      switch (c.kind) {
        case 'conv_fwd':
          return () => free(conv2d(gpu, x, w, p));
        case 'conv_bwd_data':
          return () => free(conv2dBackwardInput(gpu, dy, w, xs, p));
        case 'conv_bwd_weight':
          return () => free(conv2dBackwardWeight(gpu, x, dy, wShape, p));
        case 'bn_fwd':
          return () => free(...Object.values(batchNormForward(gpu, x, g, g)));
        case 'bn_bwd':
          return () => free(...Object.values(batchNormBackward(gpu, dy, x, bn!.mean, bn!.invStd, g)));
        case 'relu_fwd':
          return () => free(relu(gpu, x));
        case 'relu_bwd':
          return () => free(reluBackward(gpu, dy, x));
        case 'gram':
          return () => correlationOffDiagInPlace(gpu, x, gram!);
      }
    },
  };
}

/** Minimum over `repeats` samples of the mean ms per call; a sample lasts about minMs / repeats. */
async function time(b: Backend, run: Runner, repeats: number, minMs: number): Promise<number> {
  run();
  await b.sync();
  let t = performance.now();
  run();
  await b.sync();
  const one = Math.max(performance.now() - t, 1e-3);
  const iters = Math.max(1, Math.floor(minMs / repeats / one));
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    t = performance.now();
    for (let i = 0; i < iters; i++) run();
    await b.sync();
    best = Math.min(best, (performance.now() - t) / iters);
  }
  return best;
}

function torchTimes(ops: OpCase[], threads: number, repeats: number, minMs: number): { version: string; ms: Record<string, number> } | string {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'native-ops-torch.py');
  const r = spawnSync('/usr/bin/python3', [script, JSON.stringify({ threads, repeats, minMs, ops })], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.error) return `python3 failed to start (${r.error.message})`;
  if (r.status !== 0) {
    const err = r.stderr.trim().split('\n').pop() ?? '';
    return /No module named 'torch'/.test(r.stderr) ? 'no torch for /usr/bin/python3 (apt-get install python3-torch)' : `python3 exited ${r.status}: ${err}`;
  }
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { torch: string; ms: Record<string, number> };
  return { version: out.torch, ms: out.ms };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      threads: { type: 'string' },
      repeats: { type: 'string', default: '7' },
      'min-ms': { type: 'string', default: '300' },
      'no-wgsl': { type: 'boolean', default: false },
      'no-torch': { type: 'boolean', default: false },
      only: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const int = (name: string, v: string | undefined, min: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      process.stderr.write(`--${name} must be an integer >= ${min}, got ${v}\n`);
      process.exit(2);
    }
    return n;
  };
  const repeats = int('repeats', values.repeats, 1)!;
  const minMs = int('min-ms', values['min-ms'], 1)!;
  const dev = NativeDevice.create({ threads: int('threads', values.threads, 1) });
  const threads = dev.threads;
  const ops = cases().filter((c) => !values.only || c.id.includes(values.only));
  const load0 = loadavg()[0];

  const torch = values['no-torch'] ? 'skipped (--no-torch)' : torchTimes(ops, threads, repeats, minMs);
  const nativeMs: Record<string, number> = {};
  const nb = nativeBackend(dev);
  for (const c of ops) nativeMs[c.id] = await time(nb, nb.prepare(c), repeats, minMs);
  dev.destroy();

  const wgslMs: Record<string, number> = {};
  let wgslNote = 'skipped (--no-wgsl)';
  if (!values['no-wgsl']) {
    const gpu = await acquireGpu();
    wgslNote = gpu.name;
    const gb = gpuBackend(gpu);
    // The software adapter is 10-100x slower: fewer, shorter samples.
    for (const c of ops) wgslMs[c.id] = await time(gb, gb.prepare(c), Math.min(3, repeats), minMs);
    gpu.destroy();
  }
  const load1 = loadavg()[0];

  const torchMs = typeof torch === 'string' ? {} : torch.ms;
  const f = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(3));
  const ratio = (a: number | undefined, b: number) => (a === undefined ? '-' : `${(a / b).toFixed(2)}x`);
  const lines = [
    `native-ops bench: batch 64, ${threads} threads, ${cpus()[0]?.model ?? 'CPU'}; load average ${load0.toFixed(1)} -> ${load1.toFixed(1)}`,
    `torch: ${typeof torch === 'string' ? torch : `PyTorch ${torch.version} eager`}; wgsl: ${wgslNote}`,
    `min over ${repeats} samples of ms per op; ratios > 1 mean native is faster`,
    '',
    `${'op'.padEnd(30)} ${'native'.padStart(9)} ${'torch'.padStart(9)} ${'wgsl'.padStart(10)} ${'torch/native'.padStart(13)} ${'wgsl/native'.padStart(12)}`,
  ];
  for (const c of ops) {
    const n = nativeMs[c.id];
    lines.push(
      `${c.id.padEnd(30)} ${f(n).padStart(9)} ${f(torchMs[c.id]).padStart(9)} ${f(wgslMs[c.id]).padStart(10)} ${ratio(torchMs[c.id], n).padStart(13)} ${ratio(wgslMs[c.id], n).padStart(12)}`,
    );
  }
  const sum = (m: Record<string, number>) => ops.reduce((s, c) => s + (m[c.id] ?? NaN), 0);
  if (Object.keys(torchMs).length) lines.push('', `total: native ${sum(nativeMs).toFixed(2)} ms, torch ${sum(torchMs).toFixed(2)} ms (${(sum(torchMs) / sum(nativeMs)).toFixed(2)}x)`);
  process.stdout.write(lines.join('\n') + '\n');
  if (values.json) {
    const result = { threads, loadAverage: [load0, load1], torch: typeof torch === 'string' ? torch : torch.version, wgsl: wgslNote, ops, nativeMs, torchMs, wgslMs };
    writeFileSync(values.json, JSON.stringify(result, null, 2) + '\n');
  }
}

main().then(
  () => process.exit(0), // Dawn keeps handles alive
  (e: unknown) => {
    process.stderr.write(`native-ops bench: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
