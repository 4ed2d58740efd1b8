/**
 * A cell space searched under a table measured for it: `wgnas profile --space-file` writes the
 * space's node keys (conv-/dwconv- per cell node, the skeleton's ProxylessNAS keys), and `search
 * --space-file --latency-table` and `proxyless --space-file --latency-table` price the space by
 * those keys, a learned space (a cell that is no MBConv) as well as the hand-designed one. CPU.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLatencyTable } from '../../src/latency/lut.js';
import { cellKeys, cellSpaceKeys, skeletonKeys } from '../../src/mobilenet/cell-latency-keys.js';
import { parseCell } from '../../src/mobilenet/cell-text.js';
import { archCost, formatCost } from '../../src/mobilenet/cost/model.js';
import { cellTableCost, spaceTableCost } from '../../src/mobilenet/cost/table.js';
import { layerShapes } from '../../src/mobilenet/layout.js';
import { handDesignedSpace, loadSpace, spaceEntry, writeSpaceFile } from '../../src/mobilenet/space-file.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { TINY_CIFAR_LAYOUT } from '../helpers/cases.js';
import { wgnasInProcess } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-space-table-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The tiny layout's hand-designed space with a cell of two branches added to layer 0, as a learned space. */
function learnedSpace() {
  const f = handDesignedSpace(TINY_CIFAR_LAYOUT);
  const shape = layerShapes(TINY_CIFAR_LAYOUT)[0];
  f.layers[0].cells.push(spaceEntry(parseCell('pw3<0;dw3<1;pwl<2;pwl<0;=>3+4'), shape, 0.5));
  return { ...f, source: 'autospace' };
}

const PROFILE = ['profile', '--repeats', '3', '--warmup', '0', '--threads', '1', '--max-time-ms', '100', '--quiet'];
const ms = (e: { mean: number } | undefined) => e!.mean;

describe('profile --space-file, then search / proxyless --space-file --latency-table', () => {
  it.skipIf(cpuTestBackend() === null)(
    "the table holds the space's node keys; both searches price the space by them",
    { timeout: 240_000 },
    async () => {
      const spaceFile = join(tmp, 'learned.json');
      writeSpaceFile(spaceFile, learnedSpace());
      const space = loadSpace(JSON.parse(readFileSync(spaceFile, 'utf8')));
      const tableFile = join(tmp, 'learned.yaml');
      const p = await wgnasInProcess([...PROFILE, '--space-file', spaceFile, '--out', tableFile]);
      expect(p.code, p.err).toBe(0);
      const table = readLatencyTable(tableFile);
      expect([...table.entries.keys()].sort()).toEqual(cellSpaceKeys(space).sort());

      // The cost model: the skeleton's entries, and each cell the sum of its nodes' (the zero cell 0).
      const cost = spaceTableCost(table, space);
      expect(cost.by).toBe('nodes');
      expect(cost.cost!.fixed).toBeCloseTo(
        skeletonKeys(space.layout).reduce((s, k) => s + ms(table.entries.get(k)), 0),
        12,
      );
      const two = space.cells[0].at(-1)!;
      expect(cellKeys(two, space.shapes[0])).toHaveLength(4);
      expect(cost.cost!.perPosition[0].at(-1)).toBeCloseTo(
        cellKeys(two, space.shapes[0]).reduce((s, k) => s + ms(table.entries.get(k)), 0),
        12,
      );
      const zero = space.cells[1].findIndex((c) => c.nodes.length === 0);
      expect(cost.cost!.perPosition[1][zero]).toBe(0);

      // search: the best architecture's latency is the table's price of its cells, under the ceiling.
      const range = cost.cost!.perPosition.reduce(
        (r, row) => ({ min: r.min + Math.min(...row), max: r.max + Math.max(...row) }),
        { min: cost.cost!.fixed, max: cost.cost!.fixed },
      );
      const ceiling = (range.min + range.max) / 2;
      const s = await wgnasInProcess([
        ...['search', '--space-file', spaceFile, '--latency-table', tableFile, '--max-latency-ms', String(ceiling)],
        ...['--budget', '3', '--strategy', 'random', '--batch', '8', '--device', 'cpu', '--cpu-threads', '1', '--json'],
      ]);
      expect(s.code, s.err).toBe(0);
      expect(s.err).toMatch(/priced the space's cells \(their nodes' keys\) from .*learned\.yaml/);
      const best = JSON.parse(s.out) as { choices: number[]; latencyMs: number };
      expect(best.latencyMs).toBeCloseTo(archCost(cost.cost!, best.choices), 9);
      expect(best.latencyMs).toBeLessThanOrEqual(ceiling);

      // proxyless: the same cost model drives the supernet search.
      const px = await wgnasInProcess([
        ...['proxyless', '--space-file', spaceFile, '--latency-table', tableFile, '--target-ms', String(ceiling)],
        ...['--warmup', '1', '--steps', '2', '--arch-every', '1', '--batch', '4', '--val-batch', '4'],
        ...['--train', '16', '--val', '8', '--device', 'cpu', '--cpu-threads', '1', '--out', join(tmp, 'px.json')],
      ]);
      expect(px.code, px.err).toBe(0);
      expect(px.err).toContain(`(latency table keys of this layout): fixed ${formatCost(cost.cost!.fixed, 'ms')}`);
      const found = JSON.parse(readFileSync(join(tmp, 'px.json'), 'utf8')) as { choices: number[] };
      expect(found.choices).toHaveLength(space.cells.length);
    },
  );

  it('a table without some of the space\'s node keys: refused naming them and "profile --space-file"', () => {
    const space = loadSpace(learnedSpace());
    const keys = cellSpaceKeys(space);
    const table = { meta: {}, entries: new Map(keys.slice(1).map((k) => [k, { count: 1, mean: 1 }])) };
    const r = cellTableCost(table, space);
    expect(r.cost).toBeNull();
    expect(r.missing).toEqual([keys[0]]);
    // A hand-designed space falls back to its MBConv blocks' keys only when the table has no node key.
    const hand = loadSpace(handDesignedSpace(TINY_CIFAR_LAYOUT));
    const handTable = {
      meta: {},
      entries: new Map(
        cellSpaceKeys(hand)
          .slice(1)
          .map((k) => [k, { count: 1, mean: 1 }]),
      ),
    };
    expect(spaceTableCost(handTable, hand)).toMatchObject({ by: 'nodes', missing: [cellSpaceKeys(hand)[0]] });
    const file = join(tmp, 'short.yaml');
    writeFileSync(
      file,
      keys
        .slice(1)
        .map((k) => `${k}:\n  count: 1\n  mean: 1\n`)
        .join(''),
    );
    const spaceFile = join(tmp, 'learned-short.json');
    writeSpaceFile(spaceFile, learnedSpace());
    return wgnasInProcess([
      ...['search', '--space-file', spaceFile, '--latency-table', file, '--max-latency-ms', '5', '--device', 'cpu'],
    ]).then((s) => {
      expect(s.code).toBe(1);
      expect(s.err).toMatch(
        new RegExp(
          `^wgnas search: latency table \\S*short\\.yaml has no entry for 1 key\\(s\\) of this tiny-cifar-layout space: ${keys[0].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; profile them \\(wgnas profile --space-file SPACE\\.json\\)`,
        ),
      );
    });
  });
});
