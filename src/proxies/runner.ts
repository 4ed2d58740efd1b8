/**
 * The pass runner: scores one network (scoreNet), or several together (scoreNetsGrouped, or as one
 * channel-stacked network: scoreNetsStacked), with any set of registered proxies. Each pass the
 * requested proxies read is built once per network, in pass order (one that changes the network,
 * SynFlow's, last), handed to every proxy on it, and released before the next.
 */
import type { Backend } from '../backend/index.js';
import { checkClassCount, checkLabels, ClassCountError } from '../data/labels.js';
import type { InitMode } from '../nn/init.js';
import type { NetFactory, ScorableNet, StackedFactory, StackedNets } from '../nn/scorable.js';
import { Tape } from '../nn/tape.js';
import { Rng } from '../util/rng.js';
import type { CorrRecord } from './correlation-proxies.js';
import {
  imageFloats,
  imageShape,
  type NetContext,
  type PassDef,
  type PassNeeds,
  type ProxyBatch,
  type ProxyUnit,
} from './define.js';
import { type CePassResult, cePass, staticPass } from './passes.js';
import { checkPerNetwork, GROUPABLE_PROXIES, proxyOrder, resolveProxies } from './registry.js';

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

/** A group scorer's passes (scoreNetsGrouped, scoreNetsStacked): per-network proxies that group only. */
function groupPlan(proxyNames: readonly string[], fn: string): PassPlan[] {
  checkPerNetwork(proxyNames, fn);
  const bad = resolveProxies(proxyNames).filter((p) => !p.groupable);
  if (bad.length)
    throw new RangeError(
      `${fn}: ${bad.map((p) => p.name).join(', ')} cannot be grouped (only ${[...GROUPABLE_PROXIES].join(', ')})`,
    );
  return plan(proxyNames);
}

/** A group's wall-clock time since t0 as one figure, shared out (under the shared tape's name, ce). */
function shareGroupTime(out: readonly CellScores[], t0: number): void {
  const each = (performance.now() - t0) / Math.max(1, out.length);
  out.forEach((o) => (o.timeMs.ce = each));
}

/**
 * The batch's sizes, and its labels against the network's classifier (`classes`, the factory's) and
 * the batch's own class count: a label past the classifier scores NaN or 0 without an error.
 */
function checkBatch(batch: ProxyBatch, fn: string, classes: number | undefined): void {
  const n = batch.n;
  const per = imageFloats(batch);
  if (batch.x.length !== n * per || batch.y.length !== n) {
    throw new RangeError(`${fn}: batch of ${n} needs x of ${n * per} and y of ${n} values`);
  }
  if (batch.classes !== undefined) {
    checkClassCount(batch.classes, `${fn}: batch.classes`);
    if (classes !== undefined && classes !== batch.classes)
      throw new ClassCountError(
        `${fn}: the network classifies ${classes} classes but the batch's dataset has ${batch.classes} (batch.classes); build the network for ${batch.classes}`,
      );
  }
  const k = classes ?? batch.classes;
  checkLabels(
    batch.y,
    k ?? Infinity,
    fn,
    classes !== undefined
      ? `the network classifies ${classes} classes (build it for the data's class count)`
      : k !== undefined
        ? `the batch's dataset has ${k} classes (batch.classes)`
        : '',
  );
}

/** The class count of a group's networks (one shared batch: they must agree). */
function groupClasses(factories: readonly NetFactory[]): number | undefined {
  const ks = [...new Set(factories.map((f) => f.classes).filter((k) => k !== undefined))];
  if (ks.length > 1)
    throw new ClassCountError(`scoreNetsGrouped: the networks classify ${ks.join(', ')} classes; one batch needs one count`);
  return ks[0];
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
  checkPerNetwork(proxyNames, 'scoreNet');
  const plans = plan(proxyNames);
  checkBatch(batch, 'scoreNet', factory.classes);
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
  const plans = groupPlan(proxyNames, 'scoreNetsGrouped');
  checkBatch(batch, 'scoreNetsGrouped', groupClasses(factories));
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
  shareGroupTime(out, t0);
  return out;
}

/** Each image's label once per stacked network: row n * G + g of the stacked logits is image n's. */
function stackedLabels(y: Float32Array, groups: number): Float32Array {
  const out = new Float32Array(y.length * groups);
  y.forEach((v, n) => out.fill(v, n * groups, (n + 1) * groups));
  return out;
}

/** Network g of a stack as the proxies on the static pass see it: its own counts. */
function stackedContext(
  ctx: Omit<NetContext, 'net' | 'factory'>,
  stack: () => StackedNets,
  f: StackedFactory,
  g: number,
): NetContext {
  const no = (what: string) => () => {
    throw new Error(`scoreNetsStacked: network ${g} of a stack has no ${what}`);
  };
  return {
    ...ctx,
    factory: { flopsM: f.flopsM[g], build: no('build') },
    net: { params: [], paramCount: () => stack().paramCount(g), forward: no('forward'), zeroGrad: () => {}, dispose: () => {} },
  };
}

/**
 * Scores a group of architectures run as ONE channel-stacked network (StackedNets: network g owns
 * the g-th block of every activation's channels), so the group's passes cost about one network's
 * dispatches. One cross-entropy tape serves the whole group: the logits of all networks as N*G
 * rows, the loss's gradient scaled by G so that each network gets its own mean's gradient. Each
 * network's ReLU records are its slices of the stacked ReLUs it uses, in its own order, with a
 * gradient where its own tape would have one; the proxies read them as they read a group of
 * separate tapes (scoreNetsGrouped). Same scores as scoreNet on each, up to the accumulation order
 * of the grouped convolutions and ~1 ulp of the scaled loss gradient. Groupable proxies only.
 */
export async function scoreNetsStacked(
  backend: Backend,
  factory: StackedFactory,
  proxyNames: readonly string[],
  batch: ProxyBatch,
  seed = 0,
  init: InitMode = 'pytorch',
): Promise<CellScores[]> {
  const plans = groupPlan(proxyNames, 'scoreNetsStacked');
  checkBatch(batch, 'scoreNetsStacked', factory.classes);
  const { n } = batch;
  const G = factory.groups;
  const t0 = performance.now();
  const x = backend.upload(batch.x, imageShape(batch));
  const y = backend.upload(batch.y, [n]);
  const yStacked = backend.upload(stackedLabels(batch.y, G), [n * G]);
  const out: CellScores[] = Array.from({ length: G }, () => ({ scores: {}, timeMs: {} }));
  let net: StackedNets | null = null;
  const stack = () => (net ??= factory.build(init, seed));
  let tape: Tape | null = null;
  try {
    const ctxs = Array.from({ length: G }, (_, g) => stackedContext({ backend, batch, x, y, seed }, stack, factory, g));
    for (const p of plans) {
      let results: unknown[] = ctxs;
      if (p.pass === cePass) {
        if (p.needs.paramGrads) throw new RangeError('scoreNetsStacked: weight gradients have no stacked form');
        const s = stack();
        const t = (tape = new Tape(backend, { recordRelus: true, noGrad: !p.needs.backward, paramGrads: 'none' }));
        const logits = s.forward(t, t.input(x, true));
        if (p.needs.backward) t.backward(t.crossEntropy(logits, yStacked, G));
        results = ctxs.map((_, g): CePassResult => ({
          tape: t,
          relus: sliceRelus(t, s, g, p.needs.backward ?? false),
          n,
          weights: [],
        }));
      } else if (p.pass !== staticPass) {
        throw new RangeError(`scoreNetsStacked: the '${p.pass.name}' pass has no stacked form`);
      }
      for (const u of p.units) (await u.computeMany(results, ctxs)).forEach((sc, i) => Object.assign(out[i].scores, sc));
      tape?.dispose();
      tape = null;
    }
  } finally {
    tape?.dispose();
    (net as StackedNets | null)?.dispose();
    x.dispose();
    y.dispose();
    yStacked.dispose();
  }
  shareGroupTime(out, t0);
  return out;
}

/** Network g's ReLU records: its slices of the stacked tape's records. */
function sliceRelus(t: Tape, s: StackedNets, g: number, backward: boolean): CorrRecord[] {
  return s.relusOf(g).map(({ index, grad }) => {
    const r = t.relus[index];
    // The stacked ReLU gets a gradient wherever one of its networks' would.
    if (backward && grad && !r.gradInput) throw new Error(`scoreNetsStacked: ReLU '${r.name}' has no gradient for network ${g}`);
    return {
      name: r.name,
      block: r.block,
      module: r.module,
      input: r.input,
      gradInput: grad ? r.gradInput : undefined,
      stacked: { groups: s.groups, index: g },
    };
  });
}
