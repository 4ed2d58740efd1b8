/**
 * A found network (export's ExportNetwork: an NB201 cell, a ProxylessNAS net.config, a wgnas-arch
 * JSON) as a trainable network on a backend, its head sized to the dataset's classes, initialised
 * as `wgnas export` seeds it (the same constructor and random numbers for the same seed).
 */
import type { Backend } from '../backend/index.js';
import type { ExportNetwork } from '../export/index.js';
import { FixedNet } from '../mobilenet/fixed-net.js';
import { fixedMadds } from '../mobilenet/madds.js';
import { cellMadds } from '../mobilenet/cell.js';
import { layerShapes } from '../mobilenet/layout.js';
import { Nb201Net, nb201Complexity } from '../nn/nb201-net.js';
import type { ScorableNet } from '../nn/scorable.js';
import { Rng } from '../util/rng.js';

/** The network with the dataset's class count. */
export function withClasses(n: ExportNetwork, classes: number): ExportNetwork {
  return n.kind === 'nb201' ? { ...n, cfg: { ...n.cfg, numClasses: classes } } : { ...n, layout: { ...n.layout, classes } };
}

export function networkInputSize(n: ExportNetwork): number {
  return n.kind === 'nb201' ? n.inputHW : n.layout.inputSize;
}

/** Multiply-adds of one image's forward pass. */
export function networkMadds(n: ExportNetwork): number {
  if (n.kind === 'nb201') return nb201Complexity(n.cell, n.cfg, n.inputHW).macs;
  const shapes = layerShapes(n.layout);
  return fixedMadds(n.layout) + n.cells.reduce((s, c, b) => s + cellMadds(c, shapes[b]), 0);
}

/**
 * A fresh network on `backend`, initialised from `seed` (PyTorch-default init). NB201 cells compute
 * the edges out of nodes only 'none' feeds, as NAS-Bench-201's PyTorch code trains them; MobileNets
 * normalise with their own BN eps (a net.config's bn.eps).
 */
export function buildNetwork(backend: Backend, n: ExportNetwork, seed: number): ScorableNet {
  const rng = new Rng(seed);
  return n.kind === 'nb201'
    ? new Nb201Net(backend, n.cell, { ...n.cfg, init: 'pytorch', unfedEdges: 'zeros' }, rng, n.inputHW)
    : new FixedNet(backend, n.layout, n.cells, n.choices, rng, 'pytorch', n.bnEps);
}
