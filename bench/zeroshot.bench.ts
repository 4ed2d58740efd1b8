/**
 * Zero-shot scoring speed (issue 3): NAS-Bench-201 architectures scored per second with WRCor on
 * one real CIFAR-10 batch, ours (scoreCell(..., ['wrcor']): WGSL kernels through the tape) against
 * the same network and proxy written in tfjs ops (bench/tfjs-nb201.ts) running on
 * tfjs-backend-webgpu on the same Dawn device. Same cells, same weights, same batch; the scores are
 * compared and the largest relative difference printed.
 *
 *   npx tsx bench/zeroshot.bench.ts [--cells K] [--batch N] [--cells-per-stage N] [--channels C] [--seed S]
 *                                   [--dataset cifar10|folder:PATH]
 *
 * The batch comes from --dataset (bench-data.ts: the fetched CIFAR-10, else the bundled subset of a
 * development checkout), as `wgnas score` draws it.
 *
 * Timed per cell: everything from the host cell to the score (weight upload, forward, backward,
 * correlations, read-back, f64 log-det). Ours also draws its weights inside scoreCell; tfjs gets
 * them pre-read from our network (the host-side conversion to HWIO is inside its timing). One
 * untimed warm-up cell per side compiles the pipelines; the two sides alternate which goes first.
 */
import { parseArgs } from 'node:util';
import { createTfjsBaseline } from '../src/bench/tfjs.js';
import { type HostWeights, readNb201Weights, tfjsWrcor } from './tfjs-nb201.js';
import { webgpuBackend } from '../src/backend/index.js';
import { acquireGpu } from '../src/gpu/adapter.js';
import { NB201_DEFAULT, Nb201Net, type Nb201NetConfig } from '../src/nn/nb201-net.js';
import { scoreCell } from '../src/zeroshot/index.js';
import { formatArch, type Nb201Cell, sampleCell } from '../src/spaces/nb201.js';
import { Rng } from '../src/util/rng.js';
import { benchProxyBatch, openBenchData } from './bench-data.js';

interface Settings {
  K: number;
  batchSize: number;
  seed: number;
  cfg: Nb201NetConfig;
  dataset?: string;
}

function parseSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      cells: { type: 'string', default: '3' },
      batch: { type: 'string', default: '64' },
      'cells-per-stage': { type: 'string', default: String(NB201_DEFAULT.cellsPerStage) },
      channels: { type: 'string', default: String(NB201_DEFAULT.channels) },
      seed: { type: 'string', default: '0' },
      dataset: { type: 'string' },
    },
  });
  const int = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new RangeError(`--${name} must be an integer >= ${min}, got '${v}'`);
    return n;
  };
  return {
    K: int('cells', values.cells, 1),
    batchSize: int('batch', values.batch, 2),
    seed: int('seed', values.seed, 0),
    cfg: {
      ...NB201_DEFAULT,
      channels: int('channels', values.channels, 1),
      cellsPerStage: int('cells-per-stage', values['cells-per-stage'], 1),
    },
    dataset: values.dataset,
  };
}

const log = (s: string) => process.stderr.write(`${s}\n`);

async function main(): Promise<void> {
  const { K, batchSize, seed, cfg, dataset } = parseSettings(process.argv.slice(2));
  // The images first: a dataset that is not there is one line before the GPU starts.
  const data = await openBenchData(dataset, 'zeroshot bench');
  if (data.note) log(data.note);
  const batch = await benchProxyBatch(data, batchSize, seed, 'zeroshot bench');
  const gpu = await acquireGpu();
  // The WGSL kernels, next to tfjs-webgpu on the same Dawn device.
  const be = webgpuBackend(gpu);
  const tfb = await createTfjsBaseline(gpu);
  const { tf } = tfb;
  // createTfjsBaseline defers every submit (for kernel timing); scoring runs tfjs as shipped.
  tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', 15);

  const rng = new Rng(seed + 1);
  const cells: Nb201Cell[] = Array.from({ length: K + 1 }, () => sampleCell(rng)); // [0] = warm-up
  const weights: HostWeights[] = [];
  for (const c of cells) {
    const net = new Nb201Net(be, c, cfg, new Rng(seed)); // what scoreCell builds for this seed
    weights.push(await readNb201Weights(net));
    net.dispose();
  }

  const ours = async (i: number) => (await scoreCell(be, cells[i], ['wrcor'], batch, { net: cfg, seed })).scores.wrcor;
  const theirs = async (i: number) => (await tfjsWrcor(tf, cells[i], cfg, weights[i], batch)).wrcor;
  const timed = async (fn: () => Promise<number>) => {
    const t0 = performance.now();
    const v = await fn();
    return { v, s: (performance.now() - t0) / 1000 };
  };

  log(`warm-up ${formatArch(cells[0])}`);
  const w0 = await timed(() => ours(0));
  const w1 = await timed(() => theirs(0));
  log(`  ours ${w0.s.toFixed(1)} s, tfjs ${w1.s.toFixed(1)} s (includes pipeline compilation)`);

  const tOurs: number[] = [];
  const tTf: number[] = [];
  let worstRel = 0;
  for (let i = 1; i <= K; i++) {
    const order = i % 2 ? ['ours', 'tfjs'] : ['tfjs', 'ours'];
    const r: Record<string, { v: number; s: number }> = {};
    for (const who of order) r[who] = await timed(() => (who === 'ours' ? ours(i) : theirs(i)));
    tOurs.push(r.ours.s);
    tTf.push(r.tfjs.s);
    const rel = Math.abs(r.ours.v - r.tfjs.v) / Math.max(1, Math.abs(r.ours.v));
    if (Number.isFinite(rel)) worstRel = Math.max(worstRel, rel);
    else if (r.ours.v !== r.tfjs.v) worstRel = Infinity;
    log(
      `cell ${i}/${K} ${formatArch(cells[i])}: ours ${r.ours.s.toFixed(2)} s (wrcor ${r.ours.v.toFixed(4)}), ` +
        `tfjs ${r.tfjs.s.toFixed(2)} s (wrcor ${r.tfjs.v.toFixed(4)})`,
    );
  }
  if (tf.memory().numTensors !== 0) log(`warning: ${tf.memory().numTensors} tfjs tensors still alive`);

  const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
  const row = (name: string, t: number[]) =>
    `| ${name} | ${(t.length / sum(t)).toFixed(3)} | ${(sum(t) / t.length).toFixed(2)} | ` +
    `${Math.min(...t).toFixed(2)} | ${Math.max(...t).toFixed(2)} |`;
  const date = new Date().toISOString().slice(0, 10);
  const out = [
    `Zero-shot WRCor scoring, NAS-Bench-201 — adapter: ${gpu.name}${gpu.adapter.isSoftware ? ' (software)' : ''}, ${date}`,
    `settings: ${K} random cells (seed ${seed}), batch ${batchSize} (${data.train.name}, ${data.train.count} training images), channels ${cfg.channels}, ` +
      `${cfg.cellsPerStage} cells/stage, 32x32; tfjs ${tfb.version}; node ${process.version}; wall clock per cell`,
    '',
    '| implementation | architectures/s | mean s/arch | min s | max s |',
    '|---|---:|---:|---:|---:|',
    row('ours (WGSL, scoreCell wrcor)', tOurs),
    row(`tfjs-webgpu ${tfb.version} (same Dawn device)`, tTf),
    '',
    `ours / tfjs throughput: ${(sum(tTf) / sum(tOurs)).toFixed(2)}x; largest relative WRCor difference: ${worstRel.toExponential(2)}`,
    '',
    `tfjs: webgpu backend on our GPUDevice, WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE 15 (its default), CPU forwarding off, ` +
      `z z^T kept off its broken vec4 split-K matmul (bench/tfjs-nb201.ts)`,
    'cells:',
    ...cells.slice(1).map((c, i) => `  ${i + 1}. ${formatArch(c)}: ours ${tOurs[i].toFixed(2)} s, tfjs ${tTf[i].toFixed(2)} s`),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  tfb.dispose();
}

main().then(
  // Dawn keeps handles alive; exit explicitly.
  () => process.exit(0),
  (e: unknown) => {
    const usage = e instanceof RangeError || String((e as { code?: string }).code).startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`zeroshot bench: ${usage ? (e as Error).message : ((e as Error).stack ?? e)}\n`);
    process.exit(1);
  },
);
