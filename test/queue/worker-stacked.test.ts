/**
 * A queue worker with `--group auto --group-mode stacked` jobs packs a shard's cells into stacked
 * groups as a local run does (it used to score them one stacked network of 1 at a time). The CPU
 * backend stands in for a hardware GPU (auto stays 1 on the CPU), its stacked builds counted; a
 * group out of GPU memory is halved and said once, as `wgnas score` says it. The modes' results are
 * stored apart, and `score --redis --resume` refuses an --out of the other mode.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, GpuOutOfMemoryError, type Tensor } from '../../src/backend/index.js';
import { openDataset, parseDatasetSpec } from '../../src/data/dataset-spec.js';
import { proxyMinibatch } from '../../src/data/image-dataset.js';
import type { FillBlock } from '../../src/kernels/random.js';
import { NB201_DEFAULT } from '../../src/nn/nb201-net.js';
import { QueueClient } from '../../src/queue/client.js';
import { codeVersion } from '../../src/queue/code-version.js';
import { batchHash, resultKey, type ScoreSettings } from '../../src/queue/jobs.js';
import { startWorker } from '../../src/queue/worker.js';
import { cellFromIndex, formatArch } from '../../src/spaces/nb201.js';
import { scoreAll, ZeroShotScorer } from '../../src/zeroshot/index.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { haveRedisServer, RedisServer } from './redis-server.js';

const enabled = haveRedisServer();
let redis: RedisServer;
beforeAll(async () => {
  if (enabled) redis = await RedisServer.start();
});
afterAll(async () => {
  await redis?.down();
});

/**
 * Submits 5 cells with `--group auto --group-mode stacked` to a worker on the CPU backend standing
 * in for a hardware GPU; `fitsCells`: the most cells a stacked build gets memory for (more: out of
 * GPU memory). The stacked builds' sizes, the worker's event lines, and each cell's scores as stored
 * beside its scores alone.
 */
async function scoreStacked(cpu: Backend, fitsCells = Infinity) {
  const C = 4;
  // Each stacked build draws its stem conv [G*C, 3, 3, 3] first: one entry per build, its G.
  const groups: number[] = [];
  const ops: Backend['ops'] = Object.create(cpu.ops);
  // Defined, not assigned: the backend's ops are frozen.
  Object.defineProperty(ops, 'uniformFillBlocks', {
    value: (t: Tensor, blocks: Array<FillBlock | null>) => {
      if (t.shape.length === 4 && t.shape[1] === 3) {
        groups.push(blocks.length);
        if (blocks.length > fitsCells) throw new GpuOutOfMemoryError(4 * t.size, 'Out of memory (stand-in)');
      }
      return cpu.ops.uniformFillBlocks(t, blocks);
    },
  });
  const gpu: Backend = { ...cpu, device: 'gpu', isSoftware: false, ops, dispose: () => {} };
  const prev = process.env.WGNAS_GPU_MEMORY_BYTES;
  process.env.WGNAS_GPU_MEMORY_BYTES = String(2 ** 40);
  const namespace = `ws${process.pid}${fitsCells}`;
  const events: string[] = [];
  const worker = await startWorker({
    url: redis.url,
    namespace,
    openBackend: async () => gpu,
    device: 'gpu',
    concurrency: 1,
    onEvent: (line) => events.push(line),
  });
  const client = new QueueClient({ url: redis.url, namespace, device: 'gpu', attempts: 1 });
  try {
    const cells = Array.from({ length: 5 }, (_, i) => cellFromIndex(700 + 5 * i));
    const archs = cells.map(formatArch);
    const { ds } = await openDataset(parseDatasetSpec('cifar10'), 'train', { size: 32 });
    const b = await proxyMinibatch(ds, 4, 1, 32);
    const batch = { x: b.x, y: b.y, n: b.n };
    const settings: ScoreSettings = {
      proxies: ['wrcor', 'naswot'],
      batchSize: 4,
      seed: 1,
      group: 'auto',
      groupMode: 'stacked',
      channels: C,
      cellsPerStage: 1,
      dataset: 'cifar10',
      dataHash: batchHash(batch),
      codeVersion: codeVersion(),
      device: 'gpu',
      init: 'pytorch',
      inputs: 'data',
    };
    await client.submit('score-shard', settings, archs);
    const got = new Map<string, { scores: Record<string, number> }>();
    while (got.size < archs.length) for (const [, r] of await client.next()) got.set(r.arch, r);
    const net = { ...NB201_DEFAULT, channels: C, cellsPerStage: 1, numClasses: ds.classes };
    const alone = await scoreAll(new ZeroShotScorer(cpu, settings.proxies, { batchSize: 4, seed: 1, net, batch }), cells);
    return { groups, events, pairs: alone.map((a) => ({ arch: a.arch, stored: got.get(a.arch)!.scores, alone: a.scores })) };
  } finally {
    await client.close();
    await worker.close();
    if (prev === undefined) delete process.env.WGNAS_GPU_MEMORY_BYTES;
    else process.env.WGNAS_GPU_MEMORY_BYTES = prev;
  }
}

function expectScoresAlone(pairs: Awaited<ReturnType<typeof scoreStacked>>['pairs']): void {
  for (const { arch, stored, alone } of pairs)
    for (const p of Object.keys(alone)) {
      const [x, y] = [stored[p], alone[p]];
      expect(Math.abs(x - y), `${arch} ${p}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(y)));
    }
}

describe.skipIf(!enabled)('worker: stacked auto groups', () => {
  it("packs the shard into one stacked group; the scores are each cell's alone", { timeout: 120_000 }, async ({ skip }) => {
    const cpu = cpuTestBackend();
    if (!cpu) return skip();
    const { groups, pairs } = await scoreStacked(cpu);
    expect(groups).toEqual([5]);
    expectScoresAlone(pairs);
  });

  it('a group out of GPU memory is halved and said once, as `wgnas score` says it', { timeout: 120_000 }, async ({ skip }) => {
    const cpu = cpuTestBackend();
    if (!cpu) return skip();
    const { groups, events, pairs } = await scoreStacked(cpu, 2);
    // 5 ran out; packed again at 2 from its first cell.
    expect(groups).toEqual([5, 2, 2, 1]);
    expect(events.filter((l) => l.startsWith('note: '))).toEqual([
      'note: out of GPU memory at a group of 5 cells; going on with 2',
    ]);
    expectScoresAlone(pairs);
  });

  it('score --redis --resume: an --out of the other --group-mode is refused before any job; the modes store apart', async ({
    skip,
  }) => {
    if (!cpuTestBackend()) return skip();
    const tmp = mkdtempSync(join(tmpdir(), 'wgnas-queue-mode-'));
    try {
      const out = join(tmp, 'stacked.jsonl');
      const archs = [cellFromIndex(700), cellFromIndex(705)].flatMap((c) => ['--arch', formatArch(c)]);
      const argv = (mode: string) => [
        'score',
        ...archs,
        ...['--cells-per-stage', '1', '--batch', '4', '--channels', '4', '--device', 'cpu', '--cpu-threads', '2', '--quiet'],
        ...['--group', '2', '--group-mode', mode, '--out', out],
      ];
      const local = await wgnasInProcess(argv('stacked'));
      expect(local.code, local.err).toBe(0);
      const queued = ['--redis', redis.url, '--queue', `mode${process.pid}`, '--resume'];
      const other = await wgnasInProcess([...argv('separate'), ...queued]);
      expect(other.code).toBe(2);
      expect(other.err.trim()).toMatch(
        /^wgnas score: --resume: --group-mode was stacked, now separate in \S*stacked\.jsonl; resume with its settings or write another --out$/,
      );
      // The same mode resumes (every row is kept: no job to run).
      const same = await wgnasInProcess([...argv('stacked'), ...queued]);
      expect(same.code, same.err).toBe(0);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    // A stacked result is another key; separate keeps the keys stored before the mode existed.
    const s: ScoreSettings = {
      proxies: ['wrcor'],
      batchSize: 4,
      seed: 0,
      group: 2,
      channels: 4,
      cellsPerStage: 1,
      dataset: 'cifar10',
      dataHash: 'h',
      codeVersion: 'v',
      device: 'cpu',
    };
    const arch = formatArch(cellFromIndex(700));
    expect(resultKey({ ...s, groupMode: 'stacked' }, arch)).not.toBe(resultKey(s, arch));
    expect(resultKey({ ...s, groupMode: 'separate' }, arch)).toBe(resultKey(s, arch));
  });
});
