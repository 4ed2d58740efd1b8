/**
 * The ProxylessNAS supernet on the autograd tape: stem 3×3 conv + BN + ReLU6, fixed first MBConv
 * (expand 1, k3), searchable blocks (one mixed op each over MBConv k×e candidates and 'zero'),
 * 1×1 feature-mix conv + BN + ReLU6, global average pool, linear.
 *
 * Binarized paths without a custom tape op: a block's output is o_a(x) (+ x when the shape allows
 * a skip) for the active candidate a, which is exactly Σ_j g_j·o_j(x) at binary g. The tape then
 * holds dL/dy as o_a's gradient after backward, and the gate gradients dL/dg_j = Σ(o_j ⊙ dL/dy)
 * are dot products taken afterwards (binarize.wgsl):
 *  - j = a: o_a is still on the tape;
 *  - 2-path mode: the inactive candidate's output was computed in the forward on a no-grad sub-tape
 *    (its activations freed at once) and only that output kept;
 *  - 'all' mode (ProxylessNAS full_v2): every other candidate is re-run on a no-grad sub-tape from
 *    the saved block input after backward, one at a time, so memory stays one path.
 * Parameters of candidates that did not run get no gradient, so the optimizer leaves them alone.
 */
import type { Gpu } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { type GateSample, gateDot } from '../kernels/binarize.js';
import type { MBBlock } from '../latency/arch.js';
import type { BlockPosition } from '../latency/space.js';
import { ParamStore } from '../nn/init.js';
import { type Param, Tape, type Var } from '../nn/tape.js';
import type { Rng } from '../util/rng.js';
import { type Cell, formatCell } from '../autospace/cell.js';
import { CellModule } from '../autospace/cell-module.js';
import { BN_EPS } from './net-config.js';
import { type ProxylessLayout, candidateName, layoutSpace, positionStages } from './layout.js';

interface ConvBn {
  w: Param;
  gamma: Param;
  beta: Param;
}

export interface MBConvModule {
  spec: MBBlock;
  expand: ConvBn | null;
  dw: ConvBn;
  project: ConvBn;
  params: Param[];
}

/** What a block did in one forward, for the gate gradients. */
export interface BlockRecord {
  position: number;
  gates: GateSample;
  /** The block input (alive until the tape is disposed). */
  input: Var;
  /** The active candidate's output o_a (null when 'zero' is active). Its grad is dL/dy. */
  activeOut: Var | null;
  /** Outputs of the inactive sampled candidates (2-path mode), owned by the tape; null for 'zero'. */
  inactiveOuts: Map<number, GpuTensor | null>;
}

export interface SupernetOptions {
  /** Build only these candidates (one index per searchable position): the stand-alone network of one path. */
  only?: readonly number[];
  init?: 'pytorch' | 'gaussian';
  /**
   * Candidate cells per searchable position (a learned or hand-written space, src/autospace) in
   * place of the layout's MBConv k×e candidates; a zero cell plays 'zero'.
   */
  cells?: readonly (readonly Cell[])[];
}

type Candidate = MBConvModule | CellModule;

export class ProxylessSupernet {
  readonly positions: BlockPosition[];
  /** modules[b][j] = candidate j of position b (null for 'zero' and for candidates not built). */
  readonly modules: Array<Array<Candidate | null>>;
  readonly store: ParamStore;
  readonly stages: number[];
  private readonly stem: ConvBn;
  private readonly first: MBConvModule;
  private readonly mix: ConvBn;
  private readonly fcW: Param;
  private readonly fcB: Param;

  constructor(
    readonly gpu: Gpu,
    readonly layout: ProxylessLayout,
    rng: Rng,
    readonly opts: SupernetOptions = {},
  ) {
    const space = layoutSpace(layout);
    this.positions = space.positions.slice(1);
    if (opts.only && opts.only.length !== this.positions.length) {
      throw new RangeError(`supernet: ${opts.only.length} fixed choices for ${this.positions.length} positions`);
    }
    this.stages = positionStages(layout).map((p) => p.stage);
    const s = (this.store = new ParamStore(gpu, rng, opts.init ?? 'pytorch'));
    const convBn = (name: string, shape: number[]): ConvBn => ({
      w: s.weight(name, shape),
      gamma: s.constant(`${name}.bn.gamma`, 'bn_gamma', shape[0], 1),
      beta: s.constant(`${name}.bn.beta`, 'bn_beta', shape[0], 0),
    });
    const mbconv = (prefix: string, spec: MBBlock): MBConvModule => {
      const mid = spec.inC * spec.expand;
      const expand = spec.expand === 1 ? null : convBn(`${prefix}.expand`, [mid, spec.inC, 1, 1]);
      const dw = convBn(`${prefix}.dw`, [mid, 1, spec.kernel, spec.kernel]);
      const project = convBn(`${prefix}.project`, [spec.outC, mid, 1, 1]);
      const params = [expand, dw, project].flatMap((m) => (m ? [m.w, m.gamma, m.beta] : []));
      return { spec, expand, dw, project, params };
    };
    this.stem = convBn('stem.conv', [layout.stemC, 3, 3, 3]);
    const f = space.positions[0].candidates[0] as MBBlock;
    this.first = mbconv('first', f);
    if (opts.cells && opts.cells.length !== this.positions.length) {
      throw new RangeError(`supernet: ${opts.cells.length} cell lists for ${this.positions.length} positions`);
    }
    this.modules = this.positions.map((pos, b) => {
      const cells = opts.cells?.[b];
      if (cells) {
        return cells.map((c, j) => {
          if (c.nodes.length === 0 || (opts.only && opts.only[b] !== j)) return null;
          return new CellModule(s, `b${b}.c${j}`, c, { inC: pos.inC, outC: pos.outC, stride: pos.stride as 1 | 2, inH: pos.inH });
        });
      }
      return pos.candidates.map((c, j) => {
        if (c === 'zero') return null;
        if (opts.only && opts.only[b] !== j) return null;
        return mbconv(`b${b}.c${j}`, c);
      });
    });
    const lastC = this.positions[this.positions.length - 1].outC;
    this.mix = convBn('mix.conv', [layout.featureMixC, lastC, 1, 1]);
    this.fcW = s.weight('classifier.w', [layout.classes, layout.featureMixC], 'linear');
    this.fcB = s.bias('classifier.b', layout.classes, layout.featureMixC);
  }

  get params(): readonly Param[] {
    return this.store.params;
  }

  /** Candidate count per searchable position. */
  get choiceSizes(): number[] {
    return this.positions.map((p, b) => this.opts.cells?.[b].length ?? p.candidates.length);
  }

  /** True when candidate j of position b outputs nothing (the block is its shortcut). */
  isZero(b: number, j: number): boolean {
    const cells = this.opts.cells?.[b];
    return cells ? cells[j].nodes.length === 0 : this.positions[b].candidates[j] === 'zero';
  }

  candidateName(b: number, j: number): string {
    const cells = this.opts.cells?.[b];
    return cells ? formatCell(cells[j]) : candidateName(this.positions[b].candidates[j]);
  }

  /** Output of candidate j at position b without the shortcut. */
  private candidate(t: Tape, x: Var, b: number, j: number, block: number, name: string): Var {
    const m = this.module(b, j);
    if (m instanceof CellModule) return m.forward(t, x, block, name)!;
    return this.mbconv(t, x, m, block, name);
  }

  zeroGrad(): void {
    this.store.zeroGrad();
  }

  private convBn(t: Tape, x: Var, m: ConvBn, stride: number, pad: number, groups: number, act: boolean, block: number, name: string): Var {
    const c = t.conv(x, m.w, { stride, pad, groups });
    const b = t.batchNorm(c, m.gamma, m.beta, `${name}.bn`);
    return act ? t.relu(b, block, `${name}.relu6`, true) : b;
  }

  /** One MBConv candidate, without the residual. */
  mbconv(t: Tape, x: Var, m: MBConvModule, block = 0, name = 'mb'): Var {
    const { kernel, stride } = m.spec;
    let h = x;
    if (m.expand) h = this.convBn(t, h, m.expand, 1, 0, 1, true, block, `${name}.expand`);
    h = this.convBn(t, h, m.dw, stride, (kernel - 1) / 2, h.shape[1], true, block, `${name}.dw`);
    return this.convBn(t, h, m.project, 1, 0, 1, false, block, `${name}.project`);
  }

  private module(b: number, j: number): Candidate {
    const m = this.modules[b][j];
    if (!m) throw new Error(`supernet: candidate ${j} of block ${b} was not built (network built with only=[${this.opts.only?.join(',')}])`);
    return m;
  }

  private isSkip(b: number): boolean {
    const p = this.positions[b];
    return p.stride === 1 && p.inC === p.outC;
  }

  /**
   * Forward with one gate sample per position. Inactive candidates' outputs are computed only when
   * `inactive` is true (the architecture step of 2-path mode); weight steps need the active path only.
   */
  forward(t: Tape, x: Var, gates: readonly GateSample[], { inactive = false } = {}): { logits: Var; features: Var; records: BlockRecord[] } {
    const L = this.layout;
    if (x.shape.length !== 4 || x.shape[1] !== 3 || x.shape[2] !== L.inputSize || x.shape[3] !== L.inputSize) {
      throw new ShapeError(`supernet: expected input [N, 3, ${L.inputSize}, ${L.inputSize}], got [${x.shape.join(', ')}]`);
    }
    if (gates.length !== this.positions.length) throw new RangeError(`supernet: ${gates.length} gate samples for ${this.positions.length} blocks`);
    let h = this.convBn(t, x, this.stem, L.stemStride, 1, 1, true, 0, 'stem');
    h = this.mbconv(t, h, this.first, 0, 'first');
    const records: BlockRecord[] = [];
    this.positions.forEach((pos, b) => {
      const g = gates[b];
      const stage = this.stages[b];
      const count = this.choiceSizes[b];
      if (!(g.active >= 0 && g.active < count)) throw new RangeError(`supernet: block ${b}: active index ${g.active} out of range`);
      const rec: BlockRecord = { position: b, gates: g, input: h, activeOut: null, inactiveOuts: new Map() };
      records.push(rec);
      if (this.isZero(b, g.active)) return; // ZeroLayer with identity shortcut: the block passes x through
      const o = this.candidate(t, h, b, g.active, stage, `b${b}`);
      rec.activeOut = o;
      if (inactive) {
        for (const j of g.inactive) {
          if (this.isZero(b, j)) rec.inactiveOuts.set(j, null);
          else rec.inactiveOuts.set(j, t.adopt(this.detachedPath(t.gpu, h.value, b, j)));
        }
      }
      h = this.isSkip(b) ? t.add(h, o) : o;
    });
    h = this.convBn(t, h, this.mix, 1, 0, 1, true, this.stages[this.stages.length - 1] ?? 0, 'mix');
    const pooled = t.globalAvgPool(h);
    return { logits: t.linear(pooled, this.fcW, this.fcB), features: h, records };
  }

  /** o_j(x) with no gradient; intermediate activations are freed before returning. */
  private detachedPath(gpu: Gpu, x: GpuTensor, b: number, j: number): GpuTensor {
    const sub = new Tape(gpu, { noGrad: true });
    try {
      const o = this.candidate(sub, sub.input(x), b, j, 0, 'detached');
      const out = gpu.empty(o.shape);
      gpu.copy(o.value, out);
      return out;
    } finally {
      sub.dispose();
    }
  }

  /**
   * Gate gradients after tape.backward(): per record, dL/dg_j for the sampled candidates (or every
   * candidate with mode 'all'); entries not evaluated, and 'zero' candidates, are 0. Blocks whose
   * active candidate is 'zero' get null (ProxylessNAS skips their α update: the block is bypassed).
   */
  async gateGradients(records: readonly BlockRecord[], mode: 'sampled' | 'all' = 'sampled'): Promise<Array<number[] | null>> {
    const gpu = this.gpu;
    const slots: Array<{ rec: number; j: number }> = [];
    records.forEach((r, i) => {
      if (!r.activeOut) return;
      slots.push({ rec: i, j: r.gates.active });
      const others = mode === 'all' ? [...Array(this.choiceSizes[r.position]).keys()].filter((j) => j !== r.gates.active) : [...r.inactiveOuts.keys()];
      for (const j of others) if (!this.isZero(r.position, j)) slots.push({ rec: i, j });
    });
    const out = gpu.zeros([Math.max(1, slots.length)]);
    try {
      slots.forEach((s, k) => {
        const r = records[s.rec];
        const dy = r.activeOut!.grad;
        if (!dy) return; // no gradient reached this block
        if (s.j === r.gates.active) {
          gateDot(gpu, r.activeOut!.value, dy, out, k);
          return;
        }
        const saved = r.inactiveOuts.get(s.j);
        if (saved) {
          gateDot(gpu, saved, dy, out, k);
          return;
        }
        const o = this.detachedPath(gpu, r.input.value, r.position, s.j);
        gateDot(gpu, o, dy, out, k);
        o.dispose();
      });
      const vals = await out.read();
      const grads: Array<number[] | null> = records.map((r) => (r.activeOut ? new Array(this.choiceSizes[r.position]).fill(0) : null));
      slots.forEach((s, k) => (grads[s.rec]![s.j] = vals[k]));
      return grads;
    } finally {
      out.dispose();
    }
  }

  /** Parameters by name (for checkpoints and the CPU reference). */
  paramMap(): Map<string, Param> {
    return new Map(this.store.params.map((p) => [p.name, p]));
  }

  dispose(): void {
    this.store.dispose();
  }
}

export { BN_EPS };
