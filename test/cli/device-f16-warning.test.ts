/**
 * openDevice (src/cli/device.ts) on a GPU whose WGNAS_F16=1 it cannot follow (no shader-f16): one
 * warning line per output naming the flag to set, however many backends a command opens (a worker
 * opens one per slot). The backend is a stand-in: no adapter here lacks shader-f16.
 */
import { describe, expect, it, vi } from 'vitest';
import type { Backend } from '../../src/backend/index.js';
import { f16Ignored } from '../../src/gpu/adapter.js';

const WHY = f16Ignored('1', false, 'NVIDIA H200')!;
const FAKE = { device: 'gpu' } as unknown as Backend;

vi.mock('../../src/backend/index.js', async (original) => ({
  ...(await original<typeof import('../../src/backend/index.js')>()),
  openBackend: async () => FAKE,
  gpuOf: (b: Backend) => (b === FAKE ? { adapter: { f16Ignored: WHY } } : null),
}));

const { openDevice } = await import('../../src/cli/device.js');

describe('openDevice and WGNAS_F16', () => {
  it('warns once per output that the GPU runs f32, naming WGNAS_DAWN_FLAGS', async () => {
    const err: string[] = [];
    const io = { out: () => {}, err: (s: string) => void err.push(s) };
    expect(await openDevice('gpu', { device: 'gpu' }, io)).toBe(FAKE);
    await openDevice('gpu', { device: 'gpu' }, io);
    expect(err).toEqual([`warning: ${WHY}\n`]);
    expect(err[0]).toMatch(
      /^warning: WGNAS_F16=1 ignored \(f32 operands\): NVIDIA H200 does not offer shader-f16; on NVIDIA set WGNAS_DAWN_FLAGS=\S+\n$/,
    );
    // Without an output to warn on (score --procs' children), nothing is said.
    await openDevice('gpu', { device: 'gpu' });
    expect(err).toHaveLength(1);
  });
});
