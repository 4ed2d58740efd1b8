/**
 * One architecture of a cell space (one cell per layer in the MobileNet skeleton) as a network the
 * zero-shot proxies score.
 */
import type { Backend } from '../backend/index.js';
import { FixedNet } from '../mobilenet/fixed-net.js';
import { archMadds } from '../mobilenet/madds.js';
import type { CellSpace } from '../mobilenet/space.js';
import { type NetFactory, type ProxyBatch, scoreNet } from '../proxies/index.js';
import { checkChoices } from '../spaces/space.js';

export function cellArchFactory(backend: Backend, space: CellSpace, choices: readonly number[]): NetFactory {
  if (space.layout.inputSize !== 32)
    throw new RangeError(
      `zero-shot scoring needs a 32×32 layout (CIFAR-10), ${space.layout.name} takes ${space.layout.inputSize}`,
    );
  checkChoices({ name: `space ${space.file.source}`, choiceSizes: space.cells.map((c) => c.length) }, choices);
  return {
    build: (init, rng) => FixedNet.fromChoices(backend, space.layout, space.cells, choices, rng, init),
    flopsM: archMadds(space, choices) / 1e6,
  };
}

export async function scoreArch(
  backend: Backend,
  space: CellSpace,
  choices: readonly number[],
  proxies: readonly string[],
  batch: ProxyBatch,
  seed = 0,
) {
  return scoreNet(backend, cellArchFactory(backend, space, choices), proxies, batch, seed);
}
