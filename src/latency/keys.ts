/**
 * Lookup-table keys in the ProxylessNAS / Once-for-All format:
 *   expanded_conv-input:HxWxC-output:HxWxC-expand:E-kernel:K-stride:S-idskip:0|1[-se:0-hs:0]
 *   Conv-input:HxWxC-output:HxWxC   (stem 3×3 conv)      Conv_1-input:..-output:..   (final 1×1 conv)
 *   Logits-input:HxWxC-output:N     (global pool + linear)
 * The published ProxylessNAS table uses expand = ratio; the OFA table uses expand = mid channels.
 * Cell spaces (src/mobilenet/cell.ts) add one key per cell node, a conv or depthwise conv + BN
 * (+ ReLU6 when relu6:1), as `wgnas profile --space-file` measures them (mobilenet/cell-latency-keys.ts):
 *   conv-input:HxWxC-output:HxWxC-kernel:K-stride:S-relu6:0|1
 *   dwconv-input:HxWxC-output:HxWxC-kernel:K-stride:S-relu6:0|1
 */
import type { NativeOp } from '../native/binding.js';
import { UserFacingError } from '../util/errors.js';

export class LatencyKeyError extends UserFacingError {
  override readonly name = 'LatencyKeyError';
}

export interface ParsedKey {
  op: string;
  input: number[];
  output: number[];
  /** Trailing integer fields: expand, kernel, stride, idskip, se, hs. */
  params: Record<string, number>;
}

const SUPPORTED = ['expanded_conv', 'Conv', 'Conv_1', 'Logits', 'conv', 'dwconv'] as const;

function dims(s: string, what: string, key: string): number[] {
  if (!/^\d+(x\d+)*$/.test(s)) throw new LatencyKeyError(`latency key '${key}': ${what} '${s}' is not a shape like 56x56x24`);
  return s.split('x').map(Number);
}

export function parseLatencyKey(key: string): ParsedKey {
  const m = /^([A-Za-z][A-Za-z0-9_]*)-input:([0-9x]+)-output:([0-9x]+)((?:-[a-z_][a-z0-9_]*:-?\d+)*)$/.exec(key);
  if (!m) {
    throw new LatencyKeyError(
      `malformed latency key '${key}' (expected NAME-input:HxWxC-output:HxWxC[-field:N...], e.g. ` +
        `expanded_conv-input:56x56x24-output:56x56x24-expand:3-kernel:5-stride:1-idskip:1)`,
    );
  }
  const params: Record<string, number> = {};
  for (const part of m[4].split('-').filter(Boolean)) {
    const [k, v] = part.split(':');
    if (k in params) throw new LatencyKeyError(`latency key '${key}': field '${k}' repeated`);
    params[k] = Number(v);
  }
  return { op: m[1], input: dims(m[2], 'input', key), output: dims(m[3], 'output', key), params };
}

function outSize(h: number, stride: number): number {
  return Math.floor((h - 1) / stride) + 1;
}

function need(p: ParsedKey, key: string, field: string, allowed?: number[]): number {
  const v = p.params[field];
  if (v === undefined) throw new LatencyKeyError(`latency key '${key}': missing field '${field}'`);
  if (allowed && !allowed.includes(v)) {
    throw new LatencyKeyError(`latency key '${key}': ${field}:${v} is not one of ${allowed.join(', ')}`);
  }
  return v;
}

function hwc(p: ParsedKey, which: 'input' | 'output', key: string): [number, number, number] {
  const d = p[which];
  if (d.length !== 3 || d.some((x) => x < 1)) {
    throw new LatencyKeyError(`latency key '${key}': ${which} must be HxWxC with positive sizes, got ${d.join('x')}`);
  }
  return [d[0], d[1], d[2]];
}

function checkSpatial(key: string, inH: number, inW: number, outH: number, outW: number, stride: number): void {
  const eh = outSize(inH, stride);
  const ew = outSize(inW, stride);
  if (outH !== eh || outW !== ew) {
    throw new LatencyKeyError(
      `latency key '${key}': impossible shape: stride ${stride} on a ${inH}x${inW} input gives ${eh}x${ew}, not ${outH}x${outW}`,
    );
  }
}

/**
 * The op a key describes, as the native profiler's input. `expandIsChannels` reads `expand` as the
 * mid channel count (OFA tables) instead of a ratio. Throws LatencyKeyError for unknown ops,
 * impossible shapes or missing fields.
 */
export function keyToNativeOp(key: string, { expandIsChannels = false } = {}): NativeOp {
  const p = parseLatencyKey(key);
  if (!(SUPPORTED as readonly string[]).includes(p.op)) {
    throw new LatencyKeyError(`latency key '${key}': unknown op '${p.op}' (the profiler supports ${SUPPORTED.join(', ')})`);
  }
  const [inH, inW, inC] = hwc(p, 'input', key);
  if (p.op === 'Logits') {
    if (p.output.length !== 1 || p.output[0] < 1) {
      throw new LatencyKeyError(`latency key '${key}': Logits output must be a class count like 1000, got ${p.output.join('x')}`);
    }
    return { type: 'logits', inH, inW, inC, outC: p.output[0] };
  }
  const [outH, outW, outC] = hwc(p, 'output', key);
  if (p.op === 'conv' || p.op === 'dwconv') {
    const kernel = need(p, key, 'kernel', [1, 3, 5, 7]);
    const stride = need(p, key, 'stride', [1, 2]);
    const relu6 = need(p, key, 'relu6', [0, 1]) === 1;
    checkSpatial(key, inH, inW, outH, outW, stride);
    if (p.op === 'dwconv') {
      if (outC !== inC)
        throw new LatencyKeyError(`latency key '${key}': a depthwise conv keeps its ${inC} channels, not ${outC}`);
      return { type: 'dwconv', inH, inW, inC, kernel, stride, relu6 };
    }
    return { type: 'conv', inH, inW, inC, outC, kernel, stride, relu6 };
  }
  if (p.op === 'Conv' || p.op === 'Conv_1') {
    const kernel = p.op === 'Conv' ? 3 : 1;
    const stride = outH === inH && outW === inW ? 1 : 2;
    checkSpatial(key, inH, inW, outH, outW, stride);
    if (p.op === 'Conv_1' && stride !== 1) {
      throw new LatencyKeyError(
        `latency key '${key}': Conv_1 is a 1x1 stride-1 conv, so input and output must have the same HxW`,
      );
    }
    return { type: 'conv', inH, inW, inC, outC, kernel, stride };
  }
  // expanded_conv
  const stride = need(p, key, 'stride', [1, 2]);
  const kernel = need(p, key, 'kernel', [1, 3, 5, 7, 9]);
  const idskip = need(p, key, 'idskip', [0, 1]);
  const expandField = need(p, key, 'expand');
  for (const f of ['se', 'hs'] as const) {
    if ((p.params[f] ?? 0) !== 0) {
      throw new LatencyKeyError(`latency key '${key}': ${f}:1 (squeeze-excite / h-swish) is not supported by the profiler`);
    }
  }
  checkSpatial(key, inH, inW, outH, outW, stride);
  if (idskip === 1 && (stride !== 1 || inC !== outC)) {
    throw new LatencyKeyError(`latency key '${key}': idskip:1 needs stride 1 and equal input/output channels`);
  }
  let expand = expandField;
  if (expandIsChannels) {
    if (expandField % inC !== 0) {
      throw new LatencyKeyError(`latency key '${key}': ${expandField} mid channels is not a multiple of ${inC} input channels`);
    }
    expand = expandField / inC;
  }
  if (!Number.isInteger(expand) || expand < 1)
    throw new LatencyKeyError(`latency key '${key}': expand must be a positive integer`);
  return { type: 'mbconv', inH, inW, inC, outC, expand, kernel, stride, idskip: idskip === 1 };
}

const hw = (h: number, c: number): string => `${h}x${h}x${c}`;

export function expandedConvKey(b: {
  inH: number;
  inC: number;
  outC: number;
  expand: number;
  kernel: number;
  stride: number;
  idskip: boolean;
}): string {
  const outH = outSize(b.inH, b.stride);
  return (
    `expanded_conv-input:${hw(b.inH, b.inC)}-output:${hw(outH, b.outC)}` +
    `-expand:${b.expand}-kernel:${b.kernel}-stride:${b.stride}-idskip:${b.idskip ? 1 : 0}`
  );
}

export function stemKey(inputSize: number, outC: number, stride = 2): string {
  return `Conv-input:${hw(inputSize, 3)}-output:${hw(outSize(inputSize, stride), outC)}`;
}

export function featureMixKey(h: number, inC: number, outC: number): string {
  return `Conv_1-input:${hw(h, inC)}-output:${hw(h, outC)}`;
}

/** What prices a cell node: a conv or depthwise conv (outC = inC) with its shapes, ReLU6 or not. */
export interface NodeOp {
  depthwise: boolean;
  inH: number;
  inC: number;
  outC: number;
  kernel: number;
  stride: number;
  relu6: boolean;
}

/** A cell node's key: a k×k conv (groups 1) or depthwise conv + BN (+ ReLU6). */
export function nodeKey(b: NodeOp): string {
  const outH = outSize(b.inH, b.stride);
  const outC = b.depthwise ? b.inC : b.outC;
  return `${b.depthwise ? 'dwconv' : 'conv'}-input:${hw(b.inH, b.inC)}-output:${hw(outH, outC)}-kernel:${b.kernel}-stride:${b.stride}-relu6:${b.relu6 ? 1 : 0}`;
}

export function logitsKey(h: number, inC: number, classes: number): string {
  return `Logits-input:${hw(h, inC)}-output:${classes}`;
}

export { outSize };
