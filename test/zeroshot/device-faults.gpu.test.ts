/**
 * scoreAll when the GPU fails mid-run (lavapipe behind test/helpers/faulty-device.ts, which refuses
 * allocations past a memory cap as a full GPU does, or loses the device; reported as a hardware
 * adapter, so --group auto groups): --group auto halves a group that runs out of memory and scores
 * it again, with the rows of an uninterrupted run; a fixed group, one cell, a lost device or a
 * validation error end the run, and no group whose work failed yields a row.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/index.js';
import { webgpuBackend } from '../../src/backend/webgpu.js';
import { GpuDeviceLostError, GpuOutOfMemoryError, GpuValidationError } from '../../src/gpu/errors.js';
import { acquireGpu, Gpu } from '../../src/gpu/index.js';
import { NB201_DEFAULT } from '../../src/nn/nb201-net.js';
import { type Nb201Cell, sampleCell } from '../../src/spaces/nb201.js';
import { Rng } from '../../src/util/rng.js';
import { scoreAll, type ScoredCell, type ZeroShotOptions, ZeroShotScorer } from '../../src/zeroshot/index.js';
import { faultyDevice, type Faults, type FaultyDevice } from '../helpers/faulty-device.js';
import { testGpu } from '../helpers/gpu.js';

const PROXIES = ['wrcor', 'naswot', 'params'];
const OPTS: ZeroShotOptions = { batchSize: 8, seed: 0, net: { ...NB201_DEFAULT, cellsPerStage: 1, channels: 4 } };
const rng = new Rng(11);
const CELLS: Nb201Cell[] = Array.from({ length: 7 }, () => sampleCell(rng));

let saved: string | undefined;
beforeAll(() => {
  saved = process.env.WGNAS_GPU_MEMORY_BYTES;
  process.env.WGNAS_GPU_MEMORY_BYTES = String(2 ** 40); // 'auto' would take every cell in one group
});
afterAll(() => {
  if (saved === undefined) delete process.env.WGNAS_GPU_MEMORY_BYTES;
  else process.env.WGNAS_GPU_MEMORY_BYTES = saved;
});

const opened: Backend[] = [];
afterEach(() => {
  for (const b of opened.splice(0)) b.dispose();
});

/** A backend on a fresh lavapipe device behind the stand-in, reported as hardware. */
async function faulty(faults: (gpu: () => Gpu) => Faults): Promise<{ backend: Backend; fd: FaultyDevice } | null> {
  if (!(await testGpu())) return null;
  const real = await acquireGpu();
  let gpu: Gpu | null = null;
  const fd = faultyDevice(
    real.device,
    faults(() => gpu!),
  );
  gpu = new Gpu(fd.device, { ...real.adapter, isSoftware: false });
  const backend = webgpuBackend(gpu, { ownsDevice: true });
  opened.push(backend);
  return { backend, fd };
}

/** A cap on the bytes the pool's tensors hold: the allocation that would pass it is refused. */
const capped = (capBytes: () => number) => (gpu: () => Gpu) => ({
  refuse: (d: GPUBufferDescriptor) => gpu().pool.stats().bytesInUse + d.size > capBytes(),
});

interface Run {
  rows: ScoredCell[];
  streamed: ScoredCell[][];
  notes: string[];
  error?: unknown;
}

async function run(backend: Backend, opts: Partial<ZeroShotOptions>, cells = CELLS): Promise<Run> {
  const scorer = new ZeroShotScorer(backend, PROXIES, { ...OPTS, ...opts });
  const r: Run = { rows: [], streamed: [], notes: [] };
  try {
    r.rows = await scoreAll(
      scorer,
      cells,
      undefined,
      (rs) => void r.streamed.push(rs),
      0,
      (n) => void r.notes.push(n),
    );
  } catch (e) {
    r.error = e;
  }
  return r;
}

/** scoreAll at a fixed --group, told after each group it streams: the groups' rows and the error it ended with. */
async function streaming(backend: Backend, group: number, afterGroup: () => void) {
  const scorer = new ZeroShotScorer(backend, PROXIES, { ...OPTS, group });
  const streamed: ScoredCell[][] = [];
  const err = await scoreAll(scorer, CELLS, undefined, (rs) => {
    streamed.push(rs);
    afterGroup();
  }).catch((e: unknown) => e);
  return { streamed, err };
}

const scoresOf = (rows: ScoredCell[]) => rows.map((r) => ({ arch: r.arch, ...r.scores }));

let reference: ScoredCell[] = [];
/** Bytes one cell's scoring adds to the pool's tensors (what 'auto' measures on its probe). */
let perCellBytes = 0;
let baseBytes = 0;

describe('scoreAll on a GPU that fails mid-run', () => {
  beforeAll(async () => {
    const f = await faulty(() => ({}));
    if (!f) return;
    const { backend } = f;
    const ref = await run(backend, { group: 1 });
    expect(ref.error).toBeUndefined();
    reference = ref.rows;
    const scorer = new ZeroShotScorer(backend, PROXIES, { ...OPTS, group: 'auto' });
    baseBytes = backend.stats().bytesInUse;
    backend.resetPeak();
    await scorer.score(CELLS[0]);
    perCellBytes = backend.stats().peakBytesInUse - baseBytes;
    expect(perCellBytes).toBeGreaterThan(0);
  });

  it('--group auto: a group past the memory halves until it fits, with the rows of a run at one cell per pass', async ({
    skip,
  }) => {
    // Room for the batch and about 2.5 cells' working sets: the group of 6 after the probe does not fit.
    const f = await faulty(capped(() => baseBytes + 2.5 * perCellBytes));
    if (!f) return skip();
    const held = f.backend.stats().bytesInUse;
    const r = await run(f.backend, { group: 'auto' });
    expect(r.error).toBeUndefined();
    expect(f.fd.refusedBytes.length).toBeGreaterThan(0);
    expect(f.backend.stats().bytesInUse).toBe(held); // nothing of the failed groups is left held
    expect(r.notes[0]).toBe('note: out of GPU memory at a group of 6 cells; going on with 3');
    for (const n of r.notes) expect(n).toMatch(/^note: out of GPU memory at a group of (\d+) cells; going on with \d+$/);
    // Scores do not depend on the group: exactly the ungrouped run's.
    expect(scoresOf(r.rows)).toEqual(scoresOf(reference));
    expect(r.streamed.flat()).toEqual(r.rows);
    // The smaller size is kept: no group after the last note is larger.
    const last = Number(/going on with (\d+)$/.exec(r.notes.at(-1)!)![1]);
    expect(Math.max(...r.streamed.slice(1).map((g) => g.length))).toBeLessThanOrEqual(last);
  });

  it('--group auto --group-mode stacked: a packed group past the memory is packed again at half the cells', async ({ skip }) => {
    const stacked = { group: 'auto' as const, groupMode: 'stacked' as const };
    const ok = await faulty(() => ({}));
    if (!ok) return skip();
    const whole = await run(ok.backend, stacked);
    expect(whole.streamed.map((g) => g.length)).toEqual([7]);
    // The one group of 7 needs more than the cap: halved to 3, then as packed at that cap.
    const peak = ok.backend.stats().peakBytesInUse;
    const f = await faulty(capped(() => baseBytes + 0.6 * (peak - baseBytes)));
    const r = await run(f!.backend, stacked);
    expect(r.error).toBeUndefined();
    expect(r.notes[0]).toBe('note: out of GPU memory at a group of 7 cells; going on with 3');
    expect(r.streamed.flat().map((x) => x.arch)).toEqual(reference.map((x) => x.arch));
    // Stacked scores equal separate ones within float rounding (docs/results.md).
    r.rows.forEach((row, i) => {
      for (const p of PROXIES) {
        const want = reference[i].scores[p];
        expect(Math.abs(row.scores[p] - want)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)));
      }
    });
  });

  it("trimPool: the idle buffers' memory is back with the driver when it resolves (Dawn frees at a later submit)", async ({
    skip,
  }) => {
    const f = await faulty(() => ({}));
    if (!f) return skip();
    const { backend, fd } = f;
    const bytes = 4 << 20;
    const ts = Array.from({ length: 4 }, () => backend.upload(new Float32Array(bytes / 4), [bytes / 4]));
    await backend.sync();
    const held = fd.driverBytes;
    for (const t of ts) t.dispose();
    expect(fd.driverBytes).toBe(held); // pooled, not freed
    await backend.trimPool!();
    expect(fd.driverBytes).toBeLessThanOrEqual(held - 4 * bytes);
    expect(backend.stats().bytesAllocated).toBe(backend.stats().bytesInUse);
  });

  it("--group-mode stacked keeps the last group's buffers for the next; out of memory beside them: the same group again, every idle buffer returned from then on", async ({
    skip,
  }) => {
    const stacked = { group: 'auto' as const, groupMode: 'stacked' as const };
    const ok = await faulty(() => ({}));
    if (!ok) return skip();
    // A budget that packs the 7 cells into 3 or more groups.
    const probe = new ZeroShotScorer(ok.backend, PROXIES, { ...OPTS, ...stacked });
    let budget = 2 ** 40;
    while ([...probe.stackedGroups(CELLS, budget)].length < 3) budget /= 2;
    process.env.WGNAS_GPU_MEMORY_BYTES = String(budget);
    try {
      // The driver's bytes (live or destroyed with no submit since) as each allocation asks.
      let fd: FaultyDevice | null = null;
      let cap = Infinity;
      const peaks: number[] = [];
      const watch = () => () => ({
        refuse: (d: GPUBufferDescriptor) => {
          const want = fd!.driverBytes + d.size;
          peaks.push(want);
          return want > cap;
        },
      });
      const a = (await faulty(watch()))!;
      fd = a.fd;
      const free = await run(a.backend, stacked);
      expect(free.error).toBeUndefined();
      expect(free.notes).toEqual([]);
      expect(free.streamed.length).toBeGreaterThanOrEqual(3);
      // A driver one byte short of that run's most: refused where idle buffers were kept beside a group.
      const most = Math.max(...peaks);
      peaks.length = 0;
      cap = most - 1;
      const b = (await faulty(watch()))!;
      fd = b.fd;
      const r = await run(b.backend, stacked);
      expect(r.error).toBeUndefined();
      expect(r.notes.length).toBe(1);
      expect(r.notes[0]).toMatch(
        /^note: out of GPU memory at a group of \d+ cells beside [\d.]+ MiB of idle buffers kept from the last group; the same group again, with idle buffers returned before each group from now on$/,
      );
      expect(b.fd.refusedBytes.length).toBeGreaterThan(0);
      // Not halved: the same groups, the same scores.
      expect(r.streamed.map((g) => g.length)).toEqual(free.streamed.map((g) => g.length));
      expect(scoresOf(r.rows)).toEqual(scoresOf(free.rows));
    } finally {
      process.env.WGNAS_GPU_MEMORY_BYTES = String(2 ** 40);
    }
  });

  it('a fixed --group that runs out of memory throws, not halved; only the groups finished before were streamed', async ({
    skip,
  }) => {
    const f = await faulty(capped(() => baseBytes + 2.5 * perCellBytes));
    if (!f) return skip();
    const held = f.backend.stats().bytesInUse;
    const r = await run(f.backend, { group: 6 }); // a group of 6 does not fit (the test above)
    expect(r.error).toBeInstanceOf(GpuOutOfMemoryError);
    expect(r.streamed).toEqual([]);
    expect(r.notes).toEqual([]);
    // The failed group's tensors went back (the correlation kernels' too, whose read threw):
    // --group auto scores it again in the memory they held.
    expect(f.backend.stats().bytesInUse).toBe(held);
    // Memory taken by another process after the first group: the second one fails.
    let cap = Infinity;
    const g = await faulty(capped(() => cap));
    const scorer = new ZeroShotScorer(g!.backend, PROXIES, { ...OPTS, group: 3 });
    const streamed: ScoredCell[][] = [];
    const err = await scoreAll(scorer, CELLS, undefined, (rs) => {
      streamed.push(rs);
      cap = baseBytes + 0.5 * perCellBytes;
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuOutOfMemoryError);
    expect(scorer.lastGroupCells).toBe(3);
    expect(scoresOf(streamed.flat())).toEqual(scoresOf(reference.slice(0, 3)));
  });

  it('one cell that does not fit (--group auto at 1): the error, with the size asked for', async ({ skip }) => {
    // The probe's cell alone passes the cap.
    const f = await faulty(capped(() => baseBytes + 0.5 * perCellBytes));
    if (!f) return skip();
    const r = await run(f.backend, { group: 'auto' });
    expect(r.error).toBeInstanceOf(GpuOutOfMemoryError);
    expect(f.fd.refusedBytes).toContain((r.error as GpuOutOfMemoryError).bytes);
    expect(r.streamed).toEqual([]);
    expect(r.notes).toEqual([]);
  });

  it('the device lost inside a group: the lost error, and only the rows of finished groups', async ({ skip }) => {
    let lose: () => void = () => {};
    let groups = 0;
    const f = await faulty(() => ({ refuse: () => (groups === 2 && lose(), false) }));
    if (!f) return skip();
    lose = () => {
      groups = -1;
      f.fd.lose();
    };
    const { streamed, err } = await streaming(f.backend, 2, () => groups++);
    expect(err).toBeInstanceOf(GpuDeviceLostError);
    expect((err as Error).message).toMatch(/^GPU device lost \(reason: unknown, VK_ERROR_DEVICE_LOST/);
    expect(streamed.length).toBe(2);
    expect(scoresOf(streamed.flat())).toEqual(scoresOf(reference.slice(0, 4)));
  });

  it('a validation error inside a group (work dropped, zeros left behind) yields no row of that group', async ({ skip }) => {
    let groups = 0;
    let fd: FaultyDevice | null = null;
    const f = await faulty(() => ({
      refuse: () => {
        if (groups === 1) {
          groups = -1;
          fd!.raiseUncaptured(new GPUValidationError('a dispatch of this group failed validation (stand-in)'));
        }
        return false;
      },
    }));
    if (!f) return skip();
    fd = f.fd;
    const { streamed, err } = await streaming(f.backend, 3, () => groups++);
    expect(err).toBeInstanceOf(GpuValidationError);
    expect((err as Error).message).toMatch(/a dispatch of this group failed validation/);
    expect(scoresOf(streamed.flat())).toEqual(scoresOf(reference.slice(0, 3)));
  });
});
