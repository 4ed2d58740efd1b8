/**
 * What a proxyless checkpoint must agree on to be resumed: the run's settings, keyed by the CLI
 * flag that sets each one so a refusal can name it (`--resume: --seed was 1, now 2`), and a
 * structural check of the saved search state (α, Adam, counters, cost model) so a corrupt or
 * hand-edited state.json ends in one clear line instead of a TypeError deep in the search.
 */
import { type DeviceKind, F16_KEY } from '../backend/index.js';
import { type CostModel, type CostUnit } from '../mobilenet/cost/model.js';
import { sha256Hex } from '../util/durable.js';
import { SEARCH_SPLIT_VERSION, SPLIT_KEY, type SplitSizes } from '../data/search-split.js';
import type { AlphaAdamState } from '../nn/optim.js';
import {
  checkCheckpointKind,
  CheckpointError,
  type CheckpointState,
  checkSettingsAndLayout as checkCheckpointSettings,
  corruptCheckpoint,
  isCount,
  readCheckpointState,
} from '../nn/checkpoint.js';
import { bnSetting, type GpuKernels } from '../util/ab-env.js';
import type { RunSettings } from '../util/run-settings.js';
import type { ProxylessSearchConfig } from './search-config.js';

export { ResumeMismatchError, type RunSettings } from '../util/run-settings.js';
export type { SplitSizes } from '../data/search-split.js';

/** state.json's `kind` of a proxyless checkpoint (search.ts writes it; every version has). */
export const PROXYLESS_CHECKPOINT_KIND = 'wgnas-proxyless';

/** Settings that may grow on --resume (a longer run continues the shorter one's state). */
export const GROWABLE_SETTINGS = ['--steps'];

const short = (s: string) => s.slice(0, 12);

/** A cost model's identity: its unit, where its numbers come from, and a fingerprint of them. */
export function costFingerprint(cost: Pick<CostModel, 'unit' | 'fixed' | 'perPosition'>): string {
  return short(sha256Hex(JSON.stringify([cost.unit, cost.fixed, cost.perPosition])));
}

/** The target as its flag takes it: ms, or millions of MAdds. */
function targetAsGiven(target: number, unit: CostUnit): number {
  return unit === 'madds' ? target / 1e6 : target;
}

/**
 * The settings a checkpoint records. A cost model enters as a fingerprint of its numbers (table
 * content, --missing and the layout's pricing all show up there), under the flag that chose it;
 * a space as a fingerprint of its cells; the target in the unit of its flag.
 */
export function proxylessRunSettings(
  cfg: ProxylessSearchConfig,
  cost: CostModel | null,
  split?: SplitSizes,
  device?: DeviceKind,
  /** The CPU backend's threads (its results depend on them slightly); null or absent on the GPU. */
  cpuThreads?: number | null,
  /** f16 operands (WGNAS_F16=1 on a GPU with shader-f16: another trajectory); absent: not compared. */
  f16?: boolean,
  /** The GPU's kernels (device.ts gpuKernelsOf: the adapter, the batch norm's width and plan, on hardware the convolution core and tiles: another trajectory in the last bits); absent or null: not compared. */
  bn?: GpuKernels,
): RunSettings {
  const loss = cfg.costLoss;
  const unit = cost?.unit ?? null;
  const s: RunSettings = {
    '--layout': `${cfg.layout.name} (${short(sha256Hex(JSON.stringify(cfg.layout)))})`,
    '--space-file': cfg.space
      ? `${cfg.space.file.source} space (cells ${short(sha256Hex(JSON.stringify(cfg.space.cells)))})`
      : null,
    '--latency-table':
      cost && (cost.source === 'table' || cost.source === 'imagenet-proxy')
        ? `${cost.source} prices ${costFingerprint(cost)}`
        : null,
    '--price-cells': cost?.source === 'measured' ? measuredSetup(cost) : null,
    '--mode': cfg.mode,
    '--paths': cfg.paths,
    '--gate-grads': cfg.gateGrads,
    '--loss': loss?.kind ?? null,
    '--target-ms': loss && unit === 'ms' ? targetAsGiven(loss.target, unit) : null,
    '--target-madds': loss && unit === 'madds' ? targetAsGiven(loss.target, unit) : null,
    '--lambda': loss?.lambda ?? null,
    '--beta': loss?.beta ?? null,
    '--reward-w': cfg.reinforceW,
    '--rl-samples': cfg.reinforceSamples,
    '--warmup': cfg.warmupSteps,
    '--steps': cfg.searchSteps,
    '--arch-every': cfg.archEvery,
    '--arch-warmup-steps': cfg.archWarmupSteps,
    '--label-smoothing': cfg.labelSmoothing,
    '--arch-init-std': cfg.alphaInitStd,
    '--bn-eps': cfg.bnEps,
    // Only written into the derived network (a --space-file's record); unrecorded in older checkpoints.
    '--space-file bn.momentum': cfg.space ? (cfg.bnMomentum ?? 0.1) : null,
    '--batch': cfg.batchSize,
    '--val-batch': cfg.valBatchSize,
    '--lr': cfg.weightLr,
    '--warmup-lr': cfg.warmupLr,
    '--arch-lr': cfg.arch.lr,
    '--no-augment': !cfg.augment,
    '--seed': cfg.seed,
    // Not CLI flags, but they change the trajectory all the same.
    'weight momentum': cfg.momentum,
    'weight decay': cfg.weightDecay,
    'α optimizer': JSON.stringify(cfg.arch),
    'cost model': cost ? `${cost.unit}, ${cost.source}, ${costFingerprint(cost)}` : null,
  };
  if (split) {
    s['--train'] = split.train;
    s['--val'] = split.val;
  }
  if (cfg.dataset) {
    s['--dataset'] = cfg.dataset.flag;
    s['--dataset images'] = cfg.dataset.images;
    s[SPLIT_KEY] = SEARCH_SPLIT_VERSION;
  }
  // The devices agree within tolerance, not bit for bit: a run continues on the device it started on
  // (and on the CPU with the threads it started with: oneDNN splits its reductions by thread).
  if (device) s['--device'] = device;
  if (device === 'cpu' && typeof cpuThreads === 'number') s['--cpu-threads'] = cpuThreads;
  if (f16 !== undefined) s[F16_KEY] = f16 ? 1 : 0;
  return { ...s, ...bnSetting(bn) };
}

function measuredSetup(cost: CostModel): string {
  const m = cost.meta ?? {};
  return `${m.library ?? m.backend ?? '?'}, ${m.threads ?? '?'} thread(s), flush ${m['cache-flush'] ?? '?'}, prices ${costFingerprint(cost)}`;
}

/** The settings a checkpoint recorded (version 1 recorded its config: what can be derived from it). */
export function savedSettings(ck: CheckpointState): RunSettings {
  return withoutMulLambda(withBnEps(recordedSettings(ck)));
}

/**
 * Checkpoints of --loss mul from before it took only β recorded the unused --lambda 0.1: mul#log
 * never read it, so it is not compared (a resume cannot give --lambda with mul).
 */
function withoutMulLambda(s: RunSettings): RunSettings {
  if (s['--loss'] !== 'mul' || s['--lambda'] === undefined) return s;
  const { '--lambda': _unused, ...rest } = s;
  return rest;
}

/**
 * Checkpoints from before --bn-eps searched at 1e-5 (the supernet had no other eps): they read as
 * recording it, so a resume at the new default 1e-3 is refused by name rather than skipped as
 * unrecorded and continued at another eps (`--bn-eps 1e-5` resumes them).
 */
function withBnEps(s: RunSettings): RunSettings {
  return s['--bn-eps'] === undefined ? { ...s, '--bn-eps': BN_EPS_BEFORE_FLAG } : s;
}

/** The eps every supernet used before the search took one from its config. */
const BN_EPS_BEFORE_FLAG = 1e-5;

function recordedSettings(ck: CheckpointState): RunSettings {
  const { meta } = ck;
  if (meta.settings && typeof meta.settings === 'object') return meta.settings as RunSettings;
  const config = meta.config as Partial<ProxylessSearchConfig> | undefined;
  if (!config || typeof config !== 'object' || !('costLoss' in config)) {
    // Before WP-mobilenet: parameters were named by MBConv position and costs had no unit.
    throw new CheckpointError(
      `${ck.path}/state.json: written by an older wgnas (parameters and cost settings renamed since); it cannot be resumed: start a new --checkpoint directory`,
    );
  }
  try {
    // Without the cost model the target's unit is unknown: compare the rest.
    const unknown = ['--target-ms', '--target-madds', '--latency-table', '--price-cells', 'cost model'];
    return Object.fromEntries(
      Object.entries(proxylessRunSettings(config as ProxylessSearchConfig, null)).filter(([k]) => !unknown.includes(k)),
    );
  } catch {
    return {};
  }
}

/**
 * Checks that DIR's checkpoint can be resumed by a run with these settings, before any GPU work:
 * its state.json parses, its layout is this run's, and every recorded setting matches.
 */
export function checkResumable(
  /** DIR, or its state.json already read (readCheckpointState), which is then checked as it is. */
  from: string | CheckpointState,
  cfg: ProxylessSearchConfig,
  cost: CostModel | null,
  split: SplitSizes,
  device?: DeviceKind,
  cpuThreads?: number | null,
  f16?: boolean,
  bn?: GpuKernels,
): CheckpointState {
  const ck = typeof from === 'string' ? readCheckpointState(from) : from;
  checkSettingsAndLayout(ck, cfg, proxylessRunSettings(cfg, cost, split, device, cpuThreads, f16, bn));
  return ck;
}

/** The checkpoint's layout and settings against this run's (nn/checkpoint.ts checkSettingsAndLayout). */
export function checkSettingsAndLayout(ck: CheckpointState, cfg: Pick<ProxylessSearchConfig, 'layout'>, now: RunSettings): void {
  checkCheckpointKind(ck, PROXYLESS_CHECKPOINT_KIND, 'proxyless');
  checkAdamFormat(ck);
  checkCheckpointSettings(ck, savedSettings(ck), cfg.layout, now, GROWABLE_SETTINGS);
}

/**
 * Checkpoints written before α's Adam counted steps per block (and before the authors' schedule
 * became the default, settings those checkpoints do not record) cannot be resumed.
 */
export function checkAdamFormat(ck: CheckpointState): void {
  const adam = ck.meta.adam as { step?: unknown; steps?: unknown } | undefined;
  if (adam && typeof adam === 'object' && adam.steps === undefined && typeof adam.step === 'number') {
    throw new CheckpointError(
      `${ck.path}/state.json: written by an older wgnas (one Adam step count for all α blocks, before per-block counts and the authors' α schedule); it cannot be resumed: start a new --checkpoint directory`,
    );
  }
}

export interface SavedSearchState {
  alpha: number[][];
  adam: AlphaAdamState;
  counters: { warmup: number; search: number; arch: number; baseline: number | null; seconds: number };
  history: unknown[];
}

const isNumArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/** Checks the search state of a checkpoint against the supernet's α rows; throws one clear line. */
export function validateSearchState(
  meta: Record<string, unknown>,
  choiceSizes: readonly number[],
  where: string,
): SavedSearchState {
  const bad = (what: string): never => corruptCheckpoint(where, what);
  const alpha = meta.alpha;
  if (!Array.isArray(alpha) || !alpha.every(isNumArray))
    bad(`'alpha' must be rows of finite numbers, got ${JSON.stringify(alpha)?.slice(0, 60)}`);
  const rows = alpha as number[][];
  if (rows.length !== choiceSizes.length || rows.some((r, b) => r.length !== choiceSizes[b])) {
    bad(`'alpha' has rows of ${rows.map((r) => r.length).join('/')} choices, the supernet ${choiceSizes.join('/')}`);
  }
  const total = choiceSizes.reduce((s, n) => s + n, 0);
  const adam = meta.adam as SavedSearchState['adam'] | undefined;
  if (
    !adam ||
    typeof adam !== 'object' ||
    !Array.isArray(adam.steps) ||
    adam.steps.length !== choiceSizes.length ||
    !adam.steps.every(isCount) ||
    !isNumArray(adam.m) ||
    !isNumArray(adam.v) ||
    adam.m.length !== total ||
    adam.v.length !== total
  ) {
    bad(`'adam' must be {steps, m, v} with ${choiceSizes.length} step counts and ${total} moments each`);
  }
  const c = meta.counters as SavedSearchState['counters'] | undefined;
  if (
    !c ||
    typeof c !== 'object' ||
    !isCount(c.warmup) ||
    !isCount(c.search) ||
    !isCount(c.arch) ||
    !(c.baseline === null || Number.isFinite(c.baseline)) ||
    !(typeof c.seconds === 'number' && c.seconds >= 0)
  ) {
    bad(`'counters' must be {warmup, search, arch, baseline, seconds} counts`);
  }
  const history = meta.history ?? [];
  if (!Array.isArray(history)) bad(`'history' must be a list`);
  return { alpha: rows, adam: adam!, counters: c!, history: history as unknown[] };
}

/**
 * The measured cost model a checkpoint saved (null when it saved none, or another kind): a resumed
 * --price-cells run reuses these prices instead of timing the cells again, so it continues with
 * the numbers the interrupted run used.
 */
export function savedMeasuredCost(from: string | CheckpointState): CostModel | null {
  let ck: CheckpointState;
  try {
    ck = typeof from === 'string' ? readCheckpointState(from) : from;
  } catch {
    return null; // the resume itself reports what is wrong with the checkpoint
  }
  const c = ck.meta.cost as CostModel | undefined;
  const ok =
    c !== null &&
    typeof c === 'object' &&
    c.unit === 'ms' &&
    c.source === 'measured' &&
    typeof c.fixed === 'number' &&
    Number.isFinite(c.fixed) &&
    Array.isArray(c.perPosition) &&
    c.perPosition.every(isNumArray);
  return ok ? { unit: c.unit, source: c.source, fixed: c.fixed, perPosition: c.perPosition, meta: c.meta } : null;
}
