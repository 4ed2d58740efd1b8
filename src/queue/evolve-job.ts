/**
 * The worker's side of `wgnas evolve-space --redis`: one whole AutoSpace evolution per job, run as a
 * local `wgnas evolve-space --seed N` would run it (same data split, configuration and device
 * record), its learned space stored under the run's content key.
 */
import { AutoSpace, type EvolveResult as AutoSpaceResult } from '../autospace/evolve.js';
import { type Backend, gpuOf } from '../backend/index.js';
import { openDataset, parseDatasetSpec } from '../data/dataset-spec.js';
import { materialize } from '../data/image-dataset.js';
import { searchSplitImages } from '../data/search-split.js';
import { getLayout } from '../mobilenet/layout.js';
import type { SpaceFile } from '../mobilenet/space.js';
import { checkPrecision, type EvolveJobData, JobRefusedError, type ScoreJobResult, splitHash } from './jobs.js';
import type { JsonStore } from './result-store.js';

/** The image side AutoSpace trains on (as `wgnas evolve-space`). */
const RESOLUTION = 32;

/** One evolution as stored: the learned space, the history when asked for, its time and worker. */
export interface EvolveRunResult {
  space: SpaceFile;
  history?: { history: AutoSpaceResult['history']; populations: AutoSpaceResult['populations'] };
  seconds: number;
  worker: string;
}

export async function runEvolveJob(
  data: EvolveJobData,
  o: { backend: Backend; store: JsonStore<EvolveRunResult>; worker: string; onProgress?: (fraction: number) => void },
): Promise<ScoreJobResult> {
  const e = data.evolve;
  const [key] = data.keys;
  if ((await o.store.getMany([key])).size) return { scored: 0, skipped: 1 };
  // Before the data: an evolution at other operands would be stored as this run's.
  checkPrecision(e.f16, gpuOf(o.backend)?.f16Compute === true);
  const { ds } = await openDataset(parseDatasetSpec(e.dataset), 'train', { size: RESOLUTION });
  if (e.train + e.val > ds.count)
    throw new JobRefusedError(
      'data',
      `--dataset ${e.dataset} has ${ds.count} training images on this worker, the run needs ${e.train + e.val}`,
    );
  // The submitting run's split (stratified by class, as cli/dataset.ts runSearchSplit cuts it).
  const { images } = searchSplitImages(ds, { train: e.train, val: e.val });
  const split = {
    train: await materialize(images, 0, e.train, RESOLUTION),
    val: await materialize(images, e.train, e.train + e.val, RESOLUTION),
  };
  if (splitHash(split) !== e.dataHash)
    throw new JobRefusedError('data', `--dataset ${e.dataset} holds other images on this worker than on the submitting machine`);
  const cfg = { ...e.config, layout: { ...getLayout(e.layout), classes: ds.classes } };
  const evo = new AutoSpace(o.backend, cfg, split);
  try {
    const total = cfg.warmupSteps + cfg.iterations * cfg.steps;
    const res = await evo.run(
      (ev) => o.onProgress?.((cfg.warmupSteps + ev.iteration * cfg.steps) / total),
      (s) => o.onProgress?.(s / total),
    );
    // As a local run records its device (cli deviceRecord).
    res.space.meta = { ...res.space.meta, device: o.backend.device, deviceName: o.backend.deviceName };
    await o.store.put(key, {
      space: res.space,
      ...(e.history ? { history: { history: res.history, populations: res.populations } } : {}),
      seconds: res.seconds,
      worker: o.worker,
    });
  } finally {
    evo.dispose();
  }
  return { scored: 1, skipped: 0 };
}
