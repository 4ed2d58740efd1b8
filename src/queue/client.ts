/**
 * The submitting side: puts score jobs on the queue (job ids from their content, so submitting the
 * same work twice is one job) and collects their results from the result store as they arrive,
 * whichever worker computed them. It polls rather than listening to events: a poll survives a
 * Redis restart (jobs that vanished with it are submitted again) and a worker killed mid-job (its
 * job comes back through BullMQ's stalled-job check; the results it had stored stay).
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DeviceKind } from '../backend/index.js';
import { openRedis, redactUrl } from './connection.js';
import {
  jobCodeVersion,
  jobIdOf,
  jobItems,
  type JobKind,
  type QueueJobData,
  resultKey,
  type ScoreJobData,
  scoreQueueName,
  type ScoreSettings,
} from './jobs.js';
import { ResultStore, type StoredResult } from './result-store.js';
import { outageMs, type WorkerBeat, workersKeyPrefix } from './settings.js';
import { UserFacingError } from '../util/errors.js';

/** A job that failed for good (after its retries): its error, for the one line the CLI prints. */
export class QueueJobFailedError extends UserFacingError {
  override readonly name = 'QueueJobFailedError';
}

/** Redis went away for longer than the submitting side waits. */
export class QueueOutageError extends UserFacingError {
  override readonly name = 'QueueOutageError';
}

export interface ClientOptions {
  url: string;
  namespace: string;
  device: DeviceKind;
  /** Tries per job (a failure is retried with exponential backoff from 1 s). */
  attempts: number;
  /** Poll period of the result store (ms). */
  pollMs?: number;
  /** Told once per outage and once per recovery. */
  onNote?: (line: string) => void;
}

/** Where a client reads its results (ResultStore for scores; a JsonStore for other kinds). */
export interface ResultSource<R> {
  getMany(keys: readonly string[]): Promise<Map<string, R>>;
}

/** How long a worker's refusal counts as current (it refuses a job again each time it meets it). */
const REFUSAL_FRESH_MS = 15_000;

interface Shard {
  kind: JobKind;
  data: QueueJobData;
  /** Keys of this shard still without a result. */
  pending: Set<string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class QueueClient<R = StoredResult> {
  private readonly redis: Redis;
  private readonly queue: Queue<QueueJobData>;
  readonly store: ResultSource<R>;
  private readonly shards = new Map<string, Shard>();
  /** Keys waited for -> the shard ids that carry them. */
  private readonly waiting = new Map<string, Set<string>>();
  private lastStateCheck = 0;
  private lastWorkerCount = 0;
  private workersCheckedAt = -Infinity;
  private lastOk = performance.now();
  private down = false;
  private closing = false;
  private lastRefusalCheck = 0;
  /** The refusal note last given (said again only when the situation changes). */
  private refusalNote = '';

  /** `openStore` reads the results of jobs other than scores (default: the score ResultStore). */
  constructor(
    private readonly o: ClientOptions,
    openStore?: (redis: Redis, ns: string) => ResultSource<R>,
  ) {
    this.redis = openRedis(o.url);
    this.queue = new Queue<QueueJobData>(scoreQueueName(o.device), { connection: openRedis(o.url), prefix: o.namespace });
    this.queue.on('error', () => {}); // outages are noticed by the polls
    this.store = openStore
      ? openStore(this.redis, o.namespace)
      : (new ResultStore(this.redis, o.namespace) as unknown as ResultSource<R>);
    // Reconnects are quick (<= 1 s apart) and invisible to the calls: the events tell the user.
    this.redis.on('close', () => this.lost('connection closed'));
    this.redis.on('ready', () => this.back());
  }

  private lost(why: string): void {
    if (this.down || this.closing) return;
    this.down = true;
    this.o.onNote?.(`lost redis ${redactUrl(this.o.url)} (${why}); waiting for it`);
  }

  private back(): void {
    if (!this.down) return;
    this.down = false;
    this.lastOk = performance.now();
    this.o.onNote?.(`redis ${redactUrl(this.o.url)} is back`);
  }

  keyOf(settings: ScoreSettings, arch: string): string {
    return resultKey(settings, arch);
  }

  /** Results already stored for `keys` (a re-run, another run's work). */
  stored(keys: readonly string[]): Promise<Map<string, R>> {
    return this.guard(() => this.store.getMany(keys));
  }

  /** Submits archs as one job (unless a job with the same content is already queued). */
  async submit(kind: JobKind, settings: ScoreSettings, archs: readonly string[], step?: number): Promise<string> {
    const keys = archs.map((a) => resultKey(settings, a));
    const data: ScoreJobData = { settings, archs: [...archs], keys, ...(step === undefined ? {} : { step }) };
    return this.submitJob(kind, data);
  }

  /** Submits one job whose results are stored under `data.keys` (unless one with the same content is queued). */
  async submitJob(kind: JobKind, data: QueueJobData): Promise<string> {
    const keys = data.keys;
    const id = jobIdOf(kind, keys);
    this.shards.set(id, { kind, data, pending: new Set(keys) });
    for (const k of keys) {
      if (!this.waiting.has(k)) this.waiting.set(k, new Set());
      this.waiting.get(k)!.add(id);
    }
    await this.guard(() => this.enqueue(id));
    return id;
  }

  private async enqueue(id: string): Promise<void> {
    const s = this.shards.get(id)!;
    const old = await this.queue.getJob(id);
    // A job left failed by an earlier run gets its tries back: this run asks for the work again.
    if (old && (await old.isFailed())) await old.retry('failed', { resetAttemptsMade: true });
    else if (!old) {
      await this.queue.add(s.kind, s.data, {
        jobId: id,
        attempts: this.o.attempts,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: true,
        removeOnFail: { count: 1000 },
      });
    }
  }

  /** Keys still waited for. */
  get pendingCount(): number {
    return this.waiting.size;
  }

  /**
   * Workers of this run's device whose heartbeat is fresh (checked at most every 2 s). A worker of
   * another device never takes these jobs (queues are per device), so it does not count.
   */
  async workersAlive(): Promise<number> {
    if (performance.now() - this.workersCheckedAt < 2000) return this.lastWorkerCount;
    this.workersCheckedAt = performance.now();
    this.lastWorkerCount = (await this.guard(() => this.beatsOfDevice())).length;
    return this.lastWorkerCount;
  }

  /** The heartbeats of the workers alive on this run's device queue. */
  private async beatsOfDevice(): Promise<WorkerBeat[]> {
    return (await readBeats(this.redis, this.o.namespace)).filter((w) => w.device === this.o.device);
  }

  /**
   * Waits until at least one waited-for result is stored and returns the new ones (key -> result).
   * Throws QueueJobFailedError when a job failed for good, QueueOutageError after a long outage.
   * With nothing waited for it throws: nothing could arrive, and a caller looping on an empty answer
   * would spin without ever yielding to the event loop (no signal handled). Loop on pendingCount.
   */
  async next(): Promise<Map<string, R>> {
    if (!this.waiting.size) throw new Error('queue: waiting for results when none is waited for (internal error)');
    for (;;) {
      const keys = [...this.waiting.keys()];
      const got = await this.guard(() => this.store.getMany(keys));
      for (const k of got.keys()) {
        for (const id of this.waiting.get(k) ?? []) {
          const s = this.shards.get(id)!;
          s.pending.delete(k);
          if (!s.pending.size) this.shards.delete(id);
        }
        this.waiting.delete(k);
      }
      if (got.size) return got;
      if (performance.now() - this.lastStateCheck > 1000) {
        this.lastStateCheck = performance.now();
        await this.guard(() => this.checkJobs());
      }
      if (performance.now() - this.lastRefusalCheck > 2000) {
        this.lastRefusalCheck = performance.now();
        await this.guard(() => this.checkRefusals());
      }
      await sleep(this.o.pollMs ?? 200);
    }
  }

  /** Failed jobs end the run; vanished ones (a Redis restart without persistence) are submitted again. */
  private async checkJobs(): Promise<void> {
    for (const [id, s] of this.shards) {
      const state = await this.queue.getJobState(id);
      if (state === 'failed') {
        const job = await this.queue.getJob(id);
        const { noun, items } = jobItems(s.data);
        throw new QueueJobFailedError(
          // The reason before the job's architectures: a long line is cut at its end.
          `job ${id} failed after ${job?.attemptsMade ?? '?'} attempt(s): ${job?.failedReason ?? 'no reason recorded'} (${items.length} ${noun}${items.length > 1 ? 's' : ''}, first ${items[0]}; wgnas queue status lists failed jobs)`,
        );
      }
      // Results are stored before a job completes, so a job gone without them was lost with Redis's data.
      if (state === 'unknown') await this.enqueue(id);
    }
  }

  /**
   * Says so (once per situation) when every worker alive refuses this run's jobs (other code or
   * data): they would sit unclaimed for ever, and nothing else would tell the user why.
   */
  private async checkRefusals(): Promise<void> {
    const first = this.shards.values().next().value;
    if (!first) return;
    const ours = jobCodeVersion(first.data);
    const workers = await this.beatsOfDevice();
    const now = Date.now();
    const refusing = workers.filter(
      (w) => w.refused && w.refused.jobCode === ours && now - Date.parse(w.refused.at) < REFUSAL_FRESH_MS,
    );
    const note =
      workers.length > 0 && refusing.length === workers.length
        ? `no worker takes this run's jobs: every worker alive on ${this.o.namespace} refuses them (${refusing
            .map((w) => `${w.id}: ${w.refused!.why}`)
            .join('; ')}); waiting for a worker that runs this code and data`
        : '';
    if (note && note !== this.refusalNote) this.o.onNote?.(note);
    this.refusalNote = note;
  }

  /** Takes this run's jobs that no worker has started off the queue (a refused profile). */
  async cancelWaiting(): Promise<void> {
    for (const id of this.shards.keys()) {
      const job = await this.queue.getJob(id).catch(() => undefined);
      if (job && !(await job.isActive().catch(() => true))) await job.remove().catch(() => {});
    }
    this.shards.clear();
    this.waiting.clear();
  }

  /** Runs a Redis call; while Redis is away it waits (ioredis queues the call), up to the outage limit. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    const limit = outageMs();
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      try {
        const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), 5000)));
        const r = await Promise.race([fn(), late]);
        this.back();
        this.lastOk = performance.now();
        return r;
      } catch (e) {
        if (!isConnectionError(e)) throw e;
        this.lost((e as Error).message);
        if (performance.now() - this.lastOk > limit)
          throw new QueueOutageError(
            `--redis ${redactUrl(this.o.url)}: no answer for ${Math.round(limit / 1000)} s; the rows so far are in the output (resume with --resume)`,
          );
        await sleep(500);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.queue.close().catch(() => {});
    this.redis.disconnect();
  }
}

/** Errors of a Redis that is away or restarting (anything else is a real failure). */
function isConnectionError(e: unknown): boolean {
  return /^timeout$|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection is closed|LOADING|Stream isn't writeable/.test(
    (e as Error)?.message ?? '',
  );
}

/** The heartbeats of the workers alive in namespace `ns` (a beat expires when its worker stops beating). */
export async function readBeats(redis: Redis, ns: string): Promise<WorkerBeat[]> {
  const keys = await scanKeys(redis, `${workersKeyPrefix(ns)}*`);
  return (keys.length ? await redis.mget(...keys) : [])
    .filter((v): v is string => v !== null)
    .map((v) => JSON.parse(v) as WorkerBeat);
}

/** Every key matching `pattern` (SCAN, never KEYS on a shared server). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    out.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return out;
}
