/**
 * A network as a small inference graph: the ops wgnas' networks use (conv, batch norm in inference
 * form, ReLU / ReLU6, add, average pools, linear, zeros), NCHW f32, named values, and the tensors
 * (weights, BN statistics) by name. The ONNX writer (onnx.ts) and the TypeScript reference forward
 * (reference.ts) both read it, so what is exported is what the reference computes.
 */

import { DEFAULT_BN_EPS } from '../kernels/params.js';

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export type GraphNode =
  | { op: 'conv'; x: string; w: string; stride: number; pad: number; groups: number; y: string }
  /** Inference BN: (x - mean) / sqrt(var + eps) * gamma + beta; stats named `${base}.running_mean` / `_var`. */
  | { op: 'bn'; x: string; gamma: string; beta: string; mean: string; var: string; eps: number; y: string }
  | { op: 'relu' | 'relu6'; x: string; y: string }
  | { op: 'add'; a: string; b: string; y: string }
  | { op: 'avgpool'; x: string; kernel: number; stride: number; pad: number; countIncludePad: boolean; y: string }
  /** Global average pool and flatten: [N, C, H, W] -> [N, C]. */
  | { op: 'gap'; x: string; y: string }
  /** y = x W^T + b, W [out, in]. */
  | { op: 'linear'; x: string; w: string; b: string; y: string }
  /** Zeros shaped like x (an NB201 cell whose output node receives no edge). */
  | { op: 'zeros'; x: string; y: string };

export interface Graph {
  name: string;
  /** Input value 'input', [N, 3, H, W] (N free). */
  inputShape: [number, number, number];
  output: string;
  classes: number;
  nodes: GraphNode[];
  tensors: Map<string, Tensor>;
  /** Free-form provenance written into the model's metadata (network, init, BN statistics). */
  meta: Record<string, string>;
}

/** The eps of wgnas's batch norms where a network gives none (src/kernels/params DEFAULT_BN_EPS). */
export const BN_EPS = DEFAULT_BN_EPS;

/** Builds a graph in forward order; each op returns the name of its output value. */
export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  readonly tensors = new Map<string, Tensor>();
  private n = 0;

  /** `bnEps`: every BN's eps, the network's own (a ProxylessNAS net.config's bn.eps). */
  constructor(
    private readonly param: (name: string, shape?: readonly number[]) => Tensor,
    readonly bnEps = BN_EPS,
  ) {}

  private value(hint: string): string {
    return `${hint}:${this.n++}`;
  }

  /** A parameter by its network name, checked against the shape the op needs. */
  use(name: string, shape?: readonly number[]): string {
    if (!this.tensors.has(name)) this.tensors.set(name, this.param(name, shape));
    return name;
  }

  conv(x: string, w: string, wShape: readonly number[], o: { stride: number; pad: number; groups?: number }): string {
    const y = this.value(w);
    this.nodes.push({ op: 'conv', x, w: this.use(w, wShape), stride: o.stride, pad: o.pad, groups: o.groups ?? 1, y });
    return y;
  }

  /** BN with gamma `${base}.gamma`, beta `${base}.beta` and statistics `${base}.running_mean` / `.running_var`. */
  bn(x: string, base: string, channels: number): string {
    const y = this.value(base);
    const mean = `${base}.running_mean`;
    const variance = `${base}.running_var`;
    // Statistics start as PyTorch's (0, 1); weights files or calibration (reference.ts) replace them.
    if (!this.tensors.has(mean)) this.tensors.set(mean, { shape: [channels], data: new Float32Array(channels) });
    if (!this.tensors.has(variance)) this.tensors.set(variance, { shape: [channels], data: new Float32Array(channels).fill(1) });
    this.nodes.push({
      op: 'bn',
      x,
      gamma: this.use(`${base}.gamma`, [channels]),
      beta: this.use(`${base}.beta`, [channels]),
      mean,
      var: variance,
      eps: this.bnEps,
      y,
    });
    return y;
  }

  act(x: string, six: boolean): string {
    const y = this.value(six ? 'relu6' : 'relu');
    this.nodes.push({ op: six ? 'relu6' : 'relu', x, y });
    return y;
  }

  add(a: string, b: string): string {
    const y = this.value('add');
    this.nodes.push({ op: 'add', a, b, y });
    return y;
  }

  avgPool(x: string, o: { kernel: number; stride: number; pad: number; countIncludePad: boolean }): string {
    const y = this.value('avgpool');
    this.nodes.push({ op: 'avgpool', x, ...o, y });
    return y;
  }

  gap(x: string): string {
    const y = this.value('gap');
    this.nodes.push({ op: 'gap', x, y });
    return y;
  }

  linear(x: string, w: string, b: string, out: number, inF: number): string {
    const y = this.value('linear');
    this.nodes.push({ op: 'linear', x, w: this.use(w, [out, inF]), b: this.use(b, [out]), y });
    return y;
  }

  zeros(x: string): string {
    const y = this.value('zeros');
    this.nodes.push({ op: 'zeros', x, y });
    return y;
  }

  /** BN bases in graph order (what calibration and weights files fill). */
  bnBases(): string[] {
    return this.nodes.flatMap((n) => (n.op === 'bn' ? [n.gamma.replace(/\.gamma$/, '')] : []));
  }
}
