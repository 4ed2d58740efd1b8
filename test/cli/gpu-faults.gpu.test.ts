/**
 * The commands when the GPU fails under a long run (docs/reliability.md): the device is lavapipe
 * behind test/helpers/faulty-device.ts, reported as a hardware adapter, which refuses allocations
 * past a memory cap (as a GPU another process filled does) or loses the device (a driver reset; or
 * lavapipe's own device.destroy()). Each run ends in one line, exit 1, with what to change and how
 * to continue; rows and checkpoints finished before are on disk, the lock is gone, and --resume
 * ends where an uninterrupted run ends. `score --group auto` instead halves the group and goes on.
 * `score --procs`'s children (behind test/helpers/faulty-child.ts) end the run in the line one
 * process gives; an error that no read came to report fails the run at its end, not exit 0.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { readCsvObjects } from '../../src/data/csv.js';
import { Gpu } from '../../src/gpu/gpu.js';
import { handDesignedSpace, writeSpaceFile } from '../../src/mobilenet/space-file.js';
import { hasCheckpoint, readCheckpoint } from '../../src/nn/checkpoint.js';
import { type ChildGpuFaults, childGpuFaultsEnv } from '../helpers/faulty-child.js';
import type { Faults, FaultyDevice } from '../helpers/faulty-device.js';
import { ARCH, wgnasCapturingStderr, wgnasInProcess } from '../helpers/cli.js';
import { resultOf } from '../helpers/provenance.js';
import { CHECKPOINTED_PROXYLESS, TINY6 } from '../helpers/flags.js';
import { testGpu } from '../helpers/gpu.js';

/** The faults of the next device opened (none by default), and the stand-in it got. */
const device = vi.hoisted(() => ({
  faults: (() => ({})) as (gpu: () => Gpu) => Faults,
  last: null as FaultyDevice | null,
}));

vi.mock('../../src/gpu/adapter.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../src/gpu/adapter.js')>();
  const { Gpu } = await import('../../src/gpu/gpu.js');
  const { faultyDevice } = await import('../helpers/faulty-device.js');
  return {
    ...m,
    acquireGpu: async () => {
      const real = await m.acquireGpu();
      let gpu: Gpu | null = null;
      const fd = faultyDevice(
        real.device,
        device.faults(() => gpu!),
      );
      device.last = fd;
      gpu = new Gpu(fd.device, { ...real.adapter, isSoftware: false });
      return gpu;
    },
    // The adapter probed before any work is the stand-in too: results and checkpoints record its
    // kind, and a resume compares the probe with it.
    probeAdapter: async () => {
      const p = await m.probeAdapter();
      return p && { ...p, isSoftware: false, kernels: { ...p.kernels, isSoftware: false } };
    },
  };
});

const SLOW = { timeout: 900_000 };
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-gpu-faults-'));

/** Refuse every allocation that would take the pool's tensors past `cap()` bytes (Infinity: none). */
const capped = (cap: () => number) => (gpu: () => Gpu) => ({
  refuse: (d: GPUBufferDescriptor) => gpu().pool.stats().bytesInUse + d.size > cap(),
});

/** Runs `wgnas argv` on a device with `faults`. */
async function withFaults(faults: (gpu: () => Gpu) => Faults, argv: string[]) {
  device.faults = faults;
  try {
    return await wgnasCapturingStderr(argv);
  } finally {
    device.faults = () => ({});
  }
}

/** Runs `wgnas argv`, the devices of its child processes (which vi.mock does not reach) with `faults`. */
async function withChildFaults(faults: ChildGpuFaults, argv: string[]) {
  const env = childGpuFaultsEnv(faults);
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await wgnasCapturingStderr(argv);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/**
 * The one line a failed run printed through io.err after its header and the dataset's note (the
 * progress lines go to process.stderr).
 */
function oneLine(r: { code: number; err: string }): string {
  const lines = r.err.split('\n').filter((l) => l && !/^(scoring|resuming|note:) /.test(l));
  expect(lines, r.err).toHaveLength(1);
  expect(r.err).not.toMatch(/\n\s+at /);
  expect(r.code).toBe(1);
  return lines[0];
}

/** Rows in a CSV written so far (0 before it exists). */
const rowCount = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).length - 1 : 0);

const leftovers = (dir: string) =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((n) => n.endsWith('.tmp') || n.endsWith('lock'));

describe('score', () => {
  const SCORE = ['score', '--sample', '7', '--seed', '3', '--proxies', 'wrcor,naswot,params'];
  const SMALL = ['--batch', '8', '--channels', '4', '--cells-per-stage', '1', '--device', 'gpu', '--quiet'];
  const rowsOf = (path: string) => readCsvObjects(readFileSync(path, 'utf8'), path).map(({ time_ms: _t, ...r }) => r);
  let ref = '';
  /** The bytes one cell's scoring holds (what --group auto measures on its first cell). */
  let perCell = 0;
  let saved: string | undefined;

  beforeAll(async () => {
    if (!(await testGpu())) return;
    saved = process.env.WGNAS_GPU_MEMORY_BYTES;
    process.env.WGNAS_GPU_MEMORY_BYTES = String(2 ** 40); // --group auto: every cell in one group
    // The reference runs behind the stand-in reported as hardware (batch norm's 256-wide plan),
    // --procs's children on lavapipe as it is (64): one plan for both, so that their bits agree.
    process.env.WGNAS_BN_WG = '64';
    ref = join(tmp, 'ref.csv');
    let gpu: () => Gpu = () => {
      throw new Error('no device opened');
    };
    const r = await withFaults(
      (g) => {
        gpu = g;
        return {};
      },
      [...SCORE, ...SMALL, '--group', '1', '--out', ref],
    );
    expect(r.code, r.err).toBe(0);
    perCell = gpu().pool.stats().peakBytesInUse;
    return () => {
      if (saved === undefined) delete process.env.WGNAS_GPU_MEMORY_BYTES;
      else process.env.WGNAS_GPU_MEMORY_BYTES = saved;
      delete process.env.WGNAS_BN_WG;
    };
  }, 600_000);

  it(
    '--group auto: a group that runs out of memory is halved, said once, and the rows are those of one cell per pass',
    SLOW,
    async ({ skip }) => {
      if (!(await testGpu())) return skip();
      const out = join(tmp, 'auto.csv');
      const r = await withFaults(
        capped(() => 2.5 * perCell),
        [...SCORE, ...SMALL, '--group', 'auto', '--out', out],
      );
      expect(r.code, r.err).toBe(0);
      expect(r.err).not.toMatch(/wgnas score:/);
      expect(device.last!.refusedBytes.length).toBeGreaterThan(0);
      expect(r.stderr.split('\n').filter((l) => l.startsWith('note: '))).toEqual([
        'note: out of GPU memory at a group of 6 cells; going on with 3',
      ]);
      expect(rowsOf(out)).toEqual(rowsOf(ref));
      expect(leftovers(tmp)).toEqual([]);
    },
  );

  it(
    'a fixed --group that runs out of memory: one line suggesting a smaller --group; the rows kept resume',
    SLOW,
    async ({ skip }) => {
      if (!(await testGpu())) return skip();
      const out = join(tmp, 'fixed.csv');
      // Another process takes memory once the first group's rows are on disk.
      const rows = () => rowCount(out);
      const r = await withFaults(
        capped(() => (rows() >= 3 ? 0.5 * perCell : Infinity)),
        [...SCORE, ...SMALL, '--group', '3', '--out', out],
      );
      expect(oneLine(r)).toMatch(
        new RegExp(
          `^wgnas score: out of GPU memory: allocating [\\d.]+ [KMG]iB failed: at a group of 3 cells \\(--group 3\\): use a smaller --group \\(e\\.g\\. --group 1\\) or --group auto, which halves a group that runs out; --out ${out} keeps the work done: repeat the command with --resume to continue$`,
        ),
      );
      expect(rowsOf(out)).toEqual(rowsOf(ref).slice(0, 3));
      expect(leftovers(tmp)).toEqual([]);
      const resumed = await wgnasInProcess([...SCORE, ...SMALL, '--group', '3', '--out', out, '--resume']);
      expect(resumed.code, resumed.err).toBe(0);
      expect(rowsOf(out)).toEqual(rowsOf(ref));
    },
  );

  it(
    '--procs: a child out of memory ends in the line one process gives; no row of the failed group; the rows kept resume',
    SLOW,
    async ({ skip }) => {
      if (!(await testGpu())) return skip();
      const out = join(tmp, 'procs.csv');
      const args = [...SCORE, ...SMALL, '--group', '3', '--procs', '2', '--out', out];
      // Another process takes the memory once a child has sent its first group.
      const r = await withChildFaults({ refuseAfterRows: 1 }, args);
      // Shards of 2 cells: the one that fails first is 2 cells ([4, 5]) or the last one alone ([6]).
      expect(oneLine(r)).toMatch(
        new RegExp(
          `^wgnas score: out of GPU memory: allocating [\\d.]+ [KMG]iB failed: (at a group of 2 cells \\(--group 3\\): use a smaller --group \\(e\\.g\\. --group 1\\) or --group auto, which halves a group that runs out|at one cell per pass: lower --batch \\(8 now\\) or free the GPU memory other processes hold); --out ${out} keeps the work done: repeat the command with --resume to continue$`,
        ),
      );
      // Each child's first group, as one process scores it; nothing of the groups that failed.
      const kept = rowsOf(out);
      expect(kept.length).toBeGreaterThanOrEqual(2);
      expect(kept.length).toBeLessThan(7);
      const want = new Map(rowsOf(ref).map((row) => [row.arch, row]));
      for (const row of kept) expect(row).toEqual(want.get(row.arch));
      expect(leftovers(tmp)).toEqual([]);
      const resumed = await withChildFaults({}, [...args, '--resume']);
      expect(resumed.code, resumed.err).toBe(0);
      expect(rowsOf(out)).toEqual(rowsOf(ref));
    },
  );

  it(
    'an error no read came to report (the last work, then the end of the run): one line, exit 1, not 0',
    SLOW,
    async ({ skip }) => {
      if (!(await testGpu())) return skip();
      // Raised as the command closes the device, after its last read: as the last dispatches' error no scope caught.
      const destroy = Gpu.prototype.destroy;
      const spy = vi.spyOn(Gpu.prototype, 'destroy').mockImplementationOnce(function (this: Gpu) {
        device.last!.raiseUncaptured(new GPUValidationError('the last dispatch failed (stand-in)'));
        destroy.call(this);
      });
      try {
        const r = await withFaults(() => ({}), ['score', '--arch', ARCH, '--proxies', 'params', ...SMALL]);
        expect(r.code, r.err).toBe(1);
        expect(r.err.trim().split('\n').at(-1)).toBe(
          'wgnas score: GpuValidationError: GPU work failed and was dropped: the last dispatch failed (stand-in)',
        );
      } finally {
        spy.mockRestore();
      }
    },
  );

  it('--group auto at one cell: one line naming --batch and the size asked for', SLOW, async ({ skip }) => {
    if (!(await testGpu())) return skip();
    const out = join(tmp, 'one.csv');
    const r = await withFaults(
      capped(() => 0.5 * perCell),
      [...SCORE, ...SMALL, '--group', 'auto', '--out', out],
    );
    const bytes = device.last!.refusedBytes;
    expect(oneLine(r)).toMatch(
      /^wgnas score: out of GPU memory: allocating [\d.]+ [KMG]iB failed: at one cell per pass \(--group auto can go no lower\): lower --batch \(8 now\) or free the GPU memory other processes hold; /,
    );
    expect(bytes.length).toBeGreaterThan(0);
    expect(leftovers(tmp)).toEqual([]);
  });

  it(
    'the device lost mid-run: one line with the reason and --resume, no hang, the rows and no lock kept',
    SLOW,
    async ({ skip }) => {
      if (!(await testGpu())) return skip();
      const out = join(tmp, 'lost.csv');
      const rows = () => rowCount(out);
      let lost = false;
      const lose = () => {
        if (rows() < 3 || lost) return false;
        lost = true;
        device.last!.lose();
        return false;
      };
      const r = await withFaults(() => ({ refuse: lose }), [...SCORE, ...SMALL, '--group', '3', '--out', out]);
      expect(oneLine(r)).toBe(
        `wgnas score: GPU device lost (reason: unknown, VK_ERROR_DEVICE_LOST (stand-in: Xid 79, GPU has fallen off the bus)): the driver reset or the GPU failed (its log: dmesg, nvidia-smi); --out ${out} keeps the work done: repeat the command with --resume to continue`,
      );
      expect(rowsOf(out)).toEqual(rowsOf(ref).slice(0, 3));
      expect(leftovers(tmp)).toEqual([]);
      const resumed = await wgnasInProcess([...SCORE, ...SMALL, '--group', '3', '--out', out, '--resume']);
      expect(resumed.code, resumed.err).toBe(0);
      expect(rowsOf(out)).toEqual(rowsOf(ref));
    },
  );
});

describe('training commands', () => {
  it(
    'proxyless: the device lost after a checkpoint; the checkpoint is intact and --resume ends as an uninterrupted run',
    SLOW,
    async ({ skip }) => {
      if (!(await testGpu())) return skip();
      const space = join(tmp, 'tiny6.json');
      writeSpaceFile(space, handDesignedSpace(TINY6));
      const args = (dir: string, out: string) => [
        'proxyless',
        ...Object.entries({ ...PROXYLESS, '--space-file': space, '--checkpoint': dir, '--out': out }).flat(),
        '--quiet',
      ];
      const final = (dir: string, out: string) => {
        const ck = readCheckpoint(dir);
        return { net: resultOf(out), alpha: ck.meta.alpha, adam: ck.meta.adam, files: ck.meta.files };
      };
      const [refDir, refOut] = [join(tmp, 'pl-ref'), join(tmp, 'pl-ref.json')];
      const ref = await withFaults(() => ({}), args(refDir, refOut));
      expect(ref.code, ref.err).toBe(0);
      const submits = device.last!.submits;
      const [dir, out] = [join(tmp, 'pl'), join(tmp, 'pl.json')];
      const r = await withFaults(() => ({ loseAtSubmit: Math.floor(submits / 2) }), args(dir, out));
      expect(oneLine(r)).toMatch(
        new RegExp(
          `^wgnas proxyless: GPU device lost \\(reason: unknown, VK_ERROR_DEVICE_LOST .*\\): .*; --checkpoint ${dir} keeps the work done: repeat the command with --resume to continue$`,
        ),
      );
      expect(hasCheckpoint(dir)).toBe(true);
      expect(() => readCheckpoint(dir)).not.toThrow();
      expect(leftovers(dir)).toEqual([]);
      const resumed = await wgnasInProcess([...args(dir, out), '--resume']);
      expect(resumed.code, resumed.err).toBe(0);
      expect(final(dir, out)).toEqual(final(refDir, refOut));
    },
  );

  it(
    'train: out of memory mid-run names --batch; the checkpoint resumes to the uninterrupted weights',
    SLOW,
    async ({ skip }) => {
      if (!(await testGpu())) return skip();
      const args = (out: string) => ['train', '--nb201', ARCH, ...TRAIN, '--out', out];
      const ref = join(tmp, 'train-ref');
      const r0 = await withFaults(() => ({}), args(ref));
      expect(r0.code, r0.err).toBe(0);
      const out = join(tmp, 'train');
      // Once the first epoch's checkpoint is saved, another process takes the memory: every allocation is refused.
      const r = await withFaults(() => ({ refuse: () => hasCheckpoint(join(out, 'checkpoint')) }), args(out));
      expect(oneLine(r)).toMatch(
        new RegExp(
          `^wgnas train: out of GPU memory: allocating [\\d.]+ [KMG]?i?B failed: lower --batch \\(8 now\\) or free the GPU memory other processes hold; --out ${out} keeps the work done: repeat the command with --resume to continue$`,
        ),
      );
      expect(leftovers(out)).toEqual([]);
      const resumed = await wgnasInProcess([...args(out), '--resume']);
      expect(resumed.code, resumed.err).toBe(0);
      expect(readFileSync(join(out, 'weights.bin'))).toEqual(readFileSync(join(ref, 'weights.bin')));
    },
  );

  it(
    "evolve-space: lavapipe's own device.destroy() mid-run; one line, the checkpoint resumes to the end",
    SLOW,
    async ({ skip }) => {
      if (!(await testGpu())) return skip();
      const args = (dir: string, name: string) => [
        'evolve-space',
        ...Object.entries(EVOLVE).flat(),
        '--checkpoint',
        dir,
        '--out',
        join(tmp, `${name}.json`),
        '--quiet',
      ];
      const ref = await withFaults(() => ({}), args(join(tmp, 'ev-ref'), 'ev-ref'));
      expect(ref.code, ref.err).toBe(0);
      const submits = device.last!.submits;
      const dir = join(tmp, 'ev');
      const r = await withFaults(() => ({ loseAtSubmit: Math.floor(submits / 2), loss: 'destroy' }), args(dir, 'ev'));
      expect(oneLine(r)).toMatch(
        new RegExp(
          `^wgnas evolve-space: GPU device lost \\(reason: destroyed, device was destroyed\\): .*; --checkpoint ${dir} keeps the work done: repeat the command with --resume to continue$`,
        ),
      );
      expect(() => readCheckpoint(dir)).not.toThrow();
      expect(leftovers(dir)).toEqual([]);
      const resumed = await wgnasInProcess([...args(dir, 'ev'), '--resume']);
      expect(resumed.code, resumed.err).toBe(0);
      const space = (name: string) => {
        const { createdAt: _c, ...s } = resultOf(join(tmp, `${name}.json`)) as Record<string, unknown>;
        return s;
      };
      expect(space('ev')).toEqual(space('ev-ref'));
    },
  );
});

const PROXYLESS: Record<string, string> = { ...CHECKPOINTED_PROXYLESS, '--device': 'gpu' };
const TRAIN = [
  ...['--channels', '4', '--cells-per-stage', '1', '--train-images', '32', '--test-images', '16', '--epochs', '2'],
  ...['--batch', '8', '--latency-runs', '0', '--device', 'gpu', '--quiet'],
];
const EVOLVE: Record<string, string> = {
  '--budget-madds': '4M',
  '--population': '3',
  '--k': '2',
  '--iterations': '2',
  '--steps': '1',
  '--warmup': '2',
  '--replace-every': '1',
  '--min-evals': '1',
  '--batch': '4',
  '--train': '32',
  '--val': '16',
  '--device': 'gpu',
  '--checkpoint-every': '1',
};
