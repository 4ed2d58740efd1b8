/**
 * What an evolve-space checkpoint must agree on to be resumed: the run's settings, keyed by the
 * CLI flag that sets each one so a refusal names it (`--resume: --k was 2, now 3`; none may grow:
 * --iterations and --steps set the learning-rate schedule), and a structural check of the saved
 * evolution state so a corrupt or hand-edited state.json ends in one line. The checkpoint files
 * and the settings check are the ones proxyless and train use (nn/checkpoint.ts).
 */
import { type DeviceKind, F16_KEY } from '../backend/index.js';
import type { LayerShape } from '../mobilenet/cell.js';
import { validateCell } from '../mobilenet/cell.js';
import type { MobileNetLayout } from '../mobilenet/layout.js';
import { SEARCH_SPLIT_VERSION, SPLIT_KEY, type SplitSizes } from '../data/search-split.js';
import {
  checkCheckpointKind,
  type CheckpointState,
  checkSettingsAndLayout,
  corruptCheckpoint,
  isCount,
} from '../nn/checkpoint.js';
import { sha256Hex } from '../util/durable.js';
import { isRngSnapshot, type RngSnapshot } from '../util/rng.js';
import { bnSetting, type GpuKernels } from '../util/ab-env.js';
import type { RunSettings } from '../util/run-settings.js';
import type { EvolveConfig, IterationEvent } from './evolve-config.js';
import { referenceLeftOut, type SavedPopulations } from './population.js';

export const EVOLVE_CHECKPOINT_KIND = 'wgnas-evolve-space';

/** Where the run's images come from: the --dataset flag and a fingerprint of its splits. */
export interface EvolveData {
  flag: string;
  images: string;
}

/** The settings an evolve-space checkpoint records (the same keys as proxyless's where the flags agree). */
export function evolveRunSettings(
  cfg: EvolveConfig,
  split: SplitSizes,
  data: EvolveData,
  device: DeviceKind,
  /** The CPU backend's threads (its results depend on them slightly); null on the GPU. */
  cpuThreads: number | null,
  /** f16 operands (WGNAS_F16=1 on a GPU with shader-f16: another trajectory); absent: not recorded. */
  f16?: boolean,
  /** The GPU's kernels (device.ts gpuKernelsOf: the adapter, the batch norm's width and plan, on hardware the convolution core and tiles: another trajectory in the last bits; a queue's: each worker's own); absent or null: not recorded. */
  bn?: GpuKernels,
): RunSettings {
  const s: RunSettings = {
    '--dataset': data.flag,
    '--dataset images': data.images,
    [SPLIT_KEY]: SEARCH_SPLIT_VERSION,
    '--layout': `${cfg.layout.name} (${sha256Hex(JSON.stringify(cfg.layout)).slice(0, 12)})`,
    '--budget-madds': cfg.budgetMadds,
    '--population': cfg.populationSize,
    '--k': cfg.k,
    '--tournament': cfg.tournamentSize,
    '--iterations': cfg.iterations,
    '--steps': cfg.steps,
    '--warmup': cfg.warmupSteps,
    '--warmup-mix': cfg.warmupMix,
    '--no-inherit': !cfg.inheritWeights,
    '--no-cell-lr-scale': !cfg.scaleCellLr,
    '--min-evals': cfg.minEvaluations,
    '--replace-every': cfg.replaceEvery,
    '--guide': cfg.guideIterations,
    '--init': cfg.init,
    '--max-nodes': cfg.maxNodes,
    '--batch': cfg.batchSize,
    '--lr': cfg.weightLr,
    '--fitness-lr': cfg.fitnessLr,
    '--penalty': cfg.budgetPenalty,
    '--slack': cfg.layerSlack,
    '--no-augment': !cfg.augment,
    '--seed': cfg.seed,
    '--bn-eps': cfg.bnEps,
    '--bn-momentum': cfg.bnMomentum,
    '--train': split.train,
    '--val': split.val,
    // The devices agree within tolerance, not bit for bit: a run continues where it started.
    '--device': device,
  };
  if (device === 'cpu' && cpuThreads !== null) s['--cpu-threads'] = cpuThreads;
  if (f16 !== undefined) s[F16_KEY] = f16 ? 1 : 0;
  return { ...s, ...bnSetting(bn) };
}

/** The checkpoint is evolve-space's, for this layout, with these settings (one line naming a changed flag). */
export function checkEvolveSettings(ck: CheckpointState, layout: MobileNetLayout, now: RunSettings): void {
  checkCheckpointKind(ck, EVOLVE_CHECKPOINT_KIND, 'evolve-space');
  const saved = ck.meta.settings;
  if (!isObject(saved)) corruptCheckpoint(`${ck.path}/state.json`, `'settings' missing`);
  // A --redis run's checkpoint records its workers' own kernels: the advice names the queue.
  checkSettingsAndLayout(ck, { ...BN_BEFORE_FLAGS, ...(saved as RunSettings) }, layout, now, [], true);
}

/**
 * Checkpoints from before --bn-eps/--bn-momentum evolved at these (there was no other): they read
 * as recording them, so a resume at another value is refused by name rather than skipped as unrecorded.
 */
const BN_BEFORE_FLAGS: RunSettings = { '--bn-eps': 1e-5, '--bn-momentum': 0.1 };

export interface SavedEvolveState {
  counters: { iteration: number; warmup: number; warmupLossSum: number; seconds: number };
  rng: RngSnapshot;
  populations: SavedPopulations;
  history: IterationEvent[];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Checks a checkpoint's evolution state against this run's config and layer shapes; throws one clear line. */
export function validateEvolveState(
  meta: Record<string, unknown>,
  cfg: EvolveConfig,
  shapes: readonly LayerShape[],
  where: string,
): SavedEvolveState {
  const bad = (what: string): never => corruptCheckpoint(where, what);
  const c = meta.counters;
  if (
    !isObject(c) ||
    !isCount(c.iteration) ||
    c.iteration > cfg.iterations ||
    !isCount(c.warmup) ||
    c.warmup > cfg.warmupSteps ||
    (c.iteration > 0 && c.warmup !== cfg.warmupSteps) ||
    !Number.isFinite(c.warmupLossSum) ||
    !(typeof c.seconds === 'number' && c.seconds >= 0)
  )
    bad(`'counters' must be {iteration, warmup, warmupLossSum, seconds} within this run's settings`);
  const counters = c as SavedEvolveState['counters'];
  const rng = meta.rng;
  if (!isRngSnapshot(rng)) bad(`'rng' must be {s, spare}: a uint32 and null or a number`);
  const pops = meta.populations;
  if (!isObject(pops) || !isCount(pops.nextId) || !Array.isArray(pops.members) || pops.members.length !== shapes.length)
    bad(`'populations' must be {nextId, members} with ${shapes.length} layers`);
  const { nextId, members } = pops as unknown as SavedPopulations;
  const ids = new Set<number>();
  const leftOut = new Set(referenceLeftOut(cfg, shapes));
  members.forEach((pop, b) => {
    if (!Array.isArray(pop) || pop.length < 1 || pop.length > cfg.populationSize)
      bad(`layer ${b}'s population must hold 1 to ${cfg.populationSize} members`);
    let references = 0;
    for (const m of pop) {
      if (
        !isObject(m) ||
        !isCount(m.id) ||
        m.id >= nextId ||
        ids.has(m.id) ||
        !Number.isFinite(m.fitness) ||
        !isCount(m.evaluated) ||
        typeof m.reference !== 'boolean'
      )
        bad(`layer ${b}: a member must be {id, cell, fitness, evaluated, reference} with an id below nextId, used once`);
      ids.add(m.id);
      if (m.reference) references++;
      try {
        validateCell(m.cell, shapes[b]);
      } catch (e) {
        bad(`layer ${b}, member ${m.id}: ${(e as Error).message}`);
      }
    }
    if (references > 1) bad(`layer ${b} has ${references} reference cells`);
    // A layer whose budget the reference exceeds starts without it (checkpoints written before that
    // rule hold it there still, and go on with it).
    if (counters.iteration < cfg.guideIterations && references !== 1 && !leftOut.has(b))
      bad(`layer ${b} lost its reference cell while it guides`);
  });
  const history = meta.history;
  if (!Array.isArray(history) || history.length !== counters.iteration)
    bad(`'history' must list the ${counters.iteration} iterations done`);
  return {
    counters,
    rng: rng as unknown as RngSnapshot,
    populations: pops as unknown as SavedPopulations,
    history: history as IterationEvent[],
  };
}
