/**
 * What travels through the queue. A job names its kind; its data carries everything a worker needs
 * to compute exactly what the submitter would have computed itself (settings, data identity, code
 * version), and the content key of each result, so any worker can skip what is already stored.
 */
import { createHash } from 'node:crypto';
import type { DeviceKind } from '../backend/index.js';

/**
 * Job kinds: a shard of architectures to score (`wgnas score --redis`) and one search child
 * (`wgnas search --redis`); both are computed the same way, the kind tells them apart in
 * `wgnas queue status`.
 */
export const JOB_KINDS = ['score-shard', 'search-child'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** The settings that decide an NB201 cell's proxy scores (the same for every architecture of a run). */
export interface ScoreSettings {
  /** Proxy names, expanded (no aggregators), in the scorer's order. */
  proxies: string[];
  batchSize: number;
  seed: number;
  group: number | 'auto';
  channels: number;
  cellsPerStage: number;
  /** The --dataset value (the worker opens it). */
  dataset: string;
  /** sha256 of the proxy minibatch (images and labels): a worker with other data refuses the job. */
  dataHash: string;
  /** codeVersion() of the submitter: a worker running other code refuses the job. */
  codeVersion: string;
  device: DeviceKind;
}

export interface ScoreJobData {
  settings: ScoreSettings;
  archs: string[];
  /** resultKey(settings, arch) of each arch, in order. */
  keys: string[];
  /** Search children: the proposal's step (shown in status). */
  step?: number;
}

/** What a finished job reports back (the scores themselves are in the result store). */
export interface ScoreJobResult {
  scored: number;
  /** Archs found in the store already (a duplicate delivery, a retry after a kill). */
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
