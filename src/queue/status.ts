/** `wgnas queue status`: jobs waiting/active/failed per queue, the workers alive, failed jobs' errors. */
import { Queue } from 'bullmq';
import { DEVICE_CHOICES } from '../backend/select.js';
import { fmtBytes } from '../util/format.js';
import { readBeats } from './client.js';
import { openRedis } from './connection.js';
import { jobItems, type QueueJobData } from './jobs.js';
import { kindResultsKey, resultsKey } from './result-store.js';
import type { WorkerBeat } from './settings.js';

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
  /** Items of the job (archs, ops or the evolution) and the first one; `noun` names them. */
  archs: number;
  firstArch: string;
  noun: string;
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
      const q = new Queue<QueueJobData>(name, { connection: redis, prefix: ns });
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
          const { noun, items } = j.data ? jobItems(j.data) : { noun: 'item', items: [] };
          failed.push({
            queue: name,
            id: String(j.id),
            kind: j.name,
            archs: items.length,
            firstArch: items[0] ?? '',
            noun,
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
    const workers = await readBeats(redis, ns);
    workers.sort((a, b) => a.id.localeCompare(b.id));
    const results =
      (await redis.hlen(resultsKey(ns))) +
      (await redis.hlen(kindResultsKey(ns, 'profile'))) +
      (await redis.hlen(kindResultsKey(ns, 'evolve')));
    return { namespace: ns, queues, workers, failed, results };
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
      `  ${w.id}  ${w.device} (${w.deviceName})  concurrency ${w.concurrency}${w.memoryBytes ? `  memory ${fmtBytes(w.memoryBytes)}` : ''}  active ${w.active}  jobs done ${w.jobsDone}  archs scored ${w.archsScored}  since ${w.startedAt}`,
    );
  // A worker refusing jobs is alive but useless to them: say which, why, and what to do.
  const refusing = s.workers.filter((w) => w.refused);
  if (refusing.length) {
    lines.push('workers refusing jobs (the jobs stay queued for a worker that takes them):');
    for (const w of refusing) {
      const r = w.refused!;
      lines.push(
        r.reason === 'code'
          ? `  ${w.id} refused ${r.count} job(s) (last ${r.job} at ${r.at}): its code is ${w.code ?? '?'}, the job's ${r.jobCode}: update the worker's checkout`
          : `  ${w.id} refused ${r.count} job(s) (last ${r.job} at ${r.at}): ${r.why}`,
      );
    }
  }
  if (s.failed.length) {
    lines.push('failed jobs:');
    for (const f of s.failed)
      lines.push(
        `  ${f.id} (${f.kind}, ${f.archs} ${f.noun}${f.archs === 1 ? '' : 's'}, ${f.attemptsMade}/${f.attempts} attempts): ${f.error}`,
      );
  }
  return lines.join('\n') + '\n';
}
