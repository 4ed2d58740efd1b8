/**
 * Cost models with units: the expectation and its gradients (finite differences), the table
 * builder (own keys, ImageNet positions, and missing keys as a result), the MAdds builder.
 */
import { describe, expect, it } from 'vitest';
import { softmax } from '../../src/kernels/binarize.js';
import { fromNetConfig } from '../../src/latency/arch.js';
import { parseLatencyTable, readLatencyTable } from '../../src/latency/lut.js';
import { predictLatency } from '../../src/latency/predictor.js';
import { cellMadds } from '../../src/mobilenet/cell.js';
import { maddsCost } from '../../src/mobilenet/cost/madds.js';
import {
  type CostModel,
  archCost,
  costRange,
  costUnderProbs,
  describeCost,
  expectedCost,
  formatCost,
  formatCostRange,
  pairCostGrad,
} from '../../src/mobilenet/cost/model.js';
import { imagenetPositionsCost, tableCost } from '../../src/mobilenet/cost/table.js';
import { CIFAR_LAYOUT, IMAGENET_LAYOUT, layoutSpace, positionStages } from '../../src/mobilenet/layout.js';
import { fixedMadds } from '../../src/mobilenet/madds.js';
import { spaceFromLayout } from '../../src/mobilenet/space-file.js';
import { toNetConfig } from '../../src/proxyless/net-config.js';
import { Rng } from '../../src/util/rng.js';
import { forEachNudge } from '../helpers/layers.js';

const TABLE = 'data/latency/proxylessnas_mobile_trim.yaml';

describe('expected cost', () => {
  const m: Pick<CostModel, 'fixed' | 'perPosition'> = {
    fixed: 2,
    perPosition: [
      [1, 3],
      [0.5, 2, 0],
    ],
  };

  it('E[cost] = fixed + Σ p·cost; one-hot probabilities give the architecture cost', () => {
    expect(
      costUnderProbs(m, [
        [0.25, 0.75],
        [0.2, 0.3, 0.5],
      ]),
    ).toBeCloseTo(2 + 0.25 + 2.25 + 0.1 + 0.6, 12);
    expect(
      costUnderProbs(m, [
        [0, 1],
        [0, 0, 1],
      ]),
    ).toBe(5);
    expect(archCost(m, [1, 2])).toBe(5);
    expect(costRange(m)).toEqual({ min: 3, max: 7 });
    expect(() => costUnderProbs(m, [[1, 0]])).toThrow(/rows/);
    expect(() =>
      costUnderProbs(m, [
        [1, 0],
        [1, 0],
      ]),
    ).toThrow(/position 1 has 2 entries for 3 candidates/);
  });

  it('archCost rejects choices that do not fit the model', () => {
    expect(() => archCost(m, [0])).toThrow(/1 choices for 2 positions/);
    expect(() => archCost(m, [0, 3])).toThrow(/position 1 has 3 candidates, choice 3/);
  });

  it('gradient wrt softmax logits, full and 2-path pair, matches finite differences (f64)', () => {
    const rng = new Rng(11);
    const big = { fixed: 1, perPosition: [0, 1, 2, 3].map((b) => Array.from({ length: 3 + b }, () => rng.next() * 5)) };
    const alphas = big.perPosition.map((row) => row.map(() => rng.normal()));
    const { value, gradAlphas, probs } = expectedCost(big, alphas);
    probs.forEach((p) => expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12));
    expect(value).toBeCloseTo(
      costUnderProbs(
        big,
        alphas.map((a) => softmax(a)),
      ),
      12,
    );
    const h = 1e-6;
    forEachNudge(alphas, h, (b, j, plus, minus) => {
      const row = alphas[b];
      expect(gradAlphas[b][j]).toBeCloseTo((expectedCost(big, plus).value - expectedCost(big, minus).value) / (2 * h), 7);
      // Pair version: d/dα of Σ_{pair} softmax(α_pair)·cost.
      const pair = [j, (j + 2) % row.length];
      const pe = (a: number[]) => softmax(pair.map((k) => a[k])).reduce((s, q, k) => s + q * big.perPosition[b][pair[k]], 0);
      const g = pairCostGrad(row, big.perPosition[b], pair);
      for (let k = 0; k < row.length; k++) {
        const a1 = row.slice();
        const a2 = row.slice();
        a1[k] += h;
        a2[k] -= h;
        expect(g[k]).toBeCloseTo((pe(a1) - pe(a2)) / (2 * h), 7);
      }
    });
  });

  it('formats costs with their unit', () => {
    expect(formatCost(12.345, 'ms')).toBe('12.35 ms');
    expect(formatCost(2_504_000, 'madds')).toBe('2.50 M MAdds');
    expect(formatCostRange(1.57e6, 5.84e6, 'madds')).toBe('1.57..5.84 M MAdds');
    expect(formatCostRange(10.2, 30.5, 'ms')).toBe('10.20..30.50 ms');
    expect(describeCost({ source: 'measured', meta: { backend: 'onednn' } })).toBe('cells timed on this CPU, onednn');
  });
});

describe('cost from a latency table', () => {
  const table = readLatencyTable(TABLE);

  it('ImageNet layout: the table has every key; an architecture costs what predictLatency says', () => {
    const r = tableCost(table, IMAGENET_LAYOUT);
    expect(r.missing).toEqual([]);
    const m = r.cost!;
    expect(m).toMatchObject({ unit: 'ms', source: 'table' });
    expect(m.perPosition.length).toBe(21);
    const rng = new Rng(3);
    for (let k = 0; k < 5; k++) {
      const choices = m.perPosition.map((row) => rng.int(row.length));
      const arch = fromNetConfig(toNetConfig(IMAGENET_LAYOUT, choices), 224);
      expect(archCost(m, choices)).toBeCloseTo(predictLatency(table, arch).totalMs, 9);
    }
  });

  it('CIFAR layout: priced as the same (stage, block) ImageNet positions', () => {
    const full = tableCost(table, IMAGENET_LAYOUT).cost!;
    const m = tableCost(table, CIFAR_LAYOUT).cost!;
    expect(m.source).toBe('imagenet-proxy');
    expect(m.unit).toBe('ms');
    expect(m.fixed).toBeCloseTo(full.fixed, 12);
    const ref = positionStages(IMAGENET_LAYOUT).map((p) => `${p.stage}/${p.depth}`);
    positionStages(CIFAR_LAYOUT).forEach((p, b) =>
      expect(m.perPosition[b]).toEqual(full.perPosition[ref.indexOf(`${p.stage}/${p.depth}`)]),
    );
    // 'zero' (last candidate where offered) costs nothing.
    layoutSpace(CIFAR_LAYOUT)
      .positions.slice(1)
      .forEach((pos, b) => {
        if (pos.candidates.at(-1) === 'zero') expect(m.perPosition[b].at(-1)).toBe(0);
      });
    const r = costRange(m);
    expect(r.min).toBeLessThan(r.max);
  });

  it('missing keys are a result: the list of the layout keys the table lacks, no exception', () => {
    // The table has no 32×32 keys: direct only, every CIFAR position misses.
    const direct = tableCost(table, CIFAR_LAYOUT, { directOnly: true });
    expect(direct.cost).toBeNull();
    expect(direct.missing.length).toBeGreaterThan(10);
    expect(direct.missing.every((k) => /input:(32|16|8|4|2)x/.test(k))).toBe(true);
    // A table with one entry: neither the layout's keys nor the ImageNet positions are there.
    const one = parseLatencyTable(`${direct.missing[0].replace(/input:32x32x3/, 'input:9x9x3')}:\n  count: 1\n  mean: 1\n`);
    const r = tableCost(one, CIFAR_LAYOUT);
    expect(r.cost).toBeNull();
    expect(r.missing).toEqual(direct.missing);
    expect(imagenetPositionsCost(one, CIFAR_LAYOUT).missing.length).toBeGreaterThan(10);
    // 'nearest' cannot bridge 32×32 and 224×224 keys either, but the ImageNet positions can be approximated.
    expect(tableCost(table, CIFAR_LAYOUT, { missing: 'nearest' }).cost?.source).toBe('imagenet-proxy');
  });
});

describe('cost from multiply-adds', () => {
  it('the skeleton and every cell in multiply-adds (not millions)', () => {
    const space = spaceFromLayout(CIFAR_LAYOUT);
    const m = maddsCost(space);
    expect(m).toMatchObject({ unit: 'madds', source: 'madds', fixed: fixedMadds(CIFAR_LAYOUT) });
    space.cells.forEach((cells, b) => cells.forEach((c, j) => expect(m.perPosition[b][j]).toBe(cellMadds(c, space.shapes[b]))));
    expect(formatCost(m.fixed, m.unit)).toBe(`${(fixedMadds(CIFAR_LAYOUT) / 1e6).toFixed(2)} M MAdds`);
  });
});
