/**
 * `wgnas train` steps against PyTorch eager on the CPU, same machine, same threads, one run: images/s
 * of training steps (forward, label-smoothed loss, backward, SGD Nesterov, BN running statistics;
 * no augmentation) of one NAS-Bench-201 network (16 channels, 5 cells per stage, batch 64 of 32x32
 * images). Ours: Trainer.trainEpoch on the native CPU backend; PyTorch: bench/train-vs-torch.py (the
 * network of scripts/train-reference.py) in /usr/bin/python3, a fresh process per round. Rounds
 * alternate ours / torch so a burst of load lands on both; each figure is the minimum over rounds of
 * the per-round median step. --clock cpu (default) times process CPU time, the steadier figure on a
 * shared machine at --threads 1. --openblas DIR puts DIR on PyTorch's LD_LIBRARY_PATH (Debian's
 * python3-torch links the reference BLAS), as bench/cpu-vs-torch.ts does.
 *
 *   npx tsx bench/train-vs-torch.ts [--threads 1] [--steps 5] [--rounds 3] [--clock cpu|wall]
 *                                   [--arch CELL] [--openblas DIR] [--json out.json]
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuBackend } from '../src/backend/index.js';
import { NativeDevice } from '../src/native/device.js';
import { parseArch } from '../src/spaces/nb201.js';
import { buildNetwork } from '../src/train/network.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';
import { memoryDataset } from '../test/helpers/train-parity.js';
import { writeFileAtomic } from '../src/util/durable.js';

const { values: v } = parseArgs({
  options: {
    threads: { type: 'string', default: '1' },
    steps: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    clock: { type: 'string', default: 'cpu' },
    arch: {
      type: 'string',
      default: '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|',
    },
    openblas: { type: 'string' },
    json: { type: 'string' },
  },
});
const threads = Number(v.threads);
const steps = Number(v.steps);
const rounds = Number(v.rounds);
const clock = v.clock === 'wall' ? 'wall' : 'cpu';
const B = 64;
const nowMs = () => {
  if (clock === 'wall') return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const backend = cpuBackend(NativeDevice.create({ threads }));
const net = buildNetwork(
  backend,
  { kind: 'nb201', cell: parseArch(v.arch!), cfg: { channels: 16, cellsPerStage: 5, numClasses: 10 }, inputHW: 32 },
  0,
);
const rng = new Rng(1);
const count = B * steps;
const labels = Array.from({ length: count }, () => rng.int(10));
const train = memoryDataset('train', rng.normals(count * 3 * 32 * 32), labels, 10, 32);
const test = memoryDataset('test', rng.normals(2 * 3 * 32 * 32), [0, 1], 10, 32);
const trainer = new Trainer(
  backend,
  net,
  { train, test, size: 32 },
  {
    epochs: 1000,
    batchSize: B,
    lr: 0.01,
    momentum: 0.9,
    weightDecay: 5e-4,
    labelSmoothing: 0.1,
    warmupEpochs: 0,
    augment: false,
    seed: 0,
    bnMomentum: 0.1,
  },
);

async function oursRound(epoch: number): Promise<number[]> {
  const ms: number[] = [];
  let t = nowMs();
  await trainer.trainEpoch(epoch, () => {
    const now = nowMs();
    ms.push(now - t);
    t = now;
  });
  return ms;
}

const script = join(dirname(fileURLToPath(import.meta.url)), 'train-vs-torch.py');
const env = {
  ...process.env,
  GOMP_SPINCOUNT: process.env.GOMP_SPINCOUNT ?? '1000',
  ...(v.openblas ? { LD_LIBRARY_PATH: v.openblas, OPENBLAS_NUM_THREADS: String(threads) } : {}),
};
function torchRound(): { version: string; ms: number[] } {
  const args = [script, '--arch', v.arch!, '--steps', String(steps), '--threads', String(threads), '--clock', clock];
  const r = spawnSync('/usr/bin/python3', args, { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`train-vs-torch.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const load0 = loadavg();
await oursRound(0); // warm-up: kernels, buffers
const ours: number[] = [];
const torch: number[] = [];
let version = '';
for (let r = 0; r < rounds; r++) {
  ours.push(median(await oursRound(r + 1)));
  const t = torchRound();
  version = t.version;
  torch.push(median(t.ms));
}
const load1 = loadavg();
const oursMs = Math.min(...ours);
const torchMs = Math.min(...torch);
const result = {
  date: new Date().toISOString(),
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  threads,
  clock,
  batch: B,
  arch: v.arch,
  network: 'NB201 C=16 N=5, 32x32, 10 classes',
  torch: `PyTorch ${version}${v.openblas ? ` + OpenBLAS (${v.openblas})` : ''}`,
  load: [load0[0], load1[0]],
  oursStepMs: ours,
  torchStepMs: torch,
  oursImagesPerSec: (B * 1000) / oursMs,
  torchImagesPerSec: (B * 1000) / torchMs,
  ratio: torchMs / oursMs,
};
console.log(JSON.stringify(result, null, 2));
if (v.json) writeFileAtomic(v.json, JSON.stringify(result, null, 2) + '\n');
trainer.dispose();
net.dispose();
