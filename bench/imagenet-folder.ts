/**
 * The ImageNet-layout methods on an image folder at 224, on this machine: images/s and the
 * process's peak RSS of a ProxylessNAS search step (weight step + α step, one path), an AutoSpace
 * round (weight step + fitness step on a K-cell mixture) and a zero-shot score, at batch 2, 4, 8.
 * Each configuration runs in its own process (so its peak RSS is its own) on a folder of random
 * JPEGs the bench writes (8 classes x --per-class images, sizes 160..300 px; half train, half validation).
 *
 *   npx tsx bench/imagenet-folder.ts [--device cpu|gpu] [--batches 2,4,8] [--steps 3] [--per-class 6]
 *   (the device: --device gpu --batches 64,128,256 --per-class 64)
 *   (one configuration: --one proxyless|evolve|zeroshot --batch N --folder DIR)
 *   --out FILE writes the result there instead of bench/results/imagenet-folder/ (the device suite)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { scoreArch } from '../src/autospace/cell-arch-net.js';
import { AutoSpace, DEFAULT_EVOLVE } from '../src/autospace/evolve.js';
import { openBackend } from '../src/backend/index.js';
import { type SearchImages, streamedImages } from '../src/data/batch-stream.js';
import { proxyMinibatch } from '../src/data/image-dataset.js';
import { openImageFolder } from '../src/data/image-folder.js';
import { readLatencyTable } from '../src/latency/lut.js';
import { tableCost } from '../src/mobilenet/cost/table.js';
import { IMAGENET_LAYOUT } from '../src/mobilenet/layout.js';
import { handDesignedSpace, loadSpace } from '../src/mobilenet/space-file.js';
import { DEFAULT_SEARCH, ProxylessSearch } from '../src/proxyless/search.js';
import { writeNoiseImageFolder } from '../test/helpers/datasets.js';
import { resultsDir, writeResult } from './results-dir.js';

const { values } = parseArgs({
  options: {
    device: { type: 'string', default: 'cpu' },
    batches: { type: 'string', default: '2,4,8' },
    steps: { type: 'string', default: '3' },
    'per-class': { type: 'string', default: '6' },
    one: { type: 'string' },
    batch: { type: 'string' },
    folder: { type: 'string' },
    out: { type: 'string' },
  },
});
const S = 224;
const CLASSES = 8;
const PER_CLASS = Number(values['per-class']);

interface Row {
  method: string;
  batch: number;
  device: string;
  /** Seconds per measured step (after one unmeasured warm step). */
  secondsPerStep: number;
  /** Images through the network per second (a search step reads a train and a validation batch). */
  imagesPerSecond: number;
  peakRssBytes: number;
  /** Peak bytes of live tensors on the backend (device memory on the GPU). */
  peakTensorBytes: number;
}

/** A configuration whose process failed (its stderr went to this run's log). */
interface FailedRow {
  method: string;
  batch: number;
  device: string;
  error: string;
}

async function one(method: string, batch: number, folder: string, steps: number): Promise<Row> {
  const backend = await openBackend(values.device as 'cpu' | 'gpu');
  const ds = await openImageFolder(folder, 'train', { size: S });
  const layout = { ...IMAGENET_LAYOUT, classes: ds.classes };
  const half = Math.floor(ds.count / 2);
  const data: SearchImages = { train: streamedImages(ds, 0, half, S), val: streamedImages(ds, half, ds.count, S) };
  let seconds = 0;
  let perStep = 0;
  let peakTensorBytes = 0;
  try {
    if (method === 'proxyless') {
      const cost = tableCost(readLatencyTable('data/latency/proxylessnas_mobile_trim.yaml'), IMAGENET_LAYOUT).cost!;
      const cfg = { ...DEFAULT_SEARCH, layout, paths: 1 as const, costLoss: { kind: 'hinge' as const, target: 80, lambda: 2 } };
      const run = async (searchSteps: number) => {
        const s = new ProxylessSearch(
          backend,
          { ...cfg, warmupSteps: 0, searchSteps, batchSize: batch, valBatchSize: batch },
          data,
          cost,
        );
        try {
          const t0 = performance.now();
          await s.run();
          return (performance.now() - t0) / 1000;
        } finally {
          s.dispose();
        }
      };
      await run(1);
      seconds = await run(steps);
      perStep = 2 * batch;
    } else if (method === 'evolve') {
      const cfg = {
        ...DEFAULT_EVOLVE,
        layout,
        budgetMadds: 500e6,
        populationSize: 4,
        k: 2,
        warmupSteps: 0,
        iterations: 1,
        batchSize: batch,
      };
      const evo = new AutoSpace(backend, { ...cfg, steps: 1 }, data);
      try {
        await evo.run();
      } finally {
        evo.dispose();
      }
      const timed = new AutoSpace(backend, { ...cfg, steps }, data);
      try {
        const t0 = performance.now();
        await timed.run();
        seconds = (performance.now() - t0) / 1000;
      } finally {
        timed.dispose();
      }
      perStep = 2 * batch;
    } else {
      const space = loadSpace(handDesignedSpace(layout));
      const b = await proxyMinibatch(ds, batch, 1, S);
      const pb = { x: b.x, y: b.y, n: b.n, size: S };
      const choices = space.cells.map((c, i) => (i * 5) % c.length);
      await scoreArch(backend, space, choices, ['wrcor'], pb, 1);
      const t0 = performance.now();
      for (let k = 0; k < steps; k++) await scoreArch(backend, space, choices, ['wrcor'], pb, 1 + k);
      seconds = (performance.now() - t0) / 1000;
      perStep = batch;
    }
    peakTensorBytes = backend.stats().peakBytesInUse;
  } finally {
    backend.dispose();
  }
  return {
    method,
    batch,
    device: values.device!,
    secondsPerStep: seconds / steps,
    imagesPerSecond: (perStep * steps) / seconds,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    peakTensorBytes,
  };
}

const steps = Number(values.steps);
if (values.one) {
  const row = await one(values.one, Number(values.batch), values.folder!, steps);
  process.stdout.write(JSON.stringify(row) + '\n');
} else {
  const file = values.out ?? join(resultsDir('imagenet-folder', { tag: values.device }), 'result.json');
  if (values.out) mkdirSync(dirname(resolve(values.out)), { recursive: true }); // a bad path fails before the work
  const tmp = mkdtempSync(join(tmpdir(), 'wgnas-bench-imagenet-'));
  let wrote = file;
  try {
    const folder = await writeNoiseImageFolder(join(tmp, 'images'), CLASSES, PER_CLASS);
    const rows: (Row | FailedRow)[] = [];
    for (const method of ['proxyless', 'evolve', 'zeroshot']) {
      for (const batch of values.batches!.split(',').map(Number)) {
        const args = [...process.execArgv, process.argv[1], '--one', method, '--batch', String(batch), '--folder', folder];
        const label = `${method.padEnd(10)} batch ${String(batch).padStart(3)}`;
        let out: string | null = null;
        try {
          out = execFileSync(process.execPath, [...args, '--device', values.device!, '--steps', String(steps)], {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'inherit'],
          });
        } catch (e) {
          // One configuration past the device's memory (batch 256 at 224) must not cost the others' rows.
          const error = `exit ${(e as { status?: number }).status ?? '?'}: see the log above`;
          rows.push({ method, batch, device: values.device!, error });
          process.stderr.write(`${label}: failed (${error})\n`);
        }
        if (out !== null) {
          const row = JSON.parse(out.trim().split('\n').pop()!) as Row;
          rows.push(row);
          process.stderr.write(
            `${label}: ${row.secondsPerStep.toFixed(2)} s/step, ${row.imagesPerSecond.toFixed(2)} images/s, peak RSS ${(row.peakRssBytes / 2 ** 20).toFixed(0)} MiB, tensors ${(row.peakTensorBytes / 2 ** 20).toFixed(0)} MiB\n`,
          );
        }
        // Rewritten after each configuration: a run cut by a time limit (the device suite's) keeps the rows it finished.
        wrote = writeResult(
          file,
          JSON.stringify({ folder: `${CLASSES} classes x ${PER_CLASS} JPEGs`, size: S, rows }, null, 1) + '\n',
        );
      }
    }
    process.stderr.write(`wrote ${wrote}\n`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
