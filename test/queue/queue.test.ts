/**
 * Scale-out on a real Redis (a private redis-server per file) with real `wgnas worker` children on
 * the CPU backend (the lavapipe one is queue.gpu.test.ts): the merged output of several workers equals a run on one
 * machine; a worker SIGKILLed mid-job loses nothing and duplicates nothing; a Redis restarted
 * mid-run (its data gone) still ends in the full output; a job that always fails ends failed with
 * its error after the configured tries; SIGTERM lets a worker finish its job; an unreachable
 * --redis is one line naming the flag, at once; --init and --inputs reach the workers; a CPU worker
 * with more job slots than the memory available holds warns of it.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsvObjects } from '../../src/data/csv.js';
import { logRankSum } from '../../src/proxies/az-nas-math.js';
import { AGGREGATORS } from '../../src/proxies/registry.js';
import { QueueClient, QueueJobFailedError } from '../../src/queue/client.js';
import { codeVersion } from '../../src/queue/code-version.js';
import { queueStatus } from '../../src/queue/status.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { freePort, haveRedisServer, RedisServer } from './redis-server.js';
import { jobTotals, startWorkerChild, type WorkerChild } from './workers.js';

const SLOW = { timeout: 240_000 };
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-queue-'));
const SMALL = ['--cells-per-stage', '1', '--batch', '8', '--device', 'cpu', '--cpu-threads', '1', '--quiet'];
const SCORE = ['score', '--sample', '6', '--ground-truth', '--proxies', 'vote,params', '--channels', '4', ...SMALL];

const enabled = haveRedisServer();
let redis: RedisServer;
let ref: string;
const children: WorkerChild[] = [];
let nsCount = 0;
const ns = () => `t${process.pid}-${++nsCount}`;

function worker(nsName: string, o: Parameters<typeof startWorkerChild>[2] = {}): WorkerChild {
  const w = startWorkerChild(redis.url, nsName, o);
  children.push(w);
  return w;
}

function withoutTime(path: string): Array<Record<string, string>> {
  return readCsvObjects(readFileSync(path, 'utf8'), path).map(({ time_ms: _t, ...r }) => r);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

beforeAll(async () => {
  if (!enabled) return;
  process.env.WGNAS_QUEUE_OUTAGE_MS = '60000';
  redis = await RedisServer.start();
  ref = join(tmp, 'ref.csv');
  const r = await wgnasInProcess([...SCORE, '--out', ref]);
  expect(r.code, r.err).toBe(0);
}, 120_000);

afterAll(async () => {
  for (const c of children) c.kill();
  await Promise.all(children.map((c) => c.exited));
  await redis?.down();
});

describe.skipIf(!enabled)('wgnas score --redis', () => {
  it('three workers score the set; the merged output equals a run on one machine, each cell scored once', SLOW, async () => {
    const n = ns();
    const ws = [worker(n), worker(n), worker(n)];
    await Promise.all(ws.map((w) => w.ready));
    const out = join(tmp, 'three.csv');
    const r = await wgnasInProcess([...SCORE, '--redis', redis.url, '--queue', n, '--shard-size', '1', '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(withoutTime(out)).toEqual(withoutTime(ref));
    const status = await queueStatus(redis.url, n);
    expect(status.results).toBe(6);
    expect(status.workers.length).toBe(3);
    // A re-run finds every result in the store: nothing is scored again, the output is the same.
    const again = join(tmp, 'three-again.csv');
    const r2 = await wgnasInProcess([...SCORE, '--redis', redis.url, '--queue', n, '--out', again]);
    expect(r2.code, r2.err).toBe(0);
    expect(r2.err).toMatch(/scoring 0 cells .*\(6 found in the result store\)/);
    expect(withoutTime(again)).toEqual(withoutTime(ref));
    for (const w of ws) w.kill('SIGTERM');
    for (const w of ws) expect((await w.exited).code, w.stderr()).toBe(0);
    // Six cells, six scorings in all, spread over the workers (the re-run's job found all six stored).
    const totals = ws.map((w) => jobTotals(w.stderr()));
    expect(totals.reduce((s, t) => s + t.scored, 0)).toBe(6);
    expect(totals.filter((t) => t.scored > 0).length).toBeGreaterThan(1);
  });

  it('--init kaiming --inputs gaussian travel with the jobs: the workers compute what a local run does', SLOW, async () => {
    const n = ns();
    const w = worker(n);
    await w.ready;
    const setup = ['--init', 'kaiming', '--inputs', 'gaussian'];
    const local = join(tmp, 'kaiming-local.csv');
    const queued = join(tmp, 'kaiming-queued.csv');
    const r1 = await wgnasInProcess([...SCORE, ...setup, '--out', local]);
    expect(r1.code, r1.err).toBe(0);
    const r2 = await wgnasInProcess([...SCORE, ...setup, '--redis', redis.url, '--queue', n, '--out', queued]);
    expect(r2.code, r2.err).toBe(0);
    expect(withoutTime(queued)).toEqual(withoutTime(local));
    expect(withoutTime(local)[0].wrcor).not.toBe(withoutTime(ref)[0].wrcor);
    w.kill('SIGTERM');
    expect((await w.exited).code, w.stderr()).toBe(0);
  });

  it(
    'a worker SIGKILLed mid-job loses nothing and duplicates nothing: its job goes to another worker, which skips what was stored',
    SLOW,
    async () => {
      const n = ns();
      const a = worker(n, { env: { WGNAS_TEST_KILL_AT: 'worker.stored:2', WGNAS_TEST_JOB_DELAY_MS: '200' } });
      await a.ready;
      const out = join(tmp, 'killed.csv');
      const run = wgnasInProcess([...SCORE, '--redis', redis.url, '--queue', n, '--shard-size', '3', '--out', out]);
      expect((await a.exited).signal, a.stderr()).toBe('SIGKILL');
      const b = worker(n);
      const r = await run;
      expect(r.code, r.err).toBe(0);
      expect(withoutTime(out)).toEqual(withoutTime(ref));
      // A stored 2 cells of its shard before dying; B scored the other 4 and skipped those 2 on the retry.
      await until('b to report its jobs', () => jobTotals(b.stderr()).scored + jobTotals(b.stderr()).skipped >= 6);
      expect(jobTotals(b.stderr())).toEqual({ scored: 4, skipped: 2 });
      expect((await queueStatus(redis.url, n)).results).toBe(6);
      b.kill('SIGTERM');
      expect((await b.exited).code).toBe(0);
    },
  );

  it('Redis restarted mid-run (its data lost) and the run completes with the full output', SLOW, async () => {
    const n = ns();
    const w = worker(n, { env: { WGNAS_TEST_JOB_DELAY_MS: '500' } });
    await w.ready;
    const out = join(tmp, 'restart.csv');
    const run = wgnasInProcess([...SCORE, '--redis', redis.url, '--queue', n, '--shard-size', '2', '--out', out]);
    await until('a first row', () => existsSync(out) && readFileSync(out, 'utf8').trim().split('\n').length >= 2);
    await redis.down();
    await sleep(1000);
    await redis.up();
    const r = await run;
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/lost redis .* waiting for it/);
    expect(withoutTime(out)).toEqual(withoutTime(ref));
    w.kill('SIGTERM');
    expect((await w.exited).code, w.stderr()).toBe(0);
  });

  it(
    'a job that always fails ends failed after the configured tries, its error shown to the submitter and by queue status',
    SLOW,
    async () => {
      const n = ns();
      const w = worker(n);
      await w.ready;
      const client = new QueueClient({ url: redis.url, namespace: n, device: 'cpu', attempts: 2, pollMs: 100 });
      const bad = '|bogus~0|+|none~0|none~1|+|none~0|none~1|none~2|';
      const settings = {
        proxies: ['params'],
        batchSize: 8,
        seed: 0,
        group: 1,
        channels: 4,
        cellsPerStage: 1,
        dataset: 'cifar10',
        dataHash: 'x',
        codeVersion: codeVersion(),
        device: 'cpu' as const,
      };
      try {
        await client.submit('score-shard', settings, [bad]);
        const e = await client.next().then(
          () => null,
          (x: unknown) => x,
        );
        expect(e).toBeInstanceOf(QueueJobFailedError);
        expect((e as Error).message).toMatch(/failed after 2 attempt\(s\): .*bogus/);
      } finally {
        await client.close();
      }
      const s = await wgnasInProcess(['queue', 'status', '--redis', redis.url, '--queue', n]);
      expect(s.code, s.err).toBe(0);
      expect(s.out).toMatch(/score-cpu\s+waiting 0 {2}active 0 {2}delayed 0 {2}failed 1/);
      expect(s.out).toMatch(/workers alive: 1/);
      expect(s.out).toMatch(/failed jobs:\n {2}score-shard\.\w+ \(score-shard, 1 arch, 2\/2 attempts\): .*bogus/);
      w.kill('SIGTERM');
      expect((await w.exited).code).toBe(0);
    },
  );

  it('SIGTERM: the worker finishes the job in hand, then exits 0; nothing is handed to another', SLOW, async () => {
    const n = ns();
    const w = worker(n, { env: { WGNAS_TEST_JOB_DELAY_MS: '400' } });
    await w.ready;
    const out = join(tmp, 'sigterm.csv');
    const run = wgnasInProcess([...SCORE, '--redis', redis.url, '--queue', n, '--shard-size', '6', '--out', out]);
    await until('the job to start', async () => (await queueStatus(redis.url, n)).queues.some((q) => q.active === 1));
    w.kill('SIGTERM');
    const exit = await w.exited;
    expect(exit.code, w.stderr()).toBe(0);
    expect(w.stderr()).toMatch(/SIGTERM: finishing the jobs in hand[\s\S]*done: 6 scored, 0 already stored[\s\S]*stopped/);
    const r = await run;
    expect(r.code, r.err).toBe(0);
    expect(withoutTime(out)).toEqual(withoutTime(ref));
  });

  it('an unreachable or malformed --redis is one line naming the flag, before any work', SLOW, async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    for (const argv of [
      [...SCORE, '--redis', dead],
      ['search', '--budget', '4', ...SMALL, '--redis', dead],
      ['worker', '--redis', dead, '--device', 'cpu'],
      ['queue', 'status', '--redis', dead],
    ]) {
      const t0 = Date.now();
      const r = await wgnasInProcess(argv);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(
        /^wgnas \S+: --redis: cannot connect to 127\.0\.0\.1:\d+ \(connection refused.*\); check the server with: redis-cli -u redis:\/\/127\.0\.0\.1:\d+ ping\n$/,
      );
      expect(Date.now() - t0).toBeLessThan(10_000);
    }
    const bad = await wgnasInProcess([...SCORE, '--redis', 'http://x']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--redis.*redis:\/\//);
    const r = await wgnasInProcess(['search', '--strategy', 'reinforce', ...SMALL, '--redis', dead]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--redis runs 'evolution' or 'random'/);
  });

  it(
    'a CPU worker whose --concurrency N backends exceed the memory available warns in one line, then waits for jobs',
    SLOW,
    async () => {
      const env = { WGNAS_TEST_MEMORY_BYTES: `${2 ** 30},${64 * 2 ** 30}` };
      const w = worker(ns(), { args: ['--concurrency', '4'], env });
      await w.ready;
      expect(w.stderr()).toMatch(
        /^warning: --concurrency 4: 4 scoring jobs of up to about [\d.]+ GiB each at batch 64 \(more at a larger --batch\) need [\d.]+ GiB, more than the 1\.0 GiB available now \(of 64\.0 GiB\): they may swap\nworker .* waiting for jobs/,
      );
      const one = worker(ns(), { env });
      await one.ready;
      expect(one.stderr()).not.toMatch(/warning/);
      w.kill('SIGTERM');
      one.kill('SIGTERM');
      expect((await w.exited).code).toBe(0);
      expect((await one.exited).code).toBe(0);
    },
  );
});

describe.skipIf(!enabled)('wgnas search --redis', () => {
  it('asynchronous evolution over a worker; resumed from its recorded completions it retraces the run', SLOW, async () => {
    const n = ns();
    const w = worker(n);
    await w.ready;
    const SEARCH = [
      'search',
      '--budget',
      '10',
      '--population',
      '4',
      '--sample-size',
      '2',
      ...SMALL,
      '--redis',
      redis.url,
      '--queue',
      n,
      '--in-flight',
      '2',
      '--json',
    ];
    const full = join(tmp, 'search-full.csv');
    const r1 = await wgnasInProcess([...SEARCH, '--evaluated', full]);
    expect(r1.code, r1.err).toBe(0);
    const rows = readCsvObjects(readFileSync(full, 'utf8'), full);
    expect(rows.length).toBeGreaterThan(4);
    // Each completion with the time its worker took.
    expect(rows.every((x) => /^\d+$/.test(x.time_ms))).toBe(true);
    const untimed = ({ time_ms: _t, ...x }: Record<string, string>) => x;
    // A run cut after 5 completions (its file as an earlier wgnas, without time_ms, would have left it), resumed.
    const cut = join(tmp, 'search-cut.csv');
    const text = readFileSync(full, 'utf8').split('\n');
    writeFileSync(
      cut,
      text
        .slice(0, 6)
        .map((l) => l.replace(/,[^,]*$/, ''))
        .join('\n') + '\n',
    );
    const side = JSON.parse(readFileSync(`${full}.settings.json`, 'utf8'));
    writeFileSync(`${cut}.settings.json`, JSON.stringify({ ...side, complete: false }));
    const r2 = await wgnasInProcess([...SEARCH, '--evaluated', cut, '--resume']);
    expect(r2.code, r2.err).toBe(0);
    expect(r2.err).toMatch(/replaying 5 evaluated cells/);
    const resumed = readCsvObjects(readFileSync(cut, 'utf8'), cut);
    // The replayed prefix is as recorded; with one worker the later completions come in the same order,
    // without the column the file has none of.
    expect(resumed.slice(0, 5)).toEqual(rows.slice(0, 5).map(untimed));
    expect(resumed.every((x) => !('time_ms' in x))).toBe(true);
    expect(resumed.map((x) => x.arch)).toEqual(rows.map((x) => x.arch));
    const [a, b] = [JSON.parse(r1.out), JSON.parse(r2.out)];
    // The answer is the best recorded cell by the proxy's raw score.
    const top = rows.reduce((x, y) => (Number(y[a.proxy]) > Number(x[a.proxy]) ? y : x));
    expect(a.best).toBe(top.arch);
    expect(b.best).toBe(a.best);
    expect(b.bestScore).toBe(a.bestScore);
    w.kill('SIGTERM');
    expect((await w.exited).code).toBe(0);
  });

  it('--proxy az_nas: the answer is the best cell by the log-rank sum over every evaluated cell', SLOW, async () => {
    const n = ns();
    const w = worker(n);
    await w.ready;
    const log = join(tmp, 'search-az.csv');
    const r = await wgnasInProcess([
      ...['search', '--proxy', 'az_nas', '--budget', '8', '--population', '3', '--sample-size', '2', ...SMALL],
      ...['--redis', redis.url, '--queue', n, '--in-flight', '2', '--json', '--evaluated', log],
    ]);
    expect(r.code, r.err).toBe(0);
    const rows = readCsvObjects(readFileSync(log, 'utf8'), log);
    const members = AGGREGATORS.get('az_nas')!.members;
    const sums = logRankSum(members.map((m) => rows.map((x) => Number(x[m]))));
    const top = sums.reduce((best, v, i) => (v > sums[best] ? i : best), 0);
    const j = JSON.parse(r.out);
    expect(j.best).toBe(rows[top].arch);
    expect(j.bestScore).toBeCloseTo(sums[top], 12);
    w.kill('SIGTERM');
    expect((await w.exited).code).toBe(0);
  });
});
