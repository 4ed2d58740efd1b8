/**
 * CPU workers and score jobs too big for their memory (WGNAS_TEST_MEMORY_BYTES stands in for each
 * worker's machine). A job too big for a worker is left queued (no try spent) while another worker
 * alive has the memory and would take it (the same code, no refusal of the job: other threads),
 * which then scores it as a local run does; with none, it stays queued for a grace (the lock time,
 * 2 s in these workers) for one to come (a worker starting late is given the job), then is failed
 * before any work and for good: it used to be taken, the worker killed by the OOM killer, and
 * handed to the next when its lock expired, over and over; and a job left to a big worker that
 * refused it for another reason bounced forever. The submitter and `wgnas queue status` show the
 * worker's one line, reason first; a job that fits still runs on a small worker.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsvObjects } from '../../src/data/csv.js';
import { queueStatus } from '../../src/queue/status.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { haveRedisServer, RedisServer } from './redis-server.js';
import { jobTotals, startWorkerChild, type WorkerChild } from './workers.js';

const SLOW = { timeout: 240_000 };
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-worker-memory-'));
const enabled = haveRedisServer();
let redis: RedisServer;
const children: WorkerChild[] = [];
beforeAll(async () => {
  if (enabled) redis = await RedisServer.start();
});
afterAll(async () => {
  for (const c of children) c.kill();
  await Promise.all(children.map((c) => c.exited));
  await redis?.down();
});

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 90_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** A worker whose machine has `bytes` of memory (available and total). */
function worker(ns: string, bytes: number, env: Record<string, string> = {}, args: string[] = []): WorkerChild {
  const w = startWorkerChild(redis.url, ns, { env: { WGNAS_TEST_MEMORY_BYTES: `${bytes},${bytes}`, ...env }, args });
  children.push(w);
  return w;
}

/** The worker's id from its first line. */
const idOf = (w: WorkerChild): string => /worker (\S+) on /.exec(w.stderr())![1];

const withoutTime = (path: string) => readCsvObjects(readFileSync(path, 'utf8'), path).map(({ time_ms: _t, ...r }) => r);

/** Any network at all needs more than the process alone (256 MiB, PROCESS_BASE_BYTES): too big for SMALL_BYTES. */
const SMALL_BYTES = 256 * MiB;
const BIG_BYTES = 4 * GiB;
const SCORE = ['score', '--sample', '4', '--proxies', 'wrcor', '--channels', '4', '--cells-per-stage', '1', '--batch', '8'];
const CPU = ['--device', 'cpu', '--cpu-threads', '1', '--quiet'];
/** The one line of a job of SCORE on the small worker, up to what became of the job. */
const SMALL_HEAD = `CPU worker on ${esc(hostname())}: up to about \\d+ MiB at --batch 8 --channels 4 --cells-per-stage 1, more than this machine's 256 MiB: `;
/** What became of a job no worker took within the grace (the workers' lock time, 2 s). */
const NO_TAKER = 'no taker came in 2 s, so not retried; submit';

describe.skipIf(!enabled)('a CPU worker and a job too big for its memory', () => {
  it('fails it after the grace, not retried, naming the host and sizes; a job that fits still runs', SLOW, async () => {
    const ns = `wm${process.pid}`;
    // 2 GiB: a small network's job fits; the all-3x3 cell at --channels 256 --cells-per-stage 32 (~116 GiB) does not.
    const w = worker(ns, 2 * GiB);
    await w.ready;
    const q = ['--redis', redis.url, '--queue', ns, '--device', 'cpu', '--cpu-threads', '1', '--quiet'];
    const big = await wgnasInProcess([
      'score',
      '--arch',
      '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|',
      '--proxies',
      'wrcor',
      '--channels',
      '256',
      '--cells-per-stage',
      '32',
      ...q,
    ]);
    expect(big.code, big.err).not.toBe(0);
    // The submitter's one line is cut at 400 characters (the job's first arch is in it): the head is whole.
    const head = `CPU worker on ${esc(hostname())}: up to about [\\d.]+ GiB at --batch 64 --channels 256 --cells-per-stage 32, more than this machine's 2\\.0 GiB: no other worker alive; no taker came in 2 s, so not retried`;
    expect(big.err).toMatch(new RegExp(`failed after 1 attempt\\(s\\): ${head}`));
    const s = await wgnasInProcess(['queue', 'status', '--redis', redis.url, '--queue', ns]);
    expect(s.code, s.err).toBe(0);
    expect(s.out).toMatch(/score-cpu\s+waiting 0 {2}active 0 {2}delayed 0 {2}failed 1/);
    expect(s.out).toMatch(/ {2}cpu \(.*\) {2}concurrency 1 {2}memory 2\.0 GiB {2}active 0/);
    // 1 of the 3 tries: no other worker is handed it.
    expect(s.out).toMatch(/failed jobs:\n {2}score-shard\.\w+ \(score-shard, 1 arch, 1\/3 attempts\): CPU worker on /);
    expect(s.out).toMatch(new RegExp(`${head}; submit a smaller --batch, --channels or --cells-per-stage\n`));
    const small = await wgnasInProcess([
      'score',
      '--sample',
      '2',
      '--proxies',
      'wrcor',
      '--channels',
      '4',
      '--cells-per-stage',
      '1',
      '--batch',
      '8',
      ...q,
    ]);
    expect(small.code, small.err).toBe(0);
    expect(small.out.trim().split('\n').length).toBe(2);
    w.kill('SIGTERM');
    expect((await w.exited).code, w.stderr()).toBe(0);
    expect(w.stderr()).toMatch(/job \S+ failed \(attempt 1\): CPU worker on [\s\S]*job \S+ done: 2 scored, 0 already stored/);
  });
});

describe.skipIf(!enabled)('CPU workers of different memory', () => {
  let ref: string;
  beforeAll(async () => {
    if (!enabled) return;
    ref = join(tmp, 'ref.csv');
    const r = await wgnasInProcess([...SCORE, ...CPU, '--out', ref]);
    expect(r.code, r.err).toBe(0);
  }, 120_000);

  it(
    'a job too big for the small worker is left queued for the big one alive, which scores it as a local run does',
    SLOW,
    async () => {
      const ns = `wm${process.pid}-two`;
      const small = worker(ns, SMALL_BYTES);
      // A long heartbeat: its beat outlives the pause below by far.
      const big = worker(ns, BIG_BYTES, { WGNAS_QUEUE_HEARTBEAT_MS: '20000' });
      await Promise.all([small.ready, big.ready]);
      await until('both heartbeats', async () => (await queueStatus(redis.url, ns)).workers.length === 2);
      // Paused (alive by its beat, taking nothing): the small worker meets every job first.
      big.kill('SIGSTOP');
      const out = join(tmp, 'two.csv');
      const run = wgnasInProcess([...SCORE, ...CPU, '--redis', redis.url, '--queue', ns, '--shard-size', '1', '--out', out]);
      await until('a refusal', () => /refused|failed/.test(small.stderr()));
      expect(small.stderr()).not.toMatch(/failed/);
      const s = await queueStatus(redis.url, ns);
      expect(s.queues.find((q) => q.queue === 'score-cpu')?.failed).toBe(0);
      expect(s.workers.find((w) => w.id === idOf(small))?.refused).toMatchObject({ reason: 'memory' });
      big.kill('SIGCONT');
      const r = await run;
      expect(r.code, r.err).toBe(0);
      expect(withoutTime(out)).toEqual(withoutTime(ref));
      small.kill('SIGTERM');
      big.kill('SIGTERM');
      for (const w of [small, big]) expect((await w.exited).code, w.stderr()).toBe(0);
      // All four scored by the big worker; the small one refused, said once per job, and failed none.
      expect(jobTotals(big.stderr())).toEqual({ scored: 4, skipped: 0 });
      expect(jobTotals(small.stderr())).toEqual({ scored: 0, skipped: 0 });
      expect(small.stderr()).not.toMatch(/failed/);
      const refusals = [...small.stderr().matchAll(/job (\S+) refused \(it stays queued for another worker\): (.*)/g)];
      expect(refusals.length).toBeGreaterThan(0);
      expect(new Set(refusals.map((m) => m[1])).size).toBe(refusals.length);
      for (const m of refusals)
        expect(m[2]).toMatch(
          new RegExp(
            `^${SMALL_HEAD}left queued: ${esc(idOf(big))} \\(alive, 4\\.0 GiB\\) can take it; submit a smaller --batch, --channels or --cells-per-stage$`,
          ),
        );
    },
  );

  it(
    'a job left for a big worker that then died fails once its heartbeat expires and the grace passes, reason first, not retried',
    SLOW,
    async () => {
      const ns = `wm${process.pid}-died`;
      const small = worker(ns, SMALL_BYTES);
      // Its beat lasts 3 x 3 s: the small worker meets the job while the killed worker still counts as alive.
      const big = worker(ns, BIG_BYTES, { WGNAS_QUEUE_HEARTBEAT_MS: '3000' });
      await Promise.all([small.ready, big.ready]);
      await until('both heartbeats', async () => (await queueStatus(redis.url, ns)).workers.length === 2);
      big.kill('SIGKILL');
      await big.exited;
      const r = await wgnasInProcess([...SCORE, ...CPU, '--redis', redis.url, '--queue', ns, '--shard-size', '4']);
      expect(r.code, r.err).not.toBe(0);
      // Refused while the dead worker's beat lasted, then for the grace with no taker, then failed with the reason.
      expect(small.stderr()).toMatch(
        new RegExp(
          `job (\\S+) refused .*: ${SMALL_HEAD}left queued: ${esc(idOf(big))} \\(alive, 4\\.0 GiB\\) can take it;[^\n]*\n` +
            `(.*\n)*job \\1 refused .*: ${SMALL_HEAD}no other worker alive; left queued [12] s more for a taker to come; submit`,
        ),
      );
      const line = r.err.trim().split('\n').at(-1)!;
      expect(line).toMatch(
        new RegExp(`^wgnas score: job \\S+ failed after 1 attempt\\(s\\): ${SMALL_HEAD}no other worker alive; ${NO_TAKER}`),
      );
      const s = await queueStatus(redis.url, ns);
      expect(s.workers.map((w) => w.id)).toEqual([idOf(small)]);
      expect(s.failed).toHaveLength(1);
      expect(s.failed[0]).toMatchObject({ attemptsMade: 1, attempts: 3 });
      expect(s.failed[0].error).toMatch(new RegExp(`^${SMALL_HEAD}no other worker alive; ${NO_TAKER}`));
      small.kill('SIGTERM');
      expect((await small.exited).code, small.stderr()).toBe(0);
    },
  );

  // A big worker that would refuse the job for another reason is no taker: the job used to bounce between them forever.
  for (const [what, env, args, wont] of [
    ['other code', { WGNAS_TEST_CODE_VERSION: 'other-code' }, [], 'runs other code \\(other-code\\)'],
    ['other --cpu-threads than the job', {}, ['--cpu-threads', '2'], 'refused it \\(threads\\)'],
  ] as const)
    it(`with the big worker alive running ${what}, the job fails after the grace naming it, not retried`, SLOW, async () => {
      const ns = `wm${process.pid}-${args.length ? 'threads' : 'code'}`;
      const small = worker(ns, SMALL_BYTES);
      const big = worker(ns, BIG_BYTES, env, [...args]);
      await Promise.all([small.ready, big.ready]);
      await until('both heartbeats', async () => (await queueStatus(redis.url, ns)).workers.length === 2);
      const r = await wgnasInProcess([...SCORE, ...CPU, '--redis', redis.url, '--queue', ns, '--shard-size', '4']);
      expect(r.code, r.err).not.toBe(0);
      const line = r.err.trim().split('\n').at(-1)!;
      expect(line).toMatch(
        new RegExp(
          `^wgnas score: job \\S+ failed after 1 attempt\\(s\\): ${SMALL_HEAD}no other worker alive takes it \\(${esc(idOf(big))}, with 4\\.0 GiB, ${wont}\\); ${NO_TAKER}`,
        ),
      );
      const s = await queueStatus(redis.url, ns);
      expect(s.failed).toHaveLength(1);
      expect(s.failed[0]).toMatchObject({ attemptsMade: 1, attempts: 3 });
      // The big worker scored nothing; of other threads, it refused the job (no try spent) before the small one failed it.
      if (args.length)
        expect(big.stderr()).toMatch(
          /job \S+ refused \(it stays queued for another worker\): the job is computed with --cpu-threads 1, this worker's backend runs 2 threads/,
        );
      expect(jobTotals(big.stderr())).toEqual({ scored: 0, skipped: 0 });
      small.kill('SIGTERM');
      big.kill('SIGTERM');
      for (const w of [small, big]) expect((await w.exited).code, w.stderr()).toBe(0);
    });

  it('a job with no taker alive at submission is given to a big worker started within the grace', SLOW, async () => {
    const ns = `wm${process.pid}-late`;
    // A grace of 60 s: the big worker starts (or restarts) well within it.
    const small = worker(ns, SMALL_BYTES, { WGNAS_QUEUE_LOCK_MS: '60000' });
    await small.ready;
    const out = join(tmp, 'late.csv');
    const run = wgnasInProcess([...SCORE, ...CPU, '--redis', redis.url, '--queue', ns, '--shard-size', '4', '--out', out]);
    await until('a refusal', () => /refused|failed/.test(small.stderr()));
    expect(small.stderr()).toMatch(
      new RegExp(`job \\S+ refused .*: ${SMALL_HEAD}no other worker alive; left queued 60 s more for a taker to come; submit`),
    );
    const big = worker(ns, BIG_BYTES);
    const r = await run;
    expect(r.code, r.err).toBe(0);
    expect(withoutTime(out)).toEqual(withoutTime(ref));
    small.kill('SIGTERM');
    big.kill('SIGTERM');
    for (const w of [small, big]) expect((await w.exited).code, w.stderr()).toBe(0);
    expect(jobTotals(big.stderr())).toEqual({ scored: 4, skipped: 0 });
    expect(small.stderr()).not.toMatch(/failed/);
  });

  it('with a small worker and a smaller one alive, the job fails naming the largest other one', SLOW, async () => {
    const ns = `wm${process.pid}-smaller`;
    const small = worker(ns, SMALL_BYTES);
    const smaller = worker(ns, 128 * MiB);
    await Promise.all([small.ready, smaller.ready]);
    await until('both heartbeats', async () => (await queueStatus(redis.url, ns)).workers.length === 2);
    const r = await wgnasInProcess([...SCORE, ...CPU, '--redis', redis.url, '--queue', ns, '--shard-size', '4']);
    expect(r.code, r.err).not.toBe(0);
    // Whichever took it names the other, reason first.
    const line = r.err.trim().split('\n').at(-1)!;
    const tookSmall = line.includes("this machine's 256 MiB");
    const other = tookSmall ? smaller : small;
    expect(line).toMatch(
      new RegExp(
        `^wgnas score: job \\S+ failed after 1 attempt\\(s\\): CPU worker on ${esc(hostname())}: up to about \\d+ MiB at --batch 8 --channels 4 --cells-per-stage 1, more than this machine's ${tookSmall ? 256 : 128} MiB: the largest other worker alive, ${esc(idOf(other))}, has ${tookSmall ? 128 : 256} MiB; ${NO_TAKER}`,
      ),
    );
    small.kill('SIGTERM');
    smaller.kill('SIGTERM');
    for (const w of [small, smaller]) expect((await w.exited).code, w.stderr()).toBe(0);
  });
});
