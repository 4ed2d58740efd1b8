/**
 * What travels through the queue. A job names its kind; its data carries everything a worker needs
 * to compute exactly what the submitter would have computed itself (settings, data identity, code
 * version), and the content key of each result, so any worker can skip what is already stored.
 */
import { createHash } from 'node:crypto';
import type { EvolveConfig } from '../autospace/evolve.js';
import { labelBytes } from '../data/labels.js';
import type { DeviceKind } from '../backend/index.js';
import type { InitMode } from '../nn/init.js';
import type { ProxyInputs } from '../proxies/batch.js';
import type { GroupMode } from '../zeroshot/index.js';
import { UserFacingError } from '../util/errors.js';

/**
 * Job kinds: a shard of architectures to score (`wgnas score --redis`) and one search child
 * (`wgnas search --redis`), both computed the same way; a shard of latency-table ops
 * (`wgnas profile --redis`); one whole AutoSpace evolution (`wgnas evolve-space --redis`).
 */
export const JOB_KINDS = ['score-shard', 'search-child', 'profile-ops', 'evolve-run'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** The settings that decide an NB201 cell's proxy scores (the same for every architecture of a run). */
export interface ScoreSettings {
  /** Proxy names, expanded (no aggregators), in the scorer's order. */
  proxies: string[];
  batchSize: number;
  seed: number;
  group: number | 'auto';
  /** How a group runs (absent: 'separate'); the stacked one's scores differ within float rounding. */
  groupMode?: GroupMode;
  channels: number;
  cellsPerStage: number;
  /** The --dataset value (the worker opens it). */
  dataset: string;
  /** sha256 of the proxy minibatch (images and labels): a worker with other data refuses the job. */
  dataHash: string;
  /** codeVersion() of the submitter: a worker running other code refuses the job. */
  codeVersion: string;
  device: DeviceKind;
  /** The networks' init and what they see (absent: 'pytorch' and 'data'). */
  init?: InitMode;
  inputs?: ProxyInputs;
  /**
   * CPU: the backend threads the results are computed with (the submitter's --cpu-threads; they
   * change the scores slightly), which a worker running others refuses; absent: each worker's own.
   */
  threads?: number;
  /**
   * f16 operands (WGNAS_F16=1 on the submitting machine, for a GPU queue): the scores differ from
   * f32 ones, so a worker whose backend computes otherwise refuses the job; absent: f32.
   */
  f16?: true;
}

export interface ScoreJobData {
  settings: ScoreSettings;
  archs: string[];
  /** resultKey(settings, arch) of each arch, in order. */
  keys: string[];
  /** Search children: the proposal's step (shown in status). */
  step?: number;
}

/** How `wgnas profile --redis` times its ops (what a local profile takes from its flags). */
export interface ProfileSettings {
  device: 'cpu' | 'gpu';
  /** CPU only (ignored on the GPU): the native backend, threads, pinning and cache flush as given. */
  backend: string;
  threads: number;
  pin: boolean;
  /** auto | off | bytes, as --cache-flush takes it (auto is resolved by each worker's L2). */
  cacheFlush: string;
  repeats: number;
  warmup: number;
  maxTimeMs: number;
  codeVersion: string;
}

export interface ProfileJobData {
  profile: ProfileSettings;
  /** Latency-table keys to time, in order. */
  ops: string[];
  /** profileKey(profile, op) of each op. */
  keys: string[];
}

/** One `wgnas evolve-space` run, as a worker repeats it. */
export interface EvolveSettings {
  /** The run's configuration; its layout by name (the worker resolves it and sets the class count). */
  config: Omit<EvolveConfig, 'layout'>;
  layout: string;
  dataset: string;
  train: number;
  val: number;
  /** sha256 of the search split (train then val images and labels). */
  dataHash: string;
  /** Keep the per-iteration history (--history) with the result. */
  history: boolean;
  codeVersion: string;
  device: DeviceKind;
  /** f16 operands (WGNAS_F16=1 on the submitting machine, for a GPU queue), as ScoreSettings.f16; absent: f32. */
  f16?: true;
}

export interface EvolveJobData {
  evolve: EvolveSettings;
  /** [evolveKey(evolve)] */
  keys: string[];
}

export type QueueJobData = ScoreJobData | ProfileJobData | EvolveJobData;

export const isProfileJob = (d: QueueJobData): d is ProfileJobData => 'profile' in d;
export const isEvolveJob = (d: QueueJobData): d is EvolveJobData => 'evolve' in d;

/** What a job is about, for status lines: its archs, ops or seed. */
export function jobItems(d: QueueJobData): { noun: string; items: string[] } {
  if (isProfileJob(d)) return { noun: 'op', items: d.ops ?? [] };
  if (isEvolveJob(d)) return { noun: 'evolution', items: [`seed ${d.evolve?.config?.seed}`] };
  return { noun: 'arch', items: d.archs ?? [] };
}

/** The code version and dataset a job asks a worker for (what a worker refuses a job over). */
export function jobCodeVersion(d: QueueJobData): string {
  return isProfileJob(d) ? d.profile.codeVersion : isEvolveJob(d) ? d.evolve.codeVersion : d.settings.codeVersion;
}

/** What a finished job reports back (the results themselves are in the result store). */
export interface ScoreJobResult {
  scored: number;
  /** Items found in the store already (a duplicate delivery, a retry after a kill). */
  skipped: number;
}

/** The queue a device's workers read: results differ between devices, so the queues never mix them. */
export function scoreQueueName(device: DeviceKind): string {
  return `score-${device}`;
}

export const sha256 = (s: string | Uint8Array): string => createHash('sha256').update(s).digest('hex');

/** The settings as one canonical string (key order fixed; proxies sorted). */
function settingsText(s: ScoreSettings): string {
  return JSON.stringify([
    [...s.proxies].sort(),
    s.batchSize,
    s.seed,
    s.group,
    s.channels,
    s.cellsPerStage,
    s.dataset,
    s.dataHash,
    s.codeVersion,
    s.device,
    // Only when not the defaults, so the keys of results stored before these settings stay valid.
    ...((s.init ?? 'pytorch') !== 'pytorch' || (s.inputs ?? 'data') !== 'data' ? [s.init ?? 'pytorch', s.inputs ?? 'data'] : []),
    ...(s.threads !== undefined ? [{ threads: s.threads }] : []),
    ...((s.groupMode ?? 'separate') !== 'separate' ? [{ groupMode: s.groupMode }] : []),
    ...(s.f16 ? [{ f16: true }] : []),
  ]);
}

/** Identifies a scorer a worker can reuse across jobs. */
export function settingsKey(s: ScoreSettings): string {
  return sha256(settingsText(s)).slice(0, 24);
}

/** The content key of one result: architecture, proxies, seed, batch, network, data, code and device. */
export function resultKey(s: ScoreSettings, arch: string): string {
  return sha256(`${settingsText(s)}\0${arch}`);
}

/** The content key of one timed op: the op and how it is timed (not the device: the submitter checks that). */
export function profileKey(p: ProfileSettings, op: string): string {
  return sha256(
    `${JSON.stringify(['profile', p.device, p.backend, p.threads, p.pin, p.cacheFlush, p.repeats, p.warmup, p.maxTimeMs, p.codeVersion])}\0${op}`,
  );
}

/** The content key of one evolution: everything that decides its result. */
export function evolveKey(e: EvolveSettings): string {
  const c = Object.fromEntries(Object.entries(e.config).sort(([a], [b]) => a.localeCompare(b)));
  return sha256(
    JSON.stringify([
      'evolve',
      c,
      e.layout,
      e.dataset,
      e.train,
      e.val,
      e.dataHash,
      e.history,
      e.codeVersion,
      e.device,
      // Only for f16, so the keys of f32 evolutions stored before stay valid.
      ...(e.f16 ? [{ f16: true }] : []),
    ]),
  );
}

/** A job id from its content: the same work submitted twice is one job (BullMQ ignores a known id). */
export function jobIdOf(kind: JobKind, keys: readonly string[]): string {
  return `${kind}.${sha256(keys.join(',')).slice(0, 32)}`;
}

/** The hash of a proxy minibatch (its images and labels, as stored). */
export function batchHash(b: { x: Float32Array; y: Float32Array; n: number }): string {
  const h = createHash('sha256');
  h.update(`${b.n}\0`);
  h.update(new Uint8Array(b.x.buffer, b.x.byteOffset, b.x.byteLength));
  h.update(new Uint8Array(b.y.buffer, b.y.byteOffset, b.y.byteLength));
  return h.digest('hex');
}

/** The hash of a search split (train then val: images, labels, counts), as an evolution reads it. */
export function splitHash(d: {
  train: { images: Float32Array; labels: ArrayLike<number>; count: number };
  val: { images: Float32Array; labels: ArrayLike<number>; count: number };
}): string {
  const h = createHash('sha256');
  for (const part of [d.train, d.val]) {
    h.update(`${part.count}\0`);
    h.update(new Uint8Array(part.images.buffer, part.images.byteOffset, part.images.byteLength));
    h.update(labelBytes(part.labels));
  }
  return h.digest('hex');
}

/**
 * Refuses a job asking for other operands than this worker's backend computes with (`workerF16`:
 * its GPU's f16Compute): scores and evolutions differ between f16 and f32.
 */
export function checkPrecision(jobF16: boolean | undefined, workerF16: boolean): void {
  if ((jobF16 === true) === workerF16) return;
  throw new JobRefusedError(
    'precision',
    `the job is computed with ${jobF16 ? 'f16' : 'f32'} operands, this worker's GPU with ${workerF16 ? 'f16' : 'f32'}: start a worker with${jobF16 ? ' WGNAS_F16=1 on a GPU with shader-f16' : 'out WGNAS_F16=1'}`,
  );
}

/**
 * A job this worker must not compute (other code, other data, other CPU threads, too little memory
 * while another worker alive has enough, or for a grace while none is) but another worker may: it
 * goes back to the queue untouched (no try spent) and the refusal shows in the worker's heartbeat.
 * The worker says it once per job and `kind` (a refusal whose wording changes each time says one).
 */
export class JobRefusedError extends UserFacingError {
  override readonly name = 'JobRefusedError';
  constructor(
    readonly reason: 'code' | 'data' | 'threads' | 'precision' | 'memory',
    message: string,
    readonly kind = '',
  ) {
    super(message);
  }
}
