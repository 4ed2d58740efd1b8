/**
 * The NAS-Bench-201 network and the WRCor proxy written in @tensorflow/tfjs ops: the baseline for
 * the zero-shot scoring benchmark (bench/zeroshot.bench.ts). It mirrors src/nn/nb201-net.ts and
 * src/proxies/correlation-proxies.ts op for op and takes its weights from our network, so both
 * compute the same score (test/bench/zeroshot.gpu.test.ts checks it).
 *
 * Layout: tfjs convolutions want NHWC, so the NCHW batch is transposed once and conv weights are
 * reordered OIHW -> HWIO on the host. Pearson correlations do not depend on feature order, so the
 * per-ReLU [N, H*W*C] rows give the same matrices as our [N, C*H*W] rows.
 *
 * Per-ReLU gradients: every ReLU r computes relu(x + z_r) with z_r a zero tensor passed to
 * engine.gradients as an input, so dL/dz_r is exactly dL/d(input of r) through r alone. The z_r
 * are clones of one zero tensor per shape (clones share the buffer: no allocation per ReLU).
 * A z_r with no path to the loss gets no gradient, like a ReLU our tape never reaches.
 */
import type { Nb201Net, Nb201NetConfig } from '../src/nn/nb201-net.js';
import type { ProxyBatch } from '../src/proxies/index.js';
import { logAbsDet } from '../src/proxies/linalg.js';
import { NB201_EDGES, type Nb201Cell, checkCell } from '../src/spaces/nb201.js';
import type { Tf, TfTensor } from '../src/bench/registry.js';

export interface HostParam {
  shape: number[];
  data: Float32Array;
}

/** Our network's parameters on the host, keyed by Param.name (e.g. 's0.c1.e3.conv'). */
export type HostWeights = Map<string, HostParam>;

/** Reads every parameter of our network back to the host. */
export async function readNb201Weights(net: Nb201Net): Promise<HostWeights> {
  const vals = await Promise.all(net.params.map((p) => p.value.read()));
  return new Map(net.params.map((p, i) => [p.name, { shape: [...p.shape], data: vals[i] }]));
}

export interface TfWrcorResult {
  wrcor: number;
  /** The activation-only and gradient-only ablations (wrcor_act, wrcor_grad). */
  wrcorAct: number;
  wrcorGrad: number;
  /** K = sum 2^module (|C_act| + |C_grad|), row-major N x N (module: the ReLU's cell or reduction block, in order). */
  k: Float32Array;
  /** ReLUs recorded, and how many of them received a gradient. */
  relus: number;
  gradRelus: number;
}

const BN_EPS = 1e-5;

/**
 * The parameter names and shapes Nb201Net creates for this cell and config (OIHW convs). Checked
 * up front: a lookup failing inside the gradient tape would leave the tape's saved tensors behind.
 */
export function nb201WeightShapes(cell: Nb201Cell, cfg: Nb201NetConfig): Map<string, number[]> {
  checkCell(cell);
  const m = new Map<string, number[]>();
  const C = cfg.channels;
  const rcb = (name: string, cin: number, cout: number, k: number) => {
    m.set(`${name}.conv`, [cout, cin, k, k]);
    m.set(`${name}.bn.gamma`, [cout]);
    m.set(`${name}.bn.beta`, [cout]);
  };
  m.set('stem.conv', [C, 3, 3, 3]);
  m.set('stem.bn.gamma', [C]);
  m.set('stem.bn.beta', [C]);
  let cin = C;
  for (let stage = 0; stage < 3; stage++) {
    const c = C * 2 ** stage;
    if (stage > 0) {
      rcb(`reduce${stage}.a`, cin, c, 3);
      rcb(`reduce${stage}.b`, c, c, 3);
      m.set(`reduce${stage}.down`, [c, cin, 1, 1]);
      cin = c;
    }
    for (let i = 0; i < cfg.cellsPerStage; i++) {
      cell.edges.forEach((op, e) => {
        if (op === 'nor_conv_3x3' || op === 'nor_conv_1x1') rcb(`s${stage}.c${i}.e${e}`, c, c, op === 'nor_conv_3x3' ? 3 : 1);
      });
    }
  }
  m.set('last.bn.gamma', [cin]);
  m.set('last.bn.beta', [cin]);
  m.set('classifier.w', [cfg.numClasses, cin]);
  m.set('classifier.b', [cfg.numClasses]);
  return m;
}

function checkWeights(weights: HostWeights, cell: Nb201Cell, cfg: Nb201NetConfig): void {
  const want = nb201WeightShapes(cell, cfg);
  const hint = '(read them with readNb201Weights from a network of the same cell and config)';
  for (const [name, shape] of want) {
    const p = weights.get(name);
    if (!p) throw new Error(`tfjsWrcor: weight '${name}' missing ${hint}`);
    const n = shape.reduce((a, b) => a * b, 1);
    if (p.shape.join(',') !== shape.join(',') || p.data.length !== n) {
      const got = `[${p.shape.join(', ')}] (${p.data.length} values)`;
      throw new Error(`tfjsWrcor: weight '${name}' is ${got}, expected [${shape.join(', ')}] ${hint}`);
    }
  }
  for (const name of weights.keys()) if (!want.has(name)) throw new Error(`tfjsWrcor: unexpected weight '${name}' ${hint}`);
}

/** OIHW -> HWIO (tfjs conv2d filter layout). */
function toHwio(p: HostParam): { shape: [number, number, number, number]; data: Float32Array } {
  const [o, i, kh, kw] = p.shape;
  const out = new Float32Array(p.data.length);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) out[((y * kw + x) * i + b) * o + a] = p.data[((a * i + b) * kh + y) * kw + x];
  return { shape: [kh, kw, i, o], data: out };
}

const MATMUL_PROGRAM_FLAG = 'WEBGPU_MATMUL_PROGRAM_TYPE';
/** tfjs-backend-webgpu's MatMulProgramType.MatMulSmallOutputSizeProgram (not exported). */
const SMALL_OUTPUT_PROGRAM = 2;

/**
 * z z^T for z [N, D]. tfjs-backend-webgpu 4.22 sends this shape (batch 1, few output tiles,
 * N*N > 128, D >= 2000) to its split-K program, whose vec4 variant ignores transposeB and returns
 * wrong sums when D and N are multiples of 4 (16 x 4096: errors larger than the values, on any
 * device: the shader generator is at fault). Those products are steered to the small-output
 * program, the one tfjs picks when split-K does not apply; the flag is restored right after.
 */
function gram(tf: Tf, z: TfTensor): TfTensor {
  const [n, d] = z.shape;
  if (!(n * n > 128 && d >= 2000 && d % 4 === 0 && n % 4 === 0)) return tf.matMul(z, z, false, true);
  const env = tf.env();
  const prev = env.get(MATMUL_PROGRAM_FLAG);
  env.set(MATMUL_PROGRAM_FLAG, SMALL_OUTPUT_PROGRAM);
  try {
    return tf.matMul(z, z, false, true);
  } finally {
    env.set(MATMUL_PROGRAM_FLAG, prev);
  }
}

/** A value plus our tape's requiresGrad: tensors derived only from a dead cell's zeros have none. */
interface V {
  t: TfTensor;
  grad: boolean;
}

interface ReluRec {
  /** Its cell's or reduction block's index in network order (the final ReLU one past the last): WRCor's 2^module. */
  module: number;
  pre: TfTensor;
  /** Index of its z in the gradient inputs, or -1 when its input carries no gradient. */
  zIndex: number;
}

/**
 * WRCor of `cell` with the given weights on `batch`, in tfjs ops on tfjs's current backend.
 * Every tensor it creates is disposed before it returns.
 */
export async function tfjsWrcor(
  tf: Tf,
  cell: Nb201Cell,
  cfg: Nb201NetConfig,
  weights: HostWeights,
  batch: ProxyBatch,
  inputHW = 32,
): Promise<TfWrcorResult> {
  checkCell(cell);
  const n = batch.n;
  if (batch.x.length !== n * 3 * inputHW * inputHW || batch.y.length !== n) {
    throw new RangeError(`tfjsWrcor: batch of ${n} needs x of ${n * 3 * inputHW * inputHW} and y of ${n} values`);
  }
  checkWeights(weights, cell, cfg);
  const C = cfg.channels;
  const N = cfg.cellsPerStage;
  const owned: TfTensor[] = [];
  const own = <T extends TfTensor>(t: T): T => {
    owned.push(t);
    return t;
  };
  const relus: ReluRec[] = [];
  let grads: Array<TfTensor | undefined> = [];
  try {
    // Weights and constants are made before the gradient tape starts, so it records only the model.
    const w = new Map<string, TfTensor>();
    for (const [name, p] of weights) {
      const h = p.shape.length === 4 ? toHwio(p) : p;
      w.set(name, own(tf.tensor(h.data, h.shape)));
    }
    const weight = (name: string): TfTensor => w.get(name)!;

    // Stage geometry and the zero tensors z_r: at most 6 cell convs per cell, plus the reduction
    // block's two ReLUs and the final ReLU, per stage shape.
    const hws = [inputHW];
    for (let s = 1; s < 3; s++) hws.push(Math.floor((hws[s - 1] - 1) / 2) + 1);
    const zPools = new Map<string, { zs: TfTensor[]; next: number }>();
    const xs: TfTensor[] = [];
    for (let s = 0; s < 3; s++) {
      const shape = [n, hws[s], hws[s], C * 2 ** s];
      const base = tf.zeros(shape);
      const zs = Array.from({ length: 6 * N + 2 }, () => own(base.clone()));
      base.dispose();
      zPools.set(shape.join(','), { zs, next: 0 });
      xs.push(...zs);
    }
    const zIndex = new Map(xs.map((z, i) => [z, i]));

    // count_include_pad=False 3x3 average pool as a depthwise sum times 1/count: tfjs's own avgPool
    // excludes padding forward but its gradient divides by 9 everywhere.
    const poolOnes = new Map<number, TfTensor>();
    const poolInv = new Map<number, TfTensor>();
    for (let s = 0; s < 3; s++) {
      const c = C * 2 ** s;
      const hw = hws[s];
      poolOnes.set(c, own(tf.ones([3, 3, c, 1])));
      const d = new Float32Array(hw * hw);
      const span = (i: number) => Math.min(i + 1, hw - 1) - Math.max(i - 1, 0) + 1;
      for (let i = 0; i < hw; i++) for (let j = 0; j < hw; j++) d[i * hw + j] = 1 / (span(i) * span(j));
      poolInv.set(hw, own(tf.tensor4d(d, [1, hw, hw, 1])));
    }
    const avgPool3 = (x: TfTensor): TfTensor => {
      const [, h, , c] = x.shape;
      return tf.mul(tf.depthwiseConv2d(x as never, poolOnes.get(c)! as never, 1, 1), poolInv.get(h)!);
    };

    const xNhwc = own(tf.tidy(() => tf.transpose(tf.tensor4d(batch.x, [n, 3, inputHW, inputHW]), [0, 2, 3, 1])));
    const labels = own(tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(batch.y), 'int32'), cfg.numClasses)));

    const conv = (x: V, name: string, stride: number, pad: number): V => ({
      t: tf.conv2d(x.t as never, weight(name) as never, stride, pad === 0 ? 'valid' : pad),
      grad: true,
    });
    const bn = (x: V, name: string): V => {
      const { mean, variance } = tf.moments(x.t, [0, 1, 2]);
      return { t: tf.batchNorm(x.t, mean, variance, weight(`${name}.beta`), weight(`${name}.gamma`), BN_EPS), grad: true };
    };
    const relu = (x: V, module: number): V => {
      let pre = x.t;
      let zi = -1;
      // Our tape keeps no gradient for a ReLU whose input has no requiresGrad (a dead cell's
      // zeros); mirrored for fidelity, though in NB201 such a ReLU also feeds the next dead cell.
      if (x.grad) {
        const pool = zPools.get(x.t.shape.join(','));
        if (!pool || pool.next >= pool.zs.length) {
          throw new Error(`tfjsWrcor: no zero tensor left for a ReLU of shape [${x.t.shape.join(', ')}]`);
        }
        const z = pool.zs[pool.next++];
        zi = zIndex.get(z)!;
        pre = tf.add(x.t, z);
      }
      relus.push({ module, pre: tf.keep(pre), zIndex: zi });
      return { t: tf.relu(pre), grad: x.grad };
    };
    const reluConvBn = (x: V, name: string, module: number, k: number, stride: number): V =>
      bn(conv(relu(x, module), `${name}.conv`, stride, k === 3 ? 1 : 0), `${name}.bn`);
    const add = (a: V, b: V): V => ({ t: tf.add(a.t, b.t), grad: a.grad || b.grad });

    const cellForward = (x: V, module: number, name: string): V | null => {
      const nodes: Array<V | null> = [x, null, null, null];
      for (let j = 1; j <= 3; j++) {
        let acc: V | null = null;
        NB201_EDGES.forEach(([to, from], e) => {
          const src = nodes[from];
          const op = cell.edges[e];
          if (to !== j || !src || op === 'none') return;
          let y: V;
          if (op === 'skip_connect') y = src;
          else if (op === 'avg_pool_3x3') y = { t: avgPool3(src.t), grad: src.grad };
          else y = reluConvBn(src, `${name}.e${e}`, module, op === 'nor_conv_3x3' ? 3 : 1, 1);
          acc = acc ? add(acc, y) : y;
        });
        nodes[j] = acc;
      }
      return nodes[3];
    };

    const lossFn = (): TfTensor => {
      let cur: V = bn(conv({ t: xNhwc, grad: false }, 'stem.conv', 1, 1), 'stem.bn');
      // The cells and reduction blocks in order, each its index (the authors' net.cells).
      let module = 0;
      for (let stage = 0; stage < 3; stage++) {
        if (stage > 0) {
          const r = `reduce${stage}`;
          const a = reluConvBn(cur, `${r}.a`, module, 3, 2);
          const b = reluConvBn(a, `${r}.b`, module, 3, 1);
          const d = conv({ t: tf.avgPool(cur.t as never, 2, 2, 'valid'), grad: cur.grad }, `${r}.down`, 1, 0);
          cur = add(b, d);
          module++;
        }
        for (let i = 0; i < N; i++) {
          // A cell whose output node gets nothing outputs zeros with no gradient path, as ours does.
          cur = cellForward(cur, module++, `s${stage}.c${i}`) ?? { t: tf.zeros(cur.t.shape), grad: false };
        }
      }
      cur = bn(cur, 'last.bn');
      const features = relu(cur, module); // the authors' lastact: one past the last cell
      const pooled = tf.mean(features.t, [1, 2]);
      const logits = tf.add(tf.matMul(pooled, weight('classifier.w'), false, true), weight('classifier.b'));
      return tf.losses.softmaxCrossEntropy(labels, logits);
    };

    const g = tf.engine().gradients(lossFn, xs, undefined, true);
    g.value.dispose();
    grads = g.grads;

    // Activation and gradient terms apart, as wrcorScores keeps them (wrcor_act, wrcor_grad).
    const [kActT, kGradT] = tf.tidy(() => {
      const eye = tf.eye(n);
      const offDiag = tf.sub(1, eye);
      // Same conventions as correlation.wgsl: centred unit rows, diagonal 1; a matrix with a
      // constant row (as normalize_rows decides it) adds nothing (wrcorScoresMany's skip).
      const absCorr = (t: TfTensor): TfTensor => {
        const a = tf.reshape(t, [n, -1]);
        const c = tf.sub(a, tf.mean(a, 1, true));
        const css = tf.sum(tf.square(c), 1, true);
        const rss = tf.sum(tf.square(a), 1, true);
        const ok = tf.logicalAnd(tf.greater(css, tf.mul(rss, 1e-10)), tf.greater(css, 0));
        const z = tf.mul(c, tf.where(ok, tf.rsqrt(css), tf.zerosLike(css)));
        return tf.mul(tf.abs(tf.add(tf.mul(gram(tf, z), offDiag), eye)), tf.cast(tf.all(ok), 'float32'));
      };
      let kAct = tf.zeros([n, n]);
      let kGrad = tf.zeros([n, n]);
      for (const r of relus) {
        const w = 2 ** r.module;
        kAct = tf.add(kAct, tf.mul(absCorr(r.pre), w));
        const gr = r.zIndex >= 0 ? grads[r.zIndex] : undefined;
        if (gr) kGrad = tf.add(kGrad, tf.mul(absCorr(gr), w));
      }
      return [kAct, kGrad];
    });
    const [kAct, kGrad] = await Promise.all([kActT.data(), kGradT.data()]);
    kActT.dispose();
    kGradT.dispose();
    const k = Float32Array.from(kAct, (v, i) => v + kGrad[i]);
    return {
      wrcor: logAbsDet(k, n),
      wrcorAct: logAbsDet(kAct, n),
      wrcorGrad: logAbsDet(kGrad, n),
      k,
      relus: relus.length,
      gradRelus: relus.filter((r) => r.zIndex >= 0 && grads[r.zIndex]).length,
    };
  } finally {
    const seen = new Set<TfTensor>();
    for (const t of [...owned, ...relus.map((r) => r.pre), ...grads]) {
      if (t && !seen.has(t)) {
        seen.add(t);
        t.dispose();
      }
    }
  }
}
