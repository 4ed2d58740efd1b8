/**
 * Builds a latency lookup table on this machine: each key's op is timed in isolation through the
 * native addon and appended to the output file as soon as it is measured, so an interrupted run
 * can resume where it stopped.
 */
import { existsSync } from 'node:fs';

import { acquireLock, cleanTempFiles, killPoint, type LockOwner, writeFileAtomic } from '../util/durable.js';
import { ResumeMismatchError } from '../util/run-settings.js';

import {
  describeBackend,
  loadNative,
  requireBackend,
  type BackendName,
  type NativeBinding,
  type NativeOp,
  type ProfileResult,
} from '../native/binding.js';
import { keyToNativeOp } from './keys.js';

/** The addon's profiling side, for the layers above that price ops (src/mobilenet/cost/measured.ts). */
export { describeBackend, loadNative, requireBackend, type BackendName, type NativeBinding, type NativeOp };
import { appendLatencyEntry, formatHeader, readLatencyTable, writeLatencyTable, type LatencyEntry, type LatencyTable } from './lut.js';

export interface BuildTableOptions {
  keys: string[];
  /** Output YAML; omitted = keep the table in memory only. */
  out?: string;
  /** Keep the entries already in `out` and measure only the rest. */
  resume?: boolean;
  /** Overwrite an existing `out` (without resume). */
  force?: boolean;
  backend?: BackendName;
  threads?: number;
  repeats?: number;
  warmup?: number;
  maxTimeMs?: number;
  pin?: boolean;
  /** Cache flush before each run (see ProfileOptions.flushBytes); 'auto' = 2 × the L2 size. */
  flushBytes?: number | 'auto';
  /** Extra stamp fields, e.g. space and resolution. */
  meta?: Record<string, string>;
  onProgress?: (done: number, total: number, key: string, entry: LatencyEntry | null) => void;
  /** Told when `out`'s lock was left by a dead run and is taken over. */
  onStaleLock?: (owner: LockOwner) => void;
  native?: NativeBinding;
}

export interface BuildTableResult {
  table: LatencyTable;
  measured: number;
  reused: number;
}

export function resultToEntry(r: ProfileResult): LatencyEntry {
  return { count: r.count, mean: r.meanMs, var: r.stdMs * r.stdMs, median: r.medianMs, iqr: r.iqrMs };
}

/** Twice the per-core L2 (4 MiB when unknown): enough to evict an op's data from the private caches. */
export function autoFlushBytes(cacheBytes: Record<string, number>): number {
  const l2 = cacheBytes.l2 ?? 0;
  return l2 > 0 ? 2 * l2 : 4 << 20;
}

/** The table stamp's 'cache-flush' field (compared on --resume, so every pricing writes it one way). */
export function flushStamp(flushBytes: number): string {
  return flushBytes > 0 ? `${flushBytes} bytes per thread before each run` : 'no (warm caches)';
}

/**
 * Stamp fields that must agree for a resumed run to extend a table; a table without them was not
 * measured by `wgnas profile` (e.g. a published device table) and is never extended.
 */
const RESUME_FIELDS = ['cpu', 'library', 'backend', 'threads', 'cache-flush'];

/** The lock file that keeps two profile runs off one table. */
export function tableLockPath(out: string): string {
  return `${out}.lock`;
}

/**
 * Throws ResumeMismatchError unless `prev`'s stamp says it was measured the way this run measures
 * (naming the field): extending a table with entries timed another way would mix two tables.
 */
export function checkResumeStamp(out: string, prev: Record<string, string>, now: Record<string, string>, extra: readonly string[] = []): void {
  const hint = '(use another --out, or --force to start over)';
  if (Object.keys(prev).length === 0) throw new ResumeMismatchError(`cannot resume ${out}: it has no stamp header (empty, or not a wgnas profile table) ${hint}`);
  for (const f of RESUME_FIELDS) {
    if (prev[f] === undefined) throw new ResumeMismatchError(`cannot resume ${out}: its stamp has no '${f}' (not measured by wgnas profile on this machine?) ${hint}`);
  }
  for (const f of [...RESUME_FIELDS, ...extra]) {
    if (prev[f] !== undefined && prev[f] !== now[f]) {
      throw new ResumeMismatchError(`cannot resume ${out}: it was measured with ${f} '${prev[f]}', this run has '${now[f]}' ${hint}`);
    }
  }
}

export async function buildLatencyTable(o: BuildTableOptions): Promise<BuildTableResult> {
  // Validate every key before spending time measuring.
  const ops = new Map<string, NativeOp>(o.keys.map((k) => [k, keyToNativeOp(k)]));
  const native = o.native ?? loadNative();
  const backend = o.backend ?? 'onednn';
  const info = requireBackend(native, backend);
  const threads = o.threads ?? 1;
  const cpu = native.cpuInfo();
  const flushBytes = o.flushBytes === 'auto' ? autoFlushBytes(cpu.cacheBytes) : (o.flushBytes ?? 0);
  const opts = { backend, threads, repeats: o.repeats ?? 30, warmup: o.warmup ?? 5, maxTimeMs: o.maxTimeMs ?? 0, pin: o.pin ?? true, flushBytes };
  // A one-sample probe tells whether pinning works here, for the stamp.
  const probe = await native.profile([{ type: 'linear', inC: 8, outC: 8 }], { ...opts, repeats: 1, warmup: 0 });
  const meta: Record<string, string> = {
    generator: 'wgnas profile (ProxylessNAS/Once-for-All latency table format, values in ms)',
    cpu: cpu.model,
    cores: `${cpu.logicalCores} logical, ${cpu.physicalCores ?? '?'} physical, ${cpu.availableCores} available`,
    library: describeBackend(info),
    backend,
    threads: String(threads),
    pinned: probe.pinned ? 'yes' : `no (${probe.pinError ?? 'disabled'})`,
    repeats: String(opts.repeats),
    warmup: String(opts.warmup),
    'cache-flush': flushStamp(flushBytes),
    ...o.meta,
    date: new Date().toISOString(),
  };

  let table: LatencyTable = { meta, entries: new Map() };
  // One writer per table: a second run on it would interleave entries and duplicate keys.
  const lock = o.out ? acquireLock(tableLockPath(o.out), { what: `latency table ${o.out}`, onStale: (w) => o.onStaleLock?.(w) }) : null;
  try {
    if (o.out) cleanTempFiles(o.out);
    let fresh = true;
    if (o.out && existsSync(o.out)) {
      if (o.resume) {
        const prev = readLatencyTable(o.out, { allowTruncatedTail: true });
        checkResumeStamp(o.out, prev.meta, meta, Object.keys(o.meta ?? {}));
        table = { meta: prev.meta, entries: prev.entries };
        fresh = false;
        // Rewrite cleanly (atomically: a kill leaves the old file), dropping a partial entry left
        // by an interrupted run.
        writeLatencyTable(o.out, table, { sort: false });
      } else if (!o.force) {
        throw new Error(`${o.out} already exists: pass --resume to continue it or --force to overwrite it`);
      }
    }
    if (o.out && fresh) writeFileAtomic(o.out, formatHeader(meta), { killTag: 'table.header' });

    const todo = o.keys.filter((k) => !table.entries.has(k));
    const reused = o.keys.length - todo.length;
    let done = reused;
    o.onProgress?.(done, o.keys.length, '', null);
    for (const key of todo) {
      const r = await native.profile([ops.get(key)!], opts);
      const entry = resultToEntry(r);
      table.entries.set(key, entry);
      if (o.out) {
        appendLatencyEntry(o.out, key, entry);
        killPoint('table.entry');
      }
      o.onProgress?.(++done, o.keys.length, key, entry);
    }
    return { table, measured: todo.length, reused };
  } finally {
    lock?.release();
  }
}
