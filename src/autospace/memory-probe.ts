/**
 * The buffer pool a `wgnas evolve-space` run will hold, measured before it runs
 * (cli/training-memory.ts): an evolution of the run's configuration (its own Rng from the seed: the
 * run's is untouched) on a device of its own takes a warm-up step (where the run has one: it mixes
 * the whole population) and one iteration of one round (a weight and a fitness step of the K
 * selected cells per layer) at batches 1 and 2, the pool's held bytes read after each.
 */
import type { Backend } from '../backend/index.js';
import { type BatchLine, bytesAt, probeLine } from '../backend/pool-probe.js';
import type { SearchImages } from '../data/batch-stream.js';
import type { EvolveConfig } from './evolve-config.js';
import { AutoSpace } from './evolve.js';

export async function probeEvolveMemory(
  /** A new CPU backend as the run's (its threads). */
  fresh: () => Promise<Backend>,
  cfg: EvolveConfig,
  data: SearchImages,
): Promise<BatchLine> {
  return probeLine(async (n) => {
    const backend = await fresh();
    const probe: EvolveConfig = { ...cfg, batchSize: n, warmupSteps: Math.min(cfg.warmupSteps, 1), iterations: 1, steps: 1 };
    let evo: AutoSpace | null = null;
    try {
      evo = new AutoSpace(backend, probe, data);
      await evo.warmup();
      await evo.step();
      await backend.sync();
      return backend.stats().bytesAllocated;
    } finally {
      evo?.dispose();
      backend.dispose();
    }
  });
}

/**
 * The pool's bytes for the run at --batch (the CIFAR layout at batches 4-16: 1.03-1.14x what a run of
 * 3 iterations held, mutations included; small batches' tensors are rounded up to their size classes
 * more, so the line from batches 1 and 2 lies a little above).
 */
export function evolvePoolBytes(line: BatchLine, cfg: EvolveConfig): number {
  return bytesAt(line, cfg.batchSize);
}
