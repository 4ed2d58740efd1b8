/**
 * The long-lived worker: takes the jobs for its device from the queue (score shards and search
 * children; latency-table ops, profile-job.ts; whole evolutions, evolve-job.ts), computes each result
 * not yet in the result store and stores it at once (so a kill loses at most the item in hand), and
 * beats a heartbeat. A job from other code or for other data is refused, not failed: it goes back
 * to the queue for another worker and the refusal shows in the heartbeat (wgnas queue status). BullMQ renews the job lock while the job runs; a worker that dies
 * stops renewing and its job is handed to another after the lock expires (stalled-job recovery).
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { type Backend, type DeviceKind, gpuOf } from '../backend/index.js';
import { openDataset, parseDatasetSpec } from '../data/dataset-spec.js';
import { proxyMinibatch } from '../data/image-dataset.js';
import { NB201_DEFAULT } from '../nn/nb201-net.js';
import { type Nb201Cell, parseArch } from '../spaces/nb201.js';
import { killPoint } from '../util/durable.js';
import { fmtBytes } from '../util/format.js';
import { scoreAll, ZeroShotScorer } from '../zeroshot/index.js';
import { readBeats } from './client.js';
import { codeVersion } from './code-version.js';
import { openRedis } from './connection.js';
import { type EvolveRunResult, runEvolveJob } from './evolve-job.js';
import {
  batchHash,
  checkPrecision,
  isEvolveJob,
  isProfileJob,
  jobCodeVersion,
  JobRefusedError,
  type QueueJobData,
  type ScoreJobData,
  type ScoreJobResult,
  scoreQueueName,
  settingsKey,
  type ScoreSettings,
} from './jobs.js';
import { type ProfileResult, runProfileJob } from './profile-job.js';
import { JsonStore, kindResultsKey, ResultStore } from './result-store.js';
import { heartbeatMs, lockMs, noTakerGraceMs, refusalFreshMs, type WorkerBeat, workersKeyPrefix } from './settings.js';

/** How long a refused job waits before a worker may take it again (another worker usually does first). */
const REFUSED_DELAY_MS = 1000;

/** The image side the proxies read (as `wgnas score`). */
const RESOLUTION = 32;

export interface WorkerOptions {
  url: string;
  namespace: string;
  /** Opens one backend (each concurrent job gets its own). */
  openBackend: () => Promise<Backend>;
  device: DeviceKind;
  concurrency: number;
  /** Told about each job, about connection trouble and about a --group auto group halved (the CLI prints it). */
  onEvent?: (line: string) => void;
  /**
   * A CPU worker's memory against the score jobs' networks (cli/commands/worker.ts). A job too big
   * for this worker is asked of the other workers alive on its device, from their heartbeats: while
   * one has the memory and would take it, the job is refused (back to the queue, no try spent) for it
   * to take; with none for noTakerGraceMs, it fails for good, not retried: each worker taking it
   * would be killed by the OOM killer and hand it to the next.
   */
  memory?: {
    /** This machine's physical memory (what a job's slots are set against), in the heartbeat. */
    bytes: number;
    /** The check of one job: its estimate made once, then asked of any worker. */
    scoreJob: (settings: ScoreSettings, cells: readonly Nb201Cell[]) => JobMemoryCheck;
  };
}

/** What a job's memory check knows of a worker: this one, or another from its heartbeat. */
export interface WorkerMemory {
  host: string;
  /** Its machine's physical memory. */
  memoryBytes: number;
  /** Its job slots, each holding its own backend. */
  concurrency: number;
}

export interface JobMemoryCheck {
  /** Whether `w`'s job slots can each hold the job. */
  fits(w: WorkerMemory): boolean;
  /** One line, the reason first: the sizes on `w`, then `outcome` (what became of the job), then what to do. */
  why(w: WorkerMemory, outcome: string): string;
}

export interface WorkerHandle {
  readonly id: string;
  /** Stops taking jobs; waits for the running ones unless `force` (then they are handed back when their lock expires). */
  close(force?: boolean): Promise<void>;
}

/** Another worker alive, from its beat; `wont` says why it would not take the job asked about. */
interface OtherWorker extends WorkerMemory {
  id: string;
  wont?: string;
}

/** A duration in whole seconds (at least 1). */
const secs = (ms: number): string => `${Math.max(1, Math.round(ms / 1000))} s`;

interface Slot {
  backend: Backend;
  scorers: Map<string, ZeroShotScorer>;
}

export async function startWorker(o: WorkerOptions): Promise<WorkerHandle> {
  const id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const redis: Redis = openRedis(o.url);
  const store = new ResultStore(redis, o.namespace);
  const profiles = new JsonStore<ProfileResult>(redis, kindResultsKey(o.namespace, 'profile'));
  const evolutions = new JsonStore<EvolveRunResult>(redis, kindResultsKey(o.namespace, 'evolve'));
  // Test hook: a worker that runs "other code" without another checkout.
  const mine = process.env.WGNAS_TEST_CODE_VERSION || codeVersion();
  const testDelayMs = Number(process.env.WGNAS_TEST_JOB_DELAY_MS ?? 0) || 0;
  const free: Slot[] = [];
  const beatKey = `${workersKeyPrefix(o.namespace)}${id}`;
  const slots: Slot[] = [];
  const beat: WorkerBeat = {
    id,
    host: hostname(),
    pid: process.pid,
    device: o.device,
    deviceName: '',
    concurrency: o.concurrency,
    startedAt: new Date().toISOString(),
    jobsDone: 0,
    archsScored: 0,
    active: 0,
    code: mine,
    ...(o.memory ? { memoryBytes: o.memory.bytes } : {}),
  };
  const sendBeat = () => void redis.set(beatKey, JSON.stringify(beat), 'PX', 3 * heartbeatMs()).catch(() => {});

  // One backend per concurrent job: a job's tensors never meet another's.
  const takeSlot = async (): Promise<Slot> => {
    const s = free.pop();
    if (s) return s;
    const backend = await o.openBackend();
    beat.deviceName = backend.deviceName;
    const slot = { backend, scorers: new Map() };
    slots.push(slot);
    return slot;
  };
  // Beating from now: a worker still opening its backend (slow on some devices) is not taken for
  // absent by a small CPU worker holding a job too big for itself.
  sendBeat();
  const timer = setInterval(sendBeat, heartbeatMs());
  // The first backend opens before any job: a worker that cannot compute says so at start.
  try {
    free.push(await takeSlot());
    sendBeat(); // with its device's name
  } catch (e) {
    clearInterval(timer);
    await Promise.race([redis.del(beatKey).catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
    redis.disconnect();
    throw e;
  }

  const scorerFor = async (slot: Slot, s: ScoreSettings): Promise<ZeroShotScorer> => {
    const k = settingsKey(s);
    const have = slot.scorers.get(k);
    if (have) return have;
    if (s.device !== o.device) throw new Error(`the job is for --device ${s.device}, this worker runs ${o.device}`);
    if (s.threads !== undefined && slot.backend.threads !== s.threads)
      throw new JobRefusedError(
        'threads',
        `the job is computed with --cpu-threads ${s.threads}, this worker's backend runs ${slot.backend.threads} threads: start a worker with --cpu-threads ${s.threads}`,
      );
    checkPrecision(s.f16, gpuOf(slot.backend)?.f16Compute === true);
    const { ds } = await openDataset(parseDatasetSpec(s.dataset), 'train', { size: RESOLUTION });
    const b = await proxyMinibatch(ds, s.batchSize, s.seed, RESOLUTION);
    const batch = { x: b.x, y: b.y, n: b.n };
    if (batchHash(batch) !== s.dataHash)
      throw new JobRefusedError(
        'data',
        `--dataset ${s.dataset} holds other images on this worker than on the submitting machine (minibatch hash differs)`,
      );
    const scorer = new ZeroShotScorer(slot.backend, s.proxies, {
      batchSize: s.batchSize,
      seed: s.seed,
      group: s.group,
      groupMode: s.groupMode,
      net: { ...NB201_DEFAULT, channels: s.channels, cellsPerStage: s.cellsPerStage, numClasses: ds.classes },
      batch,
      init: s.init,
      inputs: s.inputs,
    });
    slot.scorers.set(k, scorer);
    return scorer;
  };

  // The other workers alive on this device that say their memory (a beat lasts 3 heartbeats), with
  // whether each would take job `jobId`: the same code as this worker (the job's), and no fresh
  // refusal of it (other threads, data or precision: the beat does not carry them).
  const othersAlive = async (jobId: string): Promise<OtherWorker[]> => {
    const freshMs = refusalFreshMs();
    return (await readBeats(redis, o.namespace))
      .filter((w) => w.device === o.device && w.id !== id && (w.memoryBytes ?? 0) > 0)
      .map((w) => {
        // refuse() lists every refusal in refusedJobs, the last one too (beat.refused is its summary).
        const refused = (w.refusedJobs ?? []).find((r) => r.job === jobId && Date.now() - r.atMs < freshMs);
        const wont =
          w.code !== mine ? `runs other code (${w.code ?? '?'})` : refused ? `refused it (${refused.reason})` : undefined;
        return { id: w.id, host: w.host, memoryBytes: w.memoryBytes!, concurrency: Math.max(1, w.concurrency), wont };
      });
  };
  const memoryOf = (w: WorkerMemory) =>
    `${fmtBytes(w.memoryBytes)}${w.concurrency > 1 ? ` for --concurrency ${w.concurrency}` : ''}`;

  // Per job too big for this worker: when it was first met with no worker alive to take it.
  const noTakerSince = new Map<string, number>();

  /**
   * A job too big for this worker is left to another alive with the memory that would take it
   * (refused, as for other code). With none, it stays queued for noTakerGraceMs (a big worker
   * restarting, slow to start or briefly cut from Redis comes back), then fails for good. Asked each
   * time the job comes back, so a job left to a worker that then died (its beat expires) fails
   * after the grace instead of circling.
   */
  const checkJobMemory = async (check: JobMemoryCheck, memoryBytes: number, jobId: string): Promise<void> => {
    const me = { host: hostname(), memoryBytes, concurrency: o.concurrency };
    if (check.fits(me)) return;
    const others = await othersAlive(jobId);
    // The most memory per job slot first: the one best placed to take it.
    others.sort((a, b) => b.memoryBytes / b.concurrency - a.memoryBytes / a.concurrency);
    const taker = others.find((w) => check.fits(w) && !w.wont);
    const now = Date.now();
    for (const [j, t] of noTakerSince) if (now - t > 10 * noTakerGraceMs()) noTakerSince.delete(j);
    if (taker) {
      noTakerSince.delete(jobId);
      throw new JobRefusedError(
        'memory',
        check.why(me, `left queued: ${taker.id} (alive, ${memoryOf(taker)}) can take it`),
        'taker',
      );
    }
    // The one that fits but will not take it, else the largest: named, so the user knows what to change.
    const named = others.find((w) => check.fits(w)) ?? others[0];
    const none = !named
      ? 'no other worker alive'
      : check.fits(named)
        ? `no other worker alive takes it (${named.id}, with ${memoryOf(named)}, ${named.wont})`
        : `the largest other worker alive, ${named.id}, has ${memoryOf(named)}`;
    const since = noTakerSince.get(jobId) ?? now;
    noTakerSince.set(jobId, since);
    const leftMs = noTakerGraceMs() - (now - since);
    if (leftMs > 0)
      throw new JobRefusedError(
        'memory',
        check.why(me, `${none}; left queued ${secs(leftMs)} more for a taker to come`),
        'grace',
      );
    noTakerSince.delete(jobId);
    throw new UnrecoverableError(check.why(me, `${none}; no taker came in ${secs(noTakerGraceMs())}, so not retried`));
  };

  const scoreJob = async (job: Job<QueueJobData, ScoreJobResult>, slot: Slot): Promise<ScoreJobResult> => {
    const { settings, archs, keys } = job.data as ScoreJobData;
    const cells = archs.map((a) => parseArch(a));
    if (o.memory) await checkJobMemory(o.memory.scoreJob(settings, cells), o.memory.bytes, String(job.id));
    const scorer = await scorerFor(slot, settings);
    const have = await store.getMany(keys);
    const todo = cells.map((c, i) => ({ c, i })).filter(({ i }) => !have.has(keys[i]));
    const put = async (i: number, scores: Record<string, number>, timeMs: number) => {
      await store.put(keys[i], { arch: archs[i], scores, timeMs, worker: id });
      beat.archsScored++;
      killPoint('worker.stored');
      // Fault-injection tests stretch a job so a kill, a signal or a Redis restart lands inside it.
      if (testDelayMs > 0) await new Promise((r) => setTimeout(r, testDelayMs));
    };
    // scoreAll groups as a local run does: the probe, fixed groups, or packed stacked groups.
    let done = 0;
    await scoreAll(
      scorer,
      todo.map((t) => t.c),
      undefined,
      async (rs) => {
        for (const r of rs) await put(todo[done++].i, r.scores, r.timeMs);
        await job.updateProgress(Math.round((100 * done) / todo.length));
      },
      0,
      // A --group auto group out of GPU memory is halved: said once per halving, as `wgnas score` says it.
      (note) => o.onEvent?.(note),
    );
    return { scored: todo.length, skipped: archs.length - todo.length };
  };

  const refusedSaid = new Set<string>();
  const refuse = async (job: Job<QueueJobData, ScoreJobResult>, token: string | undefined, e: JobRefusedError) => {
    beat.refused = {
      count: (beat.refused?.count ?? 0) + 1,
      job: String(job.id),
      reason: e.reason,
      why: e.message,
      jobCode: jobCodeVersion(job.data),
      at: new Date().toISOString(),
    };
    // The last refusal of each job lately (a small worker asks them of a job too big for it), at most 32.
    const now = Date.now();
    beat.refusedJobs = [
      ...(beat.refusedJobs ?? []).filter((r) => r.job !== String(job.id) && now - r.atMs < refusalFreshMs()),
      { job: String(job.id), reason: e.reason, atMs: now },
    ].slice(-32);
    sendBeat();
    // A refused job comes back every second or so: say it once per job.
    const said = `${job.id}\0${e.kind}`;
    if (!refusedSaid.has(said)) o.onEvent?.(`job ${job.id} refused (it stays queued for another worker): ${e.message}`);
    refusedSaid.add(said);
    // Back to the queue as it was (no try spent): DelayedError tells BullMQ the job was moved, not failed.
    await job.moveToDelayed(Date.now() + REFUSED_DELAY_MS, token);
    throw new DelayedError();
  };

  const process_ = async (job: Job<QueueJobData, ScoreJobResult>, token?: string): Promise<ScoreJobResult> => {
    beat.active++;
    let slot: Slot | undefined;
    try {
      const theirs = jobCodeVersion(job.data);
      if (theirs !== mine)
        throw new JobRefusedError(
          'code',
          `this worker runs wgnas ${mine}, the job's code is ${theirs}: update the worker's checkout (or the submitter's) so both run the same code`,
        );
      slot = await takeSlot();
      const progress = (f: number) => void job.updateProgress(Math.round(100 * f)).catch(() => {});
      const r = isProfileJob(job.data)
        ? await runProfileJob(job.data, {
            backend: slot.backend,
            store: profiles,
            worker: id,
            onStored: (d, n) => {
              killPoint('worker.stored');
              progress(d / n);
            },
          })
        : isEvolveJob(job.data)
          ? await runEvolveJob(job.data, { backend: slot.backend, store: evolutions, worker: id, onProgress: progress })
          : await scoreJob(job, slot);
      beat.jobsDone++;
      return r;
    } catch (e) {
      if (e instanceof JobRefusedError) return refuse(job, token, e);
      throw e;
    } finally {
      beat.active--;
      if (slot) free.push(slot);
    }
  };

  const worker = new Worker<QueueJobData, ScoreJobResult>(scoreQueueName(o.device), process_, {
    connection: openRedis(o.url),
    prefix: o.namespace,
    concurrency: o.concurrency,
    lockDuration: lockMs(),
    stalledInterval: lockMs(),
    maxStalledCount: 3,
    name: id,
  });
  let lastError = '';
  worker.on('error', (e) => {
    // Connection errors repeat while Redis is away: say each kind once.
    if (e.message !== lastError) o.onEvent?.(`worker: ${e.message}`);
    lastError = e.message;
  });
  worker.on('failed', (job, e) =>
    o.onEvent?.(`job ${job?.id ?? '?'} failed (attempt ${job?.attemptsMade ?? '?'}): ${e.message}`),
  );
  worker.on('completed', (job, r) => {
    lastError = '';
    o.onEvent?.(`job ${job.id} done: ${r.scored} scored, ${r.skipped} already stored`);
  });

  let closing: Promise<void> | undefined;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  // BullMQ's close waits on Redis: with Redis gone it would wait forever. Once no job is in hand,
  // it gets a few seconds more, then the connections are dropped (an unfinished job's lock expires).
  const settle = async (p: Promise<void>) => {
    const idle = (async () => {
      while (beat.active > 0) await sleep(100);
      await sleep(5000);
    })();
    await Promise.race([p.catch(() => {}), idle]);
  };
  return {
    id,
    close(force = false) {
      closing ??= (async () => {
        await settle(worker.close(force));
        clearInterval(timer);
        await Promise.race([redis.del(beatKey).catch(() => {}), sleep(1000)]);
        redis.disconnect();
        for (const s of slots) s.backend.dispose();
      })();
      if (!force) return closing;
      // Forced: the jobs in hand are dropped where they stand (their locks expire, another worker retries them).
      return Promise.race([worker.close(true).catch(() => {}), sleep(2000)]).then(() => {
        clearInterval(timer);
        redis.disconnect();
      });
    },
  };
}
