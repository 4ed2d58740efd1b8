/**
 * AutoSpace with its batched ops (one sgdStepMany for the skeleton and every selected cell,
 * relu6(batch norm) in one op each way, the mixture over all candidates per dispatch, the fitness
 * gradients read with the loss) against the same run one item at a time
 * (test/helpers/per-item-backend.ts), on both backends, bit for bit: the warm-up loss, two
 * iterations' events (losses, E[MAdds], the learned shares) and every member's weights. On the CPU
 * the native fused batch norm + ReLU6 runs on both sides.
 */
import { describe, expect, it } from 'vitest';
import { AutoSpace } from '../../src/autospace/evolve.js';
import type { Backend } from '../../src/backend/index.js';
import { bothBackends } from '../helpers/backend.js';
import { TOY_LAYOUT, tinyEvolveConfig } from '../helpers/cases.js';
import { gaussianImages } from '../helpers/images.js';
import { perItemBackend } from '../helpers/per-item-backend.js';

const backends = await bothBackends();

async function evolve(be: Backend) {
  // K = 3 cells per layer: the fused mixture binds 2K + 3 = 9 buffers where the device allows it.
  const a = new AutoSpace(be, tinyEvolveConfig(TOY_LAYOUT, { batchSize: 6, k: 3, populationSize: 4, iterations: 2 }), {
    train: gaussianImages(24, 1, 8),
    val: gaussianImages(12, 2, 8),
  });
  try {
    const warm = await a.warmup();
    const events = [await a.step(), await a.step()].map(({ msPerStep: _, ...e }) => e);
    const weights = await be.readMany(a.populations.flat().flatMap((m) => m.store.params.map((p) => p.value)));
    return { warm, events, weights: weights.map((w) => Array.from(w)) };
  } finally {
    a.dispose();
  }
}

describe('AutoSpace, batched and one item at a time', () => {
  for (const { name, backend } of backends) {
    it(`gives the same bits (${name})`, async ({ skip }) => {
      if (!backend) return skip();
      const per = perItemBackend(backend, { composeBnRelu6: name === 'webgpu' });
      try {
        const [batched, oneByOne] = [await evolve(backend), await evolve(per.backend)];
        expect(batched).toEqual(oneByOne);
        expect(Number.isFinite(batched.warm) && batched.events.every((e) => Number.isFinite(e.valLoss))).toBe(true);
        expect(batched.events[0].mixed.every((layer) => layer.length === 3)).toBe(true);
      } finally {
        per.dispose();
      }
    });
  }
});
