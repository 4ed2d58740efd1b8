/**
 * Text form of a cell: 'op<i;op<i,j;...;=>a+b' (or 'zero'), canonical so it can serve as a key
 * (space files, populations, the dedup of mutations).
 */
import { type Cell, CellError, type CellNode, PRIMITIVES, checkStructure, isPrimitive, isZeroCell, zeroCell } from './cell.js';

function renderOrder(cell: Cell, order: readonly number[]): string {
  const pos = new Map<number, number>(order.map((o, k) => [o + 1, k + 1]));
  pos.set(0, 0);
  const ref = (v: number) => pos.get(v)!;
  const nodes = order.map(
    (i) =>
      `${cell.nodes[i].op}<${cell.nodes[i].inputs
        .map(ref)
        .sort((a, b) => a - b)
        .join(',')}`,
  );
  return `${nodes.join(';')};=>${cell.outputs
    .map(ref)
    .sort((a, b) => a - b)
    .join('+')}`;
}

function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [xs.slice()];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

/**
 * Canonical text of a cell, usable as a key. Canonicalised: node numbering (nodes are ordered by
 * depth = longest path from the input, then op, then their renumbered inputs; nodes tied on all
 * three are tried in every order and the lexicographically smallest text wins), the order of a
 * node's two inputs and the order of the outputs, so isomorphic DAGs give the same string.
 * Throws CellError for structurally invalid cells (see checkStructure); shapes are not checked.
 */
export function formatCell(cell: Cell): string {
  checkStructure(cell);
  if (isZeroCell(cell)) return 'zero';
  const depth: number[] = [];
  cell.nodes.forEach((n, i) => (depth[i] = 1 + Math.max(...n.inputs.map((v) => (v === 0 ? 0 : depth[v - 1])))));
  const levels: number[][] = [];
  depth.forEach((d, i) => (levels[d - 1] ??= []).push(i));
  let best: string | null = null;
  const visit = (li: number, order: number[]): void => {
    if (li === levels.length) {
      const s = renderOrder(cell, order);
      if (best === null || s < best) best = s;
      return;
    }
    const pos = new Map<number, number>(order.map((o, k) => [o + 1, k + 1]));
    pos.set(0, 0);
    const key = (i: number) =>
      `${cell.nodes[i].op}<${cell.nodes[i].inputs
        .map((v) => pos.get(v)!)
        .sort((a, b) => a - b)
        .join(',')}`;
    const keyed = levels[li].map((i) => ({ i, k: key(i) })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
    const groups: number[][] = [];
    keyed.forEach((e, j) => (j > 0 && keyed[j - 1].k === e.k ? groups[groups.length - 1].push(e.i) : groups.push([e.i])));
    // Every combination of orders within tie groups (usually a single one).
    let arrangements: number[][] = [[]];
    for (const g of groups) arrangements = arrangements.flatMap((a) => permutations(g).map((p) => [...a, ...p]));
    for (const a of arrangements) visit(li + 1, [...order, ...a]);
  };
  visit(0, []);
  return best!;
}

/** Parses formatCell's text (node numbering need not be canonical). Checks structure, not shapes. */
export function parseCell(text: string): Cell {
  const s = text.trim();
  if (s === 'zero') return zeroCell();
  const parts = s.split('=>');
  if (parts.length !== 2) throw new CellError(`malformed cell '${text}': expected 'op<i;op<i,j;...;=>a+b' or 'zero'`);
  const tokens = parts[0].split(';').map((t) => t.trim());
  if (tokens.length > 0 && tokens[tokens.length - 1] === '') tokens.pop(); // the ';' before '=>'
  const nodes: CellNode[] = tokens.map((tok, i) => {
    const m = /^([a-z0-9]+)<(\d+)(?:,(\d+))?$/.exec(tok);
    if (!m) throw new CellError(`malformed node ${i} '${tok}' in '${text}': expected op<i or op<i,j`);
    if (!isPrimitive(m[1])) throw new CellError(`node ${i} '${tok}': unknown op '${m[1]}' (one of ${PRIMITIVES.join(', ')})`);
    return { op: m[1], inputs: m[3] === undefined ? [Number(m[2])] : [Number(m[2]), Number(m[3])] };
  });
  const outText = parts[1].trim();
  if (!/^\d+(\+\d+)*$/.test(outText)) throw new CellError(`malformed outputs '${outText}' in '${text}': expected a+b+...`);
  const cell: Cell = { nodes, outputs: outText.split('+').map(Number) };
  checkStructure(cell);
  return cell;
}
