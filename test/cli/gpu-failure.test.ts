/**
 * The words of a GPU failure's line (src/cli/gpu-failure.ts), without a GPU: the sizes, score's
 * advice for each --group, and the fallbacks where no command is running. The runs themselves:
 * gpu-faults.gpu.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { formatBytes, GpuDeviceLostError, GpuOutOfMemoryError, GpuValidationError } from '../../src/gpu/errors.js';
import { gpuFailureError, gpuFailureOf, scoreOomAdvice, withGpuAdvice } from '../../src/cli/gpu-failure.js';
import { forgetRunning } from '../../src/cli/interrupt.js';

describe('GPU failure lines', () => {
  it('sizes in binary units, as memory is sized', () => {
    expect([0, 512, 1024, 1536, 16384, 100 * 2 ** 20, 1.25 * 2 ** 30, 3 * 2 ** 40].map(formatBytes)).toEqual([
      '0 B',
      '512 B',
      '1 KiB',
      '1.5 KiB',
      '16 KiB',
      '100 MiB',
      '1.3 GiB',
      '3 TiB',
    ]);
    expect(new GpuOutOfMemoryError(3 * 2 ** 20, 'x').message).toBe('out of GPU memory: allocating 3 MiB failed');
    expect(new GpuOutOfMemoryError(undefined, 'Out of memory.\n - While calling x').message).toBe(
      'out of GPU memory (Out of memory.)',
    );
    expect(new GpuDeviceLostError('unknown', '').message).toBe('GPU device lost (reason: unknown, no message)');
  });

  it("score's advice: a smaller --group where groups are fixed, --batch at one cell", () => {
    expect(scoreOomAdvice(8, 8, 64)).toBe(
      'at a group of 8 cells (--group 8): use a smaller --group (e.g. --group 4) or --group auto, which halves a group that runs out',
    );
    // The last group of a selection may be smaller than --group.
    expect(scoreOomAdvice(8, 3, 64)).toMatch(/^at a group of 3 cells \(--group 8\): use a smaller --group \(e\.g\. --group 1\)/);
    expect(scoreOomAdvice('auto', 1, 64)).toBe(
      'at one cell per pass (--group auto can go no lower): lower --batch (64 now) or free the GPU memory other processes hold',
    );
    expect(scoreOomAdvice(1, 1, 16)).toBe(
      'at one cell per pass: lower --batch (16 now) or free the GPU memory other processes hold',
    );
  });

  it("a child's GPU failure (score --procs) stands for the same error in its parent, advice and all", () => {
    forgetRunning();
    const oom = Object.assign(new GpuOutOfMemoryError(3 * 2 ** 20, ''), {
      advice: 'at one cell per pass: lower --batch (8 now)',
    });
    const uncaught = new GpuOutOfMemoryError(undefined, 'Out of memory.\n - While calling x');
    const lost = new GpuDeviceLostError('unknown', 'Xid 79');
    for (const e of [oom, uncaught, lost]) {
      // Through the IPC channel as data (structured clone), back as the error.
      const back = gpuFailureError(structuredClone(gpuFailureOf(e)!));
      expect(back).toBeInstanceOf(e.constructor);
      expect(back).toMatchObject({ message: e.message, ...(e instanceof GpuOutOfMemoryError ? { advice: e.advice } : {}) });
      expect((withGpuAdvice(back) as Error).message).toBe((withGpuAdvice(e) as Error).message);
    }
    expect(gpuFailureOf(new GpuValidationError('dropped'))).toBeUndefined();
  });

  it('outside a command: the memory to free and a plain rerun; other errors untouched', () => {
    forgetRunning();
    const oom = withGpuAdvice(new GpuOutOfMemoryError(1024, '')) as Error;
    expect(oom.message).toBe(
      'out of GPU memory: allocating 1 KiB failed: free the GPU memory other processes hold; run the command again',
    );
    const lost = withGpuAdvice(new GpuDeviceLostError('unknown', 'Xid 79')) as Error;
    expect(lost.message).toBe(
      'GPU device lost (reason: unknown, Xid 79): the driver reset or the GPU failed (its log: dmesg, nvidia-smi); run the command again',
    );
    const other = new GpuValidationError('dropped');
    expect(withGpuAdvice(other)).toBe(other);
    expect(other.message).toBe('dropped');
  });
});
