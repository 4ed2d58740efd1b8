/**
 * The networks wgnas finds, as inference graphs (graph.ts) that follow their forward passes op by
 * op: the NAS-Bench-201 network (src/nn/nb201-net.ts) and the MobileNet cell networks
 * (src/mobilenet: FixedNet's skeleton and cells; ProxylessNAS net.configs map onto them through
 * mobilenet/proxyless-arch.ts). Weights keep the networks' parameter names, so a weights file of the
 * trained network (weights.ts) fills them by name. Seeded weights come from the networks' own
 * constructors, run against a host-memory stand-in for the backend: the same initialiser, the same
 * random numbers in the same order as `new Nb201Net(backend, ...)` / `new FixedNet(backend, ...)`.
 */
import type { Backend } from '../backend/index.js';
import {
  type Cell,
  type LayerShape,
  hasShortcut,
  isZeroCell,
  mbconvCell,
  nodeWeightShape,
  primitiveSpec,
  validateCell,
} from '../mobilenet/cell.js';
import { uniformFillCpu } from '../kernels/reference/random.js';
import { FixedNet } from '../mobilenet/fixed-net.js';
import { type MobileNetLayout, layerShapes, layoutSpace } from '../mobilenet/layout.js';
import { NB201_DEFAULT, Nb201Net, type Nb201NetConfig } from '../nn/nb201-net.js';
import type { Param } from '../nn/tape.js';
import { formatArch, NB201_EDGES, NB201_OP_SPECS, type Nb201Cell, unhandledOpKind } from '../spaces/nb201.js';
import { sha256Hex } from '../util/durable.js';
import { Rng } from '../util/rng.js';
import { BN_EPS, type Graph, GraphBuilder, type Tensor } from './graph.js';

export type ExportNetwork =
  | { kind: 'nb201'; cell: Nb201Cell; cfg: Nb201NetConfig; inputHW: number }
  | {
      kind: 'mobilenet';
      layout: MobileNetLayout;
      cells: Cell[];
      choices: number[];
      /** What the network is: its form, layout and size, and its BN eps where that is not 1e-5. */
      description: string;
      /**
       * Every BN's eps: a ProxylessNAS net.config's bn.eps (else ProxylessNAS's default 1e-3), as its
       * PyTorch code builds the network; 1e-5 (BN_EPS) for the other forms. Train, eval, export and
       * the train latency all use it.
       */
      bnEps: number;
      /** A net.config's bn.momentum (PyTorch's convention), the running statistics' default. Absent for the other forms. */
      bnMomentum?: number;
    };

export function describeNetwork(n: ExportNetwork): string {
  if (n.kind === 'nb201')
    // 'skip' is said (weights trained with 'zeros', the default of nb201Network and train, do not fit it).
    return `NAS-Bench-201 ${formatArch(n.cell)} (C=${n.cfg.channels}, N=${n.cfg.cellsPerStage}, ${n.cfg.numClasses} classes, ${n.inputHW}x${n.inputHW}${n.cfg.unfedEdges === 'zeros' ? '' : ', unfed edges skipped'})`;
  return n.description;
}

/**
 * A digest of a MobileNet network's layout and cells, which its description does not spell out in
 * full (a ProxylessNAS net.config's names its size only): a train checkpoint records it, so a resume
 * with another --net file is refused by name rather than by a weight's shape. NAS-Bench-201 networks
 * are described whole: none.
 */
export function networkDigest(n: ExportNetwork): string | undefined {
  if (n.kind === 'nb201') return undefined;
  // Without the class count: the dataset sets it (withClasses), and a resume on another dataset
  // is to name --dataset, not --net.
  return sha256Hex(JSON.stringify({ layout: { ...n.layout, classes: undefined }, cells: n.cells })).slice(0, 16);
}

/** The eps of every BN of the network (NAS-Bench-201's: 1e-5). */
export function networkBnEps(n: ExportNetwork): number {
  return n.kind === 'nb201' ? BN_EPS : n.bnEps;
}

export function inputSize(n: ExportNetwork): number {
  return n.kind === 'nb201' ? n.inputHW : n.layout.inputSize;
}

/** Host stand-in for a backend: the parameter constructors only upload their initial values. */
function hostDevice(): Backend {
  const upload = (data: Float32Array | ArrayLike<number>, shape: readonly number[] = [data.length]) => ({
    shape: [...shape],
    size: data.length,
    data: Float32Array.from(data),
    dispose() {},
  });
  // Weights: the values the uniformFill ops draw, drawn here.
  const uniformFill = (shape: readonly number[], rngState: number, scale: number) =>
    upload(uniformFillCpu(shape, rngState, scale), shape);
  const empty = (shape: readonly number[]) => upload(new Float32Array(shape.reduce((x, y) => x * y, 1)), shape);
  const uniformFillMany = (ts: Array<{ data: Float32Array; shape: number[] }>, states: number[], scales: number[]) =>
    ts.forEach((t, i) => t.data.set(uniformFillCpu(t.shape, states[i], scales[i])));
  return { upload, empty, ops: { uniformFill, uniformFillMany } } as unknown as Backend;
}

/** The network's parameters as its constructor initialises them with `seed` (PyTorch-default init). */
export function seededParams(n: ExportNetwork, seed: number): Map<string, Tensor> {
  const backend = hostDevice();
  const rng = new Rng(seed);
  const params: readonly Param[] =
    n.kind === 'nb201'
      ? new Nb201Net(backend, n.cell, { ...n.cfg, init: 'pytorch' }, rng, n.inputHW).params
      : new FixedNet(backend, n.layout, n.cells, n.choices, rng, 'pytorch').params;
  return new Map(
    params.map((p) => [p.name, { shape: [...p.value.shape], data: (p.value as unknown as { data: Float32Array }).data }]),
  );
}

type ParamLookup = (name: string, shape?: readonly number[]) => Tensor;

/** A lookup over `params` that names a missing or misshapen parameter. */
export function paramLookup(params: Map<string, Tensor>, where: string): ParamLookup {
  return (name, shape) => {
    const t = params.get(name);
    if (!t) throw new Error(`${where} has no tensor '${name}'`);
    if (shape && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
      throw new Error(`${where}: tensor '${name}' is [${t.shape.join(', ')}], the network needs [${shape.join(', ')}]`);
    }
    return t;
  };
}

// ---- NAS-Bench-201 (nb201-net.ts, forward) ----

function nb201Graph(n: Extract<ExportNetwork, { kind: 'nb201' }>, g: GraphBuilder): string {
  const C = n.cfg.channels;
  const rcb = (x: string, name: string, cin: number, cout: number, k: number, stride: number) => {
    const c = g.conv(g.act(x, false), `${name}.conv`, [cout, cin, k, k], { stride, pad: (k - 1) / 2 });
    return g.bn(c, `${name}.bn`, cout);
  };
  let cur = g.bn(g.conv('input', 'stem.conv', [C, 3, 3, 3], { stride: 1, pad: 1 }), 'stem.bn', C);
  let cin = C;
  for (let stage = 0; stage < 3; stage++) {
    const c = C * 2 ** stage;
    if (stage > 0) {
      const name = `reduce${stage}`;
      const b = rcb(rcb(cur, `${name}.a`, cin, c, 3, 2), `${name}.b`, c, c, 3, 1);
      const p = g.avgPool(cur, { kernel: 2, stride: 2, pad: 0, countIncludePad: true });
      cur = g.add(b, g.conv(p, `${name}.down`, [c, cin, 1, 1], { stride: 1, pad: 0 }));
      cin = c;
    }
    for (let i = 0; i < n.cfg.cellsPerStage; i++) {
      const nodes: Array<string | null> = [cur, null, null, null];
      for (let j = 1; j <= 3; j++) {
        let acc: string | null = null;
        NB201_EDGES.forEach(([to, from], e) => {
          const spec = NB201_OP_SPECS[n.cell.edges[e]];
          if (to !== j || spec.kind === 'zero') return;
          // A conv out of a node only 'none' feeds: as Nb201Net does by cfg.unfedEdges, 'zeros' runs
          // it on zeros (its BN's beta, as NAS-Bench-201's PyTorch code and `wgnas train`), 'skip' drops it.
          const src = nodes[from] ?? (spec.kind === 'conv' && n.cfg.unfedEdges === 'zeros' ? g.zeros(cur) : null);
          if (!src) return;
          let y: string;
          switch (spec.kind) {
            case 'identity':
              y = src;
              break;
            case 'avgPool':
              y = g.avgPool(src, { kernel: spec.kernel, stride: 1, pad: (spec.kernel - 1) / 2, countIncludePad: false });
              break;
            case 'conv':
              y = rcb(src, `s${stage}.c${i}.e${e}`, c, c, spec.kernel, 1);
              break;
            default:
              return unhandledOpKind(spec);
          }
          acc = acc ? g.add(acc, y) : y;
        });
        nodes[j] = acc;
      }
      cur = nodes[3] ?? g.zeros(cur);
    }
  }
  const features = g.act(g.bn(cur, 'last.bn', cin), false);
  return g.linear(g.gap(features), 'classifier.w', 'classifier.b', n.cfg.numClasses, cin);
}

// ---- MobileNet cell networks (skeleton.ts, cell-module.ts) ----

/** A cell's output without the layer shortcut (cell-module.ts CellModule.forward); null for the zero cell. */
function cellGraph(g: GraphBuilder, x: string, prefix: string, cell: Cell, shape: LayerShape): string | null {
  const infos = validateCell(cell, shape);
  if (isZeroCell(cell)) return null;
  const vals = [x];
  cell.nodes.forEach((node, i) => {
    const spec = primitiveSpec(node.op);
    const info = infos[i];
    const [a, b] = node.inputs;
    const h = b === undefined ? vals[a] : g.add(vals[a], vals[b]);
    const name = `${prefix}.n${i}.${node.op}`;
    const ws = nodeWeightShape(node.op, info);
    const c = g.conv(h, name, ws, {
      stride: info.stride,
      pad: (spec.kernel - 1) / 2,
      groups: spec.kind === 'dw' ? info.inChannels : 1,
    });
    const y = g.bn(c, `${name}.bn`, ws[0]);
    vals.push(spec.act ? g.act(y, true) : y);
  });
  return cell.outputs.slice(1).reduce((acc, o) => g.add(acc, vals[o]), vals[cell.outputs[0]]);
}

function mobilenetGraph(n: Extract<ExportNetwork, { kind: 'mobilenet' }>, g: GraphBuilder): string {
  const L = n.layout;
  const convBn = (x: string, name: string, shape: number[], stride: number, pad: number) =>
    g.act(g.bn(g.conv(x, name, shape, { stride, pad }), `${name}.bn`, shape[0]), true);
  const space = layoutSpace(L);
  const first = space.positions[0];
  let h = convBn('input', 'stem.conv', [L.stemC, 3, 3, 3], L.stemStride, 1);
  h = cellGraph(g, h, 'first', mbconvCell(3, 1), { inC: first.inC, outC: first.outC, stride: 1, inH: first.inH })!;
  const shapes = layerShapes(L);
  shapes.forEach((shape, b) => {
    const y = cellGraph(g, h, `b${b}.c${n.choices[b]}`, n.cells[b], shape);
    h = y === null ? h : hasShortcut(shape) ? g.add(h, y) : y;
  });
  h = convBn(h, 'mix.conv', [L.featureMixC, shapes[shapes.length - 1].outC, 1, 1], 1, 0);
  return g.linear(g.gap(h), 'classifier.w', 'classifier.b', L.classes, L.featureMixC);
}

/** The network's inference graph over `params` (named as the network names them). */
export function buildGraph(n: ExportNetwork, params: ParamLookup): Graph {
  const g = new GraphBuilder(params, networkBnEps(n));
  const output = n.kind === 'nb201' ? nb201Graph(n, g) : mobilenetGraph(n, g);
  const s = inputSize(n);
  return {
    name: n.kind === 'nb201' ? 'nb201' : `mobilenet-${n.layout.name}`,
    inputShape: [3, s, s],
    output,
    classes: n.kind === 'nb201' ? n.cfg.numClasses : n.layout.classes,
    nodes: g.nodes,
    tensors: g.tensors,
    meta: { network: describeNetwork(n) },
  };
}

export { NB201_DEFAULT };
