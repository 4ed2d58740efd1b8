/**
 * The worker's side of `wgnas profile --redis`: times a shard of latency-table ops the way a local
 * profile would (this CPU through the addon, or the WebGPU adapter) and stores each entry with the
 * stamp of the device that timed it, so the submitter can refuse to mix devices in one table.
 */
import type { Backend } from '../backend/index.js';
import type { LatencyEntry } from '../latency/lut.js';
import { type BackendName, nativeTableSource } from '../latency/profiler.js';
import type { TableSource } from '../latency/table-writer.js';
import { gpuTableSource } from '../mobilenet/gpu-profiler.js';
import type { ProfileJobData, ProfileSettings, ScoreJobResult } from './jobs.js';
import type { JsonStore } from './result-store.js';

/** One timed op as stored: the entry, the timing device's table stamp, the worker. */
export interface ProfileResult {
  entry: LatencyEntry;
  stamp: Record<string, string>;
  worker: string;
}

/** --cache-flush as the native profiler takes it. */
export function flushBytesOf(v: string): number | 'auto' {
  return v === 'auto' ? 'auto' : v === 'off' ? 0 : Number(v);
}

/** The table source a local `wgnas profile` would use for these settings (`backend`: the worker's, for the GPU). */
export function profileSource(p: ProfileSettings, ops: readonly string[], backend: Backend): TableSource {
  const timing = { repeats: p.repeats, warmup: p.warmup, maxTimeMs: p.maxTimeMs };
  if (p.device === 'gpu') return gpuTableSource(ops, backend, timing);
  return nativeTableSource(ops, {
    backend: p.backend as BackendName,
    threads: p.threads,
    pin: p.pin,
    flushBytes: flushBytesOf(p.cacheFlush),
    ...timing,
  });
}

/**
 * Test hook: WGNAS_TEST_DEVICE_IDENTITY (a JSON object of stamp fields) makes this worker claim
 * another device, so the submitter's refusal can be tested on one machine.
 */
function identityOverride(): Record<string, string> {
  const v = process.env.WGNAS_TEST_DEVICE_IDENTITY;
  return v ? (JSON.parse(v) as Record<string, string>) : {};
}

export async function runProfileJob(
  data: ProfileJobData,
  o: { backend: Backend; store: JsonStore<ProfileResult>; worker: string; onStored?: (done: number, total: number) => void },
): Promise<ScoreJobResult> {
  const have = await o.store.getMany(data.keys);
  const todo = data.ops.map((op, i) => ({ op, key: data.keys[i] })).filter((t) => !have.has(t.key));
  if (!todo.length) return { scored: 0, skipped: data.ops.length };
  const source = profileSource(
    data.profile,
    todo.map((t) => t.op),
    o.backend,
  );
  try {
    const stamp = { ...(await source.stamp()), ...identityOverride() };
    let done = 0;
    for (const t of todo) {
      let entry: LatencyEntry | undefined;
      await source.measure([t.op], (_k, e) => (entry = e));
      if (!entry) throw new Error(`the profiler returned nothing for ${t.op}`);
      await o.store.put(t.key, { entry, stamp, worker: o.worker });
      o.onStored?.(++done, todo.length);
    }
  } finally {
    await source.close?.();
  }
  return { scored: todo.length, skipped: data.ops.length - todo.length };
}
