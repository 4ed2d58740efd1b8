/**
 * One architecture of a cell space (one cell per layer in the MobileNet skeleton) as a network the
 * zero-shot proxies score.
 */
import type { Backend } from '../backend/index.js';
import { ClassCountError } from '../data/labels.js';
import { FixedNet } from '../mobilenet/fixed-net.js';
import { archMadds } from '../mobilenet/madds.js';
import type { CellSpace } from '../mobilenet/space.js';
import { spaceBn } from '../mobilenet/space-file.js';
import { checkPerNetwork, type NetFactory, type ProxyBatch, scoreNet } from '../proxies/index.js';
import { checkChoices } from '../spaces/space.js';

/** The network of `choices`, at the BN eps its space records (spaceBn). */
export function cellArchFactory(backend: Backend, space: CellSpace, choices: readonly number[]): NetFactory {
  checkChoices({ name: `space ${space.file.source}`, choiceSizes: space.cells.map((c) => c.length) }, choices);
  const { eps } = spaceBn(space);
  return {
    build: (init, rng) => FixedNet.fromChoices(backend, space.layout, space.cells, choices, rng, init, eps),
    flopsM: archMadds(space, choices) / 1e6,
    classes: space.layout.classes,
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
  checkPerNetwork(proxies, 'scoreArch');
  const side = batch.size ?? 32;
  if (batch.classes !== undefined && batch.classes !== space.layout.classes)
    throw new ClassCountError(
      `scoreArch: the space's layout classifies ${space.layout.classes} classes but the batch's dataset has ${batch.classes} (batch.classes); give { ...space, layout: { ...space.layout, classes: ${batch.classes} } }`,
    );
  if (side !== space.layout.inputSize)
    throw new RangeError(
      `${space.layout.name} layout takes ${space.layout.inputSize}x${space.layout.inputSize} images, the proxy batch is ${side}x${side}`,
    );
  return scoreNet(backend, cellArchFactory(backend, space, choices), proxies, batch, seed);
}
