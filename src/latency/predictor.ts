/**
 * Latency prediction from a lookup table: the sum of the table entries of an architecture's parts
 * (ProxylessNAS / OFA style), and the per-candidate latency matrix of a supernet that the searches
 * turn into a cost model (src/mobilenet/cost). A key the table lacks is a result (findLatency gives
 * null, supernetLatencies lists it) that the caller decides about; only the whole-architecture
 * prediction, whose caller wants a number or an error, throws MissingLatencyError.
 */
import type { ProxylessArch, ProxylessNetConfig } from './arch.js';
import { archParts, toProxylessArch } from './arch.js';
import { expandedConvKey, parseLatencyKey, type ParsedKey } from './keys.js';
import { entryMs, type LatencyTable } from './lut.js';
import type { Supernet } from './space.js';
import { UserFacingError } from '../util/errors.js';
import { listWithin } from '../util/format.js';

/**
 * What to do with a key the table lacks: 'error' (default for library calls), 'nearest' (use the
 * entry with the same op, spatial size, expand, kernel, stride and skip but the closest channel
 * counts; for a Logits key, the closest class count), 'scale' (that entry times the ratio of
 * multiply-accumulates; for Logits, keyMacs': the pooling's h·w·c plus the classifier's in·out).
 */
export type MissingPolicy = 'error' | 'nearest' | 'scale';

export interface PredictOptions {
  missing?: MissingPolicy;
  /** Entry statistic to use; 'median' throws on an entry without one (never a mean labelled median). */
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

/** Longest MissingLatencyError message: the CLI's 400-character line, less room for the table's name. */
const MISSING_MESSAGE_CHARS = 320;

/**
 * What a library caller can do about missing keys, in its own terms (PredictOptions, the profiler's
 * export): the CLI gives its flags instead (cli/commands/predict.ts).
 */
export const MISSING_LATENCY_ADVICE =
  "profile them on the table's device (buildLatencyTable), or approximate them from the closest entries with the option missing: 'nearest' or 'scale'";

export class MissingLatencyError extends UserFacingError {
  override readonly name = 'MissingLatencyError';
  /** `why`: what is wrong and what to do, when the caller knows better than MISSING_LATENCY_ADVICE. */
  constructor(
    readonly keys: string[],
    why: string = MISSING_LATENCY_ADVICE,
  ) {
    // What to do first, then as many keys as fit: a CLI error is one line, cut at 400 characters
    // after a file name, and a network's keys are ~90 each (all of them are in `keys`).
    super(listWithin(`latency table has no entry for ${keys.length} key(s); ${why}: `, keys, MISSING_MESSAGE_CHARS));
  }
}

/**
 * Why a table cannot price ProxylessNAS MobileNetV2 networks at all, or null: a Once-for-All
 * MobileNetV3 table (squeeze-excite and h-swish fields, mid channels as `expand`, AvgPool2D and
 * Conv_2 parts) keys another network family, so a missing-keys list would only mislead.
 */
export function otherFamilyTable(table: LatencyTable): string | null {
  for (const k of table.entries.keys()) {
    if (/-se:\d|-hs:\d/.test(k) || /^(AvgPool2D|Conv_2)-/.test(k))
      return 'a Once-for-All MobileNetV3 table (AvgPool2D / Conv_2 keys, blocks with squeeze-excite and h-swish fields, mid channels as expand), not one of ProxylessNAS MobileNetV2 blocks: wgnas prices MobileNetV2 networks and cell spaces only (docs/latency-tables.md)';
  }
  return null;
}

/** The input sizes a table's stem (Conv) keys are of: the resolution(s) its networks take. */
export function tableStemSizes(table: LatencyTable): number[] {
  const sizes = new Set<number>();
  for (const k of table.entries.keys()) {
    const m = /^Conv-input:(\d+)x\d+x3-/.exec(k);
    if (m) sizes.add(Number(m[1]));
  }
  return [...sizes].sort((a, b) => a - b);
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
  if (p.op === 'dwconv') return oh * ow * (p.params.kernel ?? 3) ** 2 * c;
  const k = p.op === 'Conv' ? 3 : p.op === 'conv' ? (p.params.kernel ?? 1) : 1;
  return oh * ow * k * k * c * oc;
}

function sameExceptChannels(a: ParsedKey, b: ParsedKey): boolean {
  if (a.op !== b.op || a.input[0] !== b.input[0] || a.input[1] !== b.input[1]) return false;
  if (
    a.output.length !== b.output.length ||
    (a.output.length === 3 && (a.output[0] !== b.output[0] || a.output[1] !== b.output[1]))
  ) {
    return false;
  }
  const ka = Object.keys(a.params);
  return ka.length === Object.keys(b.params).length && ka.every((k) => a.params[k] === b.params[k]);
}

/** Output channels, or a Logits key's class count (its only output size). */
const outChannels = (p: ParsedKey): number => p.output[p.output.length - 1];

// A classifier of another class count is the same op (a pooled vector times a matrix): the closest
// class count is the nearest entry, and 'scale' prices it by keyMacs' in·out features.
const channelDistance = (a: ParsedKey, b: ParsedKey): number =>
  Math.abs(Math.log(a.input[2] / b.input[2])) + Math.abs(Math.log(outChannels(a) / outChannels(b)));

/** Table latency of one key, or an approximation per `missing`; null when neither exists. */
export function findLatency(
  table: LatencyTable,
  key: string,
  { missing = 'error', field = 'mean' }: PredictOptions = {},
): Lookup | null {
  const e = table.entries.get(key);
  if (e) return { ms: entryMs(e, field, `latency entry '${key}'`) };
  if (missing === 'error') return null;
  const want = parseLatencyKey(key);
  let best: { key: string; parsed: ParsedKey; d: number } | null = null;
  for (const k of table.entries.keys()) {
    let parsed: ParsedKey;
    try {
      parsed = parseLatencyKey(k);
    } catch {
      continue; // keys of ops this predictor does not model
    }
    if (!sameExceptChannels(want, parsed)) continue;
    const d = channelDistance(want, parsed);
    if (!best || d < best.d || (d === best.d && k < best.key)) best = { key: k, parsed, d };
  }
  if (!best) return null;
  const factor = missing === 'scale' ? keyMacs(want) / keyMacs(best.parsed) : 1;
  return {
    ms: entryMs(table.entries.get(best.key)!, field, `latency entry '${best.key}'`) * factor,
    approx: { from: best.key, method: missing, factor },
  };
}

/** findLatency for one key the caller needs: throws MissingLatencyError when it is missing. */
export function lookupLatency(table: LatencyTable, key: string, options: PredictOptions = {}): Lookup {
  const l = findLatency(table, key, options);
  if (!l) throw new MissingLatencyError([key]);
  return l;
}

/**
 * Predicted latency of an architecture: Conv + blocks + Conv_1 + Logits from the table. `arch`: the
 * compact form, or a ProxylessNAS net.config as parsed from its JSON (fromNetConfig: its resolution,
 * else 224; call fromNetConfig(config, inputSize) for another size).
 */
export function predictLatency(
  table: LatencyTable,
  arch: ProxylessArch | ProxylessNetConfig,
  options: PredictOptions = {},
): Prediction {
  return predictParts(table, archParts(toProxylessArch(arch)), options);
}

/** Predicted latency of a network's parts (each a name and its key): the sum of their entries. */
export function predictParts(
  table: LatencyTable,
  partKeys: ReadonlyArray<{ name: string; key: string }>,
  options: PredictOptions = {},
): Prediction {
  const parts: PartPrediction[] = [];
  const missingKeys: string[] = [];
  for (const p of partKeys) {
    const l = findLatency(table, p.key, options);
    if (l) parts.push({ name: p.name, key: p.key, ...l });
    else missingKeys.push(p.key);
  }
  if (missingKeys.length > 0) throw new MissingLatencyError(missingKeys);
  return {
    totalMs: parts.reduce((s, p) => s + p.ms, 0),
    parts,
    approximated: parts.filter((p) => p.approx).map((p) => p.key),
  };
}

// ---- the latency matrix of a supernet ----

export interface LatencyMatrix {
  /** Stem + Conv_1 + Logits, independent of the block choices. */
  fixedMs: number;
  /** perPosition[b][i]: latency of candidate i at block position b ('zero' = 0). */
  perPosition: number[][];
}

/**
 * The supernet's latency matrix from the table. Keys the table lacks (after the `missing`
 * approximation) are listed in `missing`, each once, and priced NaN: a complete matrix has
 * `missing.length === 0`.
 */
export function supernetLatencies(
  table: LatencyTable,
  space: Supernet,
  options: PredictOptions = {},
): LatencyMatrix & { missing: string[] } {
  const missing = new Set<string>();
  const ms = (key: string) => {
    const l = findLatency(table, key, options);
    if (!l) missing.add(key);
    return l ? l.ms : NaN;
  };
  const base = archParts({
    inputSize: space.inputSize,
    stem: space.stem,
    blocks: space.positions.map((p) => p.candidates[0]),
    featureMix: space.featureMix,
    classes: space.classes,
  });
  const fixedMs = base.filter((p) => !p.name.startsWith('block')).reduce((s, p) => s + ms(p.key), 0);
  const perPosition = space.positions.map((pos) => pos.candidates.map((c) => (c === 'zero' ? 0 : ms(expandedConvKey(c)))));
  return { fixedMs, perPosition, missing: [...missing] };
}
