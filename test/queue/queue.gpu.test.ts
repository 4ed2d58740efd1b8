/**
 * A `wgnas worker --device gpu` (the WGSL kernels on lavapipe here) against a private redis-server:
 * what it scores through the queue equals a local --device gpu run of the same cells; an
 * evolve-space job asking for f16 operands (WGNAS_F16=1 on the submitting machine) is refused by an
 * f32 worker in one line, as a score job is.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCsvObjects } from '../../src/data/csv.js';
import { wgnasChild } from '../helpers/child.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { testGpu } from '../helpers/gpu.js';
import { haveRedisServer, RedisServer } from './redis-server.js';
import { startWorkerChild, type WorkerChild } from './workers.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-queue-gpu-'));
const enabled = haveRedisServer();
let redis: RedisServer | undefined;
let w: WorkerChild | undefined;
let f32: WorkerChild | undefined;

const withoutTime = (path: string) => readCsvObjects(readFileSync(path, 'utf8'), path).map(({ time_ms: _t, ...r }) => r);

afterAll(async () => {
  for (const c of [w, f32]) c?.kill();
  await Promise.all([w?.exited, f32?.exited]);
  await redis?.down();
});

describe.skipIf(!enabled)('a worker on the GPU (lavapipe)', () => {
  it(
    'an f16 evolve-space job: an f32 worker refuses it in one line (it stays queued), naming WGNAS_F16',
    { timeout: 600_000 },
    async () => {
      if (!(await testGpu())) return;
      redis ??= await RedisServer.start();
      f32 = startWorkerChild(redis.url, 'f16', { device: 'gpu', env: { WGNAS_F16: '0', WGNAS_QUEUE_LOCK_MS: '30000' } });
      await f32.ready;
      expect(f32.proc.exitCode, f32.stderr()).toBeNull();
      const evolve = ['evolve-space', '--budget-madds', '8M', '--population', '3', '--k', '2', '--iterations', '1'];
      const small = ['--steps', '1', '--warmup', '1', '--train', '16', '--val', '16', '--batch', '8', '--device', 'gpu'];
      const q = ['--redis', redis.url, '--queue', 'f16', '--seed', '1', '--out', join(tmp, 'f16-space.json')];
      const was = process.env.WGNAS_F16;
      process.env.WGNAS_F16 = '1';
      let err = '';
      const run = wgnasChild([...evolve, ...small, ...q], {
        timeoutMs: 300_000,
        onStart: (c) =>
          c.stderr!.on('data', (d) => {
            err += String(d);
            if (err.includes("no worker takes this run's jobs")) c.kill('SIGTERM');
          }),
      });
      if (was === undefined) delete process.env.WGNAS_F16;
      else process.env.WGNAS_F16 = was;
      const r = await run;
      expect(r.signal, `${r.stderr}\nworker: ${f32.stderr()}`).toBe('SIGTERM');
      const why =
        "the job is computed with f16 operands, this worker's GPU with f32: start a worker with WGNAS_F16=1 on a GPU with shader-f16";
      const refusals = f32
        .stderr()
        .split('\n')
        .filter((l) => l.includes('refused'));
      expect(refusals).toEqual([expect.stringMatching(/^job evolve-run\.\w+ refused \(it stays queued for another worker\): /)]);
      expect(refusals[0].endsWith(why)).toBe(true);
      expect(r.stderr).toContain(`refuses them (`);
      expect(r.stderr).toContain(why);
      expect(f32.stderr()).not.toMatch(/done: /);
      f32.kill('SIGTERM');
      expect((await f32.exited).code).toBe(0);
    },
  );

  it('scores on the WGSL kernels what a local --device gpu run scores', { timeout: 600_000 }, async () => {
    if (!(await testGpu())) return;
    redis ??= await RedisServer.start();
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
