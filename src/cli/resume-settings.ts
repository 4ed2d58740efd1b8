/**
 * What the long runs record beside their settings so that a resume which would mix two runs is
 * refused naming the flag (see util/run-settings.ts), where the flags alone say too little:
 * - `--dataset images`: a fingerprint of the images the run reads and where they came from. The
 *   same `--dataset cifar10` reads other files after `wgnas data fetch`, under another
 *   $WGNAS_DATA_DIR or $WGNAS_SHARED_DATA_DIR; only the content is compared (the same images found
 *   elsewhere resume), the place is there for the message.
 * - `--cpu-threads`: the CPU backend's thread count, resolved (the default is every core this
 *   process may use): oneDNN splits its reductions by thread, so scores differ by rounding (zico's
 *   by up to 3e-3 relative: the registry's mergeRtol) and a training's trajectory drifts apart
 *   (docs/reliability.md). A GPU run records none (its results do not depend on it).
 * And the check that a fresh score/search run does not overwrite an interrupted output silently.
 */
import { createHash, type Hash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, sep } from 'node:path';
import type { DeviceKind } from '../backend/index.js';
import type { ImageDataset } from '../data/image-dataset.js';
import { rowFormatOf, rowStreamFiles, rowStreamLockPath } from '../data/row-stream.js';
import { loadNative } from '../native/binding.js';
import type { CheckpointState } from '../nn/checkpoint.js';
import { checkNotInUse, entryKind } from '../util/durable.js';
import { ResumeMismatchError } from '../util/run-settings.js';
import { quote, UsageError } from './errors.js';
import { checkNameFits, landsOnSameFile } from './paths.js';

/** The key of the data fingerprint in a run's settings ('dataset images' in train's unprefixed keys). */
export const DATA_KEY = '--dataset images';
export const THREADS_KEY = '--cpu-threads';

const short = (h: string) => h.slice(0, 12);

/** Where a dataset's images are read from: its file, or the folder its files share. */
export function dataOrigin(ds: Pick<ImageDataset, 'count' | 'source'>): string {
  const file = (i: number) => ds.source(i).replace(/ record \d+$/, '');
  const first = file(0);
  const last = file(ds.count - 1);
  let where: string;
  if (first === last) where = first;
  else {
    // The longest folder both lie in (the CIFAR release's batches, an image folder's split).
    let dir = dirname(first);
    while (!(last.startsWith(dir + sep) || dir === dirname(dir))) dir = dirname(dir);
    where = dir.endsWith(sep) ? dir : dir + sep;
  }
  return `${where} (${ds.count} images)`;
}

/** The fingerprint of the proxies' minibatch (its images and labels, as the proxies read them) and its origin. */
export function batchData(
  ds: Pick<ImageDataset, 'count' | 'source'>,
  b: { x: Float32Array; y: Float32Array; n: number },
): string {
  const h = createHash('sha256');
  h.update(`${b.n}\0`);
  h.update(new Uint8Array(b.x.buffer, b.x.byteOffset, b.x.byteLength));
  h.update(new Uint8Array(b.y.buffer, b.y.byteOffset, b.y.byteLength));
  return `${short(h.digest('hex'))} from ${dataOrigin(ds)}`;
}

/** Images hashed per read (12 MB of CIFAR floats). */
const HASH_CHUNK = 1000;

/**
 * Hashes every image of `ds`: decoded at its own size where it has one (CIFAR, in memory: the
 * resize to the run's size follows from it), else (a folder) each file's path below the folder and
 * its bytes, read but not decoded (decoding a folder takes ~60x as long as reading it).
 */
async function hashImages(h: Hash, ds: ImageDataset): Promise<void> {
  h.update(`${JSON.stringify([ds.mean, ds.std, ds.nativeSize])}\0`);
  const size = ds.nativeSize;
  if (size !== null) {
    for (let i = 0; i < ds.count; i += HASH_CHUNK) {
      const idx = Array.from({ length: Math.min(HASH_CHUNK, ds.count - i) }, (_, k) => i + k);
      const x = await ds.images(idx, size);
      h.update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
    }
    return;
  }
  // A folder's images are its files (ImageDataset.source): named below the folder, so a copy elsewhere matches.
  const root = dataOrigin(ds).replace(/ \(\d+ images\)$/, '');
  for (let i = 0; i < ds.count; i += 64) {
    const files = Array.from({ length: Math.min(64, ds.count - i) }, (_, k) => ds.source(i + k));
    const bytes = await Promise.all(files.map((f) => readFile(f)));
    files.forEach((f, k) => {
      h.update(`${f.startsWith(root) ? f.slice(root.length) : f}\0${bytes[k].length}\0`);
      h.update(bytes[k]);
    });
  }
}

/** The fingerprint of earlier wgnas: every label and 64 images spread over each split, decoded at `size`. */
async function sampledHash(splits: readonly ImageDataset[], size: number): Promise<string> {
  const h = createHash('sha256');
  for (const ds of splits) {
    const n = Math.min(64, ds.count);
    const idx = Array.from({ length: n }, (_, k) => Math.floor((k * ds.count) / n));
    const x = await ds.images(idx, size);
    h.update(`${ds.split} ${ds.count} ${ds.classes}\0`);
    h.update(new Uint8Array(ds.labels.buffer, ds.labels.byteOffset, ds.labels.byteLength));
    h.update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  }
  return short(h.digest('hex'));
}

/** What splitsData gives: the text a run records, and the earlier wgnas's form of the same splits. */
export interface SplitsFingerprint {
  /** `HASH from ORIGIN`: what the run records. */
  readonly text: string;
  /**
   * The sampled hash an earlier wgnas recorded of these splits (64 images each): decoded on the
   * first call only (once per fingerprint), which a resume makes only when the recorded hash is not
   * `text`'s, so a fresh run or a resume of this wgnas's checkpoint never decodes the sample.
   */
  sampled(): Promise<string>;
}

/**
 * The fingerprint of the splits a run reads (every label and every image: hashImages; `size` the
 * run's) and the first split's origin. A checkpoint of an earlier wgnas recorded one of 64 images
 * per split: recordedSplitsData compares that form too.
 */
export async function splitsData(splits: readonly ImageDataset[], size: number): Promise<SplitsFingerprint> {
  const h = createHash('sha256');
  for (const ds of splits) {
    h.update(`${ds.split} ${ds.count} ${ds.classes}\0`);
    h.update(new Uint8Array(ds.labels.buffer, ds.labels.byteOffset, ds.labels.byteLength));
    await hashImages(h, ds);
  }
  let sampled: Promise<string> | undefined;
  return {
    text: `${short(h.digest('hex'))} from ${dataOrigin(splits[0])}`,
    sampled: () => (sampled ??= sampledHash(splits, size)),
  };
}

const hashOf = (s: string) => s.split(' ')[0];

/**
 * The data entry to record: `now`, or the saved run's text when only the place differs (the same
 * images found elsewhere), so the settings check compares the content alone.
 */
export function recordedData(saved: unknown, now: string): string {
  return typeof saved === 'string' && hashOf(saved) === hashOf(now) ? saved : now;
}

/** True when `saved` is the sampled fingerprint an earlier wgnas recorded of the images `now` stands for. */
async function sampledMatch(saved: string, now: SplitsFingerprint): Promise<boolean> {
  return hashOf(saved) !== hashOf(now.text) && (await now.sampled()) === hashOf(saved);
}

/**
 * recordedData for splitsData's fingerprint: a sampled fingerprint (an earlier wgnas's; the two
 * hashes of 48 bits do not meet by chance) is compared in its own form: the same images resume, the
 * saved text kept (sampledDataNote says so); others are refused. The sample is decoded only when
 * the saved hash differs from this wgnas's.
 */
export async function recordedSplitsData(saved: unknown, now: SplitsFingerprint): Promise<string> {
  if (typeof saved !== 'string') return now.text;
  return hashOf(saved) === hashOf(now.text) || (await sampledMatch(saved, now)) ? saved : now.text;
}

/** The note for a resume whose data matched an earlier wgnas's sampled fingerprint (recordedSplitsData), else ''. */
export async function sampledDataNote(recorded: string, now: SplitsFingerprint, where: string): Promise<string> {
  return (await sampledMatch(recorded, now))
    ? `note: ${where} recorded the fingerprint of an earlier wgnas, of 64 images per split: those match (this wgnas hashes every image)\n`
    : '';
}

/** The entry `key` of the settings a checkpoint state already read recorded (undefined when none). */
export function savedSetting(ck: CheckpointState, key: string): unknown {
  const settings = ck.meta.settings;
  return settings !== null && typeof settings === 'object' ? (settings as Record<string, unknown>)[key] : undefined;
}

let cores: number | undefined;

/** The CPU backend's default thread count: every core this process may use (the addon's count). */
export function defaultCpuThreads(): number {
  if (cores === undefined) {
    try {
      cores = Math.max(1, loadNative().cpuInfo().availableCores);
    } catch {
      // No addon: opening the backend names that; the count only has to be a number until then.
      cores = Math.max(1, availableParallelism());
    }
  }
  return cores;
}

/**
 * The threads the CPU backend runs with (null on the GPU): --cpu-threads, else every core, shared
 * among `procs` processes (score --procs: each gets its part).
 */
export function cpuThreadsOf(device: DeviceKind, v: { 'cpu-threads'?: number }, procs = 1): number | null {
  if (device !== 'cpu') return null;
  return v['cpu-threads'] ?? Math.max(1, Math.floor(defaultCpuThreads() / procs));
}

/** What a queued run on the CPU records without --cpu-threads: its workers compute with their own. */
export const WORKERS_OWN_THREADS = "each worker's own";
export type QueuedThreads = number | typeof WORKERS_OWN_THREADS | null;

/**
 * The threads the CPU jobs of score/search --redis are computed with (null on the GPU):
 * --cpu-threads, which each worker must run (one with others refuses the jobs), else each
 * worker's own, recorded as such.
 */
export function queuedThreadsOf(device: DeviceKind, v: { 'cpu-threads'?: number }): QueuedThreads {
  if (device !== 'cpu') return null;
  return v['cpu-threads'] ?? WORKERS_OWN_THREADS;
}

/** `{ '--cpu-threads': n }` on the CPU backend, nothing on the GPU. */
export function threadsSetting(threads: number | string | null, key = THREADS_KEY): Record<string, number | string> {
  return threads === null ? {} : { [key]: threads };
}

/** The settings a row stream's sidecar (OUT.settings.json) recorded, or null (none, or unreadable: the stream says). */
export function sidecarSettings(path: string): { settings: Record<string, unknown>; complete: boolean } | null {
  try {
    const side = JSON.parse(readFileSync(rowStreamFiles(path).sidecar, 'utf8')) as { settings?: unknown; complete?: unknown };
    if (typeof side?.settings !== 'object' || side.settings === null) return null;
    return { settings: side.settings as Record<string, unknown>, complete: side.complete === true };
  } catch {
    return null;
  }
}

/**
 * The files a row stream keeps beside OUT (its settings record, its lock, a .json's streamed rows),
 * checked before the work as OUT itself is: one that exists as a directory, a fifo or a device
 * would fail the run at its first rows, after a fresh run had removed the old OUT.
 */
function checkStreamCompanions(
  flag: string,
  path: string,
  f: ReturnType<typeof rowStreamFiles>,
  inputs: ReadonlyArray<readonly [string, string | undefined]>,
): void {
  const files: Array<[string, string]> = [
    [f.sidecar, 'keeps its settings record'],
    [rowStreamLockPath(f.target), 'keeps its lock'],
  ];
  if (rowFormatOf(path) === 'json') files.push([f.rows, 'streams its rows']);
  // OUT.settings.json is the longest name written beside OUT (its temporary, longer still).
  checkNameFits(`${flag} ${quote(path)}`, f.sidecar);
  for (const [file, what] of files) {
    // E.settings.json of an earlier run prices another one (--latency-table): not the run that rewrites it.
    for (const [inFlag, input] of inputs)
      if (input !== undefined && landsOnSameFile(input, file))
        throw new UsageError(
          `${inFlag} ${quote(input)} is the file where the run of ${flag} ${quote(path)} ${what}: the run would write over its own input; copy it elsewhere or name another ${flag}`,
        );
    let st;
    try {
      st = statSync(file, { throwIfNoEntry: false });
    } catch {
      continue; // not reachable: the checks of OUT itself have judged its directory
    }
    if (st && !st.isFile())
      throw new UsageError(
        `${flag} ${quote(path)}: ${basename(file)} beside it is ${entryKind(st)}, where the run ${what} (a file); remove it or name another ${flag}`,
      );
  }
}

/**
 * A fresh run (no --resume) over an output whose run was interrupted would delete its rows: refused
 * unless --force. A finished output is overwritten as before. An output another live run is writing
 * is refused first, naming that run (its rows say 'interrupted' too, but it is not).
 */
export function checkInterrupted(
  flag: string,
  path: string,
  resume: boolean,
  force: boolean,
  /** The run's input files ([flag, path]): none may be a file the stream keeps beside `path`. */
  inputs: ReadonlyArray<readonly [string, string | undefined]> = [],
): void {
  const f = rowStreamFiles(path);
  checkStreamCompanions(flag, path, f, inputs);
  checkNotInUse(rowStreamLockPath(f.target), `output ${f.target}`);
  if (resume || force) return;
  const side = sidecarSettings(path);
  if (!side || side.complete) return;
  const rows = [f.target, f.rows].some((p) => existsSync(p) && statSync(p).size > 0);
  if (!rows) return;
  throw new UsageError(`${flag} ${path} holds an interrupted run: --resume continues it, --force starts over`);
}

/** How a run's CPU threads came about, for the advice when they differ from the saved run's. */
export interface ThreadsOrigin {
  /** --cpu-threads was given (else the default: the cores, shared by `procs` processes). */
  given: boolean;
  procs?: number;
  /** The output's flag, for the advice (--out, --evaluated). */
  flag: string;
}

/**
 * The entries a row stream at `path` (score --out, search --evaluated) records about its data and
 * threads, and what an output written before they were recorded is taken to have used (this run's:
 * it resumes, as before). A default thread count that differs from the saved run's is refused here,
 * saying which --cpu-threads resumes it.
 */
export function streamRecord(
  path: string,
  resume: boolean,
  data: string,
  threads: QueuedThreads,
  origin: ThreadsOrigin,
): { settings: Record<string, string | number>; unrecorded: Record<string, string | number> } {
  const saved = resume ? sidecarSettings(path)?.settings : undefined;
  const was = saved?.[THREADS_KEY];
  if (
    typeof threads === 'number' &&
    !origin.given &&
    typeof was === 'number' &&
    was !== threads &&
    saved?.['--device'] === 'cpu'
  ) {
    const why =
      origin.procs && origin.procs > 1 ? `this machine's cores shared by --procs ${origin.procs}` : "this machine's cores";
    throw new ResumeMismatchError(
      `--resume: --cpu-threads was ${was}, now ${threads} (the default: ${why}) in ${path}; give --cpu-threads ${was} to resume it, or write another ${origin.flag}`,
    );
  }
  // The same images found in another place resume: only their fingerprint is compared.
  const settings = { [DATA_KEY]: recordedData(saved?.[DATA_KEY], data), ...threadsSetting(threads) };
  return { settings, unrecorded: settings };
}
