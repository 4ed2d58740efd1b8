/**
 * `wgnas profile --redis`: the table's ops go to the queue as jobs, the workers time them, and the
 * table is written here exactly as a local profile writes it (locked, each entry appended as it
 * arrives, --resume, rewritten in key order at the end). A table is of one device: an entry timed
 * on a worker whose stamp differs ends the run (queue/profile.ts).
 */
import type { ResumedTable, TableSource } from '../latency/table-writer.js';
import { codeVersion } from '../queue/code-version.js';
import type { ProfileSettings } from '../queue/jobs.js';
import { openProfileClient, queuedTableSource } from '../queue/profile.js';
import { checkRedis, noWorkerNote } from './redis.js';
import type { RunContext } from './run.js';
import type { ValuesOf } from './spec.js';
import type { PROFILE_OPTIONS } from './specs/profile.js';

type Values = ValuesOf<typeof PROFILE_OPTIONS>;

/**
 * The queued table source for `keys`; `note` prints a line (above the progress bar). `resumed`: the
 * --resume table as the command read it (once; the writer resumes the same copy). `flushQueuedAs`:
 * another --cache-flush whose stored results count too (profile.ts resolveCacheFlush).
 */
export async function queuedProfileSource(
  v: Values & { redis: string },
  keys: readonly string[],
  { io }: RunContext,
  resumed: ResumedTable | null = null,
  flushQueuedAs?: string,
): Promise<TableSource> {
  await checkRedis(v.redis);
  const settings: ProfileSettings = {
    device: v.device,
    backend: v.backend,
    threads: v.threads,
    pin: !v['no-pin'],
    cacheFlush: v['cache-flush'],
    repeats: v.repeats,
    warmup: v.warmup,
    maxTimeMs: v['max-time-ms'],
    codeVersion: codeVersion(),
  };
  // A resume queues only what the table lacks (and takes the table's stamp when it lacks nothing).
  let todo = keys;
  let resumeStamp: Record<string, string> | undefined;
  if (v.resume && resumed) {
    const prev = resumed.table;
    todo = keys.filter((k) => !prev.entries.has(k));
    resumeStamp = prev.meta;
  }
  const client = openProfileClient({
    url: v.redis,
    namespace: v.queue,
    device: v.device,
    attempts: v.attempts,
    onNote: (l) => io.err(`${l}\n`),
  });
  const source = queuedTableSource(todo, {
    client,
    settings,
    shardSize: v['shard-size'],
    resumeStamp,
    alsoStoredAs:
      flushQueuedAs !== undefined && flushQueuedAs !== settings.cacheFlush ? [{ ...settings, cacheFlush: flushQueuedAs }] : [],
    onSubmitted: async (jobs, stored, dropped) => {
      const found = [
        stored ? `${stored} found in the result store` : '',
        dropped ? `${dropped} stored from another device dropped` : '',
      ].filter(Boolean);
      io.err(
        `profiling ${todo.length} ops as ${jobs} job(s) on the ${v.device} workers of ${v.queue}${found.length ? ` (${found.join(', ')})` : ''}\n`,
      );
      if (jobs && (await client.workersAlive()) === 0) io.err(noWorkerNote(v.queue, v.device));
    },
  });
  return { ...source, close: () => client.close() };
}
