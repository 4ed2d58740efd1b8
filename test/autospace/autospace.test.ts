import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { scoreArch } from '../../src/autospace/cell-arch-net.js';
import { AutoSpace, DEFAULT_EVOLVE, type EvolveConfig } from '../../src/autospace/evolve.js';
import { referenceLeftOut } from '../../src/autospace/population.js';
import { searchCellSpace } from '../../src/autospace/search.js';
import { cellSearchSpace } from '../../src/autospace/search-space.js';
import {
  cellMadds,
  handDesignedCells,
  hasShortcut,
  primitiveSpec,
  referenceCell,
  validateCell,
} from '../../src/mobilenet/cell.js';
import { CellModule } from '../../src/mobilenet/cell-module.js';
import { formatCell, parseCell } from '../../src/mobilenet/cell-text.js';
import { maddsCost } from '../../src/mobilenet/cost/madds.js';
import { measuredCost } from '../../src/mobilenet/cost/measured.js';
import { archCost } from '../../src/mobilenet/cost/model.js';
import { FixedNet } from '../../src/mobilenet/fixed-net.js';
import { archMadds, choicesMadds, fixedMadds } from '../../src/mobilenet/madds.js';
import {
  SpaceFileError,
  archJson,
  handDesignedSpace,
  loadSpace,
  readSpaceFile,
  spaceFromLayout,
} from '../../src/mobilenet/space-file.js';
import { ParamStore } from '../../src/nn/init.js';
import { parseMadds, UsageError } from '../../src/cli/args.js';
import { run as evolveCli } from '../../src/cli/commands/evolve-space.js';
import { run as proxylessCli } from '../../src/cli/commands/proxyless.js';
import { run as searchCli } from '../../src/cli/commands/search.js';
import type { Backend } from '../../src/backend/index.js';
import { Tape } from '../../src/nn/tape.js';
import { cifarSearchSplit } from '../../src/data/search-split.js';
import { CIFAR_LAYOUT, layerShapes } from '../../src/mobilenet/layout.js';
import { DEFAULT_SEARCH, ProxylessSearch } from '../../src/proxyless/search.js';
import { ProxylessSupernet } from '../../src/proxyless/supernet.js';
import { Rng } from '../../src/util/rng.js';
import { proxyBatch } from '../../src/zeroshot/index.js';
import { methodBackend } from '../helpers/backend.js';
import { expectClose } from '../helpers/gpu.js';
import { nativeOrNull } from '../helpers/native.js';
import type { NativeBinding } from '../../src/native/binding.js';
import { halfwayCost, TINY_CIFAR_LAYOUT, tinyEvolveConfig } from '../helpers/cases.js';

let gpu: Backend | null;
let native: NativeBinding | null;
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-autospace-'));
beforeAll(async () => {
  gpu = await methodBackend();
  native = nativeOrNull();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('space files', () => {
  it('the hand-designed space lists the ProxylessNAS candidates per layer and loads back', () => {
    const f = handDesignedSpace(CIFAR_LAYOUT);
    const s = loadSpace(JSON.parse(JSON.stringify(f)));
    expect(s.cells.length).toBe(11);
    s.shapes.forEach((sh, b) => {
      expect(s.cells[b].length).toBe(hasShortcut(sh) ? 7 : 6);
      expect(formatCell(s.cells[b][0])).toBe('pw3<0;dw3<1;pwl<2;=>3');
    });
    // Inline layouts round-trip too.
    const t = loadSpace(JSON.parse(JSON.stringify(handDesignedSpace(TINY_CIFAR_LAYOUT))));
    expect(t.layout).toEqual(TINY_CIFAR_LAYOUT);
  });

  it('MAdds of an architecture: skeleton + cells, by hand for the tiny layout', () => {
    // stem 16²·3·4·9, first block dw 16²·4·9 + pw 16²·4·4, feature mix 8²·8·16, classifier 16·10
    expect(fixedMadds(TINY_CIFAR_LAYOUT)).toBe(16 * 16 * 3 * 4 * 9 + 16 * 16 * 4 * 9 + 16 * 16 * 4 * 4 + 8 * 8 * 8 * 16 + 160);
    const s = spaceFromLayout(TINY_CIFAR_LAYOUT);
    // k3 e3 everywhere: pw 4→12 @16, dw3 @16, pwl 12→4 @16 (x2 layers); then 4→8 s2: pw @16, dw @8, pwl @8.
    const l01 = 256 * 4 * 12 + 256 * 12 * 9 + 256 * 12 * 4;
    const l2 = 256 * 4 * 12 + 64 * 12 * 9 + 64 * 12 * 8;
    expect(choicesMadds(s, [0, 0, 0])).toBe(2 * l01 + l2);
    expect(archMadds(s, [6, 6, 0])).toBe(fixedMadds(TINY_CIFAR_LAYOUT) + l2); // zero cells cost nothing
    const cost = maddsCost(s);
    expect(cost.source).toBe('madds');
    expect(cost.unit).toBe('madds');
    expect(cost.perPosition[0][0]).toBe(l01);
    expect(archCost(cost, [6, 6, 0])).toBe(archMadds(s, [6, 6, 0]));
  });

  it('bad files give errors naming the problem', () => {
    const good = handDesignedSpace(CIFAR_LAYOUT);
    expect(() => loadSpace({ ...good, format: 'x' })).toThrow(/not a wgnas-space file/);
    expect(() => loadSpace({ ...good, version: 9 })).toThrow(/version 9/);
    expect(() => loadSpace({ ...good, layout: 'nope' })).toThrow(/unknown layout 'nope'/);
    expect(() => loadSpace({ ...good, layers: good.layers.slice(1) })).toThrow(/11 searchable layers, the file lists 10/);
    const badShape = structuredClone(good);
    badShape.layers[2].shape.inC = 99;
    expect(() => loadSpace(badShape)).toThrow(/layer 2 shape/);
    const badCell = structuredClone(good);
    badCell.layers[1].cells[3].cell = 'pw3<0;dw9<1;=>2';
    expect(() => loadSpace(badCell)).toThrow(SpaceFileError);
    expect(() => loadSpace(badCell)).toThrow(/layer 1 cell 3 'pw3<0;dw9<1;=>2'/);
    const zeroNoShortcut = structuredClone(good);
    zeroNoShortcut.layers[0].cells[0].cell = 'zero';
    expect(() => loadSpace(zeroNoShortcut)).toThrow(/layer 0 cell 0/);
    // A cell listed twice in a layer (here as two texts of one canonical cell) is refused, naming file, layer and cell.
    const dup = structuredClone(good);
    dup.layers[1].cells.push(
      { cell: 'dw3<0;pwl<0,1;=>2', madds: 0, params: 0 },
      { cell: 'dw3<0;pwl<1,0;=>2', madds: 0, params: 0 },
    );
    const dupFile = join(tmp, 'dup.json');
    writeFileSync(dupFile, JSON.stringify(dup));
    expect(() => readSpaceFile(dupFile)).toThrow(SpaceFileError);
    expect(() => readSpaceFile(dupFile)).toThrow(
      `${dupFile}: layer 1 lists cell 'dw3<0;pwl<0,1;=>2' twice (cells 7 and 8); each cell may appear once per layer`,
    );
    // The same text twice too (the file a reviewer wrote: two copies of MBConv k3 e6).
    const same = structuredClone(good);
    same.layers[0].cells.push({ ...same.layers[0].cells[3] });
    expect(() => loadSpace(same, 'same.json')).toThrow(
      "same.json: layer 0 lists cell 'pw6<0;dw3<1;pwl<2;=>3' twice (cells 3 and 6); each cell may appear once per layer",
    );
    expect(() => readSpaceFile(join(tmp, 'missing.json'))).toThrow(/cannot read space file .*ENOENT/);
    writeFileSync(join(tmp, 'broken.json'), '{');
    expect(() => readSpaceFile(join(tmp, 'broken.json'))).toThrow(/not valid JSON/);
  });

  it('archJson names the cells and rejects out-of-range choices', () => {
    const s = spaceFromLayout(TINY_CIFAR_LAYOUT);
    const a = archJson(s, [3, 6, 5]);
    expect(a.cells).toEqual(['pw6<0;dw3<1;pwl<2;=>3', 'zero', 'pw6<0;dw7<1;pwl<2;=>3']);
    expect(a.madds).toBe(archMadds(s, [3, 6, 5]));
    expect(a.cellMadds).toBe(choicesMadds(s, [3, 6, 5]));
    expect(() => archJson(s, [0, 0, 6])).toThrow(/out of range at layer 2/);
  });
});

describe('budget-constrained space for the search strategies', () => {
  it('samples and mutations stay within the MAdds budget', () => {
    const s = spaceFromLayout(CIFAR_LAYOUT);
    const budget = 3e6;
    const ss = cellSearchSpace(s, budget);
    const rng = new Rng(3);
    let a = ss.sample(rng);
    for (let i = 0; i < 200; i++) {
      expect(archMadds(s, a)).toBeLessThanOrEqual(budget);
      const b = ss.mutate(a, rng);
      expect(b).not.toEqual(a);
      a = i % 10 === 0 ? ss.sample(rng) : b;
    }
    expect(() => cellSearchSpace(s, 1e6)).toThrow(/below the cheapest architecture/);
    // A band [2.7, 3] M: equal-MAdds comparisons between spaces.
    const band = cellSearchSpace(s, 3e6, 2.7e6);
    let c = band.sample(rng);
    for (let i = 0; i < 100; i++) {
      const m = archMadds(s, c);
      expect(m).toBeGreaterThanOrEqual(2.7e6);
      expect(m).toBeLessThanOrEqual(3e6);
      c = i % 5 === 0 ? band.sample(rng) : band.mutate(c, rng);
    }
    expect(() => cellSearchSpace(s, 9e6, 8e6)).toThrow(/above the most expensive architecture/);
  });

  it('a latency ceiling on priced cells: every sample and mutation is under it as well as in the MAdds band', () => {
    const s = spaceFromLayout(CIFAR_LAYOUT);
    // Toy prices: a cell costs 1 ms per node (MBConv e3/e6: 3 nodes, zero: 0), skeleton 2 ms.
    const latency = { unit: 'ms' as const, fixed: 2, perPosition: s.cells.map((cells) => cells.map((c) => c.nodes.length)) };
    const nodes = (a: number[]) => a.reduce((t, j, b) => t + s.cells[b][j].nodes.length, 0);
    const ss = cellSearchSpace(s, 3e6, 2e6, { latency, maxLatencyMs: 2 + 27 }); // at most 9 non-zero cells of 11
    const rng = new Rng(5);
    let a = ss.sample(rng);
    for (let i = 0; i < 100; i++) {
      expect(2 + nodes(a)).toBeLessThanOrEqual(29);
      expect(archMadds(s, a)).toBeGreaterThanOrEqual(2e6);
      a = i % 5 === 0 ? ss.sample(rng) : ss.mutate(a, rng);
    }
    // A rare corner (~1e-5 of random draws): toy latency = sum of the kernel sizes of the cell's nodes,
    // ceiling 41 in the 2.3-2.6 M band. Rejection sampling misses it; the constrained walk finds it.
    const kernels = {
      unit: 'ms' as const,
      fixed: 0,
      perPosition: s.cells.map((cells) => cells.map((c) => c.nodes.reduce((t, n) => t + primitiveSpec(n.op).kernel, 0))),
    };
    const rare = cellSearchSpace(s, 2.6e6, 2.3e6, { latency: kernels, maxLatencyMs: 41 });
    for (let i = 0; i < 10; i++) {
      const x = rare.sample(rng);
      expect(archCost(kernels, x)).toBeLessThanOrEqual(41);
      expect(archMadds(s, x)).toBeGreaterThanOrEqual(2.3e6);
      expect(archMadds(s, x)).toBeLessThanOrEqual(2.6e6);
    }
    expect(() => cellSearchSpace(s, 3e6, 0, { latency, maxLatencyMs: 1 })).toThrow(
      /latency ceiling 1.000 ms is below the fastest architecture \(\d+\.000 ms\)/,
    );
    expect(() => cellSearchSpace(s, 3e6, 0, { latency: { unit: 'ms', fixed: 0, perPosition: [[1]] }, maxLatencyMs: 5 })).toThrow(
      /latency matrix does not match the space/,
    );
    expect(() => cellSearchSpace(s, 3e6, 0, { latency: { ...latency, unit: 'madds' }, maxLatencyMs: 5 })).toThrow(
      /needs a cost model in ms/,
    );
  });
});

describe('cell networks on the GPU', () => {
  it('a fixed network of the hand-designed space computes exactly what the supernet computes on that path', async ({ skip }) => {
    if (!gpu) return skip();
    const s = spaceFromLayout(TINY_CIFAR_LAYOUT);
    const choices = [4, 6, 2];
    const a = FixedNet.fromChoices(gpu, TINY_CIFAR_LAYOUT, s.cells, choices, new Rng(11));
    const b = new ProxylessSupernet(gpu, TINY_CIFAR_LAYOUT, new Rng(11), { only: choices });
    const x = gpu.upload(new Rng(5).normals(2 * 3 * 32 * 32), [2, 3, 32, 32]);
    const ta = new Tape(gpu, { noGrad: true });
    const tb = new Tape(gpu, { noGrad: true });
    try {
      const ya = await a.forward(ta, ta.input(x)).logits.value.read();
      const yb = await b
        .forward(
          tb,
          tb.input(x),
          choices.map((c) => ({ active: c, inactive: [], involved: [c] })),
        )
        .logits.value.read();
      expectClose(ya, yb, { atol: 1e-5, rtol: 1e-5, label: 'logits' });
      expect(a.paramCount()).toBe(b.params.reduce((n, p) => n + p.value.size, 0));
      // Same parameters, same names: weights carry over between the two by name.
      expect(a.params.map((p) => p.name)).toEqual(b.params.map((p) => p.name));
    } finally {
      ta.dispose();
      tb.dispose();
      x.dispose();
      a.dispose();
      b.dispose();
    }
  });

  it('proxies score architectures of a cell space (WRCor, NASWOT finite; flops = MAdds)', async ({ skip }) => {
    if (!gpu) return skip();
    const s = spaceFromLayout(TINY_CIFAR_LAYOUT);
    const r = await scoreArch(gpu, s, [0, 6, 3], ['wrcor', 'naswot', 'flops', 'params'], proxyBatch(8, 1), 1);
    expect(Number.isFinite(r.scores.wrcor)).toBe(true);
    expect(Number.isFinite(r.scores.naswot)).toBe(true);
    expect(r.scores.flops).toBeCloseTo(archMadds(s, [0, 6, 3]) / 1e6, 9);
    expect(r.scores.params).toBeGreaterThan(0);
  });
});

const tinyEvolve = (over: Partial<EvolveConfig> = {}) => tinyEvolveConfig(TINY_CIFAR_LAYOUT, over);

describe('AutoSpace evolution', () => {
  const data = () => cifarSearchSplit(64, 32);

  it('config errors name the problem', () => {
    expect(() => new AutoSpace(null as unknown as Backend, tinyEvolve({ k: 9 }), data())).toThrow(
      /k \(9\) cannot exceed the population size/,
    );
    expect(() => new AutoSpace(null as unknown as Backend, tinyEvolve({ budgetMadds: 1000 }), data())).toThrow(
      /leaves nothing for the searchable layers/,
    );
    expect(() => new AutoSpace(null as unknown as Backend, tinyEvolve({ iterations: 0 }), data())).toThrow(
      /iterations must be a positive integer/,
    );
    expect(() => new AutoSpace(null as unknown as Backend, tinyEvolve({ replaceEvery: 0 }), data())).toThrow(
      /replaceEvery must be a positive integer/,
    );
    expect(() => new AutoSpace(null as unknown as Backend, tinyEvolve({ maxNodes: 7 }), data())).toThrow(
      /maxNodes must be an integer from 1 to 6, got 7/,
    );
    expect(() => new AutoSpace(null as unknown as Backend, tinyEvolve({ init: 'nope' as 'reference' }), data())).toThrow(
      /init must be 'reference' or 'hand-designed', got 'nope'/,
    );
  });

  it("init 'hand-designed': the reference, then the hand-designed cells that fit the layer budget, then mutations", async ({
    skip,
  }) => {
    if (!gpu) return skip();
    const evo = new AutoSpace(gpu, tinyEvolve({ init: 'hand-designed', populationSize: 8 }), data());
    try {
      evo.populations.forEach((pop, b) => {
        const sh = evo.shapes[b];
        const fitting = handDesignedCells(sh)
          .filter((c) => cellMadds(c, sh) <= evo.layerBudget[b])
          .map(formatCell)
          .filter((k) => k !== 'pw6<0;dw3<1;pwl<2;=>3');
        expect(fitting.length).toBeGreaterThan(0);
        const keys = pop.map((m) => m.key);
        expect(keys[0]).toBe('pw6<0;dw3<1;pwl<2;=>3');
        expect(keys.slice(1, 1 + fitting.length)).toEqual(fitting);
        expect(keys.length).toBe(8);
        expect(new Set(keys).size).toBe(8);
        for (const m of pop) expect(m.madds).toBeLessThanOrEqual(evo.layerBudget[b]);
      });
    } finally {
      evo.dispose();
    }
  });

  it('maxNodes caps every cell the mutations produce (start and replacements)', async ({ skip }) => {
    if (!gpu) return skip();
    const evo = new AutoSpace(gpu, tinyEvolve({ maxNodes: 3, iterations: 4, steps: 1, populationSize: 6 }), data());
    try {
      const seen = new Set<string>();
      const check = () =>
        evo.populations.flat().forEach((m) => (expect(m.cell.nodes.length).toBeLessThanOrEqual(3), seen.add(m.key)));
      check();
      const res = await evo.run();
      check();
      expect(res.history.some((e) => e.replaced > 0)).toBe(true);
      expect(seen.size).toBeGreaterThan(6);
    } finally {
      evo.dispose();
    }
  });

  it('a budget the reference cell overruns: it is left out of every layer, the populations, the mixtures and the space stay within budget', async ({
    skip,
  }) => {
    if (!gpu) return skip();
    const shapes = layerShapes(TINY_CIFAR_LAYOUT);
    const refMadds = shapes.map((sh) => cellMadds(referenceCell(sh), sh));
    const refTotal = refMadds.reduce((a, b) => a + b, 0);
    // Each layer's share (slack x free x its reference MAdds / the reference total) is 0.6 of its reference cell.
    const slack = DEFAULT_EVOLVE.layerSlack;
    const budgetMadds = fixedMadds(TINY_CIFAR_LAYOUT) + Math.round((0.6 * refTotal) / slack);
    for (const init of ['reference', 'hand-designed'] as const) {
      const cfg = tinyEvolve({ budgetMadds, init, populationSize: 4, k: 2, guideIterations: 2, iterations: 2, steps: 1 });
      expect(referenceLeftOut(cfg, shapes)).toEqual([0, 1, 2]);
      // At the reference network's own MAdds every layer keeps it.
      expect(
        referenceLeftOut({ ...cfg, budgetMadds: fixedMadds(TINY_CIFAR_LAYOUT) + Math.ceil(refTotal / slack) }, shapes),
      ).toEqual([]);
      const evo = new AutoSpace(gpu, cfg, data());
      try {
        evo.layerBudget.forEach((budget, b) => expect(budget).toBeCloseTo(0.6 * refMadds[b], 0));
        const inBudget = () =>
          evo.populations.forEach((pop, b) => {
            expect(pop.length).toBeGreaterThan(0);
            for (const m of pop) {
              expect(m.reference, `${init} layer ${b}`).toBe(false);
              expect(m.key).not.toBe('pw6<0;dw3<1;pwl<2;=>3');
              expect(m.madds, `${init} layer ${b} ${m.key}`).toBeLessThanOrEqual(evo.layerBudget[b]);
            }
          });
        inBudget();
        // Guided iterations select without a reference to force in.
        expect(evo.select(0).length).toBe(Math.min(cfg.k, evo.populations[0].length));
        const res = await evo.run();
        inBudget();
        res.space.layers.forEach((l, b) => {
          for (const c of l.cells) expect(c.madds).toBeLessThanOrEqual(evo.layerBudget[b]);
        });
        // E[MAdds] of each iteration's mixture is a mean of in-budget cells: below the skeleton plus the shares.
        const ceiling = fixedMadds(TINY_CIFAR_LAYOUT) + evo.layerBudget.reduce((a, b) => a + b, 0);
        for (const e of res.history) expect(e.expectedMadds).toBeLessThanOrEqual(ceiling);
      } finally {
        evo.dispose();
      }
    }
  });

  it('evolves populations within budget and writes a space both searches take', async ({ skip }) => {
    if (!gpu) return skip();
    const cfg = tinyEvolve({ init: 'reference', maxNodes: 6 });
    const evo = new AutoSpace(gpu, cfg, data());
    try {
      // Warm start: the reference cell (MBConv k3 e6) leads each population, the zero cell joins where a shortcut exists.
      evo.populations.forEach((pop, b) => {
        expect(pop[0].key).toBe('pw6<0;dw3<1;pwl<2;=>3');
        expect(pop.some((m) => m.key === 'zero')).toBe(hasShortcut(evo.shapes[b]));
      });
      const sel = evo.select(0);
      expect(sel[0].reference).toBe(true); // guided iteration: the reference is always mixed
      expect(new Set(sel.map((m) => m.key)).size).toBe(cfg.k);
      const res = await evo.run();
      expect(res.history.length).toBe(cfg.iterations);
      for (const e of res.history) {
        expect(Number.isFinite(e.trainLoss) && Number.isFinite(e.valLoss)).toBe(true);
        for (const layer of e.mixed) expect(layer.reduce((s, c) => s + c.p, 0)).toBeCloseTo(1, 5);
      }
      expect(res.history.some((e) => e.replaced > 0)).toBe(true);
      evo.populations.forEach((pop, b) => {
        expect(pop.length).toBeLessThanOrEqual(cfg.populationSize);
        expect(new Set(pop.map((m) => m.key)).size).toBe(pop.length);
        for (const m of pop) {
          validateCell(m.cell, evo.shapes[b]);
          if (!m.reference) expect(m.madds).toBeLessThanOrEqual(evo.layerBudget[b]);
        }
      });
      // Output: top-K by fitness among evaluated cells, loadable, searchable by both methods.
      const file = join(tmp, 'learned.json');
      writeFileSync(file, JSON.stringify(res.space));
      const space = readSpaceFile(file);
      space.file.layers.forEach((l, b) => {
        expect(l.cells.length).toBeLessThanOrEqual(cfg.k);
        // Measured cells first, by fitness; never-mixed newcomers (inherited fitness) only fill up.
        const measured = res.populations[b].filter((m) => m.evaluated > 0);
        const f = measured.map((m) => m.fitness);
        expect([...f].sort((x, y) => y - x)).toEqual(f);
        expect(l.cells.map((c) => c.cell)).toEqual(res.populations[b].slice(0, cfg.k).map((m) => m.cell));
      });
      const found = await searchCellSpace(gpu, space, {
        proxy: 'wrcor',
        strategy: 'random',
        budget: 2,
        budgetMadds: cfg.budgetMadds,
        batchSize: 8,
        seed: 2,
      });
      expect(found.madds).toBeLessThanOrEqual(cfg.budgetMadds);
      expect(Number.isFinite(found.score)).toBe(true);
      const px = new ProxylessSearch(
        gpu,
        {
          ...DEFAULT_SEARCH,
          layout: space.layout,
          space,
          costLoss: { kind: 'hinge', target: cfg.budgetMadds, lambda: 2, beta: 0.3 },
          warmupSteps: 1,
          searchSteps: 1,
          archEvery: 1, // one α step on the learned cells
          batchSize: 4,
          valBatchSize: 4,
          logEvery: 1,
        },
        data(),
        maddsCost(space),
      );
      try {
        const r = await px.run();
        expect(r.netConfig.format).toBe('wgnas-arch');
        // The supernet's eps (the authors' 1e-3 by default), so the network trains and exports at it.
        expect(r.netConfig.bn).toEqual({ momentum: 0.1, eps: DEFAULT_SEARCH.bnEps });
        expect(r.names).toEqual(r.choices.map((j, b) => formatCell(space.cells[b][j])));
        expect(r.unit).toBe('madds');
        expect(r.cost).toBe(archMadds(space, r.choices));
      } finally {
        px.dispose();
      }
    } finally {
      evo.dispose();
    }
  });

  it("a mutated child inherits its parent's weights on the nodes they share", async ({ skip }) => {
    if (!gpu) return skip();
    const shape = { inC: 8, outC: 8, stride: 1 as const, inH: 4 };
    const store = new ParamStore(gpu, new Rng(1));
    try {
      const parent = new CellModule(store, 'p', parseCell('pw6<0;dw3<1;pwl<2;=>3'), shape);
      // dw3 -> dw5 changes node 1 only; an inserted node shifts the pwl to index 3.
      const child = new CellModule(store, 'c', parseCell('pw6<0;dw5<1;dw3<2;pwl<3;=>4'), shape);
      const copied = child.inheritFrom(parent, (src, dst) => gpu!.copy(src.value, dst.value));
      expect(copied).toBe(3); // pw6 (same index), dw3 (parent's node 1 at index 2), pwl (index 3)
      const w = async (m: CellModule, i: number) => Array.from(await m.params[3 * i].value.read());
      expect(await w(child, 0)).toEqual(await w(parent, 0));
      expect(await w(child, 2)).toEqual(await w(parent, 1));
      expect(await w(child, 3)).toEqual(await w(parent, 2));
      expect(child.params[3].value.shape).toEqual([48, 1, 5, 5]); // dw5 keeps its own fresh weights
    } finally {
      store.dispose();
    }
  });

  it('warm-up trains every cell with warmupMix population, only K per step with random-k', async ({ skip }) => {
    if (!gpu) return skip();
    // A cell's SGD momentum buffers exist once it has taken a step (zero cells have no parameters).
    const trained = (evo: AutoSpace) =>
      evo.populations.map((pop) => pop.filter((m) => m.store.params.length > 0).map((m) => m.sgd.buffers.size > 0));
    const all = new AutoSpace(gpu, tinyEvolve({ warmupMix: 'population' }), data());
    const some = new AutoSpace(gpu, tinyEvolve({ warmupMix: 'random-k' }), data());
    try {
      await all.warmup();
      await some.warmup();
      expect(trained(all).flat().every(Boolean)).toBe(true);
      // One warm-up step with K = 3 of 5 members: each layer trained exactly its K (non-zero) picks.
      trained(some).forEach((layer) => expect(layer.filter(Boolean).length).toBeLessThanOrEqual(3));
      expect(
        trained(some)
          .flat()
          .some((x) => !x),
      ).toBe(true);
    } finally {
      all.dispose();
      some.dispose();
    }
  });

  it('scaleCellLr: a mixed cell takes a step n times larger (n = cells mixed in its layer)', async ({ skip }) => {
    if (!gpu) return skip();
    // Same seed, data and first step; the SGD step is linear in the learning rate (momentum buffers start at g).
    const delta = async (scaleCellLr: boolean) => {
      const evo = new AutoSpace(gpu!, tinyEvolve({ scaleCellLr, warmupSteps: 1 }), data());
      try {
        const m = evo.populations[0][0];
        const before = await m.store.params[0].value.read();
        await evo.warmup();
        const after = await m.store.params[0].value.read();
        return { d: after.map((v, i) => v - before[i]), n: evo.populations[0].length };
      } finally {
        evo.dispose();
      }
    };
    const plain = await delta(false);
    const scaled = await delta(true);
    const norm = (a: Float32Array) => Math.hypot(...a);
    expect(norm(plain.d)).toBeGreaterThan(0);
    expect(norm(scaled.d) / norm(plain.d)).toBeCloseTo(scaled.n, 3);
  });

  it('a diverging learning rate ends the run naming the step and the flag to lower', async ({ skip }) => {
    if (!gpu) return skip();
    const evo = new AutoSpace(gpu, tinyEvolve({ weightLr: 1e30, warmupSteps: 3 }), data());
    try {
      await expect(evo.run()).rejects.toThrow(
        /^training diverged at warm-up step [23]: the training loss is (NaN|-?Infinity) \(learning rate 1e\+30\); try a smaller --lr$/,
      );
    } finally {
      evo.dispose();
    }
    const fit = new AutoSpace(gpu, tinyEvolve({ fitnessLr: Infinity, warmupSteps: 0, iterations: 1 }), data());
    try {
      await expect(fit.run()).rejects.toThrow(
        /training diverged at iteration 1, fitness step 1: the fitness logits φ are not finite .*--fitness-lr/,
      );
    } finally {
      fit.dispose();
    }
  });

  it('population updates, every iteration and seed: fitness folds K·p in, the least fit evaluated member gives way to a new in-budget mutation', async ({
    skip,
  }) => {
    if (!gpu) return skip();
    let replacements = 0;
    for (const seed of [1, 2, 3]) {
      const cfg = tinyEvolve({ seed, iterations: 4, steps: 1, guideIterations: 2 });
      const evo = new AutoSpace(gpu, cfg, data());
      try {
        await evo.warmup();
        for (let it = 0; it < cfg.iterations; it++) {
          const before = evo.populations.map((pop) =>
            pop.map((m) => ({ id: m.id, key: m.key, fitness: m.fitness, evaluated: m.evaluated, reference: m.reference })),
          );
          const ev = await evo.step();
          evo.populations.forEach((pop, b) => {
            const where = `seed ${seed}, iteration ${it + 1}, layer ${b}`;
            // The fold: a mixed member's fitness is the running mean of K·p over the iterations it was mixed in.
            const mixed = ev.mixed[b];
            expect(new Set(mixed.map((c) => c.cell)).size, where).toBe(cfg.k);
            if (it < cfg.guideIterations)
              expect(
                mixed.map((c) => c.cell),
                where,
              ).toContain('pw6<0;dw3<1;pwl<2;=>3');
            const folded = before[b].map((m) => {
              const c = mixed.find((x) => x.cell === m.key);
              if (!c) return m;
              return { ...m, fitness: (m.fitness * m.evaluated + cfg.k * c.p) / (m.evaluated + 1), evaluated: m.evaluated + 1 };
            });
            for (const m of pop) {
              const f = folded.find((x) => x.id === m.id);
              if (f) {
                expect(m.fitness, where).toBeCloseTo(f.fitness, 12);
                expect(m.evaluated, where).toBe(f.evaluated);
              }
              // Every member fits its layer's share of the budget (the reference cell is the exception by design).
              if (!m.reference) expect(m.madds, where).toBeLessThanOrEqual(evo.layerBudget[b]);
            }
            // The replacement: at most one member, the least fit evaluated one (the reference kept while guided),
            // for a cell new to the layer that starts at its parent's fitness, unmeasured.
            const gone = folded.filter((m) => !pop.some((x) => x.id === m.id));
            const added = pop.filter((m) => !folded.some((x) => x.id === m.id));
            expect(gone.length, where).toBe(added.length);
            expect(gone.length, where).toBeLessThanOrEqual(1);
            expect(pop.length, where).toBe(cfg.populationSize);
            if (gone.length) {
              const candidates = folded.filter(
                (m) => m.evaluated >= cfg.minEvaluations && !(m.reference && it < cfg.guideIterations),
              );
              const worst = candidates.reduce((w, m) => (m.fitness < w.fitness ? m : w));
              expect(gone[0].id, where).toBe(worst.id);
              expect(pop.indexOf(added[0]), where).toBe(folded.indexOf(gone[0]));
              expect(
                folded.map((m) => m.key),
                where,
              ).not.toContain(added[0].key);
              expect(added[0].evaluated, where).toBe(0);
              expect(
                folded.filter((m) => m.id !== worst.id).map((m) => m.fitness),
                where,
              ).toContain(added[0].fitness);
            }
          });
          expect(ev.replaced).toBe(
            evo.populations.filter((pop, b) => pop.some((m) => !before[b].some((x) => x.id === m.id))).length,
          );
          replacements += ev.replaced;
        }
      } finally {
        evo.dispose();
      }
    }
    expect(replacements).toBeGreaterThan(10);
  });

  it('replaceEvery N: replacement rounds only every N-th iteration', async ({ skip }) => {
    if (!gpu) return skip();
    const evo = new AutoSpace(gpu, tinyEvolve({ replaceEvery: 2, iterations: 4, steps: 1 }), data());
    try {
      const res = await evo.run();
      expect(res.history.map((e) => e.replaced > 0)).toEqual([false, true, false, true]);
    } finally {
      evo.dispose();
    }
  });

  it('known optimum: a dominant budget penalty drives the fitness to the cheapest cells', async ({ skip }) => {
    if (!gpu) return skip();
    // Budget = the skeleton + 1 MAdd: any non-zero cell is over it, so the hinge's gradient pushes each layer's
    // softmax toward its cheapest selected cell, and that cell (zero where allowed) ends with the top fitness.
    const cfg = tinyEvolve({
      budgetMadds: fixedMadds(TINY_CIFAR_LAYOUT) + 1,
      budgetPenalty: 1e4,
      fitnessLr: 0.5,
      iterations: 2,
      steps: 3,
      layerSlack: 1e9,
      guideIterations: 2,
    });
    const evo = new AutoSpace(gpu, cfg, data());
    try {
      await evo.run();
      const last = evo.history[evo.history.length - 1];
      last.mixed.forEach((layer, b) => {
        const madds = layer.map((c) => evo.populations[b].find((m) => m.key === c.cell)?.madds ?? Infinity);
        const cheapest = madds.indexOf(Math.min(...madds));
        const top = layer.reduce((best, c, k) => (c.p > layer[best].p ? k : best), 0);
        expect(top).toBe(cheapest);
      });
      expect(last.expectedMadds).toBeLessThan(evo.history[0].expectedMadds);
    } finally {
      evo.dispose();
    }
  });
});

describe('CLI', () => {
  it('evolve-space --hand-designed writes the hand-designed space', async () => {
    const out = join(tmp, 'hand.json');
    await evolveCli(['--hand-designed', '--out', out]);
    expect(JSON.parse(readFileSync(out, 'utf8')).source).toBe('hand-designed');
  });

  /** `search --json` of 3 random networks of the space `file` under `limit` (its flags); stdout captured. */
  async function searchSpaceFile(file: string, limit: string[], o: { muteStderr?: boolean } = {}) {
    const chunks: string[] = [];
    const spies: Array<{ mockRestore(): void }> = [
      vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => (chunks.push(String(c)), true)),
    ];
    if (o.muteStderr) spies.push(vi.spyOn(process.stderr, 'write').mockImplementation(() => true));
    try {
      await searchCli(['--space-file', file, '--budget', '3', ...limit, '--batch', '8', '--strategy', 'random', '--json']);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    return JSON.parse(chunks.join(''));
  }

  it('search --space-file: zero-shot search of a cell space under a MAdds budget', async ({ skip }) => {
    if (!gpu) return skip();
    const file = join(tmp, 'tiny-hand.json');
    writeFileSync(file, JSON.stringify(handDesignedSpace(TINY_CIFAR_LAYOUT)));
    const budget = fixedMadds(TINY_CIFAR_LAYOUT) + 150_000;
    const out = await searchSpaceFile(file, ['--budget-madds', String(budget)]);
    expect(out.format).toBe('wgnas-arch');
    // A zero-shot search scores its networks at wgnas's BN, and says so.
    expect(out.bn).toEqual({ momentum: 0.1, eps: 1e-5 });
    expect(out.madds).toBeLessThanOrEqual(budget);
    expect(out.cells.length).toBe(3);
    expect(Number.isFinite(out.score)).toBe(true);
    await expect(searchCli(['--budget-madds', '3M'])).rejects.toThrow(/--budget-madds needs --space-file/);
  });

  it('search --space-file --max-latency-ms: cells priced on this CPU, the best is under the ceiling', async ({ skip }) => {
    if (!gpu || !native) return skip();
    const file = join(tmp, 'tiny-hand-lat.json');
    writeFileSync(file, JSON.stringify(handDesignedSpace(TINY_CIFAR_LAYOUT)));
    const lat = await measuredCost(loadSpace(handDesignedSpace(TINY_CIFAR_LAYOUT)), { native, repeats: 5, warmup: 1 });
    const ceiling = halfwayCost(lat);
    const out = await searchSpaceFile(file, ['--max-latency-ms', String(ceiling)], { muteStderr: true });
    expect(out.maxLatencyMs).toBe(ceiling);
    // Re-timed here, so compare against the ceiling with the timing noise of a second pricing in mind.
    expect(out.latencyMs).toBeLessThanOrEqual(ceiling);
    expect(out.latencyMs).toBeGreaterThan(0);
    await expect(searchCli(['--space-file', file, '--max-latency-ms', '1e-6', '--json'])).rejects.toThrow(
      /latency ceiling .* is below the fastest architecture/,
    );
    await expect(searchCli(['--space-file', file, '--max-latency-ms', '0'])).rejects.toThrow(/--max-latency-ms must be > 0/);
    await expect(searchCli(['--space-file', file, '--backend', 'onednn'])).rejects.toThrow(
      /--backend prices cells for --max-latency-ms/,
    );
    await expect(searchCli(['--max-latency-ms', '3'])).rejects.toThrow(/--max-latency-ms needs --space-file/);
  });

  it('proxyless --space-file --price-cells: the search cost is the cells timed on this CPU', async ({ skip }) => {
    if (!gpu || !native) return skip();
    const file = join(tmp, 'tiny-hand-px.json');
    writeFileSync(file, JSON.stringify(handDesignedSpace(TINY_CIFAR_LAYOUT)));
    const errs: string[] = [];
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => (errs.push(String(c)), true));
    const outFile = join(tmp, 'px-arch.json');
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await proxylessCli([
        '--space-file',
        file,
        '--price-cells',
        '--target-ms',
        '0.5',
        '--warmup',
        '1',
        '--steps',
        '2',
        '--arch-every',
        '1',
        '--batch',
        '4',
        '--val-batch',
        '4',
        '--train',
        '16',
        '--val',
        '8',
        '--out',
        outFile,
      ]);
    } finally {
      err.mockRestore();
      spy.mockRestore();
    }
    const log = errs.join('');
    expect(log).toMatch(/priced \d+ distinct ops of the space on this CPU \(onednn, 1 thread\(s\)\)/);
    expect(log).toMatch(/cost \(cells timed on this CPU, onednn\)/);
    const arch = JSON.parse(readFileSync(outFile, 'utf8'));
    expect(arch.cells.length).toBe(3);
    await expect(proxylessCli(['--price-cells', '--target-ms', '1'])).rejects.toThrow(
      /--price-cells prices the cells of a --space-file/,
    );
    await expect(
      proxylessCli(['--space-file', file, '--price-cells', '--latency-table', 'x.yaml', '--target-ms', '1']),
    ).rejects.toThrow(/two sources of latency/);
    await expect(proxylessCli(['--space-file', file, '--price-cells'])).rejects.toThrow(/--target-ms is required/);
    await expect(
      proxylessCli(['--space-file', file, '--price-cells', '--target-ms', '1', '--backend', 'tflite']),
    ).rejects.toThrow(/--backend must be onednn or xnnpack/);
  });

  it('usage errors', async () => {
    expect(parseMadds('12M')).toBe(12e6);
    expect(parseMadds('1.5e6')).toBe(1.5e6);
    expect(() => parseMadds('lots')).toThrow(UsageError);
    await expect(evolveCli([])).rejects.toThrow(/--budget-madds N is required/);
    await expect(evolveCli(['--budget-madds', '0.5M'])).rejects.toThrow(/skeleton alone takes 0.79M/);
    await expect(evolveCli(['--budget-madds', '3M', '--k', '9'])).rejects.toThrow(/--k \(9\) cannot exceed --population/);
    await expect(evolveCli(['--budget-madds', '3M', '--init', 'mbconv'])).rejects.toThrow(
      /--init must be reference or hand-designed, got 'mbconv'/,
    );
    await expect(evolveCli(['--budget-madds', '3M', '--max-nodes', '9'])).rejects.toThrow(/--max-nodes must be at most 6/);
    await expect(evolveCli(['--budget-madds', '3M', '--max-nodes', '0'])).rejects.toThrow(/--max-nodes must be an integer >= 1/);
    await expect(proxylessCli(['--space-file', join(tmp, 'none.json'), '--target-madds', '3'])).rejects.toThrow(
      /cannot read space file/,
    );
    const hand = join(tmp, 'hand2.json');
    await evolveCli(['--hand-designed', '--out', hand]);
    await expect(proxylessCli(['--space-file', hand])).rejects.toThrow(/--target-madds/);
  });
});
