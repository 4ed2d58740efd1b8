/**
 * What a proxyless checkpoint must agree on to be resumed: the run's settings, keyed by the CLI
 * flag that sets each one so a refusal can name it (`--resume: --seed was 1, now 2`), and a
 * structural check of the saved search state (α, Adam, counters) so a corrupt or hand-edited
 * state.json ends in one clear line instead of a TypeError deep in the search.
 */
import { sha256Hex } from '../util/durable.js';
import { CheckpointError } from './checkpoint.js';
import type { SearchLatency } from './latency-loss.js';
import type { ProxylessSearchConfig } from './search.js';
import type { SearchData } from './data.js';

export type RunSettings = Record<string, string | number | boolean | null>;

/** A resumed run whose settings differ from the checkpoint's (a usage error). */
export class ResumeMismatchError extends Error {
  override readonly name = 'ResumeMismatchError';
}

/** Settings that may grow on --resume (a longer run continues the shorter one's state). */
export const GROWABLE_SETTINGS = ['--steps'];

const short = (s: string) => s.slice(0, 12);

/**
 * The settings a checkpoint records. Latency enters as a fingerprint of the prices the search
 * uses (table content, --missing and the layout's pricing all show up there); a space as a
 * fingerprint of its cells. Cells priced on this CPU are re-timed on each run, so for them only
 * the pricing setup (library, threads, cache flushing) is compared.
 */
export function proxylessRunSettings(cfg: ProxylessSearchConfig, latency: SearchLatency | null, data?: SearchData): RunSettings {
  const loss = cfg.latencyLoss;
  const s: RunSettings = {
    '--layout': `${cfg.layout.name} (${short(sha256Hex(JSON.stringify(cfg.layout)))})`,
    '--space-file': cfg.space ? `${cfg.space.file.source} space (cells ${short(sha256Hex(JSON.stringify(cfg.space.cells)))})` : null,
    '--mode': cfg.mode,
    '--paths': cfg.paths,
    '--gate-grads': cfg.gateGrads,
    '--loss': loss?.kind ?? null,
    '--target-ms': loss?.targetMs ?? null,
    '--lambda': loss?.lambda ?? null,
    '--beta': loss?.beta ?? null,
    '--reward-w': cfg.reinforceW,
    '--rl-samples': cfg.reinforceSamples,
    '--warmup': cfg.warmupSteps,
    '--steps': cfg.searchSteps,
    '--arch-every': cfg.archEvery,
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
  };
  if (data) {
    s['--train'] = data.train.count;
    s['--val'] = data.val.count;
  }
  if (latency) {
    const meta = (latency as SearchLatency & { meta?: Record<string, string> }).meta;
    if (latency.source === 'profiled' && meta) {
      s['--price-cells'] = `${meta.library}, ${meta.threads} thread(s), flush ${meta['cache-flush']}, on ${meta.cpu}`;
    } else {
      const flag = latency.source === 'madds' ? '--target-madds (cost model)' : '--latency-table';
      s[flag] = `${latency.source} prices ${short(sha256Hex(JSON.stringify([latency.fixedMs, latency.perPosition])))}`;
    }
  }
  return s;
}

const show = (v: unknown) => (v === null || v === undefined ? 'unset' : typeof v === 'string' ? v : JSON.stringify(v));

/**
 * Throws ResumeMismatchError naming the first setting that differs (settings in `growable` may
 * only increase). Keys recorded on one side only are ignored (older checkpoints record fewer).
 */
export function checkResumeSettings(saved: RunSettings, now: RunSettings, growable: readonly string[] = GROWABLE_SETTINGS): void {
  for (const [k, v] of Object.entries(now)) {
    if (!(k in saved)) continue;
    const was = saved[k];
    if (was === v) continue;
    if (growable.includes(k) && typeof was === 'number' && typeof v === 'number' && v > was) continue;
    const hint = growable.includes(k) ? ` (${k} may only grow on --resume)` : '';
    throw new ResumeMismatchError(`--resume: ${k} was ${show(was)}, now ${show(v)}${hint}; resume with the checkpoint's settings or start a new --checkpoint directory`);
  }
}

export interface SavedSearchState {
  alpha: number[][];
  adam: { step: number; m: number[]; v: number[] };
  counters: { warmup: number; search: number; arch: number; baseline: number | null; seconds: number };
  history: unknown[];
}

const isNumArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));
const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

/** Checks the search state of a checkpoint against the supernet's α rows; throws one clear line. */
export function validateSearchState(meta: Record<string, unknown>, choiceSizes: readonly number[], where: string): SavedSearchState {
  const bad = (what: string): never => {
    throw new CheckpointError(`${where}: ${what} (corrupt or hand-edited checkpoint)`);
  };
  const alpha = meta.alpha;
  if (!Array.isArray(alpha) || !alpha.every(isNumArray)) bad(`'alpha' must be rows of finite numbers, got ${JSON.stringify(alpha)?.slice(0, 60)}`);
  const rows = alpha as number[][];
  if (rows.length !== choiceSizes.length || rows.some((r, b) => r.length !== choiceSizes[b])) {
    bad(`'alpha' has rows of ${rows.map((r) => r.length).join('/')} choices, the supernet ${choiceSizes.join('/')}`);
  }
  const total = choiceSizes.reduce((s, n) => s + n, 0);
  const adam = meta.adam as SavedSearchState['adam'] | undefined;
  if (!adam || typeof adam !== 'object' || !isCount(adam.step) || !isNumArray(adam.m) || !isNumArray(adam.v) || adam.m.length !== total || adam.v.length !== total) {
    bad(`'adam' must be {step, m, v} with ${total} moments each`);
  }
  const c = meta.counters as SavedSearchState['counters'] | undefined;
  if (!c || typeof c !== 'object' || !isCount(c.warmup) || !isCount(c.search) || !isCount(c.arch) || !(c.baseline === null || Number.isFinite(c.baseline)) || !(typeof c.seconds === 'number' && c.seconds >= 0)) {
    bad(`'counters' must be {warmup, search, arch, baseline, seconds} counts`);
  }
  const history = meta.history ?? [];
  if (!Array.isArray(history)) bad(`'history' must be a list`);
  return { alpha: rows, adam: adam!, counters: c!, history: history as unknown[] };
}
