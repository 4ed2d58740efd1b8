/**
 * A `wgnas worker --device gpu` (the WGSL kernels on lavapipe here) against a private redis-server:
 * what it scores through the queue equals a local --device gpu run of the same cells.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCsvObjects } from '../../src/data/csv.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { testGpu } from '../helpers/gpu.js';
import { haveRedisServer, RedisServer } from './redis-server.js';
import { startWorkerChild, type WorkerChild } from './workers.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-queue-gpu-'));
const enabled = haveRedisServer();
let redis: RedisServer | undefined;
let w: WorkerChild | undefined;

const withoutTime = (path: string) => readCsvObjects(readFileSync(path, 'utf8'), path).map(({ time_ms: _t, ...r }) => r);

afterAll(async () => {
  w?.kill();
  await w?.exited;
  await redis?.down();
});

describe.skipIf(!enabled)('a worker on the GPU (lavapipe)', () => {
  it('scores on the WGSL kernels what a local --device gpu run scores', { timeout: 600_000 }, async () => {
    if (!(await testGpu())) return;
    redis = await RedisServer.start();
    const GPU = [
      'score',
      '--sample',
      '2',
      '--ground-truth',
      '--proxies',
      'wrcor,params',
      '--cells-per-stage',
      '1',
      '--batch',
      '8',
      '--channels',
      '4',
      '--device',
      'gpu',
      '--quiet',
    ];
    const local = join(tmp, 'gpu-local.csv');
    const remote = join(tmp, 'gpu-queue.csv');
    const r1 = await wgnasInProcess([...GPU, '--out', local]);
    expect(r1.code, r1.err).toBe(0);
    // lavapipe holds the event loop for seconds at a time: the default lock (30 s) covers it.
    w = startWorkerChild(redis.url, 'gpu', { device: 'gpu', env: { WGNAS_QUEUE_LOCK_MS: '30000' } });
    await w.ready;
    expect(w.proc.exitCode, w.stderr()).toBeNull();
    const r2 = await wgnasInProcess([...GPU, '--redis', redis.url, '--queue', 'gpu', '--shard-size', '1', '--out', remote]);
    expect(r2.code, `${r2.err}\nworker: ${w.stderr()}`).toBe(0);
    expect(withoutTime(remote)).toEqual(withoutTime(local));
    w.kill('SIGTERM');
    expect((await w.exited).code).toBe(0);
  });
});
