import { onGpu } from '../helpers/backend.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Gpu, ShapeError } from '../../src/gpu/index.js';
import { batchNormForwardF64 } from '../../src/kernels/batchnorm.js';
import { conv2dF64 } from '../../src/kernels/conv2d.js';
import {
  type Cell,
  CellError,
  type LayerShape,
  MAX_NODES,
  PRIMITIVES,
  cellMadds,
  cellParams,
  handDesignedCells,
  hasShortcut,
  mbconvCell,
  primitiveSpec,
  referenceCell,
  validateCell,
  zeroCell,
} from '../../src/mobilenet/cell.js';
import { CellModule, layerForward } from '../../src/mobilenet/cell-module.js';
import { mutateCell, pruneDeadNodes, randomCell } from '../../src/mobilenet/cell-mutation.js';
import { formatCell, parseCell } from '../../src/mobilenet/cell-text.js';
import { outSize } from '../../src/latency/keys.js';
import { proxylessSpace } from '../../src/latency/space.js';
import { ParamStore } from '../../src/nn/init.js';
import { Tape } from '../../src/nn/tape.js';
import { Rng } from '../../src/util/rng.js';
import { expectClose, testGpu } from '../helpers/gpu.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

const S1: LayerShape = { inC: 4, outC: 4, stride: 1, inH: 6 }; // has a shortcut
const S2: LayerShape = { inC: 4, outC: 6, stride: 2, inH: 6 };
const S1W: LayerShape = { inC: 4, outC: 6, stride: 1, inH: 5 };

function expectCellError(f: () => unknown, ...parts: Array<string | RegExp>): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a CellError').toBeInstanceOf(CellError);
  for (const p of parts) expect((err as Error).message).toMatch(p);
}

describe('text form', () => {
  it('round-trips and formats MBConv as documented', () => {
    expect(formatCell(mbconvCell(3, 6))).toBe('pw6<0;dw3<1;pwl<2;=>3');
    expect(formatCell(mbconvCell(7, 1))).toBe('dw7<0;pwl<1;=>2');
    expect(formatCell(zeroCell())).toBe('zero');
    expect(parseCell('zero')).toEqual(zeroCell());
    for (const s of ['pw6<0;dw3<1;pwl<2;=>3', 'c3e1<0;pw3<0;dw5<2;pwl<1,3;=>4', 'dw3<0;pwl<0;pwl<1;=>2+3']) {
      const c = parseCell(s);
      expect(formatCell(c)).toBe(s);
      expect(parseCell(formatCell(c))).toEqual(c);
    }
    // Without the trailing ';' and with spaces it still parses.
    expect(formatCell(parseCell(' pw6<0; dw3<1; pwl<2 =>3 '))).toBe('pw6<0;dw3<1;pwl<2;=>3');
  });

  it('canonical key is equal for isomorphic node orderings', () => {
    const a = parseCell('pw3<0;dw5<1;c3e1<0;pwl<2,3;=>4');
    const b = parseCell('c3e1<0;pw3<0;dw5<2;pwl<3,1;=>4');
    expect(formatCell(a)).toBe(formatCell(b));
    // Ties (same depth, op and inputs) resolved by their consumers.
    const c = parseCell('dw3<0;dw3<0;pw1<1;pw6<2;pwl<3;pwl<4;=>5+6');
    const d = parseCell('dw3<0;dw3<0;pw6<1;pw1<2;pwl<4;pwl<3;=>6+5');
    expect(formatCell(c)).toBe(formatCell(d));
    expect(formatCell(parseCell(formatCell(c)))).toBe(formatCell(c));
    // ...but different DAGs differ.
    expect(formatCell(parseCell('dw3<0;pw6<1;pwl<2;=>3'))).not.toBe(formatCell(parseCell('pw6<0;dw3<1;pwl<2;=>3')));
  });

  it('canonical key is invariant under random topological renumbering of random cells', () => {
    const rng = new Rng(8);
    for (let trial = 0; trial < 100; trial++) {
      const c = randomCell(trial % 2 ? S1 : S2, rng);
      // A random topological order: repeatedly pick any node whose inputs are all placed.
      const placed = new Map<number, number>([[0, 0]]);
      const order: number[] = [];
      while (order.length < c.nodes.length) {
        const ready = c.nodes.map((_, i) => i).filter((i) => !placed.has(i + 1) && c.nodes[i].inputs.every((v) => placed.has(v)));
        const i = rng.pick(ready);
        order.push(i);
        placed.set(i + 1, order.length);
      }
      const shuffled: Cell = {
        nodes: order.map((i) => ({ op: c.nodes[i].op, inputs: rng.shuffle(c.nodes[i].inputs.map((v) => placed.get(v)!)) })),
        outputs: rng.shuffle(c.outputs.map((o) => placed.get(o)!)),
      };
      expect(formatCell(shuffled)).toBe(formatCell(c));
    }
  });

  it('malformed strings throw CellError quoting the bad token', () => {
    expectCellError(() => parseCell('pw6<0;dw3<1;pwl<2;'), 'malformed cell');
    expectCellError(() => parseCell('pw6<0;dw3 1;pwl<2;=>3'), "node 1 'dw3 1'");
    expectCellError(() => parseCell('pw6<0;dw4<1;pwl<2;=>3'), "unknown op 'dw4'");
    expectCellError(() => parseCell('pw6<0;dw3<1;pwl<2;=>3+'), "outputs '3+'");
    expectCellError(() => parseCell('pw6<0;;pwl<2;=>3'), "node 1 ''");
    expectCellError(() => parseCell('pw6<0;dw3<1;pwl<2;=>3=>3'), 'malformed cell');
  });

  it('invalid DAGs throw CellError naming the node', () => {
    expectCellError(() => parseCell('pw6<0;dw3<2;pwl<2;=>3'), 'node 1', 'earlier value');
    expectCellError(() => parseCell('pw6<0;dw3<1,1;pwl<2;=>3'), 'node 1', 'duplicate input');
    expectCellError(() => parseCell('pw6<0;dw3<1;pwl<1;=>3'), 'node 1', 'dead node');
    expectCellError(() => parseCell('pw6<0;dw3<1;pwl<2;=>3+3'), 'duplicate output 3');
    expectCellError(() => parseCell('pw6<0;dw3<1;pwl<2;=>0'), 'output 0');
    expectCellError(
      () => validateCell({ nodes: [{ op: 'pwl', inputs: [0, 1, 0] }], outputs: [1] }, S1),
      'node 0',
      '1 or 2 inputs',
    );
    const seven = 'pw1<0;' + Array.from({ length: MAX_NODES }, (_, i) => `dw3<${i + 1}`).join(';') + ';=>7';
    expectCellError(() => parseCell(seven), `at most ${MAX_NODES}`);
    // Shape-dependent problems.
    expectCellError(() => validateCell(parseCell('pw6<0;dw3<1;=>2'), S2), 'node 1', '24 channels', 'outputs need 6');
    expectCellError(() => validateCell(parseCell('pwl<0;=>1'), S2), 'node 0', "'in' resolution");
    expectCellError(() => validateCell(parseCell('pw3<0;dw3<0;pwl<1,2;=>3'), S2), 'node 2', 'summed inputs disagree');
    expectCellError(
      () => validateCell(parseCell('pw3<0;c3e1<0;pwl<1,2;=>3'), S1W),
      'node 2',
      'summed inputs disagree',
      '12 channels',
    );
    expectCellError(() => validateCell(zeroCell(), S2), 'zero cell needs');
    expectCellError(() => validateCell(mbconvCell(3, 6), { inC: 0, outC: 4, stride: 1, inH: 4 }), 'bad layer shape');
    expect(validateCell(zeroCell(), S1)).toEqual([]);
    // A dw on the 'in' value at stride 2 downsamples; a dw after it does not.
    const infos = validateCell(parseCell('dw3<0;dw5<1;pwl<2;=>3'), S2);
    expect(infos.map((i) => [i.channels, i.res, i.stride, i.h])).toEqual([
      [4, 'out', 2, 3],
      [4, 'out', 1, 3],
      [6, 'out', 1, 3],
    ]);
  });
});

describe('counting', () => {
  const mbconvMadds = (s: LayerShape, k: number, e: number) => {
    const ho = outSize(s.inH, s.stride);
    const mid = e * s.inC;
    return (e === 1 ? 0 : s.inH ** 2 * s.inC * mid) + ho ** 2 * mid * k * k + ho ** 2 * mid * s.outC;
  };
  const mbconvParams = (s: LayerShape, k: number, e: number) => {
    const mid = e * s.inC;
    return (e === 1 ? 0 : s.inC * mid + 2 * mid) + mid * k * k + 2 * mid + mid * s.outC + 2 * s.outC;
  };
  for (const s of [S1, S2, { inC: 3, outC: 5, stride: 2, inH: 7 } as LayerShape]) {
    it(`MBConv MAdds/params match the formula (stride ${s.stride}, ${s.inC}->${s.outC}, inH ${s.inH})`, () => {
      for (const k of [3, 5, 7] as const) {
        for (const e of [1, 3, 6] as const) {
          expect(cellMadds(mbconvCell(k, e), s), `k${k} e${e}`).toBe(mbconvMadds(s, k, e));
          expect(cellParams(mbconvCell(k, e), s), `k${k} e${e}`).toBe(mbconvParams(s, k, e));
        }
      }
      expect(cellMadds(zeroCell(), S1)).toBe(0);
    });
  }

  it('c3 ops and 2-input / multi-output cells', () => {
    // c3e3<0 at stride 2: 3x3 full conv 4->12 at 3x3; pwl<1: 12->6; pwl<0... (1x1 at 'in' can't be output).
    const c = parseCell('c3e3<0;pwl<1;dw3<0;pwl<3;=>2+4');
    expect(cellMadds(c, S2)).toBe(9 * 4 * 12 * 9 + 9 * 12 * 6 + 9 * 4 * 9 + 9 * 4 * 6);
    expect(cellParams(c, S2)).toBe(4 * 12 * 9 + 24 + 12 * 6 + 12 + 4 * 9 + 8 + 4 * 6 + 12);
  });

  it('params equal the CellModule parameter count', async ({ skip }) => {
    if (!gpu) return skip();
    const store = new ParamStore(onGpu(gpu), new Rng(1));
    for (const [cell, s] of [
      [mbconvCell(5, 3), S2],
      [mbconvCell(7, 1), S1],
      [parseCell('c3e3<0;pwl<1;dw3<0;pwl<3;=>2+4'), S2],
    ] as Array<[Cell, LayerShape]>) {
      const before = store.count();
      const m = new CellModule(store, 'c', cell, s);
      expect(store.count() - before).toBe(cellParams(cell, s));
      expect(m.params.reduce((a, p) => a + p.value.size, 0)).toBe(cellParams(cell, s));
    }
    expect(new CellModule(store, 'z', zeroCell(), S1).params).toEqual([]);
    expect(() => new CellModule(store, 'bad', zeroCell(), S2)).toThrow(CellError);
    store.dispose();
  });
});

describe('constructors', () => {
  it('hand-designed cells follow the latency space candidate order', () => {
    const space = proxylessSpace({ inputSize: 32, widths: [8, 8], depths: [1, 2], strides: [2, 1] });
    for (const pos of space.positions.slice(1)) {
      const shape: LayerShape = { inC: pos.inC, outC: pos.outC, stride: pos.stride as 1 | 2, inH: pos.inH };
      const cells = handDesignedCells(shape);
      expect(cells.length).toBe(pos.candidates.length);
      pos.candidates.forEach((c, j) => {
        if (c === 'zero') expect(cells[j]).toEqual(zeroCell());
        else expect(formatCell(cells[j])).toBe(formatCell(mbconvCell(c.kernel as 3 | 5 | 7, c.expand as 1 | 3 | 6)));
        validateCell(cells[j], shape);
      });
    }
    expect(handDesignedCells(S1).length).toBe(7);
    expect(handDesignedCells(S2).length).toBe(6);
    expect(formatCell(referenceCell(S2))).toBe('pw6<0;dw3<1;pwl<2;=>3');
    expect(() => mbconvCell(4 as 3, 6)).toThrow(CellError);
    expect(PRIMITIVES.map((p) => primitiveSpec(p).kind)).toEqual(['pw', 'pw', 'pw', 'pw', 'dw', 'dw', 'dw', 'c3', 'c3']);
  });

  it('pruneDeadNodes removes dead nodes and renumbers', () => {
    const dead: Cell = {
      nodes: [
        { op: 'pw3', inputs: [0] },
        { op: 'dw3', inputs: [0] },
        { op: 'pwl', inputs: [2] },
      ],
      outputs: [3],
    };
    expect(formatCell(pruneDeadNodes(dead))).toBe('dw3<0;pwl<1;=>2');
  });
});

describe('random cells and mutation', () => {
  const shapes = [S1, S2, S1W, { inC: 3, outC: 3, stride: 1, inH: 4 } as LayerShape];
  it('200 seeded random cells are valid and reproducible', () => {
    const rng = new Rng(5);
    const keys = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const s = shapes[i % shapes.length];
      const c = randomCell(s, rng);
      validateCell(c, s);
      expect(c.nodes.length).toBeLessThanOrEqual(MAX_NODES);
      keys.add(formatCell(c));
    }
    expect(keys.size).toBeGreaterThan(50); // actually random, not the fallback
    const draw = (seed: number) => {
      const r = new Rng(seed);
      return Array.from({ length: 20 }, () => formatCell(randomCell(S2, r, { maxNodes: 4 })));
    };
    expect(draw(9)).toEqual(draw(9));
    for (const k of draw(10)) expect(parseCell(k).nodes.length).toBeLessThanOrEqual(4);
    const z = new Rng(3);
    expect(Array.from({ length: 20 }, () => randomCell(S1, z, { zeroProb: 1 }))).toContainEqual(zeroCell());
  });

  it('200 seeded mutations are valid, differ from their parent, and are reproducible', () => {
    const rng = new Rng(11);
    let zeros = 0;
    for (const s of shapes) {
      let cell = referenceCell(s);
      for (let i = 0; i < 50; i++) {
        const child = mutateCell(cell, s, rng);
        validateCell(child, s);
        expect(formatCell(child)).not.toBe(formatCell(cell));
        if (formatCell(child) === 'zero') zeros++;
        cell = child;
      }
    }
    expect(zeros).toBeLessThan(20);
    const chain = (seed: number) => {
      const r = new Rng(seed);
      let c = mbconvCell(5, 3);
      const out: string[] = [];
      for (let i = 0; i < 30; i++) out.push(formatCell((c = mutateCell(c, S2, r))));
      return out;
    };
    expect(chain(4)).toEqual(chain(4));
    // The zero cell mutates into a real cell; a shortcut layer can reach the zero cell.
    const r = new Rng(2);
    expect(formatCell(mutateCell(zeroCell(), S1, r))).not.toBe('zero');
    expect(mutateCell(mbconvCell(3, 3), S1, r, { zeroProb: 1 })).toEqual(zeroCell());
    expect(() => mutateCell(zeroCell(), S2, r)).toThrow(CellError);
  });
});

// ---- on the GPU vs an f64 CPU interpreter of the cell -------------------------------------------

type Weights = Map<string, Float64Array>;

function relu6(v: Float64Array): Float64Array {
  return v.map((x) => Math.min(Math.max(x, 0), 6));
}

/** The cell (plus the layer shortcut) in f64 from the CPU references of the layers. */
function layerRef(
  cell: Cell,
  s: LayerShape,
  x: Float64Array,
  n: number,
  w: Weights,
  prefix: string,
): { y: Float64Array; shape: number[] } {
  const infos = validateCell(cell, s);
  const vals: Array<{ d: Float64Array; shape: number[] }> = [{ d: x, shape: [n, s.inC, s.inH, s.inH] }];
  cell.nodes.forEach((node, i) => {
    const spec = primitiveSpec(node.op);
    const [a, b] = node.inputs.map((v) => vals[v]);
    const inp = b ? a.d.map((v, j) => v + b.d[j]) : a.d;
    const name = `${prefix}.n${i}.${node.op}`;
    const info = infos[i];
    const ws = [info.channels, spec.kind === 'dw' ? 1 : info.inChannels, spec.kernel, spec.kernel];
    const p = { stride: info.stride, pad: (spec.kernel - 1) / 2, groups: spec.kind === 'dw' ? info.inChannels : 1 };
    const conv = conv2dF64(inp, a.shape, w.get(name)!, ws, p);
    const shape = [n, info.channels, info.h, info.h];
    const bn = batchNormForwardF64(conv, shape, w.get(`${name}.bn.gamma`)!, w.get(`${name}.bn.beta`)!).y;
    vals.push({ d: spec.act ? relu6(bn) : bn, shape });
  });
  if (cell.outputs.length === 0) return { y: x, shape: vals[0].shape };
  const y = new Float64Array(vals[cell.outputs[0]].d.length);
  for (const o of cell.outputs) vals[o].d.forEach((v, j) => (y[j] += v));
  if (hasShortcut(s)) x.forEach((v, j) => (y[j] += v));
  return { y, shape: vals[cell.outputs[0]].shape };
}

async function readWeights(gpu: Gpu, m: CellModule, rng: Rng): Promise<Weights> {
  // Non-trivial BN affine parameters so gamma/beta are exercised too.
  const w: Weights = new Map();
  for (const p of m.params) {
    if (p.kind !== 'conv') {
      const d = rng.normals(p.value.size, 0.2).map((v) => (p.kind === 'bn_gamma' ? 1 + v : v));
      onGpu(gpu!).write(p.value, d);
    }
    w.set(p.name, Float64Array.from(await p.value.read()));
  }
  return w;
}

describe('CellModule on the tape vs the f64 CPU reference', () => {
  const cases: Array<{ label: string; cell: Cell; s: LayerShape }> = [
    {
      label: '2-input DAG, two outputs, stride 2',
      cell: parseCell('pw3<0;c3e3<0;dw5<1;dw3<2,3;pwl<4;pwl<3;=>5+6'),
      s: { inC: 3, outC: 5, stride: 2, inH: 6 },
    },
    { label: 'MBConv k5 e3 with shortcut', cell: mbconvCell(5, 3), s: { inC: 4, outC: 4, stride: 1, inH: 5 } },
  ];
  for (const { label, cell, s } of cases) {
    it(`${label}: forward, and input gradient vs finite differences`, async ({ skip }) => {
      if (!gpu) return skip();
      const n = 2;
      const store = new ParamStore(onGpu(gpu), new Rng(17));
      const m = new CellModule(store, 'L', cell, s);
      const rng = new Rng(23);
      const w = await readWeights(gpu, m, rng);
      const xShape = [n, s.inC, s.inH, s.inH];
      const xData = rng.normals(n * s.inC * s.inH * s.inH);
      const t = new Tape(onGpu(gpu), { recordRelus: true });
      const x = t.input(t.adopt(gpu.upload(xData, xShape)), true);
      const y = layerForward(t, x, m, { block: 3, module: 3 }, 'L');
      const x64 = Float64Array.from(xData);
      const ref = layerRef(cell, s, x64, n, w, 'L');
      expect(y.shape).toEqual(ref.shape);
      expectClose(await y.value.read(), ref.y, { atol: 2e-4, rtol: 1e-3, label: `${label} forward` });
      expect(t.relus.length).toBe(cell.nodes.filter((nd) => primitiveSpec(nd.op).act).length);
      expect(t.relus.every((r) => r.block === 3)).toBe(true);
      // L = Σ y ⊙ r
      const r = rng.normals(y.value.size);
      t.backward(y, t.adopt(gpu.upload(r, y.shape)));
      const dx = await x.grad!.read();
      const loss = (xx: Float64Array) => layerRef(cell, s, xx, n, w, 'L').y.reduce((a, v, i) => a + v * r[i], 0);
      for (const i of [0, 7, 31, Math.floor(xData.length / 2), xData.length - 1]) {
        const h = 1e-6;
        const xp = x64.slice();
        xp[i] += h;
        const xm = x64.slice();
        xm[i] -= h;
        const g = (loss(xp) - loss(xm)) / (2 * h);
        expect(Math.abs(dx[i] - g), `dx[${i}]`).toBeLessThan(2e-3 + 2e-3 * Math.abs(g));
      }
      // Every parameter got a gradient.
      for (const p of m.params) expect(p.grad, p.name).not.toBeNull();
      t.dispose();
      store.dispose();
    });
  }

  it('zero cell is the identity; wrong input shapes throw', async ({ skip }) => {
    if (!gpu) return skip();
    const store = new ParamStore(onGpu(gpu), new Rng(1));
    const z = new CellModule(store, 'z', zeroCell(), S1);
    const m = new CellModule(store, 'm', mbconvCell(3, 3), S2);
    const t = new Tape(onGpu(gpu));
    const x = t.input(t.adopt(gpu.zeros([1, 4, 6, 6])));
    expect(z.forward(t, x, { block: 0, module: 0 })).toBeNull();
    expect(layerForward(t, x, z, { block: 0, module: 0 })).toBe(x);
    const bad = t.input(t.adopt(gpu.zeros([1, 4, 5, 5])));
    expect(() => layerForward(t, bad, m, { block: 0, module: 0 })).toThrow(ShapeError);
    t.dispose();
    store.dispose();
  });
});
