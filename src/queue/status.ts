/** `wgnas queue status`: jobs waiting/active/failed per queue, the workers alive, failed jobs' errors. */
import { Queue } from 'bullmq';
import { DEVICE_CHOICES } from '../backend/select.js';
import { scanKeys } from './client.js';
import { openRedis } from './connection.js';
import type { ScoreJobData } from './jobs.js';
import { resultsKey } from './result-store.js';
import { type WorkerBeat, workersKeyPrefix } from './settings.js';

export interface QueueCounts {
  queue: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
}

export interface FailedJob {
  queue: string;
  id: string;
  kind: string;
  archs: number;
  firstArch: string;
  attemptsMade: number;
  attempts: number;
  error: string;
  failedAt: string | null;
}

export interface QueueStatus {
  namespace: string;
  queues: QueueCounts[];
  workers: WorkerBeat[];
  failed: FailedJob[];
  results: number;
}

/** The state of namespace `ns` (at most `maxFailed` failed jobs per queue, newest first). */
export async function queueStatus(url: string, ns: string, maxFailed = 20): Promise<QueueStatus> {
  const redis = openRedis(url, { maxRetriesPerRequest: 1 });
  try {
    const queues: QueueCounts[] = [];
    const failed: FailedJob[] = [];
    for (const d of DEVICE_CHOICES.filter((x) => x !== 'auto')) {
      const name = `score-${d}`;
      const q = new Queue<ScoreJobData>(name, { connection: redis, prefix: ns });
      try {
        const c = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
        queues.push({
          queue: name,
          waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
          active: c.active ?? 0,
          delayed: c.delayed ?? 0,
          failed: c.failed ?? 0,
          completed: c.completed ?? 0,
        });
        for (const j of await q.getFailed(0, maxFailed - 1)) {
          failed.push({
            queue: name,
            id: String(j.id),
            kind: j.name,
            archs: j.data?.archs?.length ?? 0,
            firstArch: j.data?.archs?.[0] ?? '',
            attemptsMade: j.attemptsMade,
            attempts: j.opts.attempts ?? 1,
            error: j.failedReason ?? '',
            failedAt: j.finishedOn ? new Date(j.finishedOn).toISOString() : null,
          });
        }
      } finally {
        await q.close();
      }
    }
    const beats = await scanKeys(redis, `${workersKeyPrefix(ns)}*`);
    const workers = (beats.length ? await redis.mget(...beats) : [])
      .filter((v): v is string => v !== null)
      .map((v) => JSON.parse(v) as WorkerBeat);
    workers.sort((a, b) => a.id.localeCompare(b.id));
    return { namespace: ns, queues, workers, failed, results: await redis.hlen(resultsKey(ns)) };
  } finally {
    redis.disconnect();
  }
}

/** The status as lines for a terminal. */
export function formatStatus(s: QueueStatus): string {
  const lines = [`namespace ${s.namespace}: ${s.results} results stored`];
  for (const q of s.queues)
    lines.push(`  ${q.queue.padEnd(10)} waiting ${q.waiting}  active ${q.active}  delayed ${q.delayed}  failed ${q.failed}`);
  lines.push(`workers alive: ${s.workers.length}`);
  for (const w of s.workers)
    lines.push(
      `  ${w.id}  ${w.device} (${w.deviceName})  concurrency ${w.concurrency}  active ${w.active}  jobs done ${w.jobsDone}  archs scored ${w.archsScored}  since ${w.startedAt}`,
    );
  if (s.failed.length) {
    lines.push('failed jobs:');
    for (const f of s.failed)
      lines.push(
        `  ${f.id} (${f.kind}, ${f.archs} arch${f.archs === 1 ? '' : 's'}, ${f.attemptsMade}/${f.attempts} attempts): ${f.error}`,
      );
  }
  return lines.join('\n') + '\n';
}
