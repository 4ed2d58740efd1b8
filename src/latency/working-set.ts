/**
 * How much memory a network's ops touch, for the profiler's cache-flush policy (`--cache-flush
 * auto`): the ops of a network that fits in L2 find their data there (the other ops evicted it from
 * L1 only), so its table is timed after evicting L1; a larger network evicts each op's data from L2
 * too before the op runs again, so its table is timed after a flush of 2 x L2. docs/results.md
 * ("Latency predictor") has the measurements.
 */
import type { NativeOp } from '../native/binding.js';
import { keyToNativeOp, outSize } from './keys.js';

/** f32. */
const FLOAT_BYTES = 4;

/**
 * A network whose ops touch at most this many bytes in all counts as small for --cache-flush auto.
 * CIFAR-layout networks touch 1.1-1.5 MiB, the ProxylessNAS mobile ones 13-17 MiB at 32x32 and
 * 39-52 MiB at 224x224 (20 random architectures each); 4 MiB is also what auto flushes where the
 * L2 size is unknown.
 */
export const SMALL_NETWORK_BYTES = 4 << 20;

/**
 * What --cache-flush auto touches before each run of a small network's op: L1 evicted (twice the
 * largest common L1d), L2 mostly kept (a quarter of the smallest common L2). 64-256 KiB predicted
 * CIFAR-layout networks alike on the VM of docs/results.md; warm caches 12-19 % low.
 */
export const SMALL_NETWORK_FLUSH_BYTES = 128 << 10;

/** Bytes an op reads and writes once: its weights and its activations (an MBConv's inner tensors too). */
export function opBytes(op: NativeOp): number {
  const h = 'inH' in op ? op.inH : 1;
  const w = 'inH' in op ? (op.inW ?? h) : 1;
  const stride = 'stride' in op ? (op.stride ?? 1) : 1;
  const out = outSize(h, stride) * outSize(w, stride);
  const n = op.batch ?? 1;
  let count: number;
  switch (op.type) {
    case 'conv':
      count = op.inC * op.outC * op.kernel ** 2 + op.outC + n * (h * w * op.inC + out * op.outC);
      break;
    case 'dwconv':
      count = op.inC * (op.kernel ** 2 + 1) + n * (h * w + out) * op.inC;
      break;
    case 'mbconv': {
      const mid = op.inC * op.expand;
      const expand = op.expand > 1 ? op.inC * mid + mid + n * h * w * mid : 0;
      count = expand + mid * (op.kernel ** 2 + 1) + mid * op.outC + op.outC + n * (h * w * op.inC + out * (mid + op.outC));
      break;
    }
    case 'pool':
      count = n * (h * w + 1) * op.inC;
      break;
    case 'linear':
      count = op.inC * op.outC + op.outC + n * (op.inC + op.outC);
      break;
    case 'logits':
      count = op.inC * op.outC + op.outC + n * (h * w * op.inC + op.outC);
      break;
  }
  return count * FLOAT_BYTES;
}

/**
 * One network of these ops, estimated: the ops of one input and output shape are the choices of
 * one layer, so the largest of each shape, summed. The ops of one network (profile --net) give
 * about its own bytes; a space's give a network of its largest choices.
 */
export function networkBytes(ops: Iterable<NativeOp>): number {
  const largest = new Map<string, number>();
  for (const op of ops) {
    const inH = 'inH' in op ? op.inH : 1;
    const stride = 'stride' in op ? (op.stride ?? 1) : 1;
    const outC = 'outC' in op ? op.outC : undefined;
    const shape = `${op.type === 'linear' || op.type === 'logits' ? 'head' : 'body'} ${inH} ${op.inC} ${outC ?? op.inC} ${stride}`;
    largest.set(shape, Math.max(largest.get(shape) ?? 0, opBytes(op)));
  }
  return [...largest.values()].reduce((a, b) => a + b, 0);
}

/** networkBytes of a table's keys. */
export const keysNetworkBytes = (keys: Iterable<string>): number => networkBytes([...keys].map((k) => keyToNativeOp(k)));

/**
 * --cache-flush auto for a table of these ops: SMALL_NETWORK_FLUSH_BYTES where one network of them
 * touches at most SMALL_NETWORK_BYTES, else 'auto' (2 x L2 of the CPU that measures).
 */
export function autoFlushFor(networkBytesEstimate: number): number | 'auto' {
  return networkBytesEstimate <= SMALL_NETWORK_BYTES ? SMALL_NETWORK_FLUSH_BYTES : 'auto';
}
