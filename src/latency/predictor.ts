/**
 * Latency prediction from a lookup table: the sum of the table entries of an architecture's parts
 * (ProxylessNAS / OFA style), and for the search its expectation under per-block candidate
 * probabilities, E[lat] = fixed + Σ_blocks Σ_i p_i·lat_i, with gradients wrt p and wrt softmax logits.
 */
import type { ProxylessArch } from './arch.js';
import { archParts } from './arch.js';
import { expandedConvKey, parseLatencyKey, type ParsedKey } from './keys.js';
import { entryMs, type LatencyTable } from './lut.js';
import type { Supernet } from './space.js';
import { softmax } from '../util/softmax.js';

/**
 * What to do with a key the table lacks: 'error' (default for library calls), 'nearest' (use the
 * entry with the same op, spatial size, expand, kernel, stride and skip but the closest channel
 * counts), 'scale' (that entry times the ratio of multiply-accumulates).
 */
export type MissingPolicy = 'error' | 'nearest' | 'scale';

export interface PredictOptions {
  missing?: MissingPolicy;
  /** Entry statistic to use; 'median' falls back to 'mean' when the table has no medians. */
  field?: 'mean' | 'median';
}

export interface Lookup {
  ms: number;
  /** Present when the key was not in the table. */
  approx?: { from: string; method: 'nearest' | 'scale'; factor: number };
}

export interface PartPrediction extends Lookup {
  name: string;
  key: string;
}

export interface Prediction {
  totalMs: number;
  parts: PartPrediction[];
  /** Keys that were approximated from other entries. */
  approximated: string[];
}

export class MissingLatencyError extends Error {
  override readonly name = 'MissingLatencyError';
  constructor(readonly keys: string[]) {
    super(
      `latency table has no entry for ${keys.length} key(s):\n  ${keys.join('\n  ')}\n` +
        "Profile them (wgnas profile), or approximate from the closest entries with missing policy 'nearest' or 'scale' (--missing).",
    );
  }
}

/** Multiply-accumulates of a key's op (expand read as a ratio, as in ProxylessNAS tables). */
export function keyMacs(p: ParsedKey): number {
  const [h, w, c] = p.input;
  if (p.op === 'Logits') return h * w * c + c * p.output[0];
  const [oh, ow, oc] = p.output;
  if (p.op === 'expanded_conv') {
    const mid = c * (p.params.expand ?? 1);
    const k = p.params.kernel ?? 3;
    return (mid !== c ? h * w * c * mid : 0) + oh * ow * mid * k * k + oh * ow * mid * oc;
  }
  const k = p.op === 'Conv' ? 3 : 1;
  return oh * ow * k * k * c * oc;
}

function sameExceptChannels(a: ParsedKey, b: ParsedKey): boolean {
  if (a.op !== b.op || a.input[0] !== b.input[0] || a.input[1] !== b.input[1]) return false;
  if (a.output.length !== b.output.length || (a.output.length === 3 && (a.output[0] !== b.output[0] || a.output[1] !== b.output[1]))) {
    return false;
  }
  if (a.op === 'Logits' && a.output[0] !== b.output[0]) return false;
  const ka = Object.keys(a.params);
  return ka.length === Object.keys(b.params).length && ka.every((k) => a.params[k] === b.params[k]);
}

const channelDistance = (a: ParsedKey, b: ParsedKey): number =>
  Math.abs(Math.log(a.input[2] / b.input[2])) + Math.abs(Math.log((a.output[2] ?? 1) / (b.output[2] ?? 1)));

/** Table latency of one key, or an approximation per `missing`; throws MissingLatencyError. */
export function lookupLatency(table: LatencyTable, key: string, { missing = 'error', field = 'mean' }: PredictOptions = {}): Lookup {
  const e = table.entries.get(key);
  if (e) return { ms: entryMs(e, field) };
  if (missing === 'error') throw new MissingLatencyError([key]);
  const want = parseLatencyKey(key);
  let best: { key: string; parsed: ParsedKey; d: number } | null = null;
  for (const k of table.entries.keys()) {
    let parsed: ParsedKey;
    try {
      parsed = parseLatencyKey(k);
    } catch {
      continue;
    }
    if (!sameExceptChannels(want, parsed)) continue;
    const d = channelDistance(want, parsed);
    if (!best || d < best.d || (d === best.d && k < best.key)) best = { key: k, parsed, d };
  }
  if (!best) throw new MissingLatencyError([key]);
  const factor = missing === 'scale' ? keyMacs(want) / keyMacs(best.parsed) : 1;
  return { ms: entryMs(table.entries.get(best.key)!, field) * factor, approx: { from: best.key, method: missing, factor } };
}

/** Predicted latency of an architecture: Conv + blocks + Conv_1 + Logits from the table. */
export function predictLatency(table: LatencyTable, arch: ProxylessArch, options: PredictOptions = {}): Prediction {
  const parts: PartPrediction[] = [];
  const missingKeys: string[] = [];
  for (const p of archParts(arch)) {
    try {
      parts.push({ name: p.name, key: p.key, ...lookupLatency(table, p.key, options) });
    } catch (e) {
      if (!(e instanceof MissingLatencyError)) throw e;
      missingKeys.push(...e.keys);
    }
  }
  if (missingKeys.length > 0) throw new MissingLatencyError(missingKeys);
  return {
    totalMs: parts.reduce((s, p) => s + p.ms, 0),
    parts,
    approximated: parts.filter((p) => p.approx).map((p) => p.key),
  };
}

// ---- differentiable expectation for the search ----

export interface LatencyMatrix {
  /** Stem + Conv_1 + Logits, independent of the block choices. */
  fixedMs: number;
  /** perPosition[b][i]: latency of candidate i at block position b ('zero' = 0). */
  perPosition: number[][];
}

export function supernetLatencies(table: LatencyTable, space: Supernet, options: PredictOptions = {}): LatencyMatrix {
  const base = archParts({ inputSize: space.inputSize, stem: space.stem, blocks: space.positions.map((p) => p.candidates[0]), featureMix: space.featureMix, classes: space.classes });
  const fixedMs = base
    .filter((p) => !p.name.startsWith('block'))
    .reduce((s, p) => s + lookupLatency(table, p.key, options).ms, 0);
  const perPosition = space.positions.map((pos) => pos.candidates.map((c) => (c === 'zero' ? 0 : lookupLatency(table, expandedConvKey(c), options).ms)));
  return { fixedMs, perPosition };
}

function checkShape(m: LatencyMatrix, x: number[][], what: string): void {
  if (x.length !== m.perPosition.length) throw new RangeError(`${what}: ${x.length} rows for ${m.perPosition.length} block positions`);
  x.forEach((row, b) => {
    if (row.length !== m.perPosition[b].length) {
      throw new RangeError(`${what}: position ${b} has ${row.length} entries for ${m.perPosition[b].length} candidates`);
    }
  });
}

/** E[lat] = fixed + Σ_b Σ_i p[b][i]·lat[b][i]; ∂E/∂p[b][i] = lat[b][i]. */
export function expectedLatency(m: LatencyMatrix, probs: number[][]): { valueMs: number; gradProbs: number[][] } {
  checkShape(m, probs, 'expectedLatency');
  let valueMs = m.fixedMs;
  probs.forEach((row, b) => row.forEach((p, i) => (valueMs += p * m.perPosition[b][i])));
  return { valueMs, gradProbs: m.perPosition.map((row) => row.slice()) };
}

export { softmax };

/**
 * Expectation under p = softmax(α / T) per position, and its gradient wrt α:
 * ∂E/∂α_j = p_j (lat_j − Σ_i p_i lat_i) / T.
 */
export function expectedLatencyFromLogits(
  m: LatencyMatrix,
  alphas: number[][],
  temperature = 1,
): { valueMs: number; probs: number[][]; gradAlphas: number[][] } {
  checkShape(m, alphas, 'expectedLatencyFromLogits');
  const probs = alphas.map((a) => softmax(a, temperature));
  const { valueMs } = expectedLatency(m, probs);
  const gradAlphas = probs.map((p, b) => {
    const lat = m.perPosition[b];
    const mean = p.reduce((s, pi, i) => s + pi * lat[i], 0);
    return p.map((pj, j) => (pj * (lat[j] - mean)) / temperature);
  });
  return { valueMs, probs, gradAlphas };
}
