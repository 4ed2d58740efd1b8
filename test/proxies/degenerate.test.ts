/**
 * Every valid NAS-Bench-201 cell scores: every proxy on one cell of each structural class of the
 * 15625 arch strings, on a tiny network (2 channels, 1 cell per stage, batch 4).
 *
 * A class is the pattern of the cell's intermediate and output nodes (fed by nothing but 'none'
 * edges / fed but a dead end / live) plus which edge roles (live, dead-end, unfed: out of a node
 * only 'none' edges feed) carry a convolution, i.e. weights the loss may never reach. Within each
 * class the representative is chosen to cover as many (op, role) pairs as possible, so skips,
 * pools and both convolutions appear in every role. The degenerate classes are the ones that used
 * to crash (a conv on an unfed or dead-end edge: a weight with no gradient) and the ones whose
 * output node receives nothing (the logits do not depend on the input).
 */
import { methodBackend } from '../helpers/backend.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/index.js';
import { nb201Factory, type Nb201NetConfig } from '../../src/nn/nb201-net.js';
import { PROXIES, scoreNetsGrouped } from '../../src/proxies/index.js';
import { allCells, formatArch, NB201_EDGES, type Nb201Cell, parseArch } from '../../src/spaces/nb201.js';
import { Rng } from '../../src/util/rng.js';
import { addAggregates, scoreCell, type ScoredCell } from '../../src/zeroshot/index.js';

type NodeState = 'Z' | 'D' | 'L';
type Role = 'live' | 'dead' | 'unfed';

/** Per node 1..3: Z = only 'none' edges feed it, D = fed but never reaches the output, L = live. */
function nodeStates(c: Nb201Cell): NodeState[] {
  const fed = [true, false, false, false];
  NB201_EDGES.forEach(([to, from], k) => {
    if (c.edges[k] !== 'none' && fed[from]) fed[to] = true;
  });
  const reach = [false, false, false, true];
  for (let k = NB201_EDGES.length - 1; k >= 0; k--) {
    const [to, from] = NB201_EDGES[k];
    if (c.edges[k] !== 'none' && fed[to] && reach[to]) reach[from] = true;
  }
  return [0, 1, 2, 3].map((j) => (!fed[j] ? 'Z' : reach[j] ? 'L' : 'D'));
}

/** (op, role) of each non-'none' edge. */
function edgeRoles(c: Nb201Cell): Array<[string, Role]> {
  const st = nodeStates(c);
  const out: Array<[string, Role]> = [];
  NB201_EDGES.forEach(([to, from], k) => {
    const op = c.edges[k];
    if (op === 'none') return;
    out.push([op, st[from] === 'Z' ? 'unfed' : st[from] === 'L' && st[to] === 'L' ? 'live' : 'dead']);
  });
  return out;
}

function structuralClass(c: Nb201Cell): string {
  const convRoles = new Set(
    edgeRoles(c)
      .filter(([op]) => op.startsWith('nor_conv'))
      .map(([, r]) => r),
  );
  return `${nodeStates(c).slice(1).join('')} conv:[${[...convRoles].sort().join(',')}]`;
}

const outputFedByNothing = (c: Nb201Cell) => nodeStates(c)[3] === 'Z';

/** The cell from issue 15 that crashed synflow, snip, grad_norm, zico and vote. */
const ISSUE_CELL = '|skip_connect~0|+|none~0|none~1|+|skip_connect~0|skip_connect~1|nor_conv_1x1~2|';

/** One representative per class, greedily covering new (op, role) pairs; ISSUE_CELL represents its own. */
function representatives(): { reps: Nb201Cell[]; classes: Set<string>; pairs: Set<string>; covered: Set<string> } {
  const byClass = new Map<string, Nb201Cell[]>();
  const pairs = new Set<string>();
  for (const c of allCells()) {
    const k = structuralClass(c);
    const list = byClass.get(k) ?? [];
    list.push(c);
    byClass.set(k, list);
    for (const [op, r] of edgeRoles(c)) pairs.add(`${op}:${r}`);
  }
  const issue = parseArch(ISSUE_CELL);
  const covered = new Set<string>(edgeRoles(issue).map(([op, r]) => `${op}:${r}`));
  const reps: Nb201Cell[] = [issue];
  for (const [k, cells] of byClass) {
    if (k === structuralClass(issue)) continue;
    const gain = (c: Nb201Cell) =>
      new Set(
        edgeRoles(c)
          .map(([op, r]) => `${op}:${r}`)
          .filter((p) => !covered.has(p)),
      ).size;
    const best = cells.reduce((a, b) => (gain(b) > gain(a) ? b : a));
    for (const [op, r] of edgeRoles(best)) covered.add(`${op}:${r}`);
    reps.push(best);
  }
  return { reps, classes: new Set(byClass.keys()), pairs, covered };
}

/**
 * The deliberate values on a cell whose output node receives nothing (the reference, NASLib,
 * stores 0 or its failure value -1e8 there): the gradient sums are 0 (ZiCo skips zero-variance
 * layers, as its reference code does), the scores that are the log of a signal that is then zero
 * are -Infinity, the lowest rank.
 */
const NO_SIGNAL: Record<string, number> = {
  // Every ReLU behind the dead cell sees a constant input: its gradient is zero, a skipped matrix.
  wrcor_grad: -Infinity,
  grad_norm: 0,
  snip: 0,
  zico: 0,
  synflow: -Infinity,
  zen: -Infinity,
  jacob_cov: -Infinity,
  // Constant feature maps: a covariance without eigenvalues (NaN in the reference, reported -Infinity).
  az_nas_expressivity: -Infinity,
  az_nas_progressivity: -Infinity,
};
/** AZ-NAS trainability is -Infinity on any cell that is the identity (a lone skip to the output), as in the reference. */
const IDENTITY_NEG_INF = 'az_nas_trainability';
/**
 * -Infinity or finite there: naswot, and the WRCor activation terms, which keep the
 * ReLUs before the dead cell (its own convs on fed nodes) and are empty (-Infinity) without them.
 */
const NO_SIGNAL_OR_FINITE = new Set(['naswot', 'wrcor', 'wrcor_act', 'wrcor_unweighted', 'wrcor_stage']);

const NET: Nb201NetConfig = { channels: 2, cellsPerStage: 1, numClasses: 10 };
const SEED = 3;

let gpu: Backend | null;
beforeAll(async () => {
  gpu = await methodBackend();
});

describe('every structural class of the 15625 NAS-Bench-201 cells scores with every proxy', () => {
  const { reps, classes, pairs, covered } = representatives();
  const rng = new Rng(5);
  const n = 4;
  const batch = { x: rng.normals(n * 3 * 32 * 32), y: Float32Array.from({ length: n }, () => rng.int(10)), n };
  const names = [...PROXIES.keys()];
  const rows: ScoredCell[] = [];

  it('the classes: 13 node patterns, 54 classes, every (op, role) pair represented', () => {
    expect(new Set([...classes].map((k) => k.split(' ')[0])).size).toBe(13);
    expect(classes.size).toBe(54);
    expect(reps.length).toBe(classes.size);
    expect(new Set(reps.map(structuralClass))).toEqual(classes);
    // skip, pool and both convs in live, dead-end and unfed roles.
    expect(pairs.size).toBe(12);
    expect(covered).toEqual(pairs);
    expect(reps.map(formatArch)).toContain(ISSUE_CELL);
  });

  it('all proxies give finite scores, or the documented no-signal values where the output receives nothing', async ({ skip }) => {
    if (!gpu) return skip();
    for (const cell of reps) {
      const arch = formatArch(cell);
      const { scores } = await scoreCell(gpu, cell, ['all'], batch, { net: NET, seed: SEED });
      expect(Object.keys(scores).sort(), arch).toEqual([...names].sort());
      for (const p of names) {
        const v = scores[p];
        if (outputFedByNothing(cell) && p in NO_SIGNAL) expect(v, `${arch} ${p}`).toBe(NO_SIGNAL[p]);
        else if (outputFedByNothing(cell) && NO_SIGNAL_OR_FINITE.has(p))
          expect(v === -Infinity || Number.isFinite(v), `${arch} ${p} = ${v}`).toBe(true);
        else if (p === IDENTITY_NEG_INF && v === -Infinity) continue;
        else expect(Number.isFinite(v), `${arch} ${p} = ${v}`).toBe(true);
      }
      rows.push({ arch, scores, timeMs: 0 });
    }
    // The population-level vote over all of them: a rank in [0, 1] for every cell.
    addAggregates(rows, ['all']);
    for (const r of rows) expect(r.scores.vote, r.arch).toBeGreaterThanOrEqual(0);
    for (const r of rows) expect(r.scores.vote, r.arch).toBeLessThanOrEqual(1);
  }, 240_000);

  it('scored as one group, the groupable proxies give each cell its scores alone', async ({ skip }) => {
    if (!gpu || rows.length !== reps.length) return skip();
    const groupable = names.filter((p) => PROXIES.get(p)!.groupable);
    const got = await scoreNetsGrouped(
      gpu,
      reps.map((c) => nb201Factory(gpu!, c, NET)),
      groupable,
      batch,
      SEED,
    );
    got.forEach((g, i) => {
      expect(Object.keys(g.scores).sort()).toEqual([...groupable].sort());
      for (const p of groupable) {
        // Without the weight gradients `rows` took (every proxy asked for): the WRCor family the same.
        const alone = rows[i].scores[p];
        const label = `${rows[i].arch} ${p}`;
        if (Number.isFinite(alone)) expect(g.scores[p], label).toBeCloseTo(alone, 3);
        else expect(g.scores[p], label).toBe(alone);
      }
    });
  }, 120_000);
});
