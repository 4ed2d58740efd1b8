/**
 * G NAS-Bench-201 networks run as ONE channel-stacked network, so that a group of architectures
 * costs about the dispatches of one (the host's recording of dispatches bounds grouped scoring on
 * a fast GPU). Every NB201 network has the same skeleton; only each edge's op differs. Every
 * activation is [N, G*C, H, W] and network g owns channels [g*C, (g+1)*C):
 *   - convolutions are grouped (groups = G), weight [G*Cout, Cin, k, k], network g's block its own;
 *     the stem's input is shared, so its conv is a plain one with G*C outputs;
 *   - batch norms over G*C channels are each network's own (per-channel batch statistics);
 *   - an edge runs every op some network puts there; a network that does not use the op gets zero
 *     conv weights (conv -> 0 -> BN(0) = beta = 0, input gradient w^T dy = 0) or a 0 in the 0/1
 *     channel mask of a skip or pool (Tape.maskedAdd: node sum + mask[c] * x in one op). x + 0 is
 *     exact and each network's contributions to a node come in its own edge order, so its values
 *     are the ones its own network computes, up to the accumulation order of the grouped convolution cores;
 *   - the classifier is a grouped 1x1 conv plus bias; the logits [N, G*K] are read as N*G rows.
 * Each network's weights are the ones its own network draws: its construction is replayed on a
 * recording stand-in for the backend (recordDraws), and each stacked weight is drawn in one
 * dispatch, every network's block from the generator state its own network draws it from.
 * A network's ReLU records are its slices of the stacked ReLUs it uses (relusOf), in its own
 * network's order; whether each gets a gradient is decided as its own tape would (planCell).
 */
import { type Backend, numel, type Tensor } from '../backend/index.js';
import type { FillBlock } from '../kernels/random.js';
import { convKernel, NB201_OP_SPECS, type Nb201Cell, type Nb201Op } from '../spaces/nb201.js';
import { Rng } from '../util/rng.js';
import type { InitMode } from './init.js';
import { EDGE_FROM, EDGE_TO, edgeOpForward, type Nb201NetConfig, nb201Complexity, nb201Factory } from './nb201-net.js';
import { type CellPlan, planCell, stackedEdgeOps } from './nb201-stacked-plan.js';
import type { StackedFactory, StackedNets, StackedRelu } from './scorable.js';
import { Param, type ReluPlace, type Tape, type Var } from './tape.js';

export { type CellPlan, planCell } from './nb201-stacked-plan.js';

interface StackedConv {
  w: Param;
  gamma: Param;
  beta: Param;
  k: number;
  stride: number;
}

/** One op of one edge of a stacked cell: its conv, or its mask (null where every network uses it). */
interface EdgeOp {
  op: Nb201Op;
  conv?: StackedConv;
  mask?: Param | null;
  /** Per network: whether its ReLU record gets a gradient (conv ops), or null where it does not use the op. */
  users: Array<boolean | null>;
}

/** Where network g's own weight goes in its block: every stride-th element from offset, or nowhere. */
type Place = { stride: number; offset: number } | null;

interface WeightFill {
  /** The weight's name in each network's own Nb201Net. */
  name: string;
  dst: Param;
  /** Where network g's weight goes (absent: every network's fills its block; null: zeros). */
  at?: (g: number) => Place;
}

interface StackedCell {
  kind: 'cell';
  edges: EdgeOp[][];
  stage: number;
}

interface StackedReduce {
  kind: 'reduce';
  convA: StackedConv;
  convB: StackedConv;
  down: Param;
  stage: number;
}

export class StackedNb201Net implements StackedNets {
  readonly groups: number;
  private readonly owned: Param[] = [];
  private readonly counts: number[] = [];
  private readonly plans: CellPlan[];
  private readonly stemW: Param;
  private readonly stemGamma: Param;
  private readonly stemBeta: Param;
  private readonly modules: Array<StackedCell | StackedReduce> = [];
  private readonly lastGamma: Param;
  private readonly lastBeta: Param;
  private readonly fcW: Param;
  private readonly fcB: Param;
  /** The stacked ReLUs the last forward recorded, in order: per network its gradient flag, or null. */
  private records: Array<Array<boolean | null>> = [];

  /**
   * `cells` share `cfg`; each network's weights are those nb201Factory(cell, cfg).build(init,
   * new Rng(seed)) draws (one network at a time is built on the backend and copied in).
   */
  constructor(
    private readonly backend: Backend,
    readonly cells: readonly Nb201Cell[],
    readonly cfg: Nb201NetConfig,
    init: InitMode,
    seed: number,
  ) {
    const G = cells.length;
    if (G < 1) throw new RangeError('StackedNb201Net: no cells');
    this.groups = G;
    try {
      const C = cfg.channels;
      this.plans = cells.map((c) => planCell(c, cfg.unfedEdges ?? 'skip'));
      const planned = stackedEdgeOps(this.plans);
      // Every weight tensor the networks draw, by name, where network g's block goes, and whether
      // network g has it there (a cell edge's conv: when it runs that op on that edge).
      const fills: WeightFill[] = [];
      const param = (name: string, shape: number[], kind: Param['kind'], value?: number): Param => {
        const t = value === undefined ? backend.empty(shape) : backend.upload(new Float32Array(shape[0]).fill(value), shape);
        const p = new Param(t, name, kind);
        this.owned.push(p);
        return p;
      };
      const drawn = (name: string, shape: number[], kind: Param['kind'] = 'conv', at?: (g: number) => Place): Param => {
        const p = param(name, [G * shape[0], ...shape.slice(1)], kind);
        fills.push({ name, dst: p, at });
        return p;
      };
      const conv = (
        name: string,
        cin: number,
        cout: number,
        k: number,
        stride: number,
        at?: (g: number) => Place,
      ): StackedConv => ({
        w: drawn(`${name}.conv`, [cout, cin, k, k], 'conv', at),
        gamma: param(`${name}.bn.gamma`, [G * cout], 'bn_gamma', 1),
        beta: param(`${name}.bn.beta`, [G * cout], 'bn_beta', 0),
        k,
        stride,
      });
      this.stemW = drawn('stem.conv', [C, 3, 3, 3]);
      this.stemGamma = param('stem.bn.gamma', [G * C], 'bn_gamma', 1);
      this.stemBeta = param('stem.bn.beta', [G * C], 'bn_beta', 0);
      let cin = C;
      for (let stage = 0; stage < 3; stage++) {
        const c = C * 2 ** stage;
        if (stage > 0) {
          const name = `reduce${stage}`;
          this.modules.push({
            kind: 'reduce',
            convA: conv(`${name}.a`, cin, c, 3, 2),
            convB: conv(`${name}.b`, c, c, 3, 1),
            down: drawn(`${name}.down`, [c, cin, 1, 1]),
            stage,
          });
          cin = c;
        }
        const masks = new Map<string, Param | null>();
        for (let i = 0; i < cfg.cellsPerStage; i++) {
          const edges = planned.map((ops, e) =>
            ops.map(({ op, users, used }): EdgeOp => {
              const k = convKernel(op);
              if (k !== null) {
                // A 1x1 kernel in a merged k x k conv: its weights in the centre taps, zeros around.
                const at = (g: number): Place =>
                  users[g] === null
                    ? null
                    : this.plans[g].ops[e] === op
                      ? { stride: 1, offset: 0 }
                      : { stride: k * k, offset: (k * k - 1) / 2 };
                return { op, conv: conv(`s${stage}.c${i}.e${e}`, c, c, k, 1, at), users };
              }
              // One mask per stage, edge and op (every cell of a stage has the same).
              const key = `${e}.${op}`;
              if (!masks.has(key)) masks.set(key, used < G ? this.mask(`s${stage}.e${e}.${op}.mask`, users, c) : null);
              return { op, mask: masks.get(key)!, users };
            }),
          );
          this.modules.push({ kind: 'cell', edges, stage });
        }
      }
      this.lastGamma = param('last.bn.gamma', [G * cin], 'bn_gamma', 1);
      this.lastBeta = param('last.bn.beta', [G * cin], 'bn_beta', 0);
      const K = cfg.numClasses;
      this.fcW = drawn('classifier.w', [K, cin, 1, 1]);
      this.fcB = drawn('classifier.b', [K], 'bias');
      this.drawWeights(fills, init, seed);
    } catch (e) {
      this.dispose(); // a build failing part way (an allocation on a big group) frees what it made
      throw e;
    }
  }

  /** A [G*c] channel mask: 1 on the channels of the networks that use the op, else 0. */
  private mask(name: string, users: ReadonlyArray<boolean | null>, c: number): Param {
    const m = new Float32Array(users.length * c);
    users.forEach((u, g) => u !== null && m.fill(1, g * c, (g + 1) * c));
    const p = new Param(this.backend.upload(m, [m.length]), name, 'conv');
    this.owned.push(p);
    return p;
  }

  /**
   * Draws each stacked weight: per network, the draw its own network makes for that weight (one
   * uniformFillBlocks dispatch per tensor), or its host-drawn values (biases; other inits) in one
   * write; zeros where a network has no such weight.
   */
  private drawWeights(fills: readonly WeightFill[], init: InitMode, seed: number): void {
    const own = this.cells.map((cell) => recordDraws(cell, this.cfg, init, seed));
    own.forEach((o) => this.counts.push(o.paramCount));
    for (const { name, dst, at } of fills) {
      const draws = own.map((o, g) => {
        const place = at ? at(g) : { stride: 1, offset: 0 };
        if (!place) return null;
        const d = o.draws.get(name);
        if (!d) throw new Error(`StackedNb201Net: network ${g} has no weight '${name}'`);
        return { ...d, ...place };
      });
      if (draws.every((d) => d === null || 'state' in d)) {
        this.backend.ops.uniformFillBlocks(dst.value, draws as Array<FillBlock | null>);
        continue;
      }
      const block = dst.value.size / this.groups;
      const data = new Float32Array(dst.value.size);
      draws.forEach((d, g) => {
        if (!d) return;
        const v: Float32Array = 'state' in d ? Rng.fromState(d.state).uniforms(block / d.stride, d.scale) : d.data;
        v.forEach((x, k) => (data[g * block + k * d.stride + d.offset] = x));
      });
      this.backend.write(dst.value, data);
    }
  }

  /** Parameters of network g's own network. */
  paramCount(g: number): number {
    return this.counts[g];
  }

  relusOf(g: number): StackedRelu[] {
    const out: StackedRelu[] = [];
    this.records.forEach((users, index) => {
      const u = users[g];
      if (u !== null) out.push({ index, grad: u });
    });
    return out;
  }

  private reluConvBn(
    t: Tape,
    x: Var,
    m: StackedConv,
    at: ReluPlace,
    name: string,
    users: Array<boolean | null>,
    sumInto?: Var,
  ): Var {
    const c = t.reluConv(x, m.w, { stride: m.stride, pad: (m.k - 1) / 2, groups: this.groups }, at, `${name}.relu`);
    this.records.push(users);
    return t.batchNorm(c, m.gamma, m.beta, `${name}.bn`, sumInto);
  }

  private cellForward(t: Tape, x: Var, m: StackedCell, at: ReluPlace, name: string): Var | null {
    const nodes: Array<Var | null> = [x, null, null, null];
    let zeros: Var | null = null;
    for (let j = 1; j <= 3; j++) {
      let acc: Var | null = null;
      for (let e = 0; e < 6; e++) {
        if (EDGE_TO[e] !== j || !m.edges[e].length) continue;
        // Null only where no network feeds the node: then only 'zeros' mode's convs run here.
        const src = nodes[EDGE_FROM[e]] ?? (zeros ??= t.input(t.adopt(t.backend.zeros(x.shape)), false));
        for (const o of m.edges[e]) {
          if (o.conv) {
            acc = this.reluConvBn(t, src, o.conv, at, `${name}.e${e}`, o.users, acc ?? undefined);
            continue;
          }
          const y = edgeOpForward(t, NB201_OP_SPECS[o.op], src);
          // Masked: the other networks' channels silenced and the sum taken in one op.
          acc = o.mask ? t.maskedAdd(acc, y, o.mask.value) : acc ? t.add(acc, y) : y;
        }
      }
      nodes[j] = acc;
    }
    return nodes[3];
  }

  forward(t: Tape, x: Var): Var {
    this.records = [];
    const G = this.groups;
    const all = this.plans.map((p) => p.alive);
    let cur = t.batchNorm(t.conv(x, this.stemW, { stride: 1, pad: 1 }), this.stemGamma, this.stemBeta, 'stem.bn');
    this.modules.forEach((m, i) => {
      const at: ReluPlace = { block: m.stage, module: i };
      if (m.kind === 'reduce') {
        const a = this.reluConvBn(t, cur, m.convA, at, `m${i}.a`, all);
        const b = this.reluConvBn(t, a, m.convB, at, `m${i}.b`, all);
        const p = t.avgPool(cur, { kernel: 2, stride: 2, pad: 0, countIncludePad: true });
        cur = t.add(b, t.conv(p, m.down, { stride: 1, pad: 0, groups: G }));
        return;
      }
      cur = this.cellForward(t, cur, m, at, `m${i}`) ?? t.input(t.adopt(t.backend.zeros(cur.shape)), false);
    });
    cur = t.batchNorm(cur, this.lastGamma, this.lastBeta, 'last.bn');
    const features = t.relu(cur, { block: 2, module: this.modules.length }, 'last.relu');
    this.records.push(all);
    const [n, gc] = features.shape;
    const pooled = t.reshape(t.globalAvgPool(features), [n, gc, 1, 1]);
    const K = this.cfg.numClasses;
    const logits = t.addBias(t.reshape(t.conv(pooled, this.fcW, { stride: 1, pad: 0, groups: G }), [n, G * K]), this.fcB);
    return t.reshape(logits, [n * G, K]);
  }

  dispose(): void {
    for (const p of this.owned) {
      p.zeroGrad();
      p.value.dispose();
    }
    this.owned.length = 0;
  }
}

/** What one network's own construction puts in a weight: a draw on the device, or host values. */
type Draw = { state: number; scale: number } | { data: Float32Array };

/**
 * Each weight of nb201Factory(cell, cfg).build(init, new Rng(seed)) as that build makes it, and
 * the network's parameter count, without a device: the network is constructed on a stand-in
 * backend that only records what each of its tensors receives (a ParamStore draws weights with
 * uniformFillMany or uploads host values; nothing else runs in a constructor).
 */
export function recordDraws(
  cell: Nb201Cell,
  cfg: Nb201NetConfig,
  init: InitMode,
  seed: number,
): { draws: Map<string, Draw>; paramCount: number } {
  const made = new Map<Tensor, Draw>();
  const tensor = (shape: readonly number[]): Tensor => {
    const t: Tensor = {
      shape: [...shape],
      size: numel(shape),
      isDisposed: false,
      read: () => Promise.reject(new Error('recordDraws: a recorded tensor has no values')),
      view: () => t,
      dispose: () => {},
    };
    return t;
  };
  const unsupported = (what: string) => () => {
    throw new Error(`recordDraws: Nb201Net's construction called ${what}, which the recording backend does not model`);
  };
  const ops = new Proxy(
    {
      uniformFillMany: (ts: Tensor[], states: number[], scales: number[]) =>
        ts.forEach((t, i) => made.set(t, { state: states[i], scale: scales[i] })),
      uniformFill: (shape: number[], state: number, scale: number) => {
        const t = tensor(shape);
        made.set(t, { state, scale });
        return t;
      },
    },
    { get: (o, k: string) => (o as Record<string, unknown>)[k] ?? unsupported(`ops.${k}`) },
  );
  const recorder = new Proxy(
    {
      empty: (shape: readonly number[]) => tensor(shape),
      upload: (data: Float32Array | ArrayLike<number>, shape?: readonly number[]) => {
        const t = tensor(shape ?? [data.length]);
        made.set(t, { data: Float32Array.from(data) });
        return t;
      },
      ops,
    },
    { get: (o, k: string) => (o as Record<string, unknown>)[k] ?? unsupported(k) },
  ) as unknown as Backend;
  const net = nb201Factory(recorder, cell, cfg).build(init, new Rng(seed));
  const draws = new Map<string, Draw>();
  for (const p of net.params) {
    const d = made.get(p.value);
    if (!d) throw new Error(`recordDraws: weight '${p.name}' was never drawn`);
    draws.set(p.name, d);
  }
  return { draws, paramCount: net.paramCount() };
}

/** NAS-Bench-201 cells (of one config) as one stacked network, for scoreNetsStacked. */
export function nb201StackedFactory(backend: Backend, cells: readonly Nb201Cell[], cfg: Nb201NetConfig): StackedFactory {
  return {
    groups: cells.length,
    flopsM: cells.map((c) => nb201Complexity(c, cfg).flopsNb201 / 1e6),
    classes: cfg.numClasses,
    build: (init, seed) => new StackedNb201Net(backend, cells, cfg, init, seed),
  };
}
