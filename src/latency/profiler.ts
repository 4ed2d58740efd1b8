/**
 * Builds a latency lookup table on this machine: each key's op is timed in isolation through the
 * native addon and appended to the output file as soon as it is measured, so an interrupted run
 * can resume where it stopped (table-writer.ts). Target CPUs: remote-profiler.ts; the WebGPU
 * adapter: gpu-profiler.ts.
 */
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
import type { LatencyEntry } from './lut.js';
import { buildTable, CPU_RESUME_FIELDS, type BuildTableResult, type TableRunOptions, type TableSource } from './table-writer.js';

/** The addon's profiling side, for the layers above that price ops (src/mobilenet/cost/measured.ts). */
export { describeBackend, loadNative, requireBackend, type BackendName, type NativeBinding, type NativeOp };

export { checkResumeStamp, tableLockPath, type BuildTableResult } from './table-writer.js';

/**
 * How each op is timed, on this CPU or on a target (remote-profiler.ts). Defaults: onednn, 1
 * thread, 30 repeats after 5 warm-up runs, no time cap, pinned.
 */
export interface ProfileSettings {
  backend?: BackendName;
  threads?: number;
  repeats?: number;
  warmup?: number;
  maxTimeMs?: number;
  pin?: boolean;
  /**
   * Bytes touched per thread before each run (see ProfileOptions.flushBytes); 'auto' = twice the
   * L2 of the CPU that measures. Default: none on this CPU, 'auto' on a target.
   */
  flushBytes?: number | 'auto';
}

export interface BuildTableOptions extends TableRunOptions, ProfileSettings {
  native?: NativeBinding;
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

/** This CPU, through the addon. Validates every key before anything is measured. */
export function nativeTableSource(keys: readonly string[], o: Omit<BuildTableOptions, keyof TableRunOptions> = {}): TableSource {
  const ops = new Map<string, NativeOp>(keys.map((k) => [k, keyToNativeOp(k)]));
  const native = o.native ?? loadNative();
  const backend = o.backend ?? 'onednn';
  const info = requireBackend(native, backend);
  const threads = o.threads ?? 1;
  const cpu = native.cpuInfo();
  const flushBytes = o.flushBytes === 'auto' ? autoFlushBytes(cpu.cacheBytes) : (o.flushBytes ?? 0);
  const opts = {
    backend,
    threads,
    repeats: o.repeats ?? 30,
    warmup: o.warmup ?? 5,
    maxTimeMs: o.maxTimeMs ?? 0,
    pin: o.pin ?? true,
    flushBytes,
  };
  return {
    resumeFields: CPU_RESUME_FIELDS,
    async stamp() {
      // A one-sample probe tells whether pinning works here, for the stamp.
      const probe = await native.profile([{ type: 'linear', inC: 8, outC: 8 }], { ...opts, repeats: 1, warmup: 0 });
      return {
        cpu: cpu.model,
        cores: `${cpu.logicalCores} logical, ${cpu.physicalCores ?? '?'} physical, ${cpu.availableCores} available`,
        library: describeBackend(info),
        backend,
        threads: String(threads),
        pinned: probe.pinned ? 'yes' : `no (${probe.pinError ?? 'disabled'})`,
        repeats: String(opts.repeats),
        warmup: String(opts.warmup),
        'max-time-ms': String(opts.maxTimeMs),
        'cache-flush': flushStamp(flushBytes),
      };
    },
    async measure(todo, put) {
      for (const key of todo) put(key, resultToEntry(await native.profile([ops.get(key)!], opts)));
    },
  };
}

/** Times every key on this CPU into `o.out` (see table-writer.ts for locking, appending and --resume). */
export async function buildLatencyTable(o: BuildTableOptions): Promise<BuildTableResult> {
  // Validate every key before spending time measuring.
  const source = nativeTableSource(o.keys, o);
  return buildTable(o, source);
}
