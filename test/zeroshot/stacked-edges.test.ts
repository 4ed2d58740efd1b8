/** Stacked group scoring's edge cases on the CPU backend: dead groups, tiny batches, odd widths. */
import { describe, expect, it } from 'vitest';
import { NB201_DEFAULT } from '../../src/nn/nb201-net.js';
import { nb201StackedFactory } from '../../src/nn/nb201-stacked.js';
import { scoreNetsStacked } from '../../src/proxies/index.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { scoreAll, ZeroShotScorer } from '../../src/zeroshot/index.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { CELLS } from './stacked-cases.js';

const PROXIES = ['wrcor', 'naswot', 'params', 'flops'];

function close(a: number, b: number, what: string): void {
  if (!Number.isFinite(b)) expect(a, what).toBe(b);
  else expect(Math.abs(a - b), `${what}: ${a} vs ${b}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(b)));
}

describe('stacked scoring edge cases', () => {
  const cases: Array<{ names: Array<keyof typeof CELLS>; batch: number; channels: number }> = [
    { names: ['noOutput'], batch: 4, channels: 4 },
    { names: ['allNone', 'noOutput', 'onlyUnfedToOutput'], batch: 4, channels: 4 },
    { names: ['mixed', 'allSkip'], batch: 2, channels: 3 },
    { names: ['mixed', 'deadEnd', 'allConv'], batch: 2, channels: 5 },
  ];
  for (const { names, batch, channels } of cases) {
    it(`[${names.join(', ')}] batch ${batch}, channels ${channels}`, async ({ skip }) => {
      const backend = cpuTestBackend();
      if (!backend) return skip();
      for (const unfedEdges of ['skip', 'zeros'] as const) {
        const net = { ...NB201_DEFAULT, channels, cellsPerStage: 1, unfedEdges };
        const cells = names.map((k) => parseArch(CELLS[k]));
        const single = new ZeroShotScorer(backend, PROXIES, { batchSize: batch, seed: 3, net });
        const alone = await scoreAll(single, cells);
        const before = backend.memory().tensors;
        const rows = await scoreNetsStacked(backend, nb201StackedFactory(backend, cells, net), PROXIES, single.batch, 3);
        expect(backend.memory().tensors).toBe(before);
        rows.forEach((r, i) => PROXIES.forEach((p) => close(r.scores[p], alone[i].scores[p], `${names[i]} ${p} ${unfedEdges}`)));
      }
    });
  }
});

describe('stacked network build', () => {
  it('a build that fails part way frees every tensor it allocated', ({ skip }) => {
    const backend = cpuTestBackend();
    if (!backend) return skip();
    const net = { ...NB201_DEFAULT, channels: 4, cellsPerStage: 1 };
    const cells = [parseArch(CELLS.mixed), parseArch(CELLS.allConv)];
    const before = backend.memory().tensors;
    // The 20th allocation fails, as a big group's would on a full device.
    let n = 0;
    const failing = new Proxy(backend, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver);
        if (key !== 'empty' && key !== 'upload') return typeof v === 'function' ? v.bind(target) : v;
        return (...args: unknown[]) => {
          if (++n === 20) throw new RangeError('out of device memory (test)');
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    expect(() => nb201StackedFactory(failing, cells, net).build('pytorch', 0)).toThrow('out of device memory (test)');
    expect(n).toBe(20);
    expect(backend.memory().tensors).toBe(before);
  });
});
