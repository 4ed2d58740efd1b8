/**
 * How much memory a network's ops touch, for the profiler's cache-flush policy (`--cache-flush
 * auto`): the ops of a network that fits in L2 find their data there (the other ops evicted it from
 * L1 only), so its table is timed after evicting L1; a larger network evicts each op's data from L2
 * too before the op runs again, so its table is timed after a flush of 2 x L2. docs/results.md
 * ("Latency predictor") has the measurements.
 */
import type { NativeOp } from '../native/binding.js';
import { archToNativeOps, type BlockSpec } from './arch.js';
import { keyToNativeOp, outSize } from './keys.js';
import { archFromChoices, type Supernet } from './space.js';

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

/** Bytes of one network: each of its layers' ops, a repeated block each time it runs (profile --net). */
export const opsBytes = (ops: Iterable<NativeOp>): number => [...ops].reduce((s, op) => s + opBytes(op), 0);

/** opsBytes of one network's layer keys, in order, repeats included. */
export const keysBytes = (keys: Iterable<string>): number => opsBytes([...keys].map((k) => keyToNativeOp(k)));

/**
 * A space's largest network: its fixed parts (stem, feature mix, classifier) plus the largest
 * candidate of each position. From the space, not a table's keys: a table lists a shape once for
 * several positions, and the measured cost model (mobilenet/cost/measured.ts) prices cell spaces
 * by the same rule (cellSpaceBytes), so a table and a search choose the same flush.
 */
export function supernetBytes(space: Supernet): number {
  const size = (b: BlockSpec) => (b === 'zero' ? 0 : opBytes({ type: 'mbconv', ...b }));
  const choices = space.positions.map((p) =>
    p.candidates.reduce((best, b, i) => (size(b) > size(p.candidates[best]) ? i : best), 0),
  );
  return opsBytes(archToNativeOps(archFromChoices(space, choices)));
}

/**
 * --cache-flush auto for a network (or a space's largest network) of this many bytes:
 * SMALL_NETWORK_FLUSH_BYTES where it touches at most SMALL_NETWORK_BYTES, else 'auto' (2 x L2 of the
 * CPU that measures).
 */
export function autoFlushFor(networkBytesEstimate: number): number | 'auto' {
  return networkBytesEstimate <= SMALL_NETWORK_BYTES ? SMALL_NETWORK_FLUSH_BYTES : 'auto';
}
