/**
 * The buffer pool a `wgnas proxyless` search will hold, measured before it runs
 * (cli/training-memory.ts): a fresh supernet of the run's layout and candidates (its own Rng: the
 * run's is untouched) on a device of its own takes the search's steps on zero images at batches 1
 * and 2 along the heaviest path, the candidate with the most multiply-adds at every block (the
 * second most too where an architecture step computes two; every candidate with --gate-grads all),
 * the pool's held bytes read after each.
 */
import type { Backend } from '../backend/index.js';
import { type BatchLine, bytesAt, probeLine } from '../backend/pool-probe.js';
import type { GateSample } from '../kernels/binarize.js';
import { cellMadds } from '../mobilenet/cell.js';
import { WeightSgd } from '../nn/optim.js';
import { Tape } from '../nn/tape.js';
import { Rng } from '../util/rng.js';
import type { ProxylessSearchConfig } from './search-config.js';
import { ProxylessSupernet } from './supernet.js';

export interface ProxylessMemoryProbe {
  /** A weight step's (the supernet's weights, their gradients and momentum, the path's activations). */
  weight: BatchLine;
  /** An architecture step's (its paths' activations and their gradients; REINFORCE: forwards). */
  arch: BatchLine;
}

/** Candidates of each block, the most multiply-adds first (ties: the lower index). */
function heaviestFirst(net: ProxylessSupernet): number[][] {
  return net.layers.map((l) => {
    const madds = l.cells.map((c, j) => (net.isZero(l.position, j) ? -1 : cellMadds(c, l.shape)));
    return madds.map((_, j) => j).sort((a, b) => madds[b] - madds[a] || a - b);
  });
}

export async function probeProxylessMemory(
  /** A new CPU backend as the run's (its threads). */
  fresh: () => Promise<Backend>,
  cfg: ProxylessSearchConfig,
): Promise<ProxylessMemoryProbe> {
  const s = cfg.layout.inputSize;
  const held = async (work: (backend: Backend, net: ProxylessSupernet, order: number[][]) => Promise<void>) => {
    const backend = await fresh();
    const net = new ProxylessSupernet(backend, cfg.layout, new Rng(cfg.seed), { cells: cfg.space?.cells, bnEps: cfg.bnEps });
    try {
      await work(backend, net, heaviestFirst(net));
      await backend.sync();
      return backend.stats().bytesAllocated;
    } finally {
      net.dispose();
      backend.dispose();
    }
  };
  const batch = (backend: Backend, n: number) => ({
    x: backend.upload(new Float32Array(n * 3 * s * s), [n, 3, s, s]),
    y: backend.upload(new Float32Array(n)),
  });
  const weight = await probeLine((n) =>
    held(async (backend, net, order) => {
      const sgd = new WeightSgd(backend, net.params, {
        momentum: cfg.momentum,
        nesterov: cfg.nesterov,
        weightDecay: cfg.weightDecay,
      });
      const gates: GateSample[] = order.map(([j]) => ({ active: j, inactive: [], involved: [j] }));
      const t = new Tape(backend);
      const { x, y } = batch(backend, n);
      try {
        const { logits } = net.forward(t, t.input(x), gates);
        const loss = t.crossEntropy(logits, y, 1, cfg.labelSmoothing);
        t.backward(loss);
        sgd.step(cfg.weightLr);
        await backend.readMany([loss.value, logits.value]);
      } finally {
        t.dispose();
        x.dispose();
        y.dispose();
        sgd.dispose();
      }
    }),
  );
  const arch = await probeLine((n) =>
    held(async (backend, net, order) => {
      const twoPaths = cfg.mode === 'gradient' && cfg.paths === 2;
      const gates: GateSample[] = order.map((o) => ({
        active: o[0],
        inactive: twoPaths && o.length > 1 ? [o[1]] : [],
        involved: twoPaths ? o.slice(0, 2) : o,
      }));
      const { x, y } = batch(backend, n);
      const t = new Tape(backend, cfg.mode === 'gradient' ? { paramGrads: 'none' } : { noGrad: true });
      try {
        const { logits, records } = net.forward(t, t.input(x), gates, { inactive: twoPaths });
        const loss = t.crossEntropy(logits, y);
        if (cfg.mode === 'gradient') {
          t.backward(loss);
          await net.gateGradientsWith(records, cfg.gateGrads, [loss.value]);
        } else await backend.readMany([logits.value, loss.value]);
      } finally {
        t.dispose();
        x.dispose();
        y.dispose();
      }
    }),
  );
  return { weight, arch };
}

/**
 * The search samples another path every step: the pool keeps the buffers of other candidates'
 * sizes too, about this much over one path's (CIFAR supernet, batches 4-16: 8-20 %).
 */
const PATHS_SLACK = 1.1;

/**
 * The pool's bytes for the search: the larger of the weight steps' at --batch and the architecture
 * steps' at --val-batch (measured: a search at batch 8, val-batch 16 held 1.2x the architecture
 * step's alone, not the sum of both), with the buffers of the other paths the steps sample.
 */
export function proxylessPoolBytes(p: ProxylessMemoryProbe, cfg: ProxylessSearchConfig): number {
  return Math.round(PATHS_SLACK * Math.max(bytesAt(p.weight, cfg.batchSize), bytesAt(p.arch, cfg.valBatchSize)));
}
