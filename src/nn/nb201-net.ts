/**
 * The NAS-Bench-201 network on WGSL layers: stem 3x3 conv (C ch) + BN; 3 stages of N cells at
 * C, 2C, 4C channels separated by residual reduction blocks; BN + ReLU; global pool; linear.
 * Cell edge ops follow NAS-Bench-201, as NB201_OP_SPECS says: nor_conv_kxk = ReLU -> conv -> BN(affine),
 * avg_pool_3x3 = AvgPool(3, 1, 1, count_include_pad=False), skip_connect = identity, none = no contribution.
 * Like the PyTorch reference, every non-'none' edge is computed even if its node is a dead end.
 * An edge out of a node that only 'none' edges feed ("unfed") is skipped unless cfg.unfedEdges is
 * 'zeros' (NAS-Bench-201's PyTorch semantics, what `wgnas train` trains; see Nb201NetConfig).
 */
import { type Backend, ShapeError } from '../backend/index.js';
import { checkClassCount } from '../data/labels.js';
import { NB201_OP_SPECS, type Nb201Cell, type Nb201Op, type Nb201OpSpec, unhandledOpKind } from '../spaces/nb201.js';
import type { Rng } from '../util/rng.js';
import { type InitMode, ParamStore } from './init.js';
import type { NetFactory } from './scorable.js';
import type { Param, ReluPlace, Tape, Var } from './tape.js';

export interface Nb201NetConfig {
  /** Stem width C (NAS-Bench-201: 16). */
  channels: number;
  /** Cells per stage N (NAS-Bench-201: 5). */
  cellsPerStage: number;
  numClasses: number;
  init?: InitMode;
  /**
   * An edge out of a node that only 'none' edges feed. 'skip' (the default; the proxies score cells
   * this way): it adds nothing. 'zeros': NAS-Bench-201's PyTorch code, where 'none' is x * 0 and
   * the edge runs on that zero map, so a conv edge's ReLU-conv-BN outputs its BN's beta (a learned
   * per-channel constant, as in train and eval mode alike) and keeps running statistics; skips and
   * pools of zeros add zeros either way.
   */
  unfedEdges?: 'skip' | 'zeros';
}

export const NB201_DEFAULT: Nb201NetConfig = { channels: 16, cellsPerStage: 5, numClasses: 10 };

/** A config whose class count may come from the data (the zero-shot scorer takes the batch's). */
export type Nb201NetOptions = Omit<Nb201NetConfig, 'numClasses'> & { numClasses?: number };

/** Source node of each of the 6 edges, in arch-string order (1<-0),(2<-0),(2<-1),(3<-0),(3<-1),(3<-2). */
export const EDGE_FROM: readonly number[] = [0, 0, 1, 0, 1, 2];
export const EDGE_TO: readonly number[] = [1, 2, 2, 3, 3, 3];

interface ReluConvBn {
  w: Param;
  gamma: Param;
  beta: Param;
  k: number;
  stride: number;
}

interface CellModule {
  kind: 'cell';
  ops: Nb201Op[];
  convs: Array<ReluConvBn | null>;
  stage: number;
}

interface ReductionModule {
  kind: 'reduce';
  convA: ReluConvBn;
  convB: ReluConvBn;
  down: Param; // 1x1 conv after 2x2 avg pool
  stage: number;
}

/**
 * Complexity of one 32x32 forward without building the network.
 * `macs`: multiply-accumulates of the convolutions and the classifier.
 * `flopsNb201`: NAS-Bench-201's own counter (the `flops` of its tables): conv MACs + k*k per
 * pooled output + 3 per batch-norm output + a constant 1728 for the head. This decomposition was
 * inferred from the shared reference table and reproduces all its 9445 rows (test/nn/nb201-net.gpu.test.ts).
 */
export function nb201Complexity(
  cell: Nb201Cell,
  cfg: Nb201NetConfig = NB201_DEFAULT,
  inputHW = 32,
): { macs: number; flopsNb201: number } {
  const C = cfg.channels;
  let hw = inputHW;
  let conv = 3 * C * 9 * hw * hw;
  let pool = 0;
  let bn = C * hw * hw;
  let cin = C;
  for (let stage = 0; stage < 3; stage++) {
    const c = C * 2 ** stage;
    if (stage > 0) {
      const o = Math.floor((hw - 1) / 2) + 1;
      conv += cin * c * 9 * o * o + c * c * 9 * o * o + cin * c * o * o;
      bn += 2 * c * o * o;
      pool += cin * o * o * 4;
      hw = o;
      cin = c;
    }
    for (let i = 0; i < cfg.cellsPerStage; i++) {
      for (const op of cell.edges) {
        const spec = NB201_OP_SPECS[op];
        switch (spec.kind) {
          case 'conv':
            conv += c * c * spec.kernel ** 2 * hw * hw;
            bn += c * hw * hw;
            break;
          case 'avgPool':
            pool += c * hw * hw * spec.kernel ** 2;
            break;
          case 'zero':
          case 'identity':
            break;
          default:
            unhandledOpKind(spec);
        }
      }
    }
  }
  bn += cin * hw * hw;
  const fc = cin * cfg.numClasses;
  return { macs: conv + fc, flopsNb201: conv + pool + 3 * bn + 1728 };
}

/** A parameter-free edge op on `src` (identity, average pooling); conv edges run reluConvBn. */
export function edgeOpForward(t: Tape, spec: Nb201OpSpec, src: Var): Var {
  switch (spec.kind) {
    case 'identity':
      return src;
    case 'avgPool':
      return t.avgPool(src, { kernel: spec.kernel, stride: 1, pad: (spec.kernel - 1) / 2, countIncludePad: false });
    case 'zero':
    case 'conv':
      throw new Error(`edgeOpForward: a '${spec.kind}' edge has no parameter-free forward`);
    default:
      return unhandledOpKind(spec);
  }
}

export class Nb201Net {
  private readonly store: ParamStore;
  private readonly stemW: Param;
  private readonly stemGamma: Param;
  private readonly stemBeta: Param;
  private readonly modules: Array<CellModule | ReductionModule> = [];
  private readonly lastGamma: Param;
  private readonly lastBeta: Param;
  private readonly fcW: Param;
  private readonly fcB: Param;
  /** Multiply-accumulates of one forward (convolutions + classifier). */
  readonly macs: number;
  /** NAS-Bench-201's FLOPs counter (see nb201Complexity). */
  readonly flopsNb201: number;

  constructor(
    backend: Backend,
    readonly cell: Nb201Cell,
    readonly cfg: Nb201NetConfig = NB201_DEFAULT,
    rng: Rng,
    readonly inputHW = 32,
  ) {
    if (cell.edges.length !== 6) throw new ShapeError(`NB201 cell needs 6 edges, got ${cell.edges.length}`);
    // Weights drawn in batches at the end (a network's ~40-50 weights in ~6 dispatches).
    this.store = new ParamStore(backend, rng, cfg.init ?? 'pytorch', { batchWeights: true });
    const s = this.store;
    const C = cfg.channels;
    ({ macs: this.macs, flopsNb201: this.flopsNb201 } = nb201Complexity(cell, cfg, inputHW));

    this.stemW = s.weight('stem.conv', [C, 3, 3, 3]);
    this.stemGamma = s.constant('stem.bn.gamma', 'bn_gamma', C, 1);
    this.stemBeta = s.constant('stem.bn.beta', 'bn_beta', C, 0);

    const rcb = (name: string, cin: number, cout: number, k: number, stride: number): ReluConvBn => ({
      w: s.weight(`${name}.conv`, [cout, cin, k, k]),
      gamma: s.constant(`${name}.bn.gamma`, 'bn_gamma', cout, 1),
      beta: s.constant(`${name}.bn.beta`, 'bn_beta', cout, 0),
      k,
      stride,
    });

    let cin = C;
    for (let stage = 0; stage < 3; stage++) {
      const cout = C * 2 ** stage;
      if (stage > 0) {
        const name = `reduce${stage}`;
        this.modules.push({
          kind: 'reduce',
          convA: rcb(`${name}.a`, cin, cout, 3, 2),
          convB: rcb(`${name}.b`, cout, cout, 3, 1),
          down: s.weight(`${name}.down`, [cout, cin, 1, 1]),
          stage,
        });
        cin = cout;
      }
      for (let i = 0; i < cfg.cellsPerStage; i++) {
        const name = `s${stage}.c${i}`;
        const convs = cell.edges.map((op, e) => {
          const spec = NB201_OP_SPECS[op];
          return spec.kind === 'conv' ? rcb(`${name}.e${e}`, cout, cout, spec.kernel, 1) : null;
        });
        this.modules.push({ kind: 'cell', ops: [...cell.edges], convs, stage });
      }
    }
    this.lastGamma = s.constant('last.bn.gamma', 'bn_gamma', cin, 1);
    this.lastBeta = s.constant('last.bn.beta', 'bn_beta', cin, 0);
    this.fcW = s.weight('classifier.w', [cfg.numClasses, cin], 'linear');
    this.fcB = s.bias('classifier.b', cfg.numClasses, cin);
    s.drawPending();
  }

  get params(): readonly Param[] {
    return this.store.params;
  }

  paramCount(): number {
    return this.store.count();
  }

  zeroGrad(): void {
    this.store.zeroGrad();
  }

  /** ReLU, conv, BN; with `sumInto`, sumInto + that in the BN's pass (a node's running sum). */
  private reluConvBn(t: Tape, x: Var, m: ReluConvBn, at: ReluPlace, name: string, sumInto?: Var): Var {
    const c = t.reluConv(x, m.w, { stride: m.stride, pad: (m.k - 1) / 2 }, at, `${name}.relu`);
    return t.batchNorm(c, m.gamma, m.beta, `${name}.bn`, sumInto);
  }

  private cellForward(t: Tape, x: Var, m: CellModule, at: ReluPlace, name: string): Var | null {
    const nodes: Array<Var | null> = [x, null, null, null];
    let zeros: Var | null = null;
    for (let j = 1; j <= 3; j++) {
      let acc: Var | null = null;
      for (let e = 0; e < 6; e++) {
        if (EDGE_TO[e] !== j) continue;
        let src = nodes[EDGE_FROM[e]];
        const spec = NB201_OP_SPECS[m.ops[e]];
        if (spec.kind === 'zero') continue;
        if (!src) {
          if (spec.kind !== 'conv' || this.cfg.unfedEdges !== 'zeros') continue;
          src = zeros ??= t.input(t.adopt(t.backend.zeros(x.shape)), false);
        }
        if (spec.kind === 'conv') {
          acc = this.reluConvBn(t, src, m.convs[e]!, at, `${name}.e${e}`, acc ?? undefined);
          continue;
        }
        const y = edgeOpForward(t, spec, src);
        acc = acc ? t.add(acc, y) : y;
      }
      nodes[j] = acc;
    }
    return nodes[3];
  }

  /** Blocks forwardBlock runs: the stem, then every cell and reduction block (AZ-NAS reads each output). */
  get blockCount(): number {
    return 1 + this.modules.length;
  }

  /**
   * Block i alone: 0 is the stem (conv + BN on the image), i >= 1 the (i-1)-th cell or reduction
   * block. A cell whose output node receives nothing outputs zeros, as 'none' edges do in PyTorch.
   */
  forwardBlock(t: Tape, i: number, x: Var): Var {
    if (!Number.isInteger(i) || i < 0 || i >= this.blockCount)
      throw new RangeError(`Nb201Net.forwardBlock: block ${i} of ${this.blockCount}`);
    if (i === 0) {
      const [, c, h, w] = x.shape;
      if (x.shape.length !== 4 || c !== 3 || h !== this.inputHW || w !== this.inputHW) {
        throw new ShapeError(`Nb201Net: expected input [N, 3, ${this.inputHW}, ${this.inputHW}], got [${x.shape.join(', ')}]`);
      }
      const h0 = t.conv(x, this.stemW, { stride: 1, pad: 1 });
      return t.batchNorm(h0, this.stemGamma, this.stemBeta, 'stem.bn');
    }
    const m = this.modules[i - 1];
    const at: ReluPlace = { block: m.stage, module: i - 1 };
    if (m.kind === 'reduce') {
      const a = this.reluConvBn(t, x, m.convA, at, `m${i - 1}.a`);
      const b = this.reluConvBn(t, a, m.convB, at, `m${i - 1}.b`);
      const p = t.avgPool(x, { kernel: 2, stride: 2, pad: 0, countIncludePad: true });
      const d = t.conv(p, m.down, { stride: 1, pad: 0 });
      return t.add(b, d);
    }
    const out = this.cellForward(t, x, m, at, `m${i - 1}`);
    return out ?? t.input(t.adopt(t.backend.zeros(x.shape)), false);
  }

  /**
   * Forward pass. Returns the logits and the pre-pooling feature map (after the last BN+ReLU).
   */
  forward(t: Tape, x: Var): { logits: Var; features: Var } {
    let cur = x;
    for (let i = 0; i < this.blockCount; i++) cur = this.forwardBlock(t, i, cur);
    cur = t.batchNorm(cur, this.lastGamma, this.lastBeta, 'last.bn');
    const features = t.relu(cur, { block: 2, module: this.modules.length }, 'last.relu');
    const pooled = t.globalAvgPool(features);
    const logits = t.linear(pooled, this.fcW, this.fcB);
    return { logits, features };
  }

  dispose(): void {
    this.store.dispose();
  }
}

/** Fresh NAS-Bench-201 networks of one cell for the proxies (PyTorch-default, Gaussian or kaiming-normal init). */
export function nb201Factory(backend: Backend, cell: Nb201Cell, cfg: Nb201NetConfig = NB201_DEFAULT): NetFactory {
  checkClassCount(cfg.numClasses, 'NAS-Bench-201 network: numClasses');
  return {
    build: (init, rng) => new Nb201Net(backend, cell, { ...cfg, init }, rng),
    flopsM: nb201Complexity(cell, cfg).flopsNb201 / 1e6,
    classes: cfg.numClasses,
  };
}
