/**
 * Training-state checkpoints (proxyless, evolve-space, train), atomic as a whole; here, below the
 * methods, so each of them can use it. Layout of a checkpoint directory DIR:
 *   DIR/lock            pid + host of the run writing DIR (src/util/durable.ts)
 *   DIR/current         the name of the complete checkpoint, e.g. "ckpt-000003"
 *   DIR/ckpt-000003/    state.json (counters, α, Adam state, settings, tensor index and a manifest
 *                       with the size and SHA-256 of each binary), weights.bin, momentum.bin
 *                       (little-endian f32, tensors back to back in index order)
 * A save writes DIR/ckpt-N.tmp/, fsyncs it, renames it to DIR/ckpt-N and then switches
 * DIR/current with one atomic rename: a kill at any point leaves the previous checkpoint (or the
 * new one) whole; the previous directory is deleted only after the switch. Loading verifies the
 * manifest and refuses a mismatch. Version-1 checkpoints (files directly in DIR) still load.
 */
import type { Backend, Tensor } from '../backend/index.js';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Param } from './tape.js';
import {
  acquireLock,
  atomicTempOf,
  checkNotInUse,
  fsyncDir,
  holdsLock,
  killPoint,
  type LockHandle,
  lockTempId,
  type LockOwner,
  sha256Hex,
  tempOwnerGone,
  writeFailure,
  writeFileAtomic,
  writeFileSynced,
} from '../util/durable.js';
import { formerSplitReason } from '../data/search-split.js';
import { UserFacingError } from '../util/errors.js';
import { kernelsResume, provenanceDevices } from '../util/kernels-record.js';
import { checkRunSettings, type RunSettings } from '../util/run-settings.js';

export const CHECKPOINT_VERSION = 2;

/** A checkpoint that is missing, corrupt, half-written or of an unknown format. */
export class CheckpointError extends UserFacingError {
  override readonly name = 'CheckpointError';
}

/** A checkpoint file's content fails a check: one line naming the file (`where`) and `what` is wrong. */
export function corruptCheckpoint(where: string, what: string): never {
  throw new CheckpointError(`${where}: ${what} (corrupt or hand-edited checkpoint)`);
}

export interface TensorIndexEntry {
  name: string;
  shape: number[];
  offset: number;
}

export interface FileManifestEntry {
  bytes: number;
  sha256: string;
}

export interface CheckpointMeta {
  version: number;
  savedAt: string;
  weights: TensorIndexEntry[];
  momentum: TensorIndexEntry[];
  /** Version 2: size and hash of each binary beside state.json. */
  files?: Record<string, FileManifestEntry>;
  [key: string]: unknown;
}

const BINARIES = ['weights.bin', 'momentum.bin'] as const;
const CKPT_RE = /^ckpt-(\d{6,})$/;
const LEGACY_FILES = ['state.json', ...BINARIES];

/** The run's provenance beside the checkpoints in DIR (src/cli/provenance.ts; their cleaning leaves it). */
export const CHECKPOINT_PROVENANCE = 'provenance.json';

export function checkpointLockPath(dir: string): string {
  return join(dir, 'lock');
}

const lockedWhat = (dir: string) => `checkpoint directory ${dir}`;

/**
 * Refuses (LockHeldError, as lockCheckpointDir would) while another live run holds DIR's lock; takes
 * nothing. Checks that read DIR before taking it (a checkpoint there, none for --resume) call it
 * first, so a running run is named as such, not as an earlier one.
 */
export function checkCheckpointDirFree(dir: string): void {
  checkNotInUse(checkpointLockPath(dir), lockedWhat(dir));
}

/**
 * Takes DIR's lock for a run that will write checkpoints there (refuses while another live run
 * holds it) and removes what a killed writer left behind.
 */
export function lockCheckpointDir(dir: string, onStale?: (owner: LockOwner) => void): LockHandle {
  mkdirSync(dir, { recursive: true });
  const lock = acquireLock(checkpointLockPath(dir), { what: lockedWhat(dir), onStale: (o) => onStale?.(o) });
  cleanCheckpointDir(dir);
  return lock;
}

function currentName(dir: string): string | null {
  const p = join(dir, 'current');
  if (!existsSync(p)) return null;
  const name = readFileSync(p, 'utf8').trim();
  if (!CKPT_RE.test(name)) throw new CheckpointError(`${p}: names '${name.slice(0, 40)}', not a checkpoint directory (corrupt?)`);
  return name;
}

/** The files a checkpoint directory holds beside its ckpt-N folders (and version 1's, directly in DIR). */
const OWN_FILES = new Set(['current', CHECKPOINT_PROVENANCE, ...LEGACY_FILES]);

/**
 * A temporary a checkpoint writer left in DIR: a ckpt-N.tmp folder, writeFileAtomic's temporary of
 * one of DIR's own files (only the lock holder writes them), or version 1's FILE.tmp. Nothing else:
 * DIR may be a folder of the user's own (--checkpoint .), whose *.tmp are not the run's to remove.
 */
function isOwnTemp(n: string): boolean {
  if (/^ckpt-\d{6,}\.tmp$/.test(n)) return true;
  const t = atomicTempOf(n);
  if (t) return OWN_FILES.has(t.file);
  return n.endsWith('.tmp') && OWN_FILES.has(n.slice(0, -'.tmp'.length));
}

/** Deletes leftovers (its own temporaries, checkpoints other than the current one). Call with DIR's lock held. */
export function cleanCheckpointDir(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const keep = currentName(dir);
  const removed: string[] = [];
  for (const n of readdirSync(dir)) {
    const lockId = lockTempId(basename(checkpointLockPath(dir)), n);
    if (lockId !== undefined) {
      // The lock's own temporaries (a run killed while taking it, lockTempPaths): not a live
      // process's, nor another host's (its pid says nothing here). Other names, as before.
      if (tempOwnerGone(lockId) !== false) {
        rmSync(join(dir, n), { force: true });
        removed.push(n);
      }
    } else if (isOwnTemp(n)) {
      rmSync(join(dir, n), { recursive: true, force: true });
      removed.push(n);
    } else if (CKPT_RE.test(n) && n !== keep) {
      rmSync(join(dir, n), { recursive: true, force: true });
      removed.push(n);
    }
  }
  if (removed.length) fsyncDir(dir);
  return removed;
}

async function pack(tensors: Array<{ name: string; t: Tensor }>): Promise<{ index: TensorIndexEntry[]; bytes: Uint8Array }> {
  const total = tensors.reduce((s, x) => s + x.t.size, 0);
  const all = new Float32Array(total);
  const index: TensorIndexEntry[] = [];
  let off = 0;
  for (const { name, t } of tensors) {
    all.set(await t.read(), off);
    index.push({ name, shape: [...t.shape], offset: off });
    off += t.size;
  }
  return { index, bytes: new Uint8Array(all.buffer) };
}

/**
 * Saves a checkpoint into DIR (see the file comment). Takes DIR's lock for the save unless this
 * process already holds it (a run holds it from start to end: lockCheckpointDir).
 */
export async function saveCheckpoint(
  dir: string,
  params: readonly Param[],
  momentum: Map<Param, Tensor>,
  state: Record<string, unknown>,
): Promise<void> {
  const lock = holdsLock(checkpointLockPath(dir)) ? null : lockCheckpointDir(dir);
  try {
    const w = await pack(params.map((p) => ({ name: p.name, t: p.value })));
    const m = await pack(params.filter((p) => momentum.has(p)).map((p) => ({ name: p.name, t: momentum.get(p)! })));
    cleanCheckpointDir(dir);
    const gens = readdirSync(dir)
      .map((n) => CKPT_RE.exec(n))
      .filter((x) => x !== null)
      .map((x) => Number(x[1]));
    const name = `ckpt-${String(Math.max(0, ...gens) + 1).padStart(6, '0')}`;
    const tmp = join(dir, `${name}.tmp`);
    // A failed write (a full disk) removes the part-written checkpoint and names it: the previous
    // checkpoint, which `current` still names, is kept.
    let writing = tmp;
    try {
      mkdirSync(tmp);
      const bins: Record<string, Uint8Array> = { 'weights.bin': w.bytes, 'momentum.bin': m.bytes };
      const files: Record<string, FileManifestEntry> = {};
      for (const f of BINARIES) {
        writing = join(tmp, f);
        writeFileSynced(writing, bins[f]);
        files[f] = { bytes: bins[f].byteLength, sha256: sha256Hex(bins[f]) };
        killPoint('checkpoint.file');
      }
      const meta: CheckpointMeta = {
        ...state,
        version: CHECKPOINT_VERSION,
        savedAt: new Date().toISOString(),
        weights: w.index,
        momentum: m.index,
        files,
      };
      writing = join(tmp, 'state.json');
      writeFileSynced(writing, JSON.stringify(meta, null, 1) + '\n');
      killPoint('checkpoint.file');
      writing = tmp;
      fsyncDir(tmp);
      renameSync(tmp, join(dir, name));
      fsyncDir(dir);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw writeFailure(e, writing, { outcome: 'the previous checkpoint is kept' });
    }
    killPoint('checkpoint.dir-renamed');
    // The switch: one rename replaces DIR/current.
    writeFileAtomic(join(dir, 'current'), `${name}\n`, { killTag: 'checkpoint.current' });
    killPoint('checkpoint.switched');
    cleanCheckpointDir(dir);
    for (const f of LEGACY_FILES) rmSync(join(dir, f), { force: true });
  } finally {
    lock?.release();
  }
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'current')) || existsSync(join(dir, 'state.json'));
}

/**
 * Removes DIR's checkpoint (a fresh run told to start over): the pointer first, so a kill midway
 * leaves no checkpoint rather than half of one. Call with DIR's lock held.
 */
export function discardCheckpoint(dir: string): void {
  if (!holdsLock(checkpointLockPath(dir))) throw new Error(`discardCheckpoint: ${dir} is not locked by this process`);
  rmSync(join(dir, 'current'), { force: true });
  for (const f of LEGACY_FILES) rmSync(join(dir, f), { force: true });
  fsyncDir(dir);
  cleanCheckpointDir(dir);
}

/**
 * Removes DIR once its run is done, the lock last: the checkpoint (pointer first) and everything
 * else go while `lock` (DIR's, held) keeps other runs out, so a run that takes DIR after the release
 * loses nothing of its own; DIR itself goes unless such a run is in it by then. A live process's
 * lock temporaries (a run taking the lock now) are left to it. The lock is released even when a
 * removal fails. Call once: DIR may be another run's afterwards.
 */
export function removeCheckpointDir(dir: string, lock: LockHandle): void {
  try {
    discardCheckpoint(dir);
    const lockName = basename(lock.path);
    for (const n of readdirSync(dir)) {
      const taker = lockTempId(lockName, n);
      if (n === lockName || (taker !== undefined && tempOwnerGone(taker) === false)) continue;
      rmSync(join(dir, n), { recursive: true, force: true });
    }
  } finally {
    lock.release();
  }
  try {
    rmdirSync(dir);
  } catch {
    // Not empty: another run has taken DIR since the release (or one is taking it).
  }
}

/** The state.json of DIR's current checkpoint, parsed and checked, without its binaries. */
export interface CheckpointState {
  /** The directory holding state.json (DIR/ckpt-N, or DIR for version 1). */
  path: string;
  meta: CheckpointMeta;
  /**
   * DIR/provenance.json as recorded (CHECKPOINT_PROVENANCE, written by the CLI), where there is one:
   * a resume reads the device of a run from before the kernels were recorded from it
   * (src/util/kernels-record.ts). Never compared otherwise.
   */
  provenance?: unknown;
}

/** DIR/provenance.json's content, or undefined where it is missing or unreadable (it decides nothing alone). */
function readProvenance(dir: string): unknown {
  try {
    return JSON.parse(readFileSync(join(dir, CHECKPOINT_PROVENANCE), 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** A checkpoint read from disk and verified, not yet applied to a network. */
export interface CheckpointData extends CheckpointState {
  weights: Float32Array;
  momentum: Float32Array;
}

function readF32(path: string, bytes: Buffer): Float32Array {
  if (bytes.byteLength % 4 !== 0)
    throw new CheckpointError(`${path}: ${bytes.byteLength} bytes is not a whole number of f32 values`);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function checkIndex(metaPath: string, what: string, v: unknown): TensorIndexEntry[] {
  const ok =
    Array.isArray(v) &&
    v.every(
      (e) =>
        e !== null &&
        typeof e === 'object' &&
        typeof e.name === 'string' &&
        Number.isInteger(e.offset) &&
        e.offset >= 0 &&
        Array.isArray(e.shape) &&
        e.shape.every((d: unknown) => Number.isInteger(d) && (d as number) > 0),
    );
  if (!ok) corruptCheckpoint(metaPath, `'${what}' is not a tensor index`);
  return v as TensorIndexEntry[];
}

/** Reads and checks the state.json of DIR's current checkpoint (cheap: the binaries are not read). */
export function readCheckpointState(dir: string): CheckpointState {
  const name = currentName(dir);
  const path = name ? join(dir, name) : dir;
  const metaPath = join(path, 'state.json');
  if (!existsSync(metaPath)) {
    throw new CheckpointError(
      name
        ? `${path}: state.json missing (the checkpoint named by ${join(dir, 'current')} is incomplete)`
        : `no checkpoint in ${dir} (state.json missing)`,
    );
  }
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8')) as CheckpointMeta;
  } catch (e) {
    throw new CheckpointError(`${metaPath}: not valid JSON (${(e as Error).message})`);
  }
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta))
    throw new CheckpointError(`${metaPath}: not a checkpoint (expected a JSON object)`);
  const version = meta.version;
  if (version !== 1 && version !== CHECKPOINT_VERSION)
    throw new CheckpointError(`${metaPath}: checkpoint version ${String(version)}, this build reads 1 and ${CHECKPOINT_VERSION}`);
  if (version === CHECKPOINT_VERSION && !name)
    throw new CheckpointError(`${metaPath}: a version-${version} state.json outside a ckpt-N directory (moved by hand?)`);
  checkIndex(metaPath, 'weights', meta.weights);
  checkIndex(metaPath, 'momentum', meta.momentum);
  return { path, meta, provenance: readProvenance(dir) };
}

/** Reads and verifies the current checkpoint of DIR (manifest sizes and hashes for version 2). */
export function readCheckpoint(dir: string): CheckpointData {
  return readCheckpointBinaries(readCheckpointState(dir));
}

/**
 * The binaries of a state.json already read, verified against its manifest: a caller that checked
 * the state's settings loads that same state (state.json is not read again), and a binary of
 * another save fails the manifest instead of mixing two checkpoints.
 */
export function readCheckpointBinaries(state: CheckpointState): CheckpointData {
  const { path, meta } = state;
  const metaPath = join(path, 'state.json');
  const data: Record<string, Float32Array> = {};
  for (const f of BINARIES) {
    const p = join(path, f);
    let bytes: Buffer;
    try {
      bytes = readFileSync(p);
    } catch (e) {
      throw new CheckpointError(`${p}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    if (meta.version === CHECKPOINT_VERSION) {
      const want = meta.files?.[f];
      if (!want || typeof want.bytes !== 'number' || typeof want.sha256 !== 'string')
        throw new CheckpointError(`${metaPath}: no manifest entry for ${f}`);
      if (bytes.byteLength !== want.bytes)
        throw new CheckpointError(
          `${p}: ${bytes.byteLength} bytes, the manifest says ${want.bytes} (corrupt or half-written checkpoint)`,
        );
      if (sha256Hex(bytes) !== want.sha256)
        throw new CheckpointError(`${p}: content does not match the manifest's SHA-256 (corrupt checkpoint)`);
    }
    data[f] = readF32(p, bytes);
  }
  return { ...state, weights: data['weights.bin'], momentum: data['momentum.bin'] };
}

/** Each saved tensor with the parameter it belongs to. */
export interface CheckpointMatch {
  weights: Array<{ p: Param; v: Float32Array }>;
  momentum: Array<{ p: Param; v: Float32Array }>;
}

/**
 * Pairs a verified checkpoint's tensors with `params` by name and shape; throws CheckpointError
 * when they do not match the network (another layout, or parameters named by an older wgnas).
 */
export function matchCheckpoint(ck: CheckpointData, params: readonly Param[]): CheckpointMatch {
  const { meta } = ck;
  const metaPath = join(ck.path, 'state.json');
  const byName = new Map(params.map((p) => [p.name, p]));
  if (meta.weights.length !== params.length) {
    throw new CheckpointError(
      `${metaPath}: checkpoint has ${meta.weights.length} weight tensors, the network ${params.length} (different layout?)`,
    );
  }
  const check = (e: TensorIndexEntry, what: string, data: Float32Array): { p: Param; v: Float32Array } => {
    const p = byName.get(e.name);
    if (!p) throw new CheckpointError(`${metaPath}: ${what} tensor '${e.name}' is not a parameter of this network`);
    if (p.value.shape.join('x') !== e.shape.join('x')) {
      throw new CheckpointError(`${metaPath}: '${e.name}' is [${e.shape}] in the checkpoint, [${p.value.shape}] in the network`);
    }
    if (e.offset + p.value.size > data.length) throw new CheckpointError(`${ck.path}: ${what} file is truncated at '${e.name}'`);
    return { p, v: data.subarray(e.offset, e.offset + p.value.size) };
  };
  return {
    weights: meta.weights.map((e) => check(e, 'weight', ck.weights)),
    momentum: meta.momentum.map((e) => check(e, 'momentum', ck.momentum)),
  };
}

/**
 * Loads a verified checkpoint's weights (and momentum buffers, created as needed) into `params`.
 * Everything is checked before the network is touched.
 */
export function applyCheckpoint(
  backend: Backend,
  ck: CheckpointData,
  params: readonly Param[],
  momentum: Map<Param, Tensor>,
  match = matchCheckpoint(ck, params),
): void {
  for (const { p, v } of match.weights) backend.write(p.value, v);
  for (const b of momentum.values()) b.dispose();
  momentum.clear();
  for (const { p, v } of match.momentum) momentum.set(p, backend.upload(v, p.value.shape));
}

/** readCheckpoint + applyCheckpoint; returns the meta. */
export function loadCheckpoint(
  backend: Backend,
  dir: string,
  params: readonly Param[],
  momentum: Map<Param, Tensor>,
): CheckpointMeta {
  const ck = readCheckpoint(dir);
  applyCheckpoint(backend, ck, params, momentum);
  return ck.meta;
}

/**
 * The checkpoint is `command`'s (state.json's `kind`): checked before its settings, so another
 * command's checkpoint is named as such rather than by a layout or flag that happens to differ.
 */
export function checkCheckpointKind(ck: CheckpointState, kind: string, command: string): void {
  if (ck.meta.kind !== kind)
    throw new CheckpointError(`${ck.path}: not a wgnas ${command} checkpoint (kind ${String(ck.meta.kind ?? 'none')})`);
}

/** A counter of a saved state (steps, iterations, ids): an integer >= 0. */
export const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

/**
 * The settings that name the data, in this order: checked before the layout, whose classes follow
 * the dataset; the split sizes before the images' fingerprint, which another --train or --val
 * changes too (the flag is named, not the fingerprint).
 */
const DATA_SETTINGS = ['--dataset', '--train', '--val', '--dataset images'];

/**
 * A checkpoint's recorded settings (`saved`) and layout against this run's: the dataset first
 * (another one changes the layout's class count too, and --dataset is the flag to name), then the
 * layout, then the rest. `growable`: settings that may grow (a longer run continues a shorter one).
 * Settings the checkpoint does not record are skipped (older formats record fewer), except the GPU
 * kernels', which read as src/util/kernels-record.ts says (refused where they cannot be told);
 * `queueable`: the command has a --redis queue (the advice names it).
 */
export function checkSettingsAndLayout(
  ck: CheckpointState,
  saved: RunSettings,
  layout: { name: string },
  now: RunSettings,
  growable: readonly string[],
  queueable = false,
): void {
  const restart = '--force starts over, or start a new --checkpoint directory';
  const kernels = kernelsResume(saved, now, { devices: provenanceDevices(ck.provenance), restart, queueable });
  const check = (want: RunSettings) =>
    checkRunSettings(kernels.saved, want, {
      growable,
      skipUnrecorded: true,
      advice: "resume with the checkpoint's settings or start a new --checkpoint directory",
      adviceFor: kernels.adviceFor,
    });
  const data = DATA_SETTINGS.filter((k) => k in now);
  check(Object.fromEntries(data.filter((k) => k !== '--dataset images').map((k) => [k, now[k]])));
  // Other images from the same flags: a checkpoint of the former split says so, not the images.
  const former = formerSplitReason(saved, now);
  if (former) throw new CheckpointError(`--resume: ${ck.path}: ${former}; start a new --checkpoint directory`);
  check(Object.fromEntries(data.map((k) => [k, now[k]])));
  const was = ck.meta.layout as { name?: string } | undefined;
  if (JSON.stringify(was) !== JSON.stringify(layout))
    throw new CheckpointError(
      `checkpoint ${ck.path} is for layout '${was?.name ?? '?'}', this search uses '${layout.name}' with other settings`,
    );
  check(now);
}
