import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readCsvObjects } from '../../src/data/csv.js';
import { dataFile } from '../../src/data/paths.js';
import {
  allCells,
  canonicalize,
  canonicalKey,
  canonicalCells,
  isCanonical,
  cellFromIndex,
  cellIndex,
  formatArch,
  fromIndexTuple,
  isConnected,
  liveEdges,
  mutateCell,
  NB201_OPS,
  NB201_OP_SPECS,
  NB201_NUM_CELLS,
  NB201_NUM_EDGES,
  type Nb201Op,
  type Nb201OpSpec,
  convKernel,
  isZeroOp,
  unhandledOpKind,
  makeNb201Space,
  nb201Space,
  nb201UniqueStr,
  parseArch,
  sampleCell,
  toIndexTuple,
  formatIndexTuple,
} from '../../src/spaces/nb201.js';
import { EDGE_OPS } from '../../src/nn/nb201-stacked-plan.js';
import { categoricalSpace } from '../../src/spaces/space.js';
import { Rng } from '../../src/util/rng.js';

const csv = (name: string) => {
  const p = dataFile('nb201', name);
  return readCsvObjects(readFileSync(p, 'utf8'), p);
};

const FIRST = '|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|';

describe('NB201 arch strings', () => {
  it('parses and formats the edge order (1<-0),(2<-0),(2<-1),(3<-0),(3<-1),(3<-2)', () => {
    const c = parseArch(FIRST);
    expect(c.edges).toEqual(['avg_pool_3x3', 'skip_connect', 'none', 'nor_conv_1x1', 'avg_pool_3x3', 'nor_conv_1x1']);
    expect(formatArch(c)).toBe(FIRST);
    // Inputs of a node may be listed in any order.
    expect(parseArch(' |avg_pool_3x3~0|+|none~1|skip_connect~0|+|nor_conv_1x1~2|nor_conv_1x1~0|avg_pool_3x3~1| ')).toEqual(c);
  });

  it('round-trips every cell', () => {
    for (const c of allCells()) expect(parseArch(formatArch(c))).toEqual(c);
  });

  it('names the problem in parse errors', () => {
    expect(() => parseArch('|none~0|+|none~0|none~1|')).toThrow(/expected 3 nodes.*got 2/);
    expect(() => parseArch('|none~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|')).toThrow(/got 4/);
    expect(() => parseArch('|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|')).toThrow(
      /node 1 token 1 'conv_5x5~0': unknown op 'conv_5x5'/,
    );
    expect(() => parseArch('|none~0|+|none~0|none~2|+|none~0|none~1|none~2|')).toThrow(
      /node 2 token 2 'none~2': bad input index '2'/,
    );
    expect(() => parseArch('|none~0|+|none~0|none~0|+|none~0|none~1|none~2|')).toThrow(/input 0 given twice/);
    expect(() => parseArch('|none~0|+|none~0|+|none~0|none~1|none~2|')).toThrow(/node 2 needs 2 input\(s\), got 1/);
    expect(() => parseArch('|none~0|+|none~0|none~1|+|none~0|none-1|none~2|')).toThrow(/'none-1' is not op~input/);
    expect(() => parseArch('none~0|+|none~0|none~1|+|none~0|none~1|none~2|')).toThrow(/wrapped in '\|'/);
    expect(() => formatArch({ edges: ['none', 'none'] as never })).toThrow(/6 edges/);
    expect(() => formatArch({ edges: ['none', 'none', 'none', 'none', 'none', 'conv'] as never })).toThrow(
      /edge 5: unknown op 'conv'/,
    );
  });
});

describe('shared-data index tuples', () => {
  it('decode to net_str on every row of nb201_valid_nets.csv and nb201_zc_proxies.csv', () => {
    for (const file of ['nb201_valid_nets.csv', 'nb201_zc_proxies.csv']) {
      const rows = csv(file);
      expect(rows.length).toBe(9445);
      for (const r of rows) {
        const c = fromIndexTuple(r.net);
        expect(formatArch(c), `${file} ${r.net}`).toBe(r.net_str);
        expect(formatIndexTuple(parseArch(r.net_str))).toBe(r.net);
      }
    }
  });

  it('maps tuple edges (1,2),(1,3),(1,4),(2,3),(2,4),(3,4) and op indices skip,none,3x3,1x1,pool', () => {
    // Tuple entry 2 is edge (1,4) = 3<-0, entry 3 is (2,3) = 2<-1.
    expect(fromIndexTuple([0, 1, 2, 3, 4, 0]).edges).toEqual([
      'skip_connect',
      'none',
      'nor_conv_1x1',
      'nor_conv_3x3',
      'avg_pool_3x3',
      'skip_connect',
    ]);
    expect(fromIndexTuple('(4, 0, 3, 1, 4, 3)')).toEqual(parseArch(FIRST));
    expect(fromIndexTuple('[4,0,3,1,4,3]')).toEqual(parseArch(FIRST));
    for (const c of allCells()) expect(fromIndexTuple(toIndexTuple(c))).toEqual(c);
  });

  it('rejects bad tuples', () => {
    expect(() => fromIndexTuple([0, 1, 2])).toThrow(/6 entries, got 3/);
    expect(() => fromIndexTuple('(0, 1, 2, 3, 5, 0)')).toThrow(/entry 4 is 5/);
    expect(() => fromIndexTuple('(0, 1, , 3, 4, 0)')).toThrow(/entry 2 is NaN/);
  });
});

describe('canonical forms', () => {
  it("'live' rewrites dead edges to none and yields exactly the shared data's 9445 cells", () => {
    // 2<-1 conv reads node 1, which is unreachable (1<-0 is none): dead.
    const c = parseArch('|none~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_1x1~2|');
    expect(liveEdges(c)).toEqual([false, true, false, false, false, true]);
    expect(canonicalKey(c)).toBe('|none~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_1x1~2|');
    // 3<-... all none: nothing reaches the output, so every edge is dead.
    const cut = parseArch('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|');
    expect(isConnected(cut)).toBe(false);
    expect(canonicalize(cut).edges.every((e) => e === 'none')).toBe(true);

    const keys = new Set(allCells().map((x) => canonicalKey(x)));
    expect(keys.size).toBe(9445);
    const data = new Set(csv('nb201_valid_nets.csv').map((r) => r.net_str));
    expect([...keys].every((k) => data.has(k))).toBe(true);
    for (const k of data) expect(canonicalKey(parseArch(k))).toBe(k); // already canonical
    const reps = canonicalCells();
    expect(reps.length).toBe(9445);
    expect(reps.every((r) => data.has(formatArch(r)))).toBe(true);
    expect(isCanonical(c)).toBe(false);
  });

  it("'nb201' reproduces NAS-Bench-201's 6466 unique cells and is idempotent", () => {
    const cells = allCells();
    expect(new Set(cells.map(nb201UniqueStr)).size).toBe(6466);
    expect(new Set(cells.map((c) => canonicalKey(c, 'nb201'))).size).toBe(6466);
    expect(canonicalCells('nb201').length).toBe(6466);
    for (let i = 0; i < cells.length; i += 97) {
      const r = canonicalize(cells[i], 'nb201');
      expect(canonicalize(r, 'nb201')).toEqual(r);
      expect(nb201UniqueStr(r)).toBe(nb201UniqueStr(cells[i]));
    }
    // conv reaching the output through a skip from node 1 == conv straight into the output.
    const a = parseArch('|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|');
    const b = parseArch('|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|');
    expect(canonicalKey(a, 'nb201')).toBe(canonicalKey(b, 'nb201'));
    expect(canonicalKey(a)).not.toBe(canonicalKey(b));
    // sums commute: swapping which input carries which op of node 3.
    const c = parseArch('|skip_connect~0|+|none~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|none~2|');
    const d = parseArch('|skip_connect~0|+|none~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|');
    expect(canonicalKey(c, 'nb201')).toBe(canonicalKey(d, 'nb201'));
    expect(() => canonicalize(a, 'x' as never)).toThrow(/unknown level/);
  });
});

describe('enumeration, sampling, mutation', () => {
  it('cellIndex is base-5 in gen_all order and inverts cellFromIndex', () => {
    expect(cellFromIndex(0).edges.every((e) => e === 'none')).toBe(true);
    expect(cellFromIndex(15624).edges.every((e) => e === 'avg_pool_3x3')).toBe(true);
    expect(cellFromIndex(1).edges).toEqual(['none', 'none', 'none', 'none', 'none', 'skip_connect']);
    expect(cellIndex(parseArch('|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|'))).toBe(3125);
    const all = allCells();
    expect(all.length).toBe(15625);
    all.forEach((c, i) => expect(cellIndex(c)).toBe(i));
    expect(() => cellFromIndex(15625)).toThrow(/\[0, 15625\)/);
    expect(() => cellFromIndex(1.5)).toThrow();
  });

  it('samples uniformly-ish and reproducibly', () => {
    const a = Array.from(
      { length: 5 },
      (
        (r) => () =>
          formatArch(sampleCell(r))
      )(new Rng(7)),
    );
    const b = Array.from(
      { length: 5 },
      (
        (r) => () =>
          formatArch(sampleCell(r))
      )(new Rng(7)),
    );
    expect(a).toEqual(b);
    const rng = new Rng(1);
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) for (const e of sampleCell(rng).edges) counts.set(e, (counts.get(e) ?? 0) + 1);
    for (const op of NB201_OPS) expect(counts.get(op)! / 12000).toBeGreaterThan(0.17);
  });

  it('mutates exactly one edge to a different op', () => {
    const rng = new Rng(3);
    let c = sampleCell(rng);
    const seenOps = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const m = mutateCell(c, rng);
      const diff = m.edges.map((e, k) => (e !== c.edges[k] ? k : -1)).filter((k) => k >= 0);
      expect(diff.length).toBe(1);
      seenOps.add(m.edges[diff[0]]);
      c = m;
    }
    expect(seenOps.size).toBe(5);
  });
});

describe('SearchSpace implementations', () => {
  it('nb201Space encodes, decodes, keys and parses', () => {
    const c = parseArch(FIRST);
    expect(nb201Space.choiceSizes).toEqual([5, 5, 5, 5, 5, 5]);
    expect(nb201Space.encode(c)).toEqual([4, 1, 0, 2, 4, 2]);
    expect(nb201Space.decode([4, 1, 0, 2, 4, 2])).toEqual(c);
    expect(nb201Space.key(c)).toBe(canonicalKey(c));
    expect(nb201Space.parse(nb201Space.format(c))).toEqual(c);
    expect(() => nb201Space.decode([4, 1, 0, 2, 5, 2])).toThrow(/choice 4 is 5/);
    expect(() => nb201Space.decode([4, 1])).toThrow(/expected 6 choices/);
    const dead = parseArch('|none~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_1x1~2|');
    const live = canonicalize(dead);
    expect(nb201Space.key(dead)).toBe(nb201Space.key(live));
    const exact = makeNb201Space({ key: 'exact' });
    expect(exact.key(dead)).not.toBe(exact.key(live));
    expect(exact.name).toBe('nb201-exact');
    expect(makeNb201Space({ key: 'nb201' }).key(dead)).toBe(nb201UniqueStr(dead));
    expect(() => makeNb201Space({ key: 'x' as never })).toThrow(/unknown key 'x'/);
  });

  it('categoricalSpace samples in range and mutates one choice', () => {
    const s = categoricalSpace('toy', [2, 1, 4]);
    const rng = new Rng(2);
    for (let i = 0; i < 100; i++) {
      const a = s.sample(rng);
      expect(a[0]).toBeLessThan(2);
      expect(a[1]).toBe(0);
      const m = s.mutate(a, rng);
      expect(m.filter((v, k) => v !== a[k]).length).toBe(1);
    }
    expect(s.parse('1, 0, 3')).toEqual([1, 0, 3]);
    expect(() => s.decode([0, 1, 0])).toThrow(/choice 1 is 1/);
    expect(() => categoricalSpace('bad', [2, 0])).toThrow(/positive integers/);
  });
});

describe('the op table (NB201_OP_SPECS): one source for every consumer', () => {
  it('has a spec per op, NAS-Bench-201 semantics, and the cell count from the op count', () => {
    expect(Object.keys(NB201_OP_SPECS)).toEqual([...NB201_OPS]);
    expect(NB201_OP_SPECS).toEqual({
      none: { kind: 'zero' },
      skip_connect: { kind: 'identity' },
      nor_conv_1x1: { kind: 'conv', kernel: 1 },
      nor_conv_3x3: { kind: 'conv', kernel: 3 },
      avg_pool_3x3: { kind: 'avgPool', kernel: 3 },
    });
    expect(Object.isFrozen(NB201_OP_SPECS)).toBe(true);
    expect(NB201_NUM_CELLS).toBe(NB201_OPS.length ** NB201_NUM_EDGES);
    expect(NB201_NUM_CELLS).toBe(15625);
    expect(NB201_OPS.map(convKernel)).toEqual([null, null, 1, 3, null]);
    expect(NB201_OPS.filter(isZeroOp)).toEqual(['none']);
  });

  it('the stacked edge order derives from it: convs by falling kernel, then the rest in NB201_OPS order', () => {
    expect(EDGE_OPS).toEqual(['nor_conv_3x3', 'nor_conv_1x1', 'skip_connect', 'avg_pool_3x3']);
  });

  it('an op or kind a consumer does not handle is a type error (tsc checks the directives)', () => {
    // A table without an entry for a new op does not typecheck (Record over Nb201Op).
    // @ts-expect-error -- 'nor_conv_5x5' has no entry
    const wider: { readonly [O in Nb201Op | 'nor_conv_5x5']: Nb201OpSpec } = NB201_OP_SPECS;
    expect(wider).toBe(NB201_OP_SPECS);
    // An exhaustive switch that leaves a kind out does not typecheck at unhandledOpKind.
    const kernelOf = (s: Nb201OpSpec): number => {
      switch (s.kind) {
        case 'conv':
        case 'avgPool':
          return s.kernel;
        case 'zero':
          return 0;
        default:
          // @ts-expect-error -- 'identity' is not handled above
          return unhandledOpKind(s);
      }
    };
    expect(kernelOf(NB201_OP_SPECS.nor_conv_3x3)).toBe(3);
    expect(() => kernelOf(NB201_OP_SPECS.skip_connect)).toThrow(/kind 'identity' is not handled/);
  });
});
