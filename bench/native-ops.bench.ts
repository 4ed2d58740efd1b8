/**
 * Op-level benchmark of the native CPU backend at the NAS-Bench-201 shapes, batch 64: conv 3x3 and
 * 1x1 (forward, backward data, backward weights), batch norm, ReLU (forward and backward) and
 * WRCor's correlation Gram product (N = 64 rows of D = C*H*W), at 16/32/64 channels and 32/16/8 px,
 * and NB201's ReLU-Conv-BN edge forward and backward as a chain (PyTorch: through autograd).
 * Side by side: native (this addon), PyTorch eager on the CPU (bench/native-ops-torch.py, when
 * /usr/bin/python3 has torch: apt-get install python3-torch; bench only) and the WGSL ops on the
 * Dawn adapter (lavapipe on a CPU-only machine), same threads, same machine, one run.
 *
 *   npx tsx bench/native-ops.bench.ts [--threads N] [--conv auto|direct] [--rounds K] [--repeats R] [--min-ms T]
 *                                     [--clock wall|cpu] [--no-wgsl] [--no-torch] [--only SUBSTRING] [--json out.json]
 *
 * torch* is PyTorch with glibc told to keep freed memory (see TUNED_MALLOC): the stronger baseline.
 * Each figure is the minimum over R samples of the mean time per op, a sample lasting about
 * T / R ms, and over K rounds that alternate native, torch and torch* op by op (a burst of other
 * load on a shared machine lands on all three alike; the load average is printed). The
 * WGSL column runs once (lavapipe is 10-100x slower). --clock cpu times process CPU time (user +
 * system, page faults included) instead of wall time: with --threads 1 it is the per-op cost that
 * other processes on a shared machine barely disturb (with more threads it also counts OpenMP's
 * spin-waiting; the WGSL column stays on wall time).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

import { acquireGpu } from '../src/gpu/index.js';
import { type Backend, cpuBackend, webgpuBackend } from '../src/backend/index.js';
import { NativeDevice } from '../src/native/device.js';
import { Rng } from '../src/util/rng.js';
import { writeResult } from './results-dir.js';

type Kind = 'conv_fwd' | 'conv_bwd_data' | 'conv_bwd_weight' | 'bn_fwd' | 'bn_bwd' | 'relu_fwd' | 'relu_bwd' | 'gram' | 'rcb';

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
    for (const kind of ['bn_fwd', 'bn_bwd', 'relu_fwd', 'relu_bwd'] as const)
      out.push({ id: `${kind} C${C} ${H}px`, kind, N, C, H });
    out.push({ id: `gram N64 D${C * H * H}`, kind: 'gram', N, C, H, D: C * H * H });
    for (const k of [3, 1])
      out.push({ id: `relu-conv${k}-bn f+b C${C} ${H}px`, kind: 'rcb', N, C, H, Cout: C, k, stride: 1, pad: k >> 1 });
  }
  return out;
}

/** One op as a closure over prepared inputs; each call enqueues it once and frees what it made. */
type Runner = () => void;

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

/** `c` on `be` (the native addon through the cpu backend, or the WGSL kernels) over inputs made once. */
function prepare(be: Backend, c: OpCase): Runner {
  const d = inputs(c);
  const xs = [c.N, c.C, c.H, c.H];
  const p = { stride: c.stride ?? 1, pad: c.pad ?? 0 };
  const wShape = [c.Cout ?? c.C, c.C, c.k ?? 1, c.k ?? 1];
  const x = be.upload(d.x, c.kind === 'gram' ? [1, c.N, c.D!] : xs);
  const w = be.upload(d.w, wShape);
  const dy = be.upload(d.dy, xs);
  const g = be.upload(d.g, [c.C]);
  const op = be.ops;
  const bn = c.kind === 'bn_bwd' ? op.batchNormForward(x, g, g) : null;
  const gram = c.kind === 'gram' ? be.empty([1, c.N, c.N]) : null;
  const free = (...ts: Array<{ dispose(): void }>) => ts.forEach((t) => t.dispose());
  switch (c.kind) {
    case 'conv_fwd':
      return () => free(op.conv2d(x, w, p));
    case 'conv_bwd_data':
      return () => free(op.conv2dBackwardInput(dy, w, xs, p));
    case 'conv_bwd_weight':
      return () => free(op.conv2dBackwardWeight(x, dy, wShape, p));
    case 'bn_fwd':
      return () => free(...Object.values(op.batchNormForward(x, g, g)));
    case 'bn_bwd':
      return () => free(...Object.values(op.batchNormBackward(dy, x, bn!.mean, bn!.invStd, g)));
    case 'relu_fwd':
      return () => free(op.relu(x));
    case 'relu_bwd':
      return () => free(op.reluBackward(dy, x));
    case 'gram':
      // Normalises x in place each time: idempotent up to rounding, as the proxy's arena pass.
      return () => op.correlationOffDiagInPlace(x, gram!);
    case 'rcb':
      return () => {
        const r = op.relu(x);
        const y = op.conv2d(r, w, p);
        const b = op.batchNormForward(y, g, g);
        const gb = op.batchNormBackward(dy, y, b.mean, b.invStd, g);
        const gr = op.conv2dBackwardInput(gb.dx, w, xs, p);
        const gw = op.conv2dBackwardWeight(r, gb.dx, wShape, p);
        free(r, y, ...Object.values(b), ...Object.values(gb), gw, op.reluBackward(gr, x), gr);
      };
  }
}

/**
 * Minimum over `repeats` samples of the mean ms per call; a sample lasts about minMs / repeats.
 * Each call is awaited (sync) before the next, as PyTorch eager runs: otherwise the queue runs
 * ahead and every queued call holds its own output, so a loop of one op streams through fresh,
 * cache-cold buffers (the chained 'relu-conv-bn' rows measure the queued pipeline instead).
 */
type Clock = 'wall' | 'cpu';

/** Milliseconds on the chosen clock (cpu: this process's user + system time). */
function clockMs(clock: Clock): number {
  if (clock === 'wall') return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function time(b: Backend, run: Runner, repeats: number, minMs: number, clock: Clock = 'wall'): Promise<number> {
  const once = async () => {
    run();
    await b.sync();
  };
  await once();
  let t = performance.now();
  await once();
  const one = Math.max(performance.now() - t, 1e-3);
  const iters = Math.max(1, Math.floor(minMs / repeats / one));
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    t = clockMs(clock);
    for (let i = 0; i < iters; i++) await once();
    best = Math.min(best, (clockMs(clock) - t) / iters);
  }
  return best;
}

/**
 * glibc settings that keep freed memory in the heap. PyTorch's CPU allocator returns every large
 * tensor to glibc, which gives it back to the kernel (mmap / trim), so each op's outputs and oneDNN
 * reorder buffers are fresh pages: on this VM that is ~3000 page faults and ~70 ms per 3x3 conv at
 * 16 channels, 32 px, batch 64 (3.5 ms with these settings). Both are reported: the default is
 * what a user runs, the tuned one the stronger baseline.
 */
const TUNED_MALLOC = { MALLOC_MMAP_THRESHOLD_: '1000000000', MALLOC_TRIM_THRESHOLD_: '1000000000', MALLOC_TOP_PAD_: '536870912' };

/** A long-lived bench/native-ops-torch.py process answering one op timing at a time. */
class TorchServer {
  private readonly lines: AsyncIterator<string>;

  private constructor(
    private readonly proc: ChildProcessWithoutNullStreams,
    readonly version: string,
    lines: AsyncIterator<string>,
  ) {
    this.lines = lines;
  }

  /** Starts the server, or returns why PyTorch is unavailable. */
  static async start(threads: number, env: Record<string, string> = {}): Promise<TorchServer | string> {
    const script = join(dirname(fileURLToPath(import.meta.url)), 'native-ops-torch.py');
    const proc = spawn('/usr/bin/python3', [script, String(threads)], { env: { ...process.env, ...env } });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const failed = new Promise<string>((resolve) => {
      proc.on('error', (e) => resolve(`python3 failed to start (${e.message})`));
      proc.on('exit', (code) =>
        resolve(
          /No module named 'torch'/.test(stderr)
            ? 'no torch for /usr/bin/python3 (apt-get install python3-torch)'
            : `python3 exited ${code}: ${stderr.trim().split('\n').pop() ?? ''}`,
        ),
      );
    });
    const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
    const first = await Promise.race([lines.next().then((r) => (r.done ? null : r.value)), failed]);
    if (first === null || !first.startsWith('{')) return (await failed) ?? 'python3 gave no answer';
    const hello = JSON.parse(first) as { torch: string };
    return new TorchServer(proc, hello.torch, lines);
  }

  async time(op: OpCase, repeats: number, minMs: number, clock: Clock): Promise<number> {
    this.proc.stdin.write(JSON.stringify({ op, repeats, minMs, clock }) + '\n');
    const r = await this.lines.next();
    if (r.done) throw new Error('the PyTorch bench process exited');
    return (JSON.parse(r.value) as { ms: number }).ms;
  }

  close(): void {
    this.proc.stdin.end();
    this.proc.kill();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      threads: { type: 'string' },
      rounds: { type: 'string', default: '3' },
      repeats: { type: 'string', default: '5' },
      'min-ms': { type: 'string', default: '300' },
      clock: { type: 'string', default: 'wall' },
      conv: { type: 'string', default: 'auto' },
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
  const rounds = int('rounds', values.rounds, 1)!;
  const minMs = int('min-ms', values['min-ms'], 1)!;
  if (values.clock !== 'wall' && values.clock !== 'cpu') {
    process.stderr.write(`--clock must be wall or cpu, got ${values.clock}\n`);
    process.exit(2);
  }
  const clock = values.clock as Clock;
  if (values.conv !== 'auto' && values.conv !== 'direct') {
    process.stderr.write(`--conv must be auto or direct, got ${values.conv}\n`);
    process.exit(2);
  }
  const all = cases();
  const ops = all.filter((c) => values.only === undefined || c.id.includes(values.only));
  if (!ops.length) {
    // An --only that matches nothing is a typo: refused before any work, not an empty table.
    const kinds = [...new Set(all.map((c) => c.kind))].join(', ');
    process.stderr.write(
      `--only ${JSON.stringify(values.only)}: no op id contains it (ids are KIND SHAPE, e.g. '${all[0].id}'; kinds: ${kinds})\n`,
    );
    process.exit(2);
  }
  const dev = NativeDevice.create({ threads: int('threads', values.threads, 1), convAlgorithm: values.conv });
  const threads = dev.threads;
  const load0 = loadavg()[0];

  const nativeMs: Record<string, number> = {};
  const torchMs: Record<string, number> = {};
  const tunedMs: Record<string, number> = {};
  const keepMin = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [k, v] of Object.entries(from)) into[k] = Math.min(into[k] ?? Infinity, v);
  };
  // Per op, per round: native, torch, torch* back to back, so a burst of other load on a shared
  // machine lands on all three alike; the minimum over rounds is kept.
  let torchNote = values['no-torch'] ? 'skipped (--no-torch)' : '';
  const servers: Array<[Record<string, number>, TorchServer]> = [];
  if (!values['no-torch']) {
    for (const [into, env] of [
      [torchMs, {}],
      [tunedMs, TUNED_MALLOC],
    ] as const) {
      const s = await TorchServer.start(threads, env);
      if (typeof s === 'string') {
        torchNote = s;
        break;
      }
      torchNote = `PyTorch ${s.version} eager`;
      servers.push([into, s]);
    }
  }
  const nb = cpuBackend(dev);
  for (const c of ops) {
    const run = prepare(nb, c);
    for (let r = 0; r < rounds; r++) {
      keepMin(nativeMs, { [c.id]: await time(nb, run, repeats, minMs, clock) });
      for (const [into, s] of servers) keepMin(into, { [c.id]: await s.time(c, repeats, minMs, clock) });
    }
  }
  for (const [, s] of servers) s.close();
  dev.destroy();

  const wgslMs: Record<string, number> = {};
  let wgslNote = 'skipped (--no-wgsl)';
  if (!values['no-wgsl']) {
    const gpu = await acquireGpu();
    wgslNote = gpu.name;
    const gb = webgpuBackend(gpu);
    // The software adapter is 10-100x slower: fewer, shorter samples.
    for (const c of ops) wgslMs[c.id] = await time(gb, prepare(gb, c), Math.min(3, repeats), minMs);
    gpu.destroy();
  }
  const load1 = loadavg()[0];

  const f = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(3));
  const ratio = (a: number | undefined, b: number) => (a === undefined ? '-' : `${(a / b).toFixed(2)}x`);
  const cols: Array<[string, number, (c: OpCase) => string]> = [
    ['op', -32, (c) => c.id],
    ['native', 9, (c) => f(nativeMs[c.id])],
    ['torch', 9, (c) => f(torchMs[c.id])],
    ['torch*', 9, (c) => f(tunedMs[c.id])],
    ['wgsl', 10, (c) => f(wgslMs[c.id])],
    ['torch/nat', 10, (c) => ratio(torchMs[c.id], nativeMs[c.id])],
    ['torch*/nat', 11, (c) => ratio(tunedMs[c.id], nativeMs[c.id])],
    ['wgsl/nat', 9, (c) => ratio(wgslMs[c.id], nativeMs[c.id])],
  ];
  const row = (cells: string[]) =>
    cells.map((v, i) => (cols[i][1] < 0 ? v.padEnd(-cols[i][1]) : v.padStart(cols[i][1]))).join(' ');
  const lines = [
    `native-ops bench: batch 64, ${threads} threads, ${cpus()[0]?.model ?? 'CPU'}; load average ${load0.toFixed(1)} -> ${load1.toFixed(1)}; native convAlgorithm ${dev.convAlgorithm}`,
    `torch: ${torchNote}; torch*: the same with glibc keeping freed memory (${Object.entries(TUNED_MALLOC)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')})`,
    `wgsl: ${wgslNote}`,
    `${clock === 'cpu' ? 'CPU' : 'wall'} ms per op: min over ${repeats} samples x ${rounds} rounds (wgsl: wall, one round); ratios > 1 mean native is faster`,
    '',
    row(cols.map((c) => c[0])),
    ...ops.map((c) => row(cols.map((col) => col[2](c)))),
  ];
  const sum = (m: Record<string, number>) => ops.reduce((s, c) => s + (m[c.id] ?? NaN), 0);
  if (Object.keys(torchMs).length) {
    const n = sum(nativeMs);
    lines.push(
      '',
      `total: native ${n.toFixed(2)} ms, torch ${sum(torchMs).toFixed(2)} ms (${(sum(torchMs) / n).toFixed(2)}x), torch* ${sum(tunedMs).toFixed(2)} ms (${(sum(tunedMs) / n).toFixed(2)}x)`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
  if (values.json) {
    const result = {
      threads,
      convAlgorithm: dev.convAlgorithm,
      rounds,
      repeats,
      clock,
      minMs,
      loadAverage: [load0, load1],
      torch: torchNote,
      torchTunedMalloc: TUNED_MALLOC,
      wgsl: wgslNote,
      ops,
      nativeMs,
      torchMs,
      torchTunedMs: tunedMs,
      wgslMs,
    };
    writeResult(values.json, JSON.stringify(result, null, 2) + '\n');
  }
}

main().then(
  () => process.exit(0), // Dawn keeps handles alive
  (e: unknown) => {
    process.stderr.write(`native-ops bench: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
