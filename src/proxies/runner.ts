/**
 * The pass runner: scores one network (scoreNet), or several together (scoreNetsGrouped), with any
 * set of registered proxies. Each pass the requested proxies read is built once per network, in
 * pass order (one that changes the network, SynFlow's, last), handed to every proxy on it, and
 * released before the next.
 */
import type { Backend } from '../backend/index.js';
import type { InitMode } from '../nn/init.js';
import type { NetFactory, ScorableNet } from '../nn/scorable.js';
import { Rng } from '../util/rng.js';
import {
  imageFloats,
  imageShape,
  type NetContext,
  type PassDef,
  type PassNeeds,
  type ProxyBatch,
  type ProxyUnit,
} from './define.js';
import { GROUPABLE_PROXIES, proxyOrder, resolveProxies } from './registry.js';

export interface CellScores {
  scores: Record<string, number>;
  /** Wall-clock milliseconds per pass, e.g. { ce: 812, synflow: 40 }. */
  timeMs: Record<string, number>;
}

interface PassPlan {
  pass: PassDef<unknown>;
  units: ProxyUnit[];
  needs: PassNeeds;
}

/** The units behind requested names (a family once), grouped by pass, in run order. */
function plan(names: readonly string[]): PassPlan[] {
  const units = [...new Set(resolveProxies(names).map((p) => p.unit))].sort(
    (a, b) => proxyOrder(a.names[0]) - proxyOrder(b.names[0]),
  );
  const passes = [...new Set(units.map((u) => u.pass))].sort(
    (a, b) => Number(a.mutatesNet ?? false) - Number(b.mutatesNet ?? false) || a.order - b.order,
  );
  return passes.map((pass) => {
    const us = units.filter((u) => u.pass === pass);
    return {
      pass,
      units: us,
      needs: { backward: us.some((u) => u.needs.backward), paramGrads: us.some((u) => u.needs.paramGrads) },
    };
  });
}

function checkBatch(batch: ProxyBatch, fn: string): void {
  const n = batch.n;
  const per = imageFloats(batch);
  if (batch.x.length !== n * per || batch.y.length !== n) {
    throw new RangeError(`${fn}: batch of ${n} needs x of ${n * per} and y of ${n} values`);
  }
}

/** Runs one pass on one network and hands the result to its proxies. */
async function runPass(p: PassPlan, ctx: NetContext, scores: Record<string, number>): Promise<void> {
  const r = await p.pass.run(ctx, p.needs);
  try {
    for (const u of p.units) Object.assign(scores, await u.compute(r, ctx));
  } finally {
    p.pass.release?.(r, ctx);
  }
}

/**
 * Scores any network on a batch (32×32 unless batch.size says otherwise); the factory is called
 * once (again for Zen-score's copy). `init` initialises the network the passes share (proxies whose
 * definition fixes an init, VKDNW's and Zen's, build their own).
 */
export async function scoreNet(
  backend: Backend,
  factory: NetFactory,
  proxyNames: readonly string[],
  batch: ProxyBatch,
  seed = 0,
  init: InitMode = 'pytorch',
): Promise<CellScores> {
  const plans = plan(proxyNames);
  checkBatch(batch, 'scoreNet');
  const n = batch.n;
  const scores: Record<string, number> = {};
  const timeMs: Record<string, number> = {};
  const x = backend.upload(batch.x, imageShape(batch));
  const y = backend.upload(batch.y, [n]);
  let net: ScorableNet | null = null;
  try {
    net = factory.build(init, new Rng(seed));
    let mutated = false;
    for (const p of plans) {
      if (p.pass.mutatesNet && mutated) {
        // A second pass that changes the network gets an identical fresh copy.
        net.dispose();
        net = null;
        net = factory.build(init, new Rng(seed));
      }
      mutated ||= p.pass.mutatesNet ?? false;
      const ctx: NetContext = { backend, factory, net, batch, x, y, seed };
      if (p.pass.timed === false) {
        await runPass(p, ctx, scores);
        continue;
      }
      const t0 = performance.now();
      await runPass(p, ctx, scores);
      await backend.sync();
      timeMs[p.pass.name] = performance.now() - t0;
    }
  } finally {
    x.dispose();
    y.dispose();
    net?.dispose();
  }
  return { scores, timeMs };
}

/**
 * Scores several architectures together: each pass runs on every network and stays alive until
 * the proxies have read all of them, so groupable proxies batch their work across the group (the
 * correlation matrices of all the networks' ReLUs go through the batched WRCor/NASWOT path at once:
 * a few dispatches per layer-size group for the whole group instead of a chain per ReLU per
 * network). Memory grows with the group: every tape's activations and gradients are alive
 * together. Same scores as scoreNet on each; only groupable proxies.
 */
export async function scoreNetsGrouped(
  backend: Backend,
  factories: readonly NetFactory[],
  proxyNames: readonly string[],
  batch: ProxyBatch,
  seed = 0,
  init: InitMode = 'pytorch',
): Promise<CellScores[]> {
  const bad = resolveProxies(proxyNames).filter((p) => !p.groupable);
  if (bad.length)
    throw new RangeError(
      `scoreNetsGrouped: ${bad.map((p) => p.name).join(', ')} cannot be grouped (only ${[...GROUPABLE_PROXIES].join(', ')})`,
    );
  const plans = plan(proxyNames);
  checkBatch(batch, 'scoreNetsGrouped');
  const n = batch.n;
  const t0 = performance.now();
  const x = backend.upload(batch.x, imageShape(batch));
  const y = backend.upload(batch.y, [n]);
  const nets: ScorableNet[] = [];
  const out: CellScores[] = factories.map(() => ({ scores: {}, timeMs: {} }));
  try {
    for (const f of factories) nets.push(f.build(init, new Rng(seed)));
    const ctxs: NetContext[] = nets.map((net, i) => ({ backend, factory: factories[i], net, batch, x, y, seed }));
    for (const p of plans) {
      if (!ctxs.length) break;
      const results: unknown[] = [];
      try {
        for (const ctx of ctxs) results.push(await p.pass.run(ctx, p.needs));
        for (const u of p.units) (await u.computeMany(results, ctxs)).forEach((s, i) => Object.assign(out[i].scores, s));
      } finally {
        results.forEach((r, i) => p.pass.release?.(r, ctxs[i]));
      }
    }
  } finally {
    nets.forEach((m) => m.dispose());
    x.dispose();
    y.dispose();
  }
  // One figure for the whole group, shared out (reported under the shared tape's name).
  const each = (performance.now() - t0) / Math.max(1, factories.length);
  out.forEach((o) => (o.timeMs.ce = each));
  return out;
}
