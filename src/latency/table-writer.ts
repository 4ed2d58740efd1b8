/**
 * Writing a latency table as it is measured, whatever measures it (this CPU through the addon, a
 * target CPU over ssh, the WebGPU adapter): one writer per table (a lock file), the header written
 * atomically, each entry appended in one fsynced write as soon as it is measured, and --resume
 * keeping the entries already there, after checking that the table's stamp says it was measured
 * the way (and on the device) this run measures.
 */
import { existsSync, statSync } from 'node:fs';

import { acquireLock, cleanTempFiles, killPoint, type LockOwner, writeFileAtomic, writeTarget } from '../util/durable.js';
import { UserFacingError } from '../util/errors.js';
import { ResumeMismatchError } from '../util/run-settings.js';

import {
  appendLatencyEntry,
  formatHeader,
  readResumedTable,
  writeLatencyTable,
  type LatencyEntry,
  type LatencyTable,
} from './lut.js';

/** What measures a table's entries. */
export interface TableSource {
  /** The stamp of this run: the device, library and settings (without generator, date and caller meta). */
  stamp(): Promise<Record<string, string>>;
  /**
   * Stamp fields a table must have, equal, to be extended by this run: a table without them was not
   * measured this way (e.g. a published device table, or another kind of device) and is never extended.
   */
  readonly resumeFields: readonly string[];
  /** Measures `keys` in order, calling `put` with each entry as soon as it is measured. */
  measure(keys: string[], put: (key: string, entry: LatencyEntry) => void): Promise<void>;
  /** Releases what the source holds (connections, devices); called however the run ends. */
  close?(): Promise<void> | void;
}

export interface TableRunOptions {
  keys: string[];
  /** Output YAML; omitted = keep the table in memory only. */
  out?: string;
  /** Keep the entries already in `out` and measure only the rest. */
  resume?: boolean;
  /**
   * `out` as the caller read it for --resume (readTableForResume, to check its flags before any
   * work): resumed as read, not read again; refused if the file changed since.
   */
  resumed?: ResumedTable | null;
  /** Overwrite an existing `out` (without resume). */
  force?: boolean;
  /** Extra stamp fields, e.g. space and resolution (compared on resume when the table has them). */
  meta?: Record<string, string>;
  onProgress?: (done: number, total: number, key: string, entry: LatencyEntry | null) => void;
  /** Told when `out`'s lock was left by a dead run and is taken over. */
  onStaleLock?: (owner: LockOwner) => void;
  /**
   * Rewrite the finished table with its entries in `keys` order (atomically, under the lock): for
   * sources whose entries arrive in any order (workers on a queue), so the table reads as a local one.
   */
  rewriteInKeyOrder?: boolean;
}

export interface BuildTableResult {
  table: LatencyTable;
  /** Entries measured by this run. */
  measured: number;
  /** Entries kept from the table --resume continued: the table holds measured + reused. */
  reused: number;
  /** Of the reused, those whose keys this run did not ask for (a run with a smaller --limit). */
  unlisted: number;
}

/**
 * The stamp fields of every wgnas CPU profile table (this machine's or a target's): the device, and
 * how its entries were timed (a table timed with other repeats, warm-up, pinning or time limit is
 * another table).
 */
export const CPU_RESUME_FIELDS = [
  'cpu',
  'library',
  'backend',
  'threads',
  'cache-flush',
  'pinned',
  'repeats',
  'warmup',
  'max-time-ms',
] as const;

/** The command-line flag behind a stamp field, for the messages of a refused resume. */
export const STAMP_FLAGS: Readonly<Record<string, string>> = {
  backend: '--backend',
  threads: '--threads',
  'cache-flush': '--cache-flush',
  pinned: '--no-pin',
  repeats: '--repeats',
  warmup: '--warmup',
  'max-time-ms': '--max-time-ms',
  space: '--space',
  resolution: '--resolution',
  device: '--device',
  target: '--target',
};

/**
 * A stamp value as compared on resume: 'pinned' by whether the threads were pinned ('yes', or
 * 'no (why)' where the reason may differ between two runs that both did not pin).
 */
function comparable(field: string, v: string | undefined): string | undefined {
  return field === 'pinned' && v !== undefined ? (v.startsWith('yes') ? 'yes' : 'no') : v;
}

/**
 * Fields naming the device itself, compared both ways (absent = this machine's CPU): a table
 * measured on a target, or on the GPU, is never extended by a run elsewhere, nor the other way.
 */
const DEVICE_FIELDS = ['device', 'target', 'arch'] as const;

/** A table read for --resume and the version of the file it was read from. */
export interface ResumedTable {
  table: LatencyTable;
  /** Device, inode, size and modification time of the file when it was read. */
  version: string;
}

function fileVersion(path: string): string {
  const st = statSync(path);
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
}

/** Reads `out` for --resume once (readResumedTable), with its file version (see TableRunOptions.resumed). */
export function readTableForResume(out: string): ResumedTable {
  const version = fileVersion(out);
  return { table: readResumedTable(out), version };
}

/** The lock file that keeps two profile runs off one table. */
export function tableLockPath(out: string): string {
  return `${out}.lock`;
}

const RESUME_HINT = '(use another --out, or --force to start over)';

/** "cannot resume OUT: it was measured with F 'a', this run has 'b' (--flag)". */
function mismatch(out: string, f: string, prev: string, now: string): ResumeMismatchError {
  const flag = STAMP_FLAGS[f] ? ` (${STAMP_FLAGS[f]})` : '';
  return new ResumeMismatchError(
    `cannot resume ${out}: it was measured with ${f} ${prev}, this run has ${now}${flag} ${RESUME_HINT}`,
  );
}

/**
 * Fields that tables measured before they were stamped (2026-12-05) lack: such a table resumes (with
 * this run's value) instead of being refused, as the score and search outputs treat settings they
 * did not record.
 */
const UNSTAMPED_BEFORE: ReadonlySet<string> = new Set(['max-time-ms']);

/**
 * Throws ResumeMismatchError unless `prev`'s stamp says it was measured the way this run measures
 * (naming the field and its flag): extending a table with entries timed another way would mix two tables.
 */
export function checkResumeStamp(
  out: string,
  prev: Record<string, string>,
  now: Record<string, string>,
  extra: readonly string[] = [],
  fields: readonly string[] = CPU_RESUME_FIELDS,
): void {
  if (Object.keys(prev).length === 0)
    throw new ResumeMismatchError(
      `cannot resume ${out}: it has no stamp header (empty, or not a wgnas profile table) ${RESUME_HINT}`,
    );
  for (const f of DEVICE_FIELDS) {
    if ((prev[f] ?? '') !== (now[f] ?? '')) {
      const show = (v: string | undefined) => (v === undefined ? (f === 'device' ? "'cpu'" : 'none (this machine)') : `'${v}'`);
      throw mismatch(out, f, show(prev[f]), show(now[f]));
    }
  }
  for (const f of fields) {
    if (prev[f] === undefined && !UNSTAMPED_BEFORE.has(f))
      throw new ResumeMismatchError(
        `cannot resume ${out}: its stamp has no '${f}' (not measured by this version of wgnas profile?) ${RESUME_HINT}`,
      );
  }
  for (const f of [...fields, ...extra]) {
    if (prev[f] !== undefined && comparable(f, prev[f]) !== comparable(f, now[f])) {
      throw mismatch(out, f, `'${prev[f]}'`, now[f] === undefined ? 'none' : `'${now[f]}'`);
    }
  }
}

/**
 * The settings of a resumed table that a run knows before it starts (its flags), checked before
 * any work (ssh, the queue): `settings` holds stamp fields as this run would write them; fields the
 * table has and that differ are refused naming the flag. Device fields are left to checkResumeStamp.
 */
export function checkResumeSettings(out: string, prev: Record<string, string>, settings: Record<string, string>): void {
  if (Object.keys(prev).length === 0) return; // refused with its reason by checkResumeStamp
  for (const [f, v] of Object.entries(settings)) {
    if (prev[f] !== undefined && comparable(f, prev[f]) !== comparable(f, v)) throw mismatch(out, f, `'${prev[f]}'`, `'${v}'`);
  }
}

/** Measures `o.keys` with `source` into `o.out` (locked, appended, resumable); closes the source. */
export async function buildTable(o: TableRunOptions, source: TableSource): Promise<BuildTableResult> {
  try {
    // A symbolic link is followed once: the lock and the temporaries sit beside the table it names.
    if (o.out) o = { ...o, out: writeTarget(o.out) };
    const meta: Record<string, string> = {
      generator: 'wgnas profile (ProxylessNAS/Once-for-All latency table format, values in ms)',
      ...(await source.stamp()),
      ...o.meta,
      date: new Date().toISOString(),
    };
    let table: LatencyTable = { meta, entries: new Map() };
    // One writer per table: a second run on it would interleave entries and duplicate keys.
    const lock = o.out
      ? acquireLock(tableLockPath(o.out), { what: `latency table ${o.out}`, onStale: (w) => o.onStaleLock?.(w) })
      : null;
    try {
      if (o.out) cleanTempFiles(o.out);
      let fresh = true;
      if (o.out && existsSync(o.out)) {
        if (o.resume) {
          const prev = o.resumed ? unchanged(o.out, o.resumed) : readResumedTable(o.out);
          checkResumeStamp(o.out, prev.meta, meta, Object.keys(o.meta ?? {}), source.resumeFields);
          table = { meta: prev.meta, entries: prev.entries };
          fresh = false;
          // Rewrite cleanly (atomically: a kill leaves the old file), dropping a partial entry left
          // by an interrupted run.
          writeLatencyTable(o.out, table, { sort: false });
        } else if (!o.force) {
          throw new Error(`${o.out} already exists: pass --resume to continue it or --force to overwrite it`);
        }
      }
      if (o.out && fresh && o.resume && o.resumed) unchanged(o.out, o.resumed);
      if (o.out && fresh) writeFileAtomic(o.out, formatHeader(meta), { killTag: 'table.header' });

      const todo = o.keys.filter((k) => !table.entries.has(k));
      const reused = table.entries.size;
      const listed = new Set(o.keys);
      const unlisted = [...table.entries.keys()].filter((k) => !listed.has(k)).length;
      let done = o.keys.length - todo.length;
      o.onProgress?.(done, o.keys.length, '', null);
      await source.measure(todo, (key, entry) => {
        table.entries.set(key, entry);
        if (o.out) {
          appendLatencyEntry(o.out, key, entry);
          killPoint('table.entry');
        }
        o.onProgress?.(++done, o.keys.length, key, entry);
      });
      const missing = todo.filter((k) => !table.entries.has(k));
      if (missing.length > 0)
        throw new Error(`the profiler ended without measuring ${missing.length} key(s), the first ${missing[0]}`);
      if (o.out && o.rewriteInKeyOrder) {
        const ordered = new Map(o.keys.map((k) => [k, table.entries.get(k)!]));
        for (const [k, e] of table.entries) if (!ordered.has(k)) ordered.set(k, e);
        table = { meta: table.meta, entries: ordered };
        writeLatencyTable(o.out, table, { sort: false });
      }
      return { table, measured: todo.length, reused, unlisted };
    } finally {
      lock?.release();
    }
  } finally {
    await source.close?.();
  }
}

/**
 * The table read for --resume, if `out` is still the file it was read from (checked under the
 * lock): a table another run extended or replaced since is not resumed from a stale copy.
 */
function unchanged(out: string, r: ResumedTable): LatencyTable {
  if (!existsSync(out) || fileVersion(out) !== r.version)
    throw new UserFacingError(`${out} changed since it was read for --resume (another run wrote it?): run again`);
  return r.table;
}
