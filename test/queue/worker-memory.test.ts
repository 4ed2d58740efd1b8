/**
 * A CPU worker fails, before any work and for good, a score job whose network could never fit its
 * machine's memory (WGNAS_TEST_MEMORY_BYTES stands in for it): it used to take it, be killed by the
 * OOM killer and hand it to the next worker when its lock expired, over and over. The submitter
 * and `wgnas queue status` show the worker's one line; a job that fits still runs on that worker.
 */
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wgnasInProcess } from '../helpers/cli.js';
import { haveRedisServer, RedisServer } from './redis-server.js';
import { startWorkerChild, type WorkerChild } from './workers.js';

const enabled = haveRedisServer();
let redis: RedisServer;
let w: WorkerChild | undefined;
beforeAll(async () => {
  if (enabled) redis = await RedisServer.start();
});
afterAll(async () => {
  w?.kill();
  if (w) await w.exited;
  await redis?.down();
});

const GiB = 2 ** 30;
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe.skipIf(!enabled)('a CPU worker and a job too big for its memory', () => {
  it('fails it at once, not retried, naming the host and sizes; a job that fits still runs', { timeout: 240_000 }, async () => {
    const ns = `wm${process.pid}`;
    // 2 GiB: a small network's job fits; the all-3x3 cell at --channels 256 --cells-per-stage 32 (~116 GiB) does not.
    w = startWorkerChild(redis.url, ns, { env: { WGNAS_TEST_MEMORY_BYTES: `${2 * GiB},${2 * GiB}` } });
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
    const head = `CPU worker on ${esc(hostname())}: up to about [\\d.]+ GiB at --batch 64 --channels 256 --cells-per-stage 32, more than this machine's 2\\.0 GiB: not retried`;
    expect(big.err).toMatch(new RegExp(`failed after 1 attempt\\(s\\): ${head}`));
    const s = await wgnasInProcess(['queue', 'status', '--redis', redis.url, '--queue', ns]);
    expect(s.code, s.err).toBe(0);
    expect(s.out).toMatch(/score-cpu\s+waiting 0 {2}active 0 {2}delayed 0 {2}failed 1/);
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
